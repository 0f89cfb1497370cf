"""De-identify a stream of records with an injected detector (a model, or rules).

    Detector = Callable[[list[str]], list[list[dict]]]
    # texts -> per text, entities {"label": str, "start": int, "end": int, "score": float}

`deidentify_records` calls the detector on batches of up to `batch_size` readable, non-empty texts (a
record that could not be read, or an empty one, is passed through without a call), merges overlaps
(`operators.merge_entities`) and replaces them. The
surrogates of a record are seeded by the key and the record's `location` (its document id), so outputs
do not depend on batching, workers or order, and a rerun with the same key gives the same output. A
detector answer that is not valid for its text (offsets out of range...) fails that record, with an
error naming the entity, rather than writing a text that may still hold PHI.
"""

import collections
import dataclasses
import re
from collections.abc import Callable

from tfner.deid.operators import MODES, deidentify_text, merge_entities
from tfner.deid.surrogates import Surrogates, check_locale

Detector = Callable[[list[str]], list[list[dict]]]


def deidentify_records(records, detector, mode, key, batch_size=32, locale="en_US"):
    """Yield (record, output_text, entities) for every record, in order.

    output_text is None for a failed record (its `error` set); entities are the merged entities that were
    replaced, with offsets into the original text.
    """
    if mode not in MODES:
        raise ValueError(f"mode must be one of {', '.join(MODES)}, got {mode!r}")
    if mode == "surrogate" and not key:
        raise ValueError("mode 'surrogate' needs a key")
    if not isinstance(batch_size, int) or batch_size < 1:
        raise ValueError(f"batch_size must be a positive integer, got {batch_size!r}")
    if mode == "surrogate":
        check_locale(locale)
    pending, texts = [], []
    for record in records:
        pending.append(record)
        if record.error is None and record.text:
            texts.append(record.text)
        if len(texts) >= batch_size:
            yield from _flush(pending, texts, detector, mode, key, locale)
            pending, texts = [], []
    if pending:
        yield from _flush(pending, texts, detector, mode, key, locale)


def _flush(pending, texts, detector, mode, key, locale):
    found = list(detector(texts)) if texts else []
    if len(found) != len(texts):
        raise RuntimeError(f"the detector returned {len(found)} results for {len(texts)} texts")
    found = iter(found)
    for record in pending:
        if record.error is not None:
            yield record, None, []
            continue
        if not record.text:
            yield record, record.text, []
            continue
        try:
            entities = merge_entities(record.text, next(found))
            surrogates = Surrogates(key, record.location, locale) if mode == "surrogate" else None
            yield record, deidentify_text(record.text, entities, mode, surrogates), entities
        except ValueError as e:
            yield dataclasses.replace(record, error=f"{record.location}: invalid detector output: {e}"), None, []


def detector_from_model(model_dir):
    """The Detector of a model saved by tfner (`tfner.load`): texts -> per text, [{"label", "start", "end",
    "score"}] from `NERPipeline(tagger, aggregation="simple")`. The model's recall-first thresholds
    (`thresholds.json`, written by `tfner calibrate`) decide its labels, as everywhere a model predicts; the
    detector's `thresholds` attribute holds them (None: argmax) for the audit."""
    import tfner
    from tfner.serving.pipeline import NERPipeline

    tagger = tfner.load(model_dir)
    pipe = NERPipeline(tagger, aggregation="simple")

    def detect(texts):
        found = pipe(list(texts)) if texts else []
        return [
            [
                {"label": e["entity_group"], "start": int(e["start"]), "end": int(e["end"]), "score": float(e["score"])}
                for e in entities
            ]
            for entities in found
        ]

    detect.thresholds = tagger.thresholds
    return detect


def model_thresholds(model_dir):
    """The recall-first thresholds saved with a model (None when it has none), without loading it."""
    import json
    import os

    from tfner.model.decoding import read_thresholds

    with open(os.path.join(model_dir, "labels.json")) as f:
        return read_thresholds(model_dir, json.load(f))


class Summary:
    """Counts of a run: records, errors, empty texts, entities (and per label); no PHI.
    `failed` keeps the first `keep_errors` (location, error) pairs."""

    def __init__(self, keep_errors=1000):
        self.records = self.errors = self.empty = 0
        self.labels = collections.Counter()
        self.failed, self.keep_errors = [], keep_errors

    def add(self, record, entities):
        self.records += 1
        if record.error:
            self.errors += 1
            if len(self.failed) < self.keep_errors:
                self.failed.append((record.location, record.error))
        elif record.text == "":
            self.empty += 1
        self.labels.update(e["label"] for e in entities)

    def as_dict(self):
        return {
            "records": self.records,
            "errors": self.errors,
            "empty": self.empty,
            "entities": sum(self.labels.values()),
            "labels": dict(sorted(self.labels.items())),
        }


def summary(results):
    """The `Summary.as_dict` of (record, output_text, entities) results."""
    counts = Summary()
    for record, _, entities in results:
        counts.add(record, entities)
    return counts.as_dict()


class RegexDetector:
    """A rule-based detector: {label: regex}, every match an entity with score 1.0 (overlaps are left to
    `merge_entities`). For tests and dry runs of the pipeline without a model; picklable for Beam."""

    def __init__(self, patterns, flags=0):
        self.patterns = dict(patterns)
        self.flags = flags
        self._compiled = [(label, re.compile(p, flags)) for label, p in self.patterns.items()]

    def __getstate__(self):
        return {"patterns": self.patterns, "flags": self.flags}

    def __setstate__(self, state):
        self.__init__(state["patterns"], state["flags"])

    def __call__(self, texts):
        return [
            [
                {"label": label, "start": m.start(), "end": m.end(), "score": 1.0}
                for label, rx in self._compiled
                for m in rx.finditer(text)
                if m.end() > m.start()
            ]
            for text in texts
        ]
