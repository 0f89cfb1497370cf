"""Figures written beside a trained model: training curves and the confusion matrix."""

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
                ax.text(j, i, str(matrix[i, j]), ha="center", va="center", fontsize=7,
                        color="white" if share[i, j] > 0.5 else "black")
    ax.set_xlabel("predicted")
    ax.set_ylabel("gold")
    ax.set_title(title)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
