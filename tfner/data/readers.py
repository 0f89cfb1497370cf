"""Reading NER data into one internal form, with errors that say where and what.

Every reader returns a `Corpus` of `Document`s. A document is either
word-level (`tokens` + IOB2 `tags`, from CoNLL files or Hugging Face datasets)
or span-level (`text` + character `spans`, from JSONL files); turning spans
into token labels is the job of `tfner.align`, not of this module.

Sources understood by `read_data(spec, split)`:

* a CoNLL-style column file (token first, tag last, blank lines between
  sentences, `-DOCSTART-` lines ignored); IOB1, IOBES and BILOU tags are
  rewritten to IOB2 (`tfner.data.formats.conll`);
* a `.jsonl` / `.json` file with one `{"text": ..., "ner_tags": [[start, end,
  "LABEL"], ...]}` object per line (`"spans"` is accepted instead of
  `"ner_tags"`; items may also be `{"start": .., "end": .., "label": ..}`);
* annotation-tool exports (`tfner.data.formats`): a brat directory (.txt +
  .ann), a Label Studio JSON export (`.json` holding a list of tasks), doccano
  JSONL (records with `"label"`);
* a directory written by `datasets.Dataset(Dict).save_to_disk`;
* `hf:NAME` or a bare name: a dataset on the Hugging Face hub (needs network).

Bad input raises `DataError` naming the file and line (or record / example
number), so a user can open the file at the right place. This module does not
import TensorFlow; `datasets` is imported only inside the Hugging Face readers.
"""

from __future__ import annotations

import json
import os
import re
from collections import Counter

from tfner.data import formats
from tfner.data import tags as tag_schemes
from tfner.data.formats import conll
from tfner.data.formats.base import Corpus, DataError, Document, lines, read_text
from tfner.data.formats.detect import HF_MARKERS, SPAN_EXTENSIONS  # noqa: F401  (names kept here)

__all__ = [
    "DataError",
    "Document",
    "Corpus",
    "read_conll",
    "read_span_jsonl",
    "from_hf_dataset",
    "load_hf",
    "read_data",
    "entity_types",
    "build_labels",
    "check_labels",
    "summarize",
]

# Extensions that make a non-existent spec look like a mistyped path rather
# than a hub dataset name.
PATH_EXTENSIONS = (".txt", ".conll", ".jsonl", ".json", ".iob")
SPAN_KEYS = ("ner_tags", "spans")

_LINE_ORIGIN = re.compile(r"^(.*):(\d+)$")


# DataError, Document and Corpus are defined in `tfner.data.formats.base`, below this module, so that the
# format readers can build them while `read_data` dispatches to those readers; they are re-exported here.
_read_text = read_text
_lines = lines


def _normalize_tags(tags: list[str], where) -> tuple[list[str], int]:
    """Validate IOB tags and rewrite IOB1 to IOB2 (`tfner.data.tags`).

    `where(i)` gives the location of tag `i` for error messages. An `I-X` that
    does not continue a `B-X`/`I-X` directly before it starts a new entity, so
    it becomes `B-X`; IOB2 input therefore comes back unchanged. Returns the
    new tags and the number of rewrites.
    """
    for i, tag in enumerate(tags):
        if not tag_schemes.is_valid_tag(tag, "IOB1"):
            raise DataError(f"{where(i)}: tag {tag!r} is not IOB (expected O, B-TYPE or I-TYPE)")
    out = tag_schemes.convert(tags, "IOB1", "IOB2")
    return out, sum(a != b for a, b in zip(tags, out))


# --------------------------------------------------------------------------
# CoNLL column files


def read_conll(path, tag_scheme=None) -> Corpus:
    """Read a CoNLL-style column file: one token per line, token first and tag last.

    Columns are separated by runs of spaces or tabs (so a token cannot contain
    whitespace); any columns between token and tag (POS, chunk...) are
    ignored. Blank lines end a sentence and `-DOCSTART-` lines are document
    separators; a line of only byte-order marks or zero-width spaces counts
    as blank (and is counted in `skipped`). Each sentence becomes one Document
    whose origin is "path:LINE", LINE being the 1-based line of its first
    token (its other tokens are on the lines right after it).

    `tag_scheme` (IOB1, IOB2, IOBES, BILOU) is detected from the tags when not
    given; tags are rewritten to IOB2 (`tfner.data.formats.conll`).
    """
    return conll.read(path, tag_scheme)


# --------------------------------------------------------------------------
# JSONL span files


def _parse_span(item, where: str) -> tuple[int, int, str]:
    if isinstance(item, dict):
        if set(item) != {"start", "end", "label"}:
            raise DataError(
                f'{where}: span {item!r} should be [start, end, label] or {{"start": .., "end": .., "label": ..}}'
            )
        start, end, label = item["start"], item["end"], item["label"]
    elif isinstance(item, (list, tuple)) and len(item) == 3:
        start, end, label = item
    else:
        raise DataError(
            f'{where}: span {item!r} should be [start, end, label] or {{"start": .., "end": .., "label": ..}}'
        )
    # bool is an int subclass; true/false in JSON is a mistake, not an offset.
    for name, value in (("start", start), ("end", end)):
        if not isinstance(value, int) or isinstance(value, bool):
            raise DataError(f"{where}: span {item!r}: {name} must be an integer, got {value!r}")
    if not isinstance(label, str) or not label.strip():
        raise DataError(f"{where}: span {item!r}: label must be a non-empty string")
    if label.startswith(("B-", "I-")):
        raise DataError(
            f"{where}: span {item!r}: label {label!r} looks like an IOB tag; give the bare entity type ({label[2:]!r})"
        )
    return start, end, label


def _parse_span_record(obj, where: str) -> tuple[str, list[tuple[int, int, str]]]:
    """Validate one decoded JSON record; returns (text, spans sorted by start)."""
    if not isinstance(obj, dict):
        raise DataError(f"{where}: expected a JSON object, got {type(obj).__name__}")
    text = obj.get("text")
    if not isinstance(text, str):
        found = "missing" if "text" not in obj else f"a {type(text).__name__}"
        raise DataError(f'{where}: "text" must be a string, but it is {found}')
    present = [k for k in SPAN_KEYS if k in obj]
    if not present:
        raise DataError(
            f'{where}: missing "ner_tags" (or "spans"): a list of [start, end, label]; keys found: {sorted(obj)}'
        )
    if len(present) > 1:
        raise DataError(f'{where}: give either "ner_tags" or "spans", not both')
    items = obj[present[0]]
    if not isinstance(items, list):
        raise DataError(f'{where}: "{present[0]}" must be a list, got {type(items).__name__}')
    spans = [_parse_span(item, where) for item in items]
    for start, end, label in spans:
        if start < 0 or end > len(text) or start >= end:
            raise DataError(
                f"{where}: span [{start}, {end}, {label!r}] does not fit the text "
                f"(length {len(text)}; need 0 <= start < end <= length)"
            )
    spans.sort(key=lambda s: (s[0], s[1]))
    for a, b in zip(spans, spans[1:]):
        if b[0] < a[1]:
            raise DataError(
                f"{where}: overlapping spans [{a[0]}, {a[1]}, {a[2]!r}] {text[a[0] : a[1]]!r} "
                f"and [{b[0]}, {b[1]}, {b[2]!r}] {text[b[0] : b[1]]!r}"
            )
    return text, spans


def read_span_jsonl(path) -> Corpus:
    """Read a JSONL file of span-annotated texts, one JSON object per line.

    Each object has "text" (a string) and "ner_tags" (or "spans"): a list of
    [start, end, label] or {"start", "end", "label"} items with character
    offsets, end exclusive, and bare entity types as labels ("PATIENT", not
    "B-PATIENT"). Blank lines are ignored. Records are numbered from 1 over the
    non-blank lines; origins read "path:record N". Documents whose text is
    empty or only whitespace are skipped and counted as "empty document".
    """
    source = str(path)
    documents: list[Document] = []
    skipped: Counter = Counter()
    record = 0
    for lineno, line in enumerate(_lines(_read_text(path)), start=1):
        if not line.strip():
            continue
        record += 1
        where = f"{source}:record {record} (line {lineno})"
        try:
            obj = json.loads(line)
        except json.JSONDecodeError as e:
            raise DataError(f"{where}: invalid JSON ({e.msg} at column {e.colno})") from None
        text, spans = _parse_span_record(obj, where)
        if not text.strip():
            skipped["empty document"] += 1
            continue
        documents.append(Document(text=text, spans=spans, origin=f"{source}:record {record}"))
    return Corpus(documents=documents, source=source, skipped=dict(skipped))


# --------------------------------------------------------------------------
# Hugging Face datasets


def from_hf_dataset(ds, source: str) -> Corpus:
    """Convert a `datasets.Dataset` with "tokens" and "ner_tags" columns.

    "ner_tags" may be a sequence of ClassLabel (the label names are used as
    tags) or a sequence of strings. Tags are checked and IOB1 is rewritten to
    IOB2 as for CoNLL files. Origins read "source:example N" (1-based).
    Examples without tokens are skipped as "empty document".
    """
    columns = list(ds.column_names)
    missing = [c for c in ("tokens", "ner_tags") if c not in columns]
    if missing:
        raise DataError(f"{source}: dataset needs columns 'tokens' and 'ner_tags'; missing {missing}, found {columns}")
    feature = ds.features["ner_tags"]
    inner = getattr(feature, "feature", None)  # Sequence / List of ...
    names = getattr(inner, "names", None)  # ... ClassLabel

    documents: list[Document] = []
    skipped: Counter = Counter()
    converted = 0
    for i, (tokens, tags) in enumerate(zip(ds["tokens"], ds["ner_tags"]), start=1):
        where = f"{source}:example {i}"
        tokens, tags = list(tokens), list(tags)
        if names is not None:
            try:
                tags = [names[t] for t in tags]
            except (IndexError, TypeError):
                raise DataError(f"{where}: ner_tags {tags!r} are not valid indices into {names}") from None
        elif any(not isinstance(t, str) for t in tags):
            raise DataError(
                f"{where}: ner_tags are numbers but the feature has no ClassLabel names to turn them into tags"
            )
        if len(tokens) != len(tags):
            raise DataError(f"{where}: {len(tokens)} tokens but {len(tags)} ner_tags")
        if not tokens:
            skipped["empty document"] += 1
            continue
        tags, n = _normalize_tags(tags, lambda j, where=where: f"{where} (token {j + 1})")
        converted += n
        documents.append(Document(tokens=[str(t) for t in tokens], tags=tags, origin=where))
    return Corpus(documents=documents, source=source, skipped=dict(skipped), converted_iob1=converted)


def load_hf(name_or_path: str, split: str) -> Corpus:
    """Load one split of a Hugging Face dataset: a local `save_to_disk` directory or a hub name."""
    import datasets  # imported here: it is slow to import and only this path needs it

    source = f"{name_or_path}/{split}"
    if os.path.isdir(name_or_path):
        try:
            ds = datasets.load_from_disk(name_or_path)
        except Exception as e:  # noqa: BLE001 - any failure means "not a readable saved dataset"
            raise DataError(
                f"{name_or_path}: cannot load a dataset saved with save_to_disk ({type(e).__name__}: {e})"
            ) from None
        if isinstance(ds, datasets.DatasetDict):
            if split not in ds:
                raise DataError(f"{name_or_path}: no split {split!r}; splits present: {sorted(ds)}")
            ds = ds[split]
        else:
            source = name_or_path  # a single saved Dataset has no splits
        return from_hf_dataset(ds, source)

    try:
        dd = datasets.load_dataset(name_or_path)
    except Exception as e:  # noqa: BLE001 - offline, unknown name, auth...: all end the same way
        brief = str(e).strip().splitlines()[0][:200] if str(e).strip() else ""
        raise DataError(
            f"{name_or_path}: could not load the dataset from the Hugging Face hub (no network?): "
            f"{type(e).__name__}: {brief}. Pass a local CoNLL file, a JSONL span file, "
            "or a directory saved with datasets' save_to_disk instead."
        ) from None
    if split not in dd:
        raise DataError(f"{name_or_path}: no split {split!r}; splits present: {sorted(dd)}")
    return from_hf_dataset(dd[split], source)


# --------------------------------------------------------------------------
# Dispatch


def read_data(spec: str, split: str = "train", tag_scheme: str | None = None) -> Corpus:
    """Read a data set given as a path or name (see the module docstring).

    Files and directories go by their format (`tfner.data.formats.detect_format`): CoNLL (any tag
    scheme; `tag_scheme` when given), span JSONL, a brat directory, a Label Studio JSON export, doccano
    JSONL, or a saved `datasets` directory. `split` picks the split of a Hugging Face dataset; files
    have no splits. Raises DataError when the result has no documents, since no split can be trained
    or evaluated on an empty corpus.
    """
    spec = str(spec)
    if spec.startswith("hf:"):
        corpus = load_hf(spec[3:], split)
    elif os.path.isfile(spec) or os.path.isdir(spec):
        fmt = formats.detect_format(spec)
        if fmt == "hf":
            corpus = load_hf(spec, split)
        elif fmt == "conll":
            corpus = read_conll(spec, tag_scheme)
        elif fmt == "jsonl":
            corpus = read_span_jsonl(spec)
        else:
            corpus = formats.read(spec, fmt)
    elif os.sep in spec or "/" in spec or spec.lower().endswith(PATH_EXTENSIONS):
        raise DataError(f"{spec}: no such file")
    else:
        corpus = load_hf(spec, split)
    if not corpus.documents:
        raise DataError(f"{corpus.source}: contains no documents")
    return corpus


# --------------------------------------------------------------------------
# Labels and summaries


def _doc_types(doc: Document) -> list[str]:
    """The entity type of every entity in a document (one item per entity)."""
    if doc.is_spans:
        return [label for _, _, label in doc.spans or ()]
    return [kind for kind, _, _ in tag_schemes.entities(doc.tags or ())]


def entity_types(corpus: Corpus) -> list[str]:
    """The sorted entity types present in the corpus (from tags or spans)."""
    types: set[str] = set()
    for doc in corpus.documents:
        if doc.is_spans:
            types.update(label for _, _, label in doc.spans or ())
        else:
            types.update(tag_schemes.entity_type(t) for t in doc.tags or () if t != tag_schemes.OUTSIDE)
    return sorted(types)


def build_labels(corpus: Corpus) -> list[str]:
    """The label list for a token classifier: "O", then B-/I- for each type, types sorted."""
    labels = ["O"]
    for t in entity_types(corpus):
        labels += [f"B-{t}", f"I-{t}"]
    return labels


def check_labels(corpus: Corpus, labels: list[str]) -> None:
    """Raise DataError at the first tag (or span type) of `corpus` missing from `labels`.

    Used on validation/test data against the labels built from training data.
    For CoNLL documents the message gives the exact line of the tag.
    """
    known = set(labels)
    known_types = sorted({tag_schemes.entity_type(l) for l in labels if l != tag_schemes.OUTSIDE})
    hint = f"does not occur in the training data (known: {', '.join(known_types) or 'none'})"
    for doc in corpus.documents:
        if doc.is_spans:
            for start, end, label in doc.spans or ():
                if f"B-{label}" not in known:
                    raise DataError(
                        f"{doc.origin}: label {label!r} (span [{start}, {end}] {doc.text[start:end]!r}) {hint}"
                    )
            continue
        for i, tag in enumerate(doc.tags or ()):
            if tag not in known:
                m = _LINE_ORIGIN.match(doc.origin)
                # CoNLL origins are "path:LINE" with the sentence's tokens on
                # consecutive lines, so token i sits on LINE + i.
                where = f"{m.group(1)}:{int(m.group(2)) + i}" if m else f"{doc.origin} (token {i + 1})"
                raise DataError(f"{where}: label {tag!r} {hint}")


def summarize(corpus: Corpus, name: str | None = None) -> str:
    """A short multi-line summary: sizes, entities per type, skipped documents, IOB1 fixes.

    `name` (e.g. "train") is put in front of the source when given.
    """
    docs = corpus.documents
    counts = Counter(t for d in docs for t in _doc_types(d))
    n_tokens = sum(len(d.tokens or ()) for d in docs if not d.is_spans)
    n_chars = sum(len(d.text) for d in docs if d.is_spans)
    sizes = [f"{len(docs):,} documents"]
    if n_tokens or not n_chars:
        sizes.append(f"{n_tokens:,} tokens")
    if n_chars:
        sizes.append(f"{n_chars:,} characters")
    sizes.append(f"{sum(counts.values()):,} entities")
    head = f"{name} ({corpus.source})" if name else corpus.source
    per_type = " · ".join(f"{t} {counts[t]:,}" for t in sorted(counts)) or "(no entities)"
    n_skipped = sum(corpus.skipped.values())
    skipped = f"skipped: {n_skipped:,}"
    if n_skipped:
        skipped += " (" + ", ".join(f"{r}: {c:,}" for r, c in sorted(corpus.skipped.items())) + ")"
    return (
        f"{head}: {', '.join(sizes)}\n"
        f"  {per_type}\n"
        f"  {skipped} · IOB1 tags converted to IOB2: {corpus.converted_iob1:,}"
    )
