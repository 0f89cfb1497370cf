"""From per-token label probabilities to labels: argmax, or recall-first thresholds per entity type.

A de-identification model must miss as little as possible; `tfner calibrate` lowers, per entity type,
the probability a token needs to be called that type until the validation recall reaches a target, and
writes the thresholds into the model folder (`thresholds.json`). With thresholds, a token's entity
probability for type T is P(B-T) + P(I-T); the token gets the most probable type among those whose
probability reaches their threshold (O if none does), and B- or I- by which of the two is more probable.
Without thresholds the decision is the plain argmax. The same rule runs in numpy here and in the
exported SavedModel's graph (`tfner.serving.export`).
"""

import json
import math
import os

import numpy as np

from tfner.data import tags as tag_schemes

THRESHOLDS = "thresholds.json"


def softmax(logits):
    """Probabilities from logits along the last axis (float64 inside, float32 out)."""
    z = np.asarray(logits, np.float64)
    z = np.exp(z - z.max(-1, keepdims=True))
    return (z / z.sum(-1, keepdims=True)).astype(np.float32)


def type_matrix(labels):
    """(entity types, a labels x types 0/1 matrix mapping each B-/I- label to its type, B-label
    index per type, I-label index per type) of a label list."""
    types = []
    for label in labels:
        kind = tag_schemes.entity_type(label)
        if kind is not None and kind not in types:
            types.append(kind)
    matrix = np.zeros((len(labels), len(types)), np.float32)
    begin, inside = np.full(len(types), -1), np.full(len(types), -1)
    for i, label in enumerate(labels):
        parts = tag_schemes.split(label)
        if parts is None or parts[0] == tag_schemes.OUTSIDE:
            continue
        t = types.index(parts[1])
        matrix[i, t] = 1.0
        if parts[0] == "B":
            begin[t] = i
        else:
            inside[t] = i
    return types, matrix, begin, inside


def check_thresholds(thresholds, labels, source="thresholds"):
    """Thresholds must name entity types of the model, each a probability in (0, 1]."""
    types = type_matrix(labels)[0]
    if not isinstance(thresholds, dict):
        raise ValueError(f"{source}: expected an object of entity type -> threshold, got {type(thresholds).__name__}")
    for kind, value in thresholds.items():
        if kind not in types:
            raise ValueError(f"{source}: {kind!r} is not an entity type of this model ({', '.join(types)})")
        if (
            isinstance(value, bool)
            or not isinstance(value, (int, float))
            or not math.isfinite(value)
            or not 0 < value <= 1
        ):
            raise ValueError(f"{source}: the threshold of {kind} must be a number in (0, 1], got {value!r}")
    return {k: float(v) for k, v in thresholds.items()}


class Decoder:
    """Labels from probabilities (tokens x labels): argmax, or per-type thresholds (see the module doc).

    thresholds: {entity type: probability}, or None for argmax; a type left out of the thresholds
    needs a probability of 0.5.
    """

    def __init__(self, labels, thresholds=None):
        self.labels = list(labels)
        self.thresholds = check_thresholds(thresholds, labels) if thresholds else None
        self.types, self.matrix, self.begin, self.inside = type_matrix(self.labels)
        self.outside = self.labels.index(tag_schemes.OUTSIDE) if tag_schemes.OUTSIDE in self.labels else 0
        self.vector = np.array(
            [self.thresholds.get(t, 0.5) if self.thresholds else 0.5 for t in self.types], np.float32
        )

    def __call__(self, probabilities):
        probabilities = np.asarray(probabilities, np.float32)
        if self.thresholds is None or not self.types:
            return probabilities.argmax(-1)
        by_type = probabilities @ self.matrix  # (..., types)
        passing = np.where(by_type >= self.vector, by_type, -1.0)
        best = passing.argmax(-1)
        chosen = np.take_along_axis(passing, best[..., None], -1)[..., 0] >= 0
        b, i = self.begin[best], self.inside[best]
        p_b = np.take_along_axis(probabilities, np.maximum(b, 0)[..., None], -1)[..., 0]
        p_i = np.take_along_axis(probabilities, np.maximum(i, 0)[..., None], -1)[..., 0]
        label = np.where((i < 0) | ((b >= 0) & (p_b >= p_i)), b, i)
        return np.where(chosen, label, self.outside)


def read_thresholds(model_dir, labels):
    """The thresholds saved in a model folder, or None."""
    path = os.path.join(model_dir, THRESHOLDS)
    if not os.path.exists(path):
        return None
    try:
        with open(path) as f:
            saved = json.load(f)
    except json.JSONDecodeError as e:
        raise ValueError(f"{path}: not valid JSON ({e})") from None
    if not isinstance(saved, dict) or "thresholds" not in saved:
        raise ValueError(f"{path}: expected an object with a 'thresholds' field")
    return check_thresholds(saved["thresholds"], labels, path)


def write_thresholds(model_dir, thresholds, labels, **details):
    """Write `thresholds.json` (the thresholds and how they were chosen) into a model folder."""
    thresholds = check_thresholds(thresholds, labels)
    path = os.path.join(model_dir, THRESHOLDS)
    text = json.dumps({"thresholds": thresholds, **details}, indent=1)  # all of it, before the file opens
    with open(path, "w") as f:
        f.write(text + "\n")
    return path
