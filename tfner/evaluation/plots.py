"""Figures: training curves and the confusion matrix beside a trained model, and a search's trials."""

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
from matplotlib.ticker import MaxNLocator  # noqa: E402


def plot_history(history, path, title="training"):
    """Loss (train and validation) and validation precision/recall/F1 per epoch (`history_figure`)."""
    _save(history_figure(history, title), path)


def history_figure(history, title="training"):
    """The figure of `plot_history`. Epochs are ticked as whole numbers; a single epoch is a row of
    marked points with its values written beside them, on an axis from 0.5 to 1.5, not a lone dot on a
    stretch of 0.96-1.04."""
    count = max((len(v) for v in history.values() if isinstance(v, list)), default=0)
    epochs = np.arange(1, count + 1)
    fig, (left, right) = plt.subplots(1, 2, figsize=(10, 4))
    panels = (
        (left, ("loss", "val_loss"), "masked cross-entropy"),
        (right, ("val_precision", "val_recall", "val_f1", "val_accuracy"), "validation score"),
    )
    for ax, keys, ylabel in panels:
        # Distinct markers, largest first, so that series lying on each other (P = R = F1 = 0) all show.
        for key, marker, size in zip([k for k in keys if k in history], "osD^", (9, 7, 5, 4)):
            values = history[key]
            ax.plot(epochs[: len(values)], values, marker=marker, markersize=size, label=key)
            if count == 1 and values and values[0] is not None:
                ax.annotate(f"{values[0]:.4g}", (1, values[0]), textcoords="offset points", xytext=(8, -3), fontsize=8)
        ax.set_xlabel("epoch")
        ax.set_ylabel(ylabel)
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        if count <= 1:
            ax.set_xlim(0.5, 1.5)
            ax.set_xticks([1])
        if ax.lines:
            ax.legend(fontsize=8)
    right.set_ylim(0, 1.02)
    fig.suptitle(title)
    fig.tight_layout()
    return fig


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
    """The objective of each trial in the order they ran, the best so far, failed trials marked
    (`trials_figure`)."""
    _save(trials_figure(trials, objective, title, labels, direction), path)


def trials_figure(trials, objective, title="search", labels=None, direction="max"):
    """The figure of `plot_trials`. `trials` are dicts with `trial_id`, `status` and `score` (None
    unless completed), as `tfner.tune.NERTuner.trial_rows` gives them; `labels`, one short text per
    trial, are written under the axis, one per trial, turned upright beside its id (so they never
    overlap, leave the figure or reach the title; up to 30 trials, each cut at 60 characters);
    `direction` ("max" or "min") is the better way for "best so far"."""
    x = np.arange(1, len(trials) + 1)
    done = [(i, t["score"]) for i, t in zip(x, trials) if t["status"] == "COMPLETED" and t["score"] is not None]
    failed = [i for i, t in zip(x, trials) if t["status"] != "COMPLETED"]
    ticks = [str(t["trial_id"]) for t in trials]
    if labels and len(trials) <= 30:
        ticks = [f"{tick}  {_cut(label, 60)}" for tick, label in zip(ticks, labels)]
    longest = max((len(t) for t in ticks), default=0)
    upright = longest > 4 or len(trials) > 15
    # Room under the axis for the upright labels: about 0.06 inch per character at 7 points.
    height = 4.5 + (0.06 * longest if upright else 0)
    fig, ax = plt.subplots(figsize=(max(6.0, 0.3 * len(trials) + 3), height))
    ys = []
    if done:
        xs, ys = zip(*done)
        ax.plot(xs, ys, "o", color="tab:blue", label="completed")
        best = np.maximum.accumulate(ys) if direction == "max" else np.minimum.accumulate(ys)
        ax.step(xs, best, where="post", color="tab:green", alpha=0.7, label="best so far")
    if failed:
        floor = min(ys) if done else 0.0
        ax.plot(failed, [floor] * len(failed), "x", color="tab:red", markersize=9, label="failed (not scored)")
    ax.set_xticks(x, ticks, rotation=90 if upright else 0, fontsize=7 if upright else None)
    for i in failed:
        ax.get_xticklabels()[i - 1].set_color("tab:red")
    ax.set_xlim(0.4, len(trials) + 0.6)
    ax.margins(y=0.15)
    ax.set_xlabel("trial" + ("  (failed in red)" if failed else ""))
    ax.set_ylabel(objective)
    ax.set_title(title, fontsize=10)
    if done or failed:
        ax.legend(loc="best", fontsize=8)
    fig.tight_layout()
    return fig


def _cut(text, width):
    return text if len(text) <= width else text[: width - 1] + "\u2026"


def _save(fig, path):
    fig.savefig(path, dpi=100)
    plt.close(fig)
