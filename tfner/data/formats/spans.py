"""tfner's span JSONL: one `{"text": ..., "ner_tags": [[start, end, "LABEL"], ...]}` object per line.

`tfner.data.readers.read_span_jsonl` is the strict reader that `read_data` uses; this module reads the
same format leniently for `tfner check` (every problem reported, reading goes on) and writes it.
Items may be `[start, end, label]` or `{"start", "end", "label"}`; `"spans"` may replace `"ner_tags"`.
"""

from __future__ import annotations

from tfner.data.formats.base import (
    UNREADABLE,
    Corpus,
    Document,
    check_label,
    complain,
    count,
    finish_spans,
    is_offset,
    jsonl_records,
    note,
    valid_text,
    write_jsonl,
)

KEYS = ("ner_tags", "spans")


def parse_item(item, where, problems):
    """(start, end, label) of one span item, or None (reported) when it is not one."""
    shape = 'should be [start, end, label] or {"start": .., "end": .., "label": ..}'
    if isinstance(item, dict) and set(item) == {"start", "end", "label"}:
        start, end, label = item["start"], item["end"], item["label"]
    elif isinstance(item, list) and len(item) == 3:
        start, end, label = item
    else:
        complain(problems, where, f"span {item!r} {shape}")
        return None
    for name, value in (("start", start), ("end", end)):
        if not is_offset(value):
            complain(problems, where, f"span {item!r}: {name} must be an integer, got {value!r}")
            return None
    if not check_label(label, where, problems, item):
        return None
    return start, end, label


def parse_record(obj, where, problems, keys=KEYS, parse=parse_item):
    """(text, spans) of one decoded record, or None when it cannot be read (reported)."""
    if not isinstance(obj, dict):
        complain(problems, where, f"expected a JSON object, got {type(obj).__name__}")
        return None
    text = obj.get("text")
    if not isinstance(text, str):
        found = "missing" if "text" not in obj else f"a {type(text).__name__}"
        complain(problems, where, f'"text" must be a string, but it is {found}')
        return None
    present = [k for k in keys if k in obj]
    if len(present) != 1:
        wanted = " (or ".join(f'"{k}"' for k in keys) + ")" * (len(keys) - 1)
        complain(
            problems,
            where,
            f"missing {wanted}: a list of spans; keys found: {sorted(obj)}"
            if not present
            else f"give one of {', '.join(present)}, not several",
        )
        return None
    items = obj[present[0]]
    if not isinstance(items, list):
        complain(problems, where, f'"{present[0]}" must be a list, got {type(items).__name__}')
        return None
    if not valid_text(text, where, problems):
        return None
    spans = [s for s in (parse(item, where, problems) for item in items) if s is not None]
    return text, finish_spans(text, spans, where, problems)


def read_records(path, problems, keys, parse, extra=None):
    """A corpus of JSONL span records (tfner's or doccano's, by `keys` and `parse`); `extra(obj, skipped)`
    counts what a record holds that is not read. Empty texts are skipped and counted."""
    source = str(path)
    documents, skipped = [], {}
    for where, origin, obj in jsonl_records(path, problems, skipped):
        parsed = parse_record(obj, where, problems, keys, parse)
        if parsed is None:
            count(skipped, UNREADABLE)
            continue
        text, spans = parsed
        if extra is not None:
            extra(obj, skipped)
        if not text.strip():
            note(problems, where, "empty document (no text)", "empty-document")
            count(skipped, "empty document")
            continue
        documents.append(Document(text=text, spans=spans, origin=origin))
    return Corpus(documents=documents, source=source, skipped=skipped)


def read(path, problems=None) -> Corpus:
    """Read a span JSONL file (strict by default; lenient with a `problems` list)."""
    return read_records(path, problems, KEYS, parse_item)


def write(corpus, path):
    """Write span documents as span JSONL (`ner_tags` as [start, end, label] lists)."""
    write_jsonl(
        ({"text": d.text, "ner_tags": [[s, e, l] for s, e, l in d.spans or ()]} for d in corpus.documents), path
    )
