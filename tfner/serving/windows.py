"""Windows of long texts inside the graph: `tfner.data.align`'s rule (`encode` cuts, `merge` picks), in
TensorFlow ops, so `predict_text` reads whole documents with the same windows and the same merge as
`tfner.serving.pipeline`.

A text of L tokens gets windows of `width` content tokens starting every `width - stride` tokens, the
last one moved back to end at L; each token takes the logits of the window where it sits farthest from
a cut (ties: the earlier window). All functions take and return flat tensors plus row ids, so they work
on a whole batch of texts at once.
"""

import tensorflow as tf

FAR = 1 << 30  # the distance of a token to a text edge, which is no cut


def window_starts(lengths, width, stride):
    """Per window: its text (row) and first token, for texts of `lengths` tokens (int64, (batch,)).

    Returns (row, start, end) int64 vectors, one entry per window, texts in order; a text of no tokens
    gets one empty window, as `align.encode` gives it."""
    step = width - stride
    over = tf.maximum(lengths - width, 0)
    first_windows = over // step + 1
    extra = tf.cast((first_windows - 1) * step + width < lengths, tf.int64)
    k = tf.ragged.range(first_windows + extra)
    row = k.value_rowids()
    start = tf.minimum(k.flat_values * step, tf.gather(over, row))
    end = tf.minimum(start + width, tf.gather(lengths, row))
    return row, start, end


def window_tokens(row_starts, row, start, end):
    """The flat token index (into the texts' concatenated tokens) of each window position: ragged
    (windows, positions)."""
    positions = tf.ragged.range(start, end)
    offset = tf.gather(tf.gather(row_starts, row), positions.value_rowids())
    return positions.with_flat_values(positions.flat_values + offset)


def merge(values, lengths, row, start, end, total):
    """Per token of the texts, the row of `values` from the window where it is farthest from a cut.

    values: (window positions, ...) flat, in window order (the flat values of `window_tokens`);
    lengths: tokens per text; row, start, end: `window_starts`; total: number of tokens of all texts.
    Returns (total, ...) in the texts' token order."""
    positions = tf.ragged.range(start, end)
    w = positions.value_rowids()  # the window of each position
    token = positions.flat_values  # its index in its text
    s, e, n = tf.gather(start, w), tf.gather(end, w), tf.gather(tf.gather(lengths, row), w)
    left = tf.where(s > 0, token - s, FAR)
    right = tf.where(e < n, e - 1 - token, FAR)
    windows = tf.shape(start, out_type=tf.int64)[0]
    # farthest from a cut first, then the earlier window: one key, one maximum per token
    key = tf.minimum(left, right) * (windows + 1) + (windows - w)
    text_start = tf.cumsum(lengths, exclusive=True)
    index = token + tf.gather(text_start, tf.gather(row, w))
    best = tf.math.unsorted_segment_max(key, index, total)
    chosen = tf.equal(key, tf.gather(best, index))
    kept = tf.where(chosen)[:, 0]
    shape = tf.concat([[total], tf.shape(values, out_type=tf.int64)[1:]], 0)
    return tf.scatter_nd(tf.gather(index, kept)[:, None], tf.gather(values, kept), shape)
