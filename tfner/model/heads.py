"""Token-classification heads: the layers that turn encoder hidden states into per-token logits.

Every head ends in a Dense layer with no activation: heads output logits and the one loss
(`tfner.model.losses.masked_loss`) applies the softmax, so no head can be fed to the wrong loss.
`HEADS` is the registry the CLI takes its `--head` choices from.
"""

from collections.abc import Callable
from dataclasses import dataclass

import tf_keras


def _classifier(num_labels, initializer=None):
    # BERT's N(0, 0.02) suits a classifier on the encoder's 384-768 wide states; behind a narrow MLP
    # it would shrink the gradient reaching the hidden layers 50-fold, so the MLP uses Glorot.
    initializer = initializer or tf_keras.initializers.TruncatedNormal(stddev=0.02)
    return tf_keras.layers.Dense(num_labels, kernel_initializer=initializer, name="logits")


def linear_head(config, num_labels):
    """Dropout, then one Dense layer to the labels."""
    return tf_keras.Sequential([tf_keras.layers.Dropout(config.dropout), _classifier(num_labels)], name="head")


def mlp_head(config, num_labels):
    """Dense relu layers of `config.mlp_sizes` (20, 8 by default), then a Dense layer to the labels."""
    layers = [tf_keras.layers.Dropout(config.dropout)]
    layers += [
        tf_keras.layers.Dense(size, activation="relu", name=f"hidden_{i}") for i, size in enumerate(config.mlp_sizes)
    ]
    return tf_keras.Sequential(layers + [_classifier(num_labels, "glorot_uniform")], name="head")


@dataclass(frozen=True)
class HeadSpec:
    """How to build a head, and how many of the encoder's top transformer layers it replaces."""

    build: Callable
    layers_dropped: int = 0
    description: str = ""


HEADS = {
    "linear": HeadSpec(linear_head, 0, "dropout + Dense(num_labels) on the last layer"),
    "mlp": HeadSpec(mlp_head, 0, "Dense 20 relu, Dense 8 relu, Dense(num_labels)"),
    "replace-last": HeadSpec(linear_head, 1, "last transformer layer removed, Dense(num_labels) on the one below"),
}
