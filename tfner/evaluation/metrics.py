"""The loss and the metrics: one masked from-logits loss, accuracy without padding, seqeval entity scores.

Positions labelled -100 (padding, special tokens, continuation sub-tokens) never reach the loss or the
accuracy: token accuracy that counts padding reads 99 % while entity F1 is 0 (USERS.md, item 3).
"""

import numpy as np

from tfner import _env  # noqa: F401
import tensorflow as tf
import tf_keras

from tfner.data.align import IGNORE


def masked_loss_sum(labels, logits):
    """(Sum of the sparse cross-entropy over labelled positions, number of labelled positions), float32.

    The training step divides the sum by the labelled-token count of the whole global batch, so the
    loss and the gradients are the same whether a batch is split across replicas or not.
    """
    labels = tf.cast(labels, tf.int32)
    mask = tf.not_equal(labels, IGNORE)
    per_token = tf.nn.sparse_softmax_cross_entropy_with_logits(
        labels=tf.where(mask, labels, 0), logits=tf.cast(logits, tf.float32))
    mask = tf.cast(mask, tf.float32)
    return tf.reduce_sum(per_token * mask), tf.reduce_sum(mask)


def masked_loss(labels, logits):
    """Mean sparse cross-entropy (from logits) over the labelled positions of the batch."""
    total, count = masked_loss_sum(labels, logits)
    return total / tf.maximum(count, 1.0)


class MaskedAccuracy(tf_keras.metrics.Metric):
    """Token accuracy over labelled positions only."""

    def __init__(self, name="accuracy", **kwargs):
        super().__init__(name=name, **kwargs)
        self.correct = self.add_weight(name="correct", initializer="zeros")
        self.total = self.add_weight(name="total", initializer="zeros")

    def update_state(self, labels, logits, sample_weight=None):
        labels = tf.cast(labels, tf.int32)
        mask = tf.not_equal(labels, IGNORE)
        hits = tf.logical_and(mask, tf.equal(tf.argmax(logits, -1, output_type=tf.int32), labels))
        self.correct.assign_add(tf.reduce_sum(tf.cast(hits, tf.float32)))
        self.total.assign_add(tf.reduce_sum(tf.cast(mask, tf.float32)))

    def result(self):
        return tf.math.divide_no_nan(self.correct, self.total)

    def reset_state(self):
        self.correct.assign(0.0)
        self.total.assign(0.0)


def entity_scores(gold, pred, mode="default"):
    """seqeval precision/recall/F1 overall and per entity type, plus token accuracy.

    `gold` and `pred` are lists of tag sequences. mode 'strict' uses seqeval's strict IOB2 matching.
    """
    from seqeval.metrics import classification_report
    from seqeval.metrics.sequence_labeling import get_entities
    from seqeval.scheme import IOB2

    kwargs = dict(mode="strict", scheme=IOB2) if mode == "strict" else {}
    report = classification_report(gold, pred, output_dict=True, zero_division=0, **kwargs)
    predicted = {}
    if mode == "strict":  # count what strict precision is computed on
        from seqeval.scheme import Entities

        found = [e.tag for seq in Entities([list(s) for s in pred], IOB2).entities for e in seq]
    else:
        found = [t for t, _, _ in get_entities([list(seq) for seq in pred])]
    for entity_type in found:
        predicted[entity_type] = predicted.get(entity_type, 0) + 1
    per_type = {k: {**_floats(v), "predicted": predicted.get(k, 0)}
                for k, v in report.items() if not k.endswith(" avg")}
    micro = _floats(report.get("micro avg", {"precision": 0, "recall": 0, "f1-score": 0, "support": 0}))
    flat_gold = [t for seq in gold for t in seq]
    flat_pred = [t for seq in pred for t in seq]
    correct = sum(g == p for g, p in zip(flat_gold, flat_pred))
    return {
        "precision": micro["precision"], "recall": micro["recall"], "f1": micro["f1"],
        "support": micro["support"], "accuracy": correct / max(len(flat_gold), 1),
        "entities_predicted": sum(predicted.values()),
        "per_type": per_type,
    }


def _floats(row):
    return {"precision": float(row["precision"]), "recall": float(row["recall"]),
            "f1": float(row["f1-score"]), "support": int(row["support"])}


def confusion_matrix(gold, pred, labels):
    """Token-level confusion counts: rows gold label, columns predicted label."""
    index = {label: i for i, label in enumerate(labels)}
    g = np.array([index[t] for seq in gold for t in seq], np.int64)
    p = np.array([index[t] for seq in pred for t in seq], np.int64)
    return np.bincount(g * len(labels) + p, minlength=len(labels) ** 2).reshape(len(labels), len(labels))


def format_confusion(matrix, labels):
    width = max(6, max(len(l) for l in labels) + 1)
    lines = ["gold \\ pred".ljust(width) + "".join(l.rjust(width) for l in labels)]
    for label, row in zip(labels, matrix):
        lines.append(label.ljust(width) + "".join(str(v).rjust(width) for v in row))
    return "\n".join(lines)


def format_scores(scores, title=""):
    lines = [title] if title else []
    lines.append(f"{'type':<14}{'precision':>10}{'recall':>10}{'f1':>10}{'support':>10}")
    for name, row in sorted(scores["per_type"].items()):
        lines.append(f"{name:<14}{row['precision']:>10.4f}{row['recall']:>10.4f}{row['f1']:>10.4f}"
                     f"{row['support']:>10}")
    lines.append(f"{'overall':<14}{scores['precision']:>10.4f}{scores['recall']:>10.4f}"
                 f"{scores['f1']:>10.4f}{scores['support']:>10}")
    lines.append(f"token accuracy {scores['accuracy']:.4f}")
    return "\n".join(lines)
