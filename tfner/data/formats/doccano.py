"""doccano sequence-labelling JSONL: `{"text": ..., "label": [[start, end, "LABEL"], ...]}` per line.

Newer doccano exports write `"entities": [{"start_offset", "end_offset", "label", ...}]` instead of
`"label"`; both are read. Other keys (`id`, `Comments`...) are ignored. Relations between entities are
not supported: a record's `relations` are counted in `Corpus.skipped`, never dropped silently.
Offsets are characters (Python string indices), end exclusive.
"""

from __future__ import annotations

from tfner.data.formats import spans as span_jsonl
from tfner.data.formats.base import check_label, complain, count, is_offset, write_jsonl

KEYS = ("label", "entities")
RELATION = "doccano relation (not supported)"


def parse_item(item, where, problems):
    """(start, end, label) of a `[s, e, L]` item or an `{"start_offset", "end_offset", "label"}` entity."""
    if isinstance(item, dict) and {"start_offset", "end_offset", "label"} <= set(item):
        start, end, label = item["start_offset"], item["end_offset"], item["label"]
    elif isinstance(item, list) and len(item) == 3:
        start, end, label = item
    else:
        complain(
            problems,
            where,
            f"label {item!r} should be [start, end, LABEL] or "
            '{"start_offset": .., "end_offset": .., "label": ..} (is this a classification project?)',
        )
        return None
    for name, value in (("start", start), ("end", end)):
        if not is_offset(value):
            complain(problems, where, f"label {item!r}: {name} must be an integer, got {value!r}")
            return None
    if not check_label(label, where, problems, item):
        return None
    return start, end, label


def _relations(obj, skipped):
    relations = obj.get("relations")
    count(skipped, RELATION, len(relations) if isinstance(relations, list) else 0)


def read(path, problems=None):
    """Read a doccano JSONL export (strict by default; lenient with a `problems` list)."""
    return span_jsonl.read_records(path, problems, KEYS, parse_item, _relations)


def write(corpus, path):
    """Write span documents as doccano JSONL (`label` as [start, end, label] lists)."""
    write_jsonl(({"text": d.text, "label": [[s, e, l] for s, e, l in d.spans or ()]} for d in corpus.documents), path)
