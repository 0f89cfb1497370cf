"""CoNLL column files in any tag scheme (IOB1, IOB2, IOBES, BILOU): reading, strict or lenient, and writing.

A file has one token per line, token first and tag last (columns in between, POS or chunk tags, are
ignored), blank lines between sentences and `-DOCSTART-` lines between documents. Reading happens in
three steps, so that `tfner check` can look at each: `parse` (lines -> `Sentence`s with the line of
every token), `resolve_scheme` (the given scheme, else the one the tags reveal, `tags.detect_scheme`)
and `to_documents` (tags checked against the scheme and rewritten as IOB2, the form tfner trains on).

Without a given scheme, IOB files are read as IOB1, as tfner always has: IOB2 comes back unchanged and
an `I-X` that continues nothing starts an entity (counted as an IOB1 conversion). IOBES and BILOU files,
and files given as `--tag-scheme IOB2`, must follow their scheme: a violation is an error with its line.

A line holding only invisible characters (byte-order marks, zero-width spaces, as where two files were
concatenated) is read as a blank line and a byte-order mark opening a line is removed; both are counted.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from tfner.data import tags as tag_schemes
from tfner.data.formats.base import Corpus, DataError, Document, complain, count, lines, note, read_text

INVISIBLE = "\ufeff\u200b\u200c\u200d\u2060"  # BOM, zero-width space / non-joiner / joiner, word joiner
INVISIBLE_LINE = "line of only invisible characters (BOM / zero-width space), read as a blank line"
LEADING_BOM = "byte-order mark at the start of a line, removed"
DOCSTART = "-DOCSTART-"


@dataclass
class Sentence:
    """One sentence as written: tokens, raw tags (any scheme) and the 1-based line of each token."""

    tokens: list[str] = field(default_factory=list)
    tags: list[str] = field(default_factory=list)
    lines: list[int] = field(default_factory=list)


def parse(text, source, problems=None):
    """(sentences, skipped) of a CoNLL text: `skipped` counts the invisible-only lines read as blank and
    the byte-order marks removed. A row with one column is an error (skipped when lenient)."""
    sentences, skipped, current = [], {}, Sentence()
    for lineno, line in enumerate(lines(text), start=1):
        if line.startswith("\ufeff") and line.strip(INVISIBLE).strip():
            count(skipped, LEADING_BOM)
            note(
                problems,
                f"{source}:{lineno}",
                "byte-order mark (U+FEFF) at the start of the line, removed",
                "invisible-line",
            )
            line = line.lstrip("\ufeff")
        cols = line.split()
        if cols and not "".join(cols).strip(INVISIBLE):
            count(skipped, INVISIBLE_LINE)
            note(
                problems,
                f"{source}:{lineno}",
                f"line holds only invisible characters {line.strip()!r} "
                "(byte-order mark / zero-width space, as where two files were concatenated): read as a blank "
                "line",
                "invisible-line",
            )
            cols = []
        if not cols or cols[0] == DOCSTART:
            if current.tokens:
                sentences.append(current)
            current = Sentence()
            continue
        if len(cols) < 2:
            complain(
                problems, f"{source}:{lineno}", f"expected at least 2 columns (token ... tag), got 1: {line.strip()!r}"
            )
            continue
        current.tokens.append(cols[0])
        current.tags.append(cols[-1])
        current.lines.append(lineno)
    if current.tokens:
        sentences.append(current)
    return sentences, skipped


def resolve_scheme(sentences, tag_scheme, source):
    """(scheme, given): `tag_scheme` if given, else the scheme the tags reveal (IOB2 when no tag tells).
    A file mixing IOBES (E-, S-) and BILOU (L-, U-) prefixes is ambiguous: DataError asking for one."""
    if tag_scheme:
        try:
            return tag_schemes.scheme_name(tag_scheme), True
        except ValueError as e:
            raise DataError(str(e)) from None
    prefixes = tag_schemes.prefixes_used(s.tags for s in sentences)
    if prefixes & {"E", "S"} and prefixes & {"L", "U"}:
        raise DataError(
            f"{source}: tags use both IOBES (E-, S-) and BILOU (L-, U-) prefixes; the scheme is "
            "ambiguous: give it with --tag-scheme"
        )
    return tag_schemes.detect_scheme(s.tags for s in sentences) or "IOB2", False


def _bad_tag(tag, scheme):
    if scheme in ("IOB1", "IOB2"):
        return f"tag {tag!r} is not IOB (expected O, B-TYPE or I-TYPE)"
    return f"tag {tag!r} is not {scheme} (expected {tag_schemes.describe(scheme)})"


def to_documents(sentences, scheme, source, given=True, problems=None):
    """(documents, converted): word-level documents with IOB2 tags, and the number of tags rewritten
    from IOB1. Tags outside the scheme are errors; so are violations of IOBES, BILOU and a given IOB2
    (see the module docstring). When lenient, a bad tag reads as O and violations are read as
    `tags.entities` reads them (a continuation without its start starts an entity)."""
    hint = "" if given else f" (the file was read as {scheme} from its tags; give --tag-scheme to say otherwise)"
    strict_scheme = scheme in ("IOBES", "BILOU") or (given and scheme == "IOB2")
    read_as = "IOB1" if scheme in ("IOB1", "IOB2") and not strict_scheme else scheme
    documents, converted = [], 0
    for s in sentences:
        tags = list(s.tags)
        for i, tag in enumerate(tags):
            if not tag_schemes.is_valid_tag(tag, scheme):
                complain(problems, f"{source}:{s.lines[i]}", _bad_tag(tag, scheme), "scheme-violation")
                tags[i] = tag_schemes.OUTSIDE
        if strict_scheme:
            for position, message in tag_schemes.violations(tags, scheme):
                line = s.lines[min(position, len(s.lines) - 1)]
                complain(problems, f"{source}:{line}", f"{message} ({scheme}){hint}", "scheme-violation")
        iob2 = tag_schemes.convert(tags, read_as, "IOB2")
        if read_as == "IOB1":
            converted += sum(a != b for a, b in zip(tags, iob2))
        documents.append(Document(tokens=s.tokens, tags=iob2, origin=f"{source}:{s.lines[0]}"))
    return documents, converted


def read(path, tag_scheme=None, problems=None) -> Corpus:
    """Read a CoNLL file (see the module docstring); each sentence's origin is "path:LINE" of its first
    token, its other tokens being on the following lines unless a bad row was skipped (lenient)."""
    source = str(path)
    sentences, skipped = parse(read_text(path, problems), source, problems)
    scheme, given = resolve_scheme(sentences, tag_scheme, source)
    documents, converted = to_documents(sentences, scheme, source, given, problems)
    return Corpus(documents=documents, source=source, skipped=skipped, converted_iob1=converted)


def write(corpus, path, scheme="IOB2"):
    """Write word-level documents as a two-column CoNLL file (token, tag in `scheme`), a blank line after
    each sentence. A token that the reader would split or take for a separator is a DataError."""
    scheme = tag_schemes.scheme_name(scheme)
    out = []
    for doc in corpus.documents:
        if doc.is_spans:
            raise DataError(
                f"{doc.origin}: a span document cannot be written as CoNLL; convert it to words "
                "first (tfner.data.convert.to_words)"
            )
        for token in doc.tokens:
            if len(token.split()) != 1 or token != token.strip() or token.split()[0] == DOCSTART:
                raise DataError(f"{doc.origin}: token {token!r} cannot be written in a CoNLL column")
            if not token.strip(INVISIBLE):
                raise DataError(
                    f"{doc.origin}: token {token!r} holds only invisible characters; the CoNLL "
                    "reader would take it for a blank line"
                )
        tags = tag_schemes.convert(doc.tags, "IOB2", scheme)
        out += [f"{token} {tag}" for token, tag in zip(doc.tokens, tags)] + [""]
    with open(path, "w", encoding="utf-8", newline="\n") as f:
        f.write("\n".join(out) + ("\n" if out else ""))
