"""The embedded default dataset: synthetic clinical notes (`tfner.data.notes`) as train and test corpora.

`clinical_notes(n_train, n_test, seed)` draws the training notes with seed `2*seed` and the test notes
with `2*seed + 1`, dropping test notes whose text also occurs in training; `families`, `locales` and
`label_set` narrow the draw (leave-families-out experiments train on some and test on others).
"""

import json
import os

from tfner.data.notes import EXTENDED_LABELS, FAMILIES, LABELS, LOCALES, generate_notes
from tfner.data.readers import Corpus, Document

__all__ = [
    "LABELS",
    "EXTENDED_LABELS",
    "FAMILIES",
    "LOCALES",
    "generate_notes",
    "clinical_notes",
    "records_to_corpus",
    "synthetic_scope",
    "write_jsonl",
]


def records_to_corpus(records, source):
    """A span corpus from records of `generate_notes` (or any {"text", "ner_tags"} dicts)."""
    docs = [
        Document(text=r["text"], spans=[(s, e, label) for s, e, label in r["ner_tags"]], origin=f"{source}:record {i}")
        for i, r in enumerate(records, start=1)
    ]
    return Corpus(documents=docs, source=source)


def clinical_notes(n_train=1000, n_test=100, seed=0, families=None, locales=None, label_set="default"):
    """(train, test) corpora of synthetic notes, disjoint by text."""
    what = dict(families=families, locales=locales, label_set=label_set)
    train = generate_notes(n_train, seed=2 * seed, **what)
    seen = {r["text"] for r in train}
    extra = max(10, n_test // 10)
    while True:  # the first k notes of a seed do not depend on n: draw a few more than needed
        test = [r for r in generate_notes(n_test + extra, seed=2 * seed + 1, **what) if r["text"] not in seen]
        if len(test) >= n_test or extra > 10 * n_test:
            break
        extra *= 2
    scope = "" if families is None and locales is None else " (some families/locales)"
    name = f"synthetic clinical notes{scope}"
    return (
        records_to_corpus(train, f"{name} (train, seed {seed})"),
        records_to_corpus(test[:n_test], f"{name} (test, seed {seed})"),
    )


def synthetic_scope(settings):
    """`clinical_notes` keywords from a run's (flat) settings: families, locales and label set, with
    empty lists meaning all (older runs have none of them)."""
    return {
        "families": settings.get("synthetic_families") or None,
        "locales": settings.get("synthetic_locales") or None,
        "label_set": settings.get("synthetic_label_set", "default"),
    }


def write_jsonl(records, path):
    """Write records (dicts as from `generate_notes`) as UTF-8 JSONL, one per line."""
    parent = os.path.dirname(os.fspath(path))
    if parent:
        os.makedirs(parent, exist_ok=True)
    with open(path, "w", encoding="utf-8") as f:
        for r in records:
            f.write(json.dumps(r, ensure_ascii=False) + "\n")
