"""Entity metrics: seqeval scores overall and per type, token accuracy and masked loss of a tagger's
predictions, and the token confusion matrix. The training loss itself is `tfner.model.losses`."""

import numpy as np

from tfner.data.align import IGNORE, Windows


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
    per_type = {
        k: {**_floats(v), "predicted": predicted.get(k, 0)} for k, v in report.items() if not k.endswith(" avg")
    }
    micro = _floats(report.get("micro avg", {"precision": 0, "recall": 0, "f1-score": 0, "support": 0}))
    flat_gold = [t for seq in gold for t in seq]
    flat_pred = [t for seq in pred for t in seq]
    correct = sum(g == p for g, p in zip(flat_gold, flat_pred))
    return {
        "precision": micro["precision"],
        "recall": micro["recall"],
        "f1": micro["f1"],
        "support": micro["support"],
        "accuracy": correct / max(len(flat_gold), 1),
        "entities_predicted": sum(predicted.values()),
        "per_type": per_type,
    }


def _floats(row):
    return {
        "precision": float(row["precision"]),
        "recall": float(row["recall"]),
        "f1": float(row["f1-score"]),
        "support": int(row["support"]),
    }


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
        lines.append(f"{name:<14}{row['precision']:>10.4f}{row['recall']:>10.4f}{row['f1']:>10.4f}{row['support']:>10}")
    lines.append(
        f"{'overall':<14}{scores['precision']:>10.4f}{scores['recall']:>10.4f}"
        f"{scores['f1']:>10.4f}{scores['support']:>10}"
    )
    lines.append(f"token accuracy {scores['accuracy']:.4f}")
    return "\n".join(lines)


def window_loss(windows, logits):
    """Masked cross-entropy and token accuracy over the labelled positions of all windows."""
    labels = np.concatenate(windows.labels) if len(windows) else np.zeros(0, np.int32)
    stacked = np.concatenate(logits).astype(np.float64) if len(windows) else np.zeros((0, 1))
    mask = labels != IGNORE
    if not mask.any():
        return float("nan"), float("nan")
    z, y = stacked[mask], labels[mask]
    z = z - z.max(-1, keepdims=True)
    log_probs = z[np.arange(len(y)), y] - np.log(np.exp(z).sum(-1))
    return float(-log_probs.mean()), float((z.argmax(-1) == y).mean())


def evaluate_tagger(tagger, corpus_or_windows, batch_size=64, mode="default", logits=None):
    """seqeval scores, token accuracy and masked loss of `tagger` on a labelled corpus (or its windows);
    `pred` holds the predicted tags per document. `logits`: the tagger's logits per window, when the
    caller has predicted them already (and may use them again)."""
    windows = corpus_or_windows
    if not isinstance(windows, Windows):
        windows = tagger.encode(windows)
    if logits is None:
        logits = tagger.predict_logits(windows, batch_size)
    pred = tagger.tags(windows, logits)
    scores = entity_scores(windows.gold, pred, mode)
    scores["loss"], scores["window_accuracy"] = window_loss(windows, logits)
    scores["pred"] = pred
    return scores
