"""brat standoff: a directory (searched recursively) of `NAME.txt` texts, each with a `NAME.ann` holding
one annotation per line, `ID<TAB>...`. Entities are text-bound lines `T1<TAB>TYPE START END<TAB>text`.

Read: each `.txt` with its `.ann` is one document; offsets are characters of the `.txt` exactly as
stored (line ends and byte-order mark included, as brat counts them) and the text field is checked.
Fragments (`START END;START END`) separated only by whitespace, as brat writes an entity crossing a
line break, are one span. Not supported, and counted in `Corpus.skipped` (never dropped silently):
discontinuous entities (fragments with text between them), relations (R, *), events (E, with the
trigger T lines they use), attributes (A, M), normalizations (N) and notes (#); also a `.txt` without
its `.ann` (not annotated). An `.ann` without its `.txt` is an error.

Write: `NAME.txt` and `NAME.ann` per document, NAME taken from a brat origin or numbered.
"""

from __future__ import annotations

import os
import re

from tfner.data.formats.base import (
    Corpus,
    DataError,
    Document,
    check_label,
    complain,
    count,
    finish_spans,
    lines,
    note,
    read_text,
)

UNSUPPORTED = {
    "R": "relation",
    "*": "relation",
    "E": "event",
    "A": "attribute",
    "M": "attribute",
    "N": "normalization",
    "#": "note",
}
_WS = re.compile(r"\s+")


def has_ann(directory):
    """True when the directory tree holds a `.ann` file (so it is a brat corpus)."""
    return any(name.endswith(".ann") for _, _, names in os.walk(directory) for name in names)


def _files(directory):
    """Sorted stems (relative paths without extension) of the `.txt` and of the `.ann` files."""
    txt, ann = set(), set()
    for root, dirs, names in os.walk(directory):
        dirs.sort()
        for name in names:
            stem, ext = os.path.splitext(os.path.relpath(os.path.join(root, name), directory))
            (txt if ext == ".txt" else ann if ext == ".ann" else set()).add(stem)
    return sorted(txt), sorted(ann)


def _fragments(field, where, problems):
    """[(start, end), ...] of an offsets field `START END;START END`, or None (reported)."""
    out = []
    for part in field.split(";"):
        bounds = part.split()
        if len(bounds) != 2 or not all(b.isascii() and b.isdigit() for b in bounds):
            complain(problems, where, f"offsets {field!r} should be 'START END' (or 'START END;START END')")
            return None
        out.append((int(bounds[0]), int(bounds[1])))
    return out


def _entity(line, text, where, problems, skipped):
    """(start, end, label) of a `T` line, or None when it is unsupported (counted) or bad (reported)."""
    parts = line.split("\t", 2)
    head = parts[1].split(" ", 1) if len(parts) > 1 else []
    if len(head) != 2:
        complain(problems, where, f"expected 'ID<TAB>TYPE START END<TAB>text', got {line!r}")
        return None
    label, fragments = head[0], _fragments(head[1], where, problems)
    if fragments is None or not check_label(label, where, problems):
        return None
    for start, end in fragments:
        if not 0 <= start < end <= len(text):
            complain(problems, where, f"offsets {start} {end} do not fit the text (length {len(text)})")
            return None
    fragments.sort()
    gaps = [text[a_end:b_start] for (_, a_end), (b_start, _) in zip(fragments, fragments[1:])]
    if any(b_start < a_end for (_, a_end), (b_start, _) in zip(fragments, fragments[1:])) or any(
        g.strip() for g in gaps
    ):
        note(
            problems,
            where,
            f"discontinuous entity {line.split(chr(9))[-1]!r} is not supported (skipped)",
            "unsupported",
        )
        count(skipped, "brat discontinuous entity (not supported)")
        return None
    start, end = fragments[0][0], fragments[-1][1]
    if len(parts) == 3:
        shown = " ".join(text[a:b] for a, b in fragments)
        if _WS.sub(" ", shown) != _WS.sub(" ", parts[2]):
            complain(problems, where, f"the text field {parts[2]!r} differs from the text at {head[1]}: {shown!r}")
            return None
    return start, end, label


def _read_one(txt_path, ann_path, problems, skipped):
    """(text, spans) of one brat document."""
    text = read_text(txt_path, problems, strip_bom=False)
    entities, triggers, seen = {}, set(), {}
    for lineno, line in enumerate(lines(read_text(ann_path, problems)), start=1):
        if not line.strip():
            continue
        where, kind = f"{ann_path}:{lineno}", line[:1]
        if kind == "T":
            key = line.split("\t", 1)[0]
            if key in seen:
                complain(problems, where, f"annotation ID {key} is used twice (first at line {seen[key]})")
                continue
            seen[key] = lineno
            entity = _entity(line, text, where, problems, skipped)
            if entity is not None:
                entities[key] = (where, entity)
        elif kind in UNSUPPORTED:
            if kind == "E" and "\t" in line:  # E1<TAB>Type:T3 Role:T1 -- T3 is the event's trigger
                triggers.add(line.split("\t")[1].split(" ")[0].partition(":")[2])
            note(problems, where, f"brat {UNSUPPORTED[kind]} annotations are not supported (skipped)", "unsupported")
            count(skipped, f"brat {UNSUPPORTED[kind]} (not supported)")
        else:
            complain(
                problems,
                where,
                f"unknown annotation {line[:40]!r}: expected an ID starting with T, R, E, A, M, N, # or *",
            )
    count(skipped, "brat event trigger (not supported)", len(triggers & set(entities)))
    spans = [span for key, (_, span) in entities.items() if key not in triggers]
    return text, finish_spans(text, spans, ann_path, problems)


def read(directory, problems=None) -> Corpus:
    """Read a brat standoff directory (strict by default; lenient with a `problems` list)."""
    source = str(directory)
    if not os.path.isdir(source):
        raise DataError(f"{source}: expected a brat directory of .txt and .ann files")
    txt, ann = _files(source)
    for stem in sorted(set(ann) - set(txt)):
        complain(
            problems,
            os.path.join(source, stem + ".ann"),
            f"no {stem}.txt next to it: the text the annotations refer to is missing",
        )
    documents, skipped = [], {}
    for stem in txt:
        txt_path, ann_path = (os.path.join(source, stem + ext) for ext in (".txt", ".ann"))
        if stem not in set(ann):
            note(problems, txt_path, "no .ann file: not annotated (skipped)", "unannotated")
            count(skipped, "brat text without .ann (not annotated)")
            continue
        text, spans = _read_one(txt_path, ann_path, problems, skipped)
        if not text.strip():
            note(problems, txt_path, "empty document (no text)", "empty-document")
            count(skipped, "empty document")
            continue
        documents.append(Document(text=text, spans=spans, origin=ann_path))
    return Corpus(documents=documents, source=source, skipped=skipped)


def _offsets(text, start, end):
    """The offsets field of a span: fragments split at line breaks (brat's way), one fragment when the
    span starts or ends with a line break (split fragments would not read back to the same span)."""
    pieces = [(start + m.start(), start + m.end()) for m in re.finditer(r"[^\r\n]+", text[start:end])]
    if not pieces or pieces[0][0] != start or pieces[-1][1] != end:
        pieces = [(start, end)]
    return ";".join(f"{a} {b}" for a, b in pieces), " ".join(_WS.sub(" ", text[a:b]) for a, b in pieces)


def _names(corpus):
    names, used = [], set()
    for n, doc in enumerate(corpus.documents, start=1):
        stem = os.path.splitext(os.path.basename(doc.origin))[0] if doc.origin.endswith((".ann", ".txt")) else ""
        if not stem or stem in used or not re.fullmatch(r"[\w.-]+", stem):
            stem, k = f"doc{n:05d}", 0
            while stem in used:
                k += 1
                stem = f"doc{n:05d}-{k}"
        used.add(stem)
        names.append(stem)
    return names


def write(corpus, directory):
    """Write span documents as brat standoff files into `directory` (created if missing)."""
    os.makedirs(directory, exist_ok=True)
    for name, doc in zip(_names(corpus), corpus.documents):
        ann = []
        for k, (start, end, label) in enumerate(doc.spans or (), start=1):
            offsets, shown = _offsets(doc.text, start, end)
            ann.append(f"T{k}\t{label} {offsets}\t{shown}")
        with open(os.path.join(directory, name + ".txt"), "w", encoding="utf-8", newline="") as f:
            f.write(doc.text)
        with open(os.path.join(directory, name + ".ann"), "w", encoding="utf-8", newline="\n") as f:
            f.write("".join(line + "\n" for line in ann))
