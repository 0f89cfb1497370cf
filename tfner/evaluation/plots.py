"""Figures: training curves and the confusion matrix beside a trained model, and a search's trials."""

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402


def plot_history(history, path, title="training"):
    """Loss (train and validation) and validation precision/recall/F1 per epoch."""
    epochs = np.arange(1, len(history.get("loss", [])) + 1)
    fig, (left, right) = plt.subplots(1, 2, figsize=(10, 4))
    for key in ("loss", "val_loss"):
        if key in history:
            left.plot(epochs, history[key], marker="o", label=key)
    left.set_xlabel("epoch")
    left.set_ylabel("masked cross-entropy")
    left.legend()
    for key in ("val_precision", "val_recall", "val_f1", "val_accuracy"):
        if key in history:
            right.plot(epochs, history[key], marker="o", label=key)
    right.set_xlabel("epoch")
    right.set_ylim(0, 1.02)
    right.legend()
    fig.suptitle(title)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def plot_confusion(matrix, labels, path, title="token-level confusion (rows: gold)"):
    """Row-normalised confusion matrix with raw counts in the cells."""
    rows = matrix.sum(1, keepdims=True)
    share = np.divide(matrix, rows, out=np.zeros(matrix.shape, float), where=rows > 0)
    size = max(5, 0.55 * len(labels) + 2)
    fig, ax = plt.subplots(figsize=(size, size))
    ax.imshow(share, cmap="Blues", vmin=0, vmax=1)
    ax.set_xticks(range(len(labels)), labels, rotation=90)
    ax.set_yticks(range(len(labels)), labels)
    for i in range(len(labels)):
        for j in range(len(labels)):
            if matrix[i, j]:
                ax.text(
                    j,
                    i,
                    str(matrix[i, j]),
                    ha="center",
                    va="center",
                    fontsize=7,
                    color="white" if share[i, j] > 0.5 else "black",
                )
    ax.set_xlabel("predicted")
    ax.set_ylabel("gold")
    ax.set_title(title)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def plot_trials(trials, objective, path, title="search", labels=None, direction="max"):
    """The objective of each trial in the order they ran, the best so far, failed trials marked.

    `trials` are dicts with `trial_id`, `status` and `score` (None unless completed), as
    `tfner.tune.NERTuner.trial_rows` gives them; `labels`, one short text per trial, are written
    beside the points (up to 30 trials); `direction` ("max" or "min") is the better way for "best so far".
    """
    x = np.arange(1, len(trials) + 1)
    done = [(i, t["score"]) for i, t in zip(x, trials) if t["status"] == "COMPLETED" and t["score"] is not None]
    failed = [i for i, t in zip(x, trials) if t["status"] != "COMPLETED"]
    fig, ax = plt.subplots(figsize=(max(6.0, 0.45 * len(trials) + 3), 4.5))
    if done:
        xs, ys = zip(*done)
        ax.plot(xs, ys, "o", color="tab:blue", label="completed")
        best = np.maximum.accumulate(ys) if direction == "max" else np.minimum.accumulate(ys)
        ax.step(xs, best, where="post", color="tab:green", alpha=0.7, label="best so far")
        if labels and len(trials) <= 30:
            for i, y in done:
                ax.annotate(labels[i - 1], (i, y), textcoords="offset points", xytext=(4, 4), fontsize=7, rotation=30)
    if failed:
        floor = min(ys) if done else 0.0
        ax.plot(failed, [floor] * len(failed), "x", color="tab:red", markersize=9, label="failed (not scored)")
        if labels and len(trials) <= 30:
            for i in failed:
                ax.annotate(
                    labels[i - 1],
                    (i, floor),
                    textcoords="offset points",
                    xytext=(4, -12),
                    fontsize=7,
                    rotation=-30,
                    color="tab:red",
                )
    ax.set_xticks(x, [str(t["trial_id"]) for t in trials], rotation=90 if len(trials) > 15 else 0)
    ax.margins(x=0.12, y=0.2)  # room for the labels beside the points
    ax.set_xlabel("trial")
    ax.set_ylabel(objective)
    ax.set_title(title, fontsize=10)
    if done or failed:
        ax.legend(loc="best", fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
