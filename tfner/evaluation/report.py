"""The one writer of evaluation results, shared by `tfner train` and `tfner evaluate`:
`metrics.json`, the token confusion matrix as text (`confusion.txt`) and as a picture (`confusion.png`)."""

import json
import os

from tfner.evaluation import plots
from tfner.evaluation.metrics import confusion_matrix, format_confusion


def public(scores):
    """Scores without the predicted tags (which are per document, not a figure)."""
    return {k: v for k, v in scores.items() if k != "pred"}


def write_report(out, metrics, gold, pred, labels):
    """Write `metrics` (with the confusion matrix of `gold` vs `pred` added) into the folder `out`.
    Returns the matrix."""
    os.makedirs(out, exist_ok=True)
    matrix = confusion_matrix(gold, pred, labels)
    metrics = {**metrics, "confusion": {"labels": list(labels), "matrix": matrix.tolist()}}
    with open(os.path.join(out, "metrics.json"), "w") as f:
        json.dump(metrics, f, indent=1)
    with open(os.path.join(out, "confusion.txt"), "w") as f:
        f.write(format_confusion(matrix, labels) + "\n")
    plots.plot_confusion(matrix, labels, os.path.join(out, "confusion.png"))
    return matrix
