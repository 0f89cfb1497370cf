"""Checks of NER data before training (`tfner check`), as pure functions returning `Finding`s.

A training run that stops at its first bad line, or trains on test sentences, wastes hours; these
checks find it all at once. Files are read leniently (`read_split`: every reading problem becomes a
finding and reading goes on), then checked:

- reading: unreadable rows and records, tag-scheme violations with their line, lines of only
  invisible characters, empty or unannotated documents, annotations the format reader does not support;
- labels: entity types of validation/test unseen in training (errors: training refuses them), types
  with fewer than `rare` entities in training;
- spans: overlapping and nested spans (the span readers refuse both);
- the encoder's tokenizer: spans cutting a sub-token (they cannot be aligned), words that turn into no
  sub-token (predicted O), documents longer than `max_length` sub-tokens (how many windows);
- leakage: documents of one split found in another, exactly (same normalised text) or nearly (Jaccard
  similarity of word 5-shingles >= `near`, found with MinHash and checked exactly: `duplicates`).

Each finding names the file and line (CoNLL) or record/document; severity "error" for what training
would refuse or what is wrong, "warning" for the rest. Formatting is left to the `tfner check` command.
"""

from __future__ import annotations

import os
import unicodedata
from collections import Counter
from dataclasses import asdict, dataclass, field

import numpy as np

from tfner.data import formats
from tfner.data import tags as tag_schemes
from tfner.data.duplicates import entity_labels, find_duplicates, normalise
from tfner.data.formats import conll
from tfner.data.formats.base import Corpus, DataError, Problem, read_text
from tfner.data.readers import read_data
from tfner.data.tables import TableView

ERROR_KINDS = {"unreadable", "scheme-violation", "unseen-label", "overlapping-span", "nested-span", "misaligned-span"}


@dataclass(frozen=True)
class Finding:
    """One problem: severity (error/warning), kind, where (file:line or file:record N), what, and split."""

    severity: str
    kind: str
    where: str
    message: str
    split: str = ""

    def to_dict(self):
        return asdict(self)


def finding(kind, where, message, split=""):
    return Finding("error" if kind in ERROR_KINDS else "warning", kind, where, message, split)


@dataclass
class Split:
    """One data file as the checker read it: its corpus (IOB2 tags), format, tag scheme, the line of every
    token (CoNLL) and the problems met while reading."""

    name: str
    corpus: Corpus
    fmt: str
    scheme: str | None = None
    lines: list | None = None
    problems: list = field(default_factory=list)

    def where(self, d, token=None):
        """Location of document `d` (of its token `token` when given)."""
        if token is not None and self.lines is not None:
            return f"{self.corpus.source}:{self.lines[d][token]}"
        origin = self.corpus.documents[d].origin
        return origin if token is None else f"{origin} (token {token + 1})"


def _iob_repairs(sentences, source):
    """`I-X` opening an entity in a file that otherwise opens entities with `B-` (IOB2 with errors, read
    as IOB1: each such tag starts an entity): one problem per tag."""
    opened_by_b, found = False, []
    for s in sentences:
        prev = (tag_schemes.OUTSIDE, None)
        for i, tag in enumerate(s.tags):
            parts = tag_schemes.split(tag) or (tag_schemes.OUTSIDE, None)
            if parts[0] in ("B", "I") and parts[1] != prev[1]:
                if parts[0] == "B":
                    opened_by_b = True
                else:
                    after = s.tags[i - 1] if i else "the start"
                    found.append(
                        Problem(
                            f"{source}:{s.lines[i]}",
                            f"{tag} follows {after}: read as the start of "
                            "an entity (IOB1); in IOB2 an entity begins with B-",
                            "iob-repair",
                        )
                    )
            prev = parts if parts[0] != tag_schemes.OUTSIDE else (tag_schemes.OUTSIDE, None)
    return found if opened_by_b else []


def read_split(name, spec, tag_scheme=None, split="train"):
    """Read one data file or directory leniently (see the module docstring); Hugging Face datasets are
    read as `read_data` reads them. DataError only for what cannot be read at all (no such file...)."""
    spec = str(spec)
    fmt = formats.detect_format(spec) if os.path.exists(spec) else "hf"
    if fmt == "hf":
        return Split(name, read_data(spec, split), fmt)
    problems = []
    if fmt != "conll":
        return Split(name, formats.read(spec, fmt, problems=problems), fmt, problems=problems)
    sentences, skipped = conll.parse(read_text(spec, problems), spec, problems)
    try:
        scheme, given = conll.resolve_scheme(sentences, tag_scheme, spec)
    except DataError as e:
        if tag_scheme:
            raise
        problems.append(Problem(spec, str(e)[len(spec) + 2 :], "scheme-violation"))
        scheme, given = tag_schemes.detect_scheme(s.tags for s in sentences), True
    documents, converted = conll.to_documents(sentences, scheme, spec, given, problems)
    if not given and scheme == "IOB1":
        repairs = _iob_repairs(sentences, spec)
        problems += repairs
        scheme = "IOB2 (read as IOB1: I- tags open entities)" if repairs else scheme
    return Split(name, Corpus(documents, spec, skipped, converted), fmt, scheme, [s.lines for s in sentences], problems)


def entities(split):
    """(document, type, where, text) of every entity of a split."""
    for d, doc in enumerate(split.corpus.documents):
        if doc.is_spans:
            for s, e, label in doc.spans or ():
                yield d, label, doc.origin, f"[{s}, {e}) {doc.text[s:e]!r}"
        else:
            for kind, a, b in tag_schemes.entities(doc.tags):
                yield d, kind, split.where(d, a), repr(" ".join(doc.tokens[a:b]))


def label_findings(splits, rare=5):
    """Types of later splits unseen in the first (training) split; types with < `rare` training entities."""
    out, seen = [], {}
    for n, split in enumerate(splits):
        counts, first = Counter(), {}
        for _, kind, where, text in entities(split):
            counts[kind] += 1
            first.setdefault(kind, (where, text))
        if n == 0:
            seen = counts
            out += [
                finding(
                    "rare-label",
                    first[k][0],
                    f"label {k!r} has only {c} entit{'y' if c == 1 else 'ies'} in {split.name} (first: {first[k][1]})",
                    split.name,
                )
                for k, c in sorted(counts.items())
                if c < rare
            ]
            continue
        out += [
            finding(
                "unseen-label",
                first[k][0],
                f"label {k!r} ({c} entities, first: {first[k][1]}) does not "
                f"occur in {splits[0].name} ({splits[0].corpus.source})",
                split.name,
            )
            for k, c in sorted(counts.items())
            if k not in seen
        ]
    return out


def span_findings(split):
    """Overlapping and nested spans (kept by the lenient readers, refused by training)."""
    out = []
    for doc in split.corpus.documents:
        spans = sorted(doc.spans or ()) if doc.is_spans else []
        for i, (s1, e1, l1) in enumerate(spans):
            for s2, e2, l2 in spans[i + 1 :]:
                if s2 >= e1:
                    break
                kind = "nested-span" if (s1 <= s2 and e2 <= e1) or (s2 <= s1 and e1 <= e2) else "overlapping-span"
                out.append(
                    finding(
                        kind,
                        doc.origin,
                        f"{kind.split('-')[0]} spans [{s1}, {e1}) {l1} "
                        f"{doc.text[s1:e1]!r} and [{s2}, {e2}) {l2} {doc.text[s2:e2]!r}",
                        split.name,
                    )
                )
    return out


def _show(word):
    """repr of a word, with the code points of characters that do not show (marks, format characters)."""
    hidden = [c for c in word if unicodedata.category(c) in ("Mn", "Me", "Cf", "Cc", "Co", "Cn", "Zs")]
    return repr(word) + (f" ({' '.join(f'U+{ord(c):04X}' for c in word)})" if hidden else "")


def windows(n, width, stride):
    """The number of windows `tfner.data.align.encode` cuts a document of `n` sub-tokens into."""
    if n <= width:
        return 1
    starts = len(range(0, n - width + 1, width - stride))
    return starts + ((starts - 1) * (width - stride) + width < n)


def tokenizer_findings(split, tokenizer, max_length=128, stride=32, table_view=False):
    """(findings, sub-tokens per document): spans cutting a sub-token, words without sub-tokens,
    documents longer than a window. table_view: span documents are tokenized as a model that reads the
    table view reads them (`tfner.data.tables`; `ModelConfig.table_view`), offsets mapped back."""
    docs = split.corpus.documents
    width = max_length - tokenizer.num_special_tokens_to_add()
    out, lengths = [], []
    span_docs = [d for d, doc in enumerate(docs) if doc.is_spans]
    word_docs = [d for d, doc in enumerate(docs) if not doc.is_spans]
    if span_docs:
        views = [TableView(docs[d].text, docs[d].spans or ()) if table_view else None for d in span_docs]
        texts = [v.text if v else docs[d].text for d, v in zip(span_docs, views)]
        enc = tokenizer(texts, add_special_tokens=False, return_offsets_mapping=True)
        for n, d in enumerate(span_docs):
            offsets = np.asarray(enc["offset_mapping"][n], np.int64).reshape(-1, 2)
            if views[n]:  # a header's tokens become empty spans at their cell: they cover no gold span
                offsets = views[n].to_original(offsets)
            lengths.append((d, len(offsets)))
            for s, e, label in docs[d].spans or ():
                inside = np.nonzero((offsets[:, 0] < e) & (offsets[:, 1] > s))[0]
                text = docs[d].text
                if not len(inside):
                    problem = "covers no sub-token"
                elif offsets[inside[0], 0] < s or offsets[inside[-1], 1] > e:
                    a, b = offsets[inside[0]] if offsets[inside[0], 0] < s else offsets[inside[-1]]
                    problem = f"cuts the sub-token {text[a:b]!r} at [{a}, {b})"
                else:
                    continue
                out.append(
                    finding(
                        "misaligned-span",
                        docs[d].origin,
                        f"span [{s}, {e}) {label} {text[s:e]!r} "
                        f"{problem}: it cannot be aligned to the tokenizer's tokens",
                        split.name,
                    )
                )
    if word_docs:
        enc = tokenizer([docs[d].tokens for d in word_docs], is_split_into_words=True, add_special_tokens=False)
        for n, d in enumerate(word_docs):
            ids = enc.word_ids(n)
            lengths.append((d, len(ids)))
            for w in sorted(set(range(len(docs[d].tokens))) - set(ids)):
                out.append(
                    finding(
                        "no-subtokens",
                        split.where(d, w),
                        f"word {_show(docs[d].tokens[w])} becomes no "
                        "sub-token for this tokenizer: it is never scored (predicted O)",
                        split.name,
                    )
                )
    lengths = [n for _, n in sorted(lengths)]
    for d, n in enumerate(lengths):
        if n > width:
            out.append(
                finding(
                    "long-document",
                    split.where(d),
                    f"{n} sub-tokens, more than the {width} of one "
                    f"window (--max-length {max_length}): {windows(n, width, stride)} windows "
                    f"(stride {stride})",
                    split.name,
                )
            )
    return out, lengths


def duplicate_findings(splits, near=0.9):
    """Documents shared across splits (`duplicates.find_duplicates`): exact (same normalised text) and near
    (shingle Jaccard >= `near`), one finding per document of the later split, noting when the two are
    annotated differently."""
    exact, near_found = find_duplicates([split.corpus.documents for split in splits], near)

    def doc(member):
        return splits[member[0]].corpus.documents[member[1]]

    def report(kind, later, earlier, what, text):
        differ = " (annotated differently)" if entity_labels(doc(later)) != entity_labels(doc(earlier[0])) else ""
        more = f" (and {len(earlier) - 1} more)" if len(earlier) > 1 else ""
        n0, d0 = earlier[0]
        return finding(
            kind,
            splits[later[0]].where(later[1]),
            f"{what} {splits[n0].name} {splits[n0].where(d0)}{more}{differ}: {text[:70]!r}",
            splits[later[0]].name,
        )

    found = [
        (len(text), report("exact-duplicate", later, earlier, "same text as", text)) for text, later, earlier in exact
    ]
    for later, found_with in near_found.items():
        what = f"nearly the same text (Jaccard {found_with[0][0]:.2f} of word 5-shingles) as"
        text = normalise(doc(later))
        found.append((len(text), report("near-duplicate", later, [e for _, e in found_with], what, text)))
    # Annotation conflicts first, then the longest texts: what matters most when only the first are shown.
    return [
        f
        for _, f in sorted(
            found, key=lambda x: (x[1].kind, "annotated differently" not in x[1].message, -x[0], x[1].where)
        )
    ]


def split_stats(split, lengths=None):
    """Sizes of a split: documents, words, entities per type, duplicates within it, sub-tokens."""
    docs = split.corpus.documents
    words = sum(len(d.tokens) if not d.is_spans else len(d.text.split()) for d in docs)
    texts = Counter(normalise(d) for d in docs)
    stats = {
        "source": split.corpus.source,
        "format": split.fmt,
        "tag_scheme": split.scheme,
        "documents": len(docs),
        "words": words,
        "entities": dict(sorted(Counter(kind for _, kind, _, _ in entities(split)).items())),
        "duplicates_within": sum(c - 1 for c in texts.values()),
        "skipped": dict(split.corpus.skipped),
    }
    if lengths:
        stats["subtokens"] = {
            "total": int(sum(lengths)),
            "max": int(max(lengths)),
            "mean": round(float(np.mean(lengths)), 1),
        }
    return stats


def check(splits, tokenizer=None, max_length=128, stride=32, rare=5, near=0.9, has_train=True, table_view=False):
    """(stats per split name, findings) of all checks on `splits`, the first being the training data
    (label checks are left out when `has_train` is False: the training data could not be read);
    table_view: see `tokenizer_findings`."""
    out = [finding(p.kind, p.where, p.message, s.name) for s in splits for p in s.problems]
    out += label_findings(splits, rare) if has_train else []
    lengths = {}
    for split in splits:
        out += span_findings(split)
        if tokenizer is not None:
            found, lengths[split.name] = tokenizer_findings(split, tokenizer, max_length, stride, table_view)
            out += found
    out += duplicate_findings(splits, near)
    return {s.name: split_stats(s, lengths.get(s.name)) for s in splits}, out
