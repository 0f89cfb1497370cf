"""tfner.serving.windows: align.encode's windows and align.merge's choice, in graph ops."""

import numpy as np
import pytest


@pytest.mark.parametrize("max_length, stride", [(8, 2), (12, 5), (32, 8), (10, 0)])
def test_windows_and_merge_equal_align_on_texts_of_many_lengths(tokenizer, max_length, stride):
    import tensorflow as tf

    from tfner.data import align
    from tfner.data.readers import Corpus, Document
    from tfner.serving import windows

    width = max_length - 2
    # "a" is one token of MiniLM's vocabulary: a text of n words is n tokens
    sizes = [1, 2, width - 1, width, width + 1, width + stride, 2 * width + 3, 57, 200]
    corpus = Corpus([Document(text=" ".join(["a"] * n)) for n in sizes], "<test>")
    expected = align.encode(corpus, tokenizer, ["O"], max_length, stride)
    lengths = tf.constant(sizes, tf.int64)
    row, start, end = windows.window_starts(lengths, width, stride)
    np.testing.assert_array_equal(row.numpy(), expected.doc_index)
    np.testing.assert_array_equal(np.stack([start, end, tf.gather(lengths, row)], 1), expected.cut)

    # each window position carries (window, position in its text): the merge must pick align's window
    positions = tf.ragged.range(start, end)
    values = tf.stack([tf.cast(positions.value_rowids(), tf.float32), tf.cast(positions.flat_values, tf.float32)], 1)
    merged = windows.merge(values, lengths, row, start, end, int(sum(sizes))).numpy()
    window_values = [
        np.stack([np.full(len(ids), w), np.arange(len(ids)) - 1 + expected.cut[w][0]], 1).astype(np.float32)
        for w, ids in enumerate(expected.input_ids)
    ]
    want = np.concatenate(align.merge(expected, window_values, fill=-1.0))
    np.testing.assert_array_equal(merged, want)

    index = windows.window_tokens(tf.cumsum(lengths, exclusive=True), row, start, end)
    np.testing.assert_array_equal(index.row_lengths().numpy(), (end - start).numpy())
    assert int(index.flat_values[-1]) == sum(sizes) - 1


def test_no_texts_and_empty_texts(tokenizer):
    import tensorflow as tf

    from tfner.serving import windows

    row, start, end = windows.window_starts(tf.constant([0, 3], tf.int64), 6, 2)
    assert row.numpy().tolist() == [0, 1] and start.numpy().tolist() == [0, 0] and end.numpy().tolist() == [0, 3]
    row, start, end = windows.window_starts(tf.zeros([0], tf.int64), 6, 2)
    assert row.shape[0] == 0
    merged = windows.merge(tf.zeros([0, 3]), tf.zeros([0], tf.int64), row, start, end, 0)
    assert merged.shape == (0, 3)
