"""tf.data input pipelines from encoded windows, and how much padding each way of batching costs.

Four ways to batch and pad (`TrainConfig.padding`):

- `buckets` (the default): windows are grouped by length into buckets with fixed bounds (8, 12, 16,
  ..., 32, 40, 48, 56, 64, 80, 96, 112, 128, ... up to `max_length`, `BUCKET_BOUNDS`) and each batch is
  padded to its bucket's bound. Padding stays small and there are only as many batch shapes as
  buckets, so XLA (`--jit-compile`) compiles 15 programs for windows of 128 instead of one per batch
  length (STACK.md, trap 4). The last, partial batch of a bucket is filled up
  with empty rows (no tokens, no labels), so every batch has `batch_size` rows.
- `tokens`: a token budget (fairseq's `max_tokens`): the same buckets, but a batch of bucket bound
  `b` holds `max_tokens // b` windows, so every batch is about `max_tokens` padded tokens (rows x
  width <= `max_tokens`), short windows many to a batch, long ones few. Shapes stay one per bucket
  (partial batches are filled with empty rows, as with buckets). The default budget is `batch_size`
  times the mean bound of the windows, so an epoch has about as many steps as with `buckets`; the loss
  is a mean over labelled tokens, so batches of different row counts weigh their tokens alike.
- `batch`: each batch is padded to its own longest window (fewest padded tokens, one shape per length).
- `max-length`: every batch padded to `max_length` (one shape; about 5x slower, STACK.md trap 3).

The tokenised windows are built once (`tfner.align.encode`) and held as ragged tensors, so the input
pipeline runs no Python per example; batches are shuffled within buckets and prefetched.
"""

import math

import numpy as np
import tensorflow as tf

from tfner.data.align import IGNORE

# The default length buckets of `--padding buckets`: steps of 4 tokens up to 32, then about 1.2x apart.
# On CoNLL-2003 (MiniLM's tokenizer, windows of 128) they pad 10 % of the tokens under a token budget,
# the earlier ladder (8, 16, 24, 32, 48, 64, 96, 128, ...) 18 %; Keras traces a training step for the
# first shapes only and then one for any shape (tf.function's reduce_retracing), so more buckets cost
# no tracing, only a compilation each under XLA (experiments/results/bench_whole_epoch_fine.md).
BUCKET_BOUNDS = (8, 12, 16, 20, 24, 28, 32, 40, 48, 56, 64, 80, 96, 112, 128, 160, 192, 224, 256, 320, 384, 448, 512)
COARSE_BUCKET_BOUNDS = (8, 16, 24, 32, 48, 64, 96, 128, 192, 256, 384, 512)  # the default before issue 17


def bucket_bounds(max_length, bounds=BUCKET_BOUNDS):
    """The bounds up to and including `max_length` (added when no bound equals it), sorted."""
    kept = sorted({int(b) for b in bounds if 0 < b < max_length})
    return kept + [int(max_length)]


def bucket_of(lengths, bounds):
    """Index of the smallest bound >= each length."""
    lengths = np.asarray(lengths)
    if len(lengths) and lengths.max() > bounds[-1]:
        raise ValueError(f"a window of {lengths.max()} tokens is longer than the largest bucket bound ({bounds[-1]})")
    return np.searchsorted(np.asarray(bounds), lengths, side="left")


def steps_per_epoch(windows, batch_size, padding="buckets", bounds=BUCKET_BOUNDS, max_length=None, max_tokens=None):
    """Batches in one epoch of `make_dataset` with the same arguments (for the learning-rate schedule)."""
    lengths = _lengths(windows)
    if padding not in ("buckets", "tokens"):
        return math.ceil(len(lengths) / batch_size)
    bounds = bucket_bounds(max_length or int(lengths.max(initial=1)), bounds)
    counts = np.bincount(bucket_of(lengths, bounds), minlength=len(bounds))
    rows = _bucket_rows(lengths, batch_size, padding, bounds, max_tokens)
    return int(sum(math.ceil(c / r) for c, r in zip(counts, rows)))


def default_max_tokens(windows, batch_size, bounds=BUCKET_BOUNDS, max_length=None):
    """The token budget of `padding="tokens"` when none is given: `batch_size` x the mean bucket bound
    of the windows (so an epoch has about as many steps as with `buckets`), at least the largest bound
    in use (so that the longest window fits)."""
    lengths = _lengths(windows)
    return _default_budget(lengths, batch_size, bucket_bounds(max_length or int(lengths.max(initial=1)), bounds))


def _default_budget(lengths, batch_size, bounds):
    if not len(lengths):
        return batch_size * bounds[-1]
    widths = np.asarray(bounds)[bucket_of(lengths, bounds)]
    return int(max(math.ceil(batch_size * widths.mean()), widths.max()))


def _bucket_rows(lengths, batch_size, padding, bounds, max_tokens):
    """Rows per batch of each bucket: `batch_size` each, or `max_tokens // bound` under a token budget."""
    if padding == "buckets":
        if max_tokens is not None:
            raise ValueError("max_tokens applies to padding='tokens' only")
        return [batch_size] * len(bounds)
    budget = max_tokens or _default_budget(lengths, batch_size, bounds)
    used = bounds[int(bucket_of(lengths, bounds).max())] if len(lengths) else bounds[0]
    if budget < used:
        raise ValueError(f"max_tokens={budget} is less than the longest window's bucket bound ({used}): it cannot fit")
    return [max(budget // b, 1) for b in bounds]


def make_dataset(
    windows,
    batch_size,
    pad_id,
    shuffle=False,
    seed=0,
    padding="batch",
    bounds=BUCKET_BOUNDS,
    max_length=None,
    max_tokens=None,
):
    """`({"input_ids", "attention_mask"}, labels)` int32 batches from `tfner.align.Windows`.

    `padding` is 'buckets', 'tokens', 'batch' or 'max-length' (module docstring); `max_length` is the
    longest a window may be (default: the longest there is); `max_tokens` is the token budget of a
    batch under 'tokens' (default `default_max_tokens`). Padded positions get `pad_id`, attention
    mask 0 and label -100 (ignored by the loss).
    """
    lengths = _lengths(windows)
    longest = int(lengths.max(initial=1))
    max_length = max_length or longest
    if longest > max_length:
        raise ValueError(f"max_length={max_length} is shorter than the longest window ({longest})")
    ids = tf.RaggedTensor.from_row_lengths(_concat(windows.input_ids), lengths)
    labels = tf.RaggedTensor.from_row_lengths(_concat(windows.labels), lengths)
    data = tf.data.Dataset.from_tensor_slices((ids, labels))
    if shuffle:
        data = data.shuffle(max(len(lengths), 1), seed=seed, reshuffle_each_iteration=True)
    data = data.map(lambda i, y: (i, tf.ones_like(i), y))
    pad_values = (np.int32(pad_id), np.int32(0), np.int32(IGNORE))
    if max_tokens is not None and padding != "tokens":
        raise ValueError(f"max_tokens applies to padding='tokens' only, not {padding!r}")
    if padding in ("buckets", "tokens"):
        bounds = bucket_bounds(max_length, bounds)
        rows = _bucket_rows(lengths, batch_size, padding, bounds, max_tokens)
        data = data.bucket_by_sequence_length(
            lambda i, m, y: tf.shape(i)[0],
            bucket_boundaries=[b + 1 for b in bounds[:-1]],
            bucket_batch_sizes=rows,
            padded_shapes=([None],) * 3,
            padding_values=pad_values,
        )
        bound, rows_of = tf.constant(bounds, tf.int32), tf.constant(rows, tf.int32)
        data = data.map(lambda *batch: _pad_batch(batch, pad_values, bound, rows_of))
        # tf.data cannot count bucketed batches; Keras needs the count (steps_per_execution, epochs)
        count = steps_per_epoch(windows, batch_size, padding, bounds, max_length, max_tokens)
        data = data.apply(tf.data.experimental.assert_cardinality(count))
    elif padding in ("batch", "max-length"):
        shape = [max_length] if padding == "max-length" else [None]
        data = data.padded_batch(batch_size, padded_shapes=(shape,) * 3, padding_values=pad_values)
    else:
        raise ValueError(f"padding={padding!r}: expected buckets, tokens, batch or max-length")
    data = data.map(lambda i, m, y: ({"input_ids": i, "attention_mask": m}, y))
    # tf.data's autotuning thread makes the end of every pass (every Keras epoch) wait for its next
    # wake-up, up to 10 s; the pipeline is cheap next to a training step, so fixed sizes do as well
    options = tf.data.Options()
    options.autotune.enabled = False
    return data.prefetch(2).with_options(options)


def _pad_batch(batch, pad_values, bounds, rows_of):
    """Pad a bucketed batch to its bucket's bound and to its bucket's row count (`rows_of[bucket]`)."""
    rows, length = tf.shape(batch[0])[0], tf.shape(batch[0])[1]
    bucket = tf.searchsorted(bounds, tf.reshape(length, [1]), side="left")[0]
    width = tf.gather(bounds, bucket)
    pad = [[0, tf.gather(rows_of, bucket) - rows], [0, width - length]]
    return tuple(tf.pad(t, pad, constant_values=v) for t, v in zip(batch, pad_values))


def padding_figures(windows, batch_size, padding, bounds=BUCKET_BOUNDS, max_length=None, max_tokens=None):
    """Real and padded tokens per epoch for a way of batching (order does not change the sums)."""
    data = make_dataset(
        windows, batch_size, 0, padding=padding, bounds=bounds, max_length=max_length, max_tokens=max_tokens
    )
    padded = sum(int(x["input_ids"].shape[0]) * int(x["input_ids"].shape[1]) for x, _ in data)
    real = real_tokens(windows)
    return {"real_tokens": real, "padded_tokens": padded, "padding_share": 1 - real / max(padded, 1)}


def real_tokens(windows):
    """Tokens that are not padding, special tokens included."""
    return int(sum(len(ids) for ids in windows.input_ids))


def _lengths(windows):
    return np.array([len(ids) for ids in windows.input_ids], np.int64)


def _concat(rows):
    return np.concatenate(rows).astype(np.int32) if len(rows) else np.zeros(0, np.int32)
