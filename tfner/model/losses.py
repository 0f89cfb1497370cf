"""The training objective: one masked from-logits loss, and token accuracy without padding.

Positions labelled -100 (padding, special tokens, continuation sub-tokens) never reach the loss or the
accuracy: token accuracy that counts padding reads 99 % while entity F1 is 0 (USERS.md, item 3). Every
head outputs logits, and this is the one loss that applies the softmax.
"""

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
        labels=tf.where(mask, labels, 0), logits=tf.cast(logits, tf.float32)
    )
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
