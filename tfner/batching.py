"""tf.data input pipelines from encoded windows.

Each batch is padded to its own longest window by default: padding every batch to 256 tokens costs
about 5x in training speed on CPU (STACK.md, trap 3). `pad_to` pads every batch to one fixed length,
for comparison or for compilers that want a single shape.
"""

import numpy as np

from tfner import _env  # noqa: F401
import tensorflow as tf

from tfner.align import IGNORE


def make_dataset(windows, batch_size, pad_id, shuffle=False, seed=0, pad_to=None):
    """`({"input_ids", "attention_mask"}, labels)` batches (int32) from `tfner.align.Windows`."""
    lengths = np.array([len(ids) for ids in windows.input_ids], np.int64)
    if pad_to is not None and len(lengths) and lengths.max() > pad_to:
        raise ValueError(f"pad_to={pad_to} is shorter than the longest window ({lengths.max()})")
    ids = tf.RaggedTensor.from_row_lengths(np.concatenate(windows.input_ids).astype(np.int32), lengths)
    labels = tf.RaggedTensor.from_row_lengths(np.concatenate(windows.labels).astype(np.int32), lengths)
    data = tf.data.Dataset.from_tensor_slices((ids, labels))
    if shuffle:
        data = data.shuffle(len(lengths), seed=seed, reshuffle_each_iteration=True)
    data = data.map(lambda i, y: ({"input_ids": i, "attention_mask": tf.ones_like(i)}, y))
    shape = [pad_to] if pad_to else [None]
    data = data.padded_batch(
        batch_size,
        padded_shapes=({"input_ids": shape, "attention_mask": shape}, shape),
        padding_values=({"input_ids": np.int32(pad_id), "attention_mask": np.int32(0)}, np.int32(IGNORE)),
    )
    return data.prefetch(tf.data.AUTOTUNE)


def real_tokens(windows):
    """Tokens that are not padding, special tokens included."""
    return int(sum(len(ids) for ids in windows.input_ids))
