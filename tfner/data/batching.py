"""tf.data input pipelines from encoded windows, and how much padding each way of batching costs.

Four ways to batch and pad (`TrainConfig.padding`):

- `buckets` (the default): windows are grouped by length into buckets with fixed bounds (8, 12, 16,
  ..., 32, 40, 48, 56, 64, 80, 96, 112, 128, ... up to `max_length`, `BUCKET_BOUNDS`), `batch_size`
  windows of one bucket to a batch, drawn in random order; each batch is padded to its own longest
  window. Three variants:
  - `sort_by_length`: each epoch a bucket's windows are put in length order (equal lengths in a new
    random order), cut into batches, and the batches shuffled (fairseq's way): almost no padding
    (CoNLL-2003: 0.3 % of the tokens, against 9 % in random order), but batches of one length are
    less varied: on 2,000 CoNLL sentences it cost 1.8 F1 points over 4 seeds (README), so it is off;
  - `fixed_shapes` (what XLA needs, `--jit-compile`: one compilation per shape): every batch padded
    to its bucket's bound and a bucket's last, partial batch filled up with empty rows (no tokens, no
    labels): one shape per bucket, 15 for windows of 128 instead of one per batch length (STACK.md,
    trap 4); CoNLL padding 10-13 %;
  - neither (the default): the batches of `fixed_shapes`, without the padding to the bound or the
    empty rows (identical batches, fewer padded tokens).
- `tokens`: a token budget (fairseq's `max_tokens`): the same buckets, but a batch of bucket bound
  `b` holds `max_tokens // b` windows, so every batch is at most `max_tokens` tokens, padding
  included (rows x width <= `max_tokens`), short windows many to a batch, long ones few. The default
  budget is `batch_size` times the mean bound of the windows, so an epoch has about as many steps as
  with `buckets`; the loss is a mean over labelled tokens, so batches of different row counts weigh
  their tokens alike.
- `batch`: windows in random order, each batch padded to its own longest window.
- `max-length`: every batch padded to `max_length` (one shape; about 5x slower, STACK.md trap 3).

The tokenised windows are built once (`tfner.align.encode`) and held as ragged tensors, so the input
pipeline runs no Python per example; batches are prefetched.
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
    fixed_shapes=False,
    sort_by_length=False,
    line_starts=False,
):
    """`({"input_ids", "attention_mask"}, labels)` int32 batches from `tfner.align.Windows`, with
    `token_type_ids` from `Windows.line_starts` if `line_starts` (models that see layout).

    `padding` is 'buckets', 'tokens', 'batch' or 'max-length' (module docstring); `max_length` is the
    longest a window may be (default: the longest there is); `max_tokens` is the token budget of a
    batch under 'tokens' (default `default_max_tokens`); `fixed_shapes` pads 'buckets' and 'tokens'
    batches to their bucket's bound and row count (for XLA) instead of to their longest window;
    `sort_by_length` batches a bucket's windows in length order instead of random order.
    Padded positions get `pad_id`, attention mask 0 and label -100 (ignored by the loss).
    """
    lengths = _lengths(windows)
    longest = int(lengths.max(initial=1))
    max_length = max_length or longest
    if longest > max_length:
        raise ValueError(f"max_length={max_length} is shorter than the longest window ({longest})")
    ids = tf.RaggedTensor.from_row_lengths(_concat(windows.input_ids), lengths)
    labels = tf.RaggedTensor.from_row_lengths(_concat(windows.labels), lengths)
    # the attention mask of each window carrying its token types: 1 + the token type on every real token
    # (split into the two inputs at the end)
    marks = None
    if line_starts:
        marks = tf.RaggedTensor.from_row_lengths(_concat([flags + 1 for flags in windows.line_starts()]), lengths)
    pad_values = (np.int32(pad_id), np.int32(0), np.int32(IGNORE))
    if max_tokens is not None and padding != "tokens":
        raise ValueError(f"max_tokens applies to padding='tokens' only, not {padding!r}")
    if padding not in ("buckets", "tokens", "batch", "max-length"):
        raise ValueError(f"padding={padding!r}: expected buckets, tokens, batch or max-length")
    if fixed_shapes and sort_by_length:
        raise ValueError("sort_by_length pads each batch to its longest window; it cannot have fixed_shapes")
    bucketed = padding in ("buckets", "tokens")
    if bucketed:
        bounds = bucket_bounds(max_length, bounds)
        rows = _bucket_rows(lengths, batch_size, padding, bounds, max_tokens)
    if bucketed and sort_by_length:
        data = _length_sorted_batches(ids, marks, labels, lengths, bounds, rows, shuffle, seed, pad_values)
    else:
        data = tf.data.Dataset.from_tensor_slices((ids, labels) if marks is None else (ids, marks, labels))
        if shuffle:
            data = data.shuffle(max(len(lengths), 1), seed=seed, reshuffle_each_iteration=True)
        if marks is None:
            data = data.map(lambda i, y: (i, tf.ones_like(i), y))
        else:  # the map makes each window's rows plain tensors, as padded_batch needs
            data = data.map(lambda i, m, y: (i, m, y))
    if bucketed and not sort_by_length:
        data = data.bucket_by_sequence_length(
            lambda i, m, y: tf.shape(i)[0],
            bucket_boundaries=[b + 1 for b in bounds[:-1]],
            bucket_batch_sizes=rows,
            padded_shapes=([None],) * 3,
            padding_values=pad_values,
        )
        if fixed_shapes:
            bound, rows_of = tf.constant(bounds, tf.int32), tf.constant(rows, tf.int32)
            data = data.map(lambda *batch: _pad_batch(batch, pad_values, bound, rows_of))
        # tf.data cannot count bucketed batches; Keras needs the count (steps_per_execution, epochs)
        count = steps_per_epoch(windows, batch_size, padding, bounds, max_length, max_tokens)
        data = data.apply(tf.data.experimental.assert_cardinality(count))
    elif padding in ("batch", "max-length"):
        shape = [max_length] if padding == "max-length" else [None]
        data = data.padded_batch(batch_size, padded_shapes=(shape,) * 3, padding_values=pad_values)
    if line_starts:
        types = lambda m: tf.maximum(m - 1, 0)
        features = lambda i, m, y: {"input_ids": i, "attention_mask": tf.minimum(m, 1), "token_type_ids": types(m)}
    else:
        features = lambda i, m, y: {"input_ids": i, "attention_mask": m}
    data = data.map(lambda i, m, y: (features(i, m, y), y))
    # tf.data's autotuning thread makes the end of every pass (every Keras epoch) wait for its next
    # wake-up, up to 10 s; the pipeline is cheap next to a training step, so fixed sizes do as well
    options = tf.data.Options()
    options.autotune.enabled = False
    return data.prefetch(2).with_options(options)


def _length_sorted_batches(ids, marks, labels, lengths, bounds, rows, shuffle, seed, pad_values):
    """Batches of `rows[k]` windows of bucket k in length order, each padded to its longest window.

    The batch sizes are fixed by the bucket counts, so only the order is drawn each epoch: a random
    permutation of the windows, sorted by length with a stable sort (equal lengths stay in random
    order), is cut into the batches, which are then shuffled. The same seed gives the same epochs.
    """
    counts = np.bincount(bucket_of(lengths, bounds), minlength=len(bounds))
    sizes = []  # batch sizes in length order: each bucket's full batches, then its partial one
    for count, r in zip(counts, rows):
        sizes += [r] * (count // r) + ([count % r] if count % r else [])
    length_of = tf.constant(lengths, tf.int64)

    def order(n, seed):
        data = tf.data.Dataset.range(n)
        if shuffle:
            data = data.shuffle(max(n, 1), seed=seed, reshuffle_each_iteration=True)
        return data.batch(max(n, 1))

    def cut(windows, batches):
        by_length = tf.gather(windows, tf.argsort(tf.gather(length_of, windows), stable=True))
        return tf.gather(tf.RaggedTensor.from_row_lengths(by_length, tf.constant(sizes, tf.int64)), batches)

    def pad(index):
        batch = tf.gather(ids, index), tf.gather(labels, index)
        mask = tf.ones_like(batch[0]) if marks is None else tf.gather(marks, index)
        return tuple(t.to_tensor(v) for t, v in zip((batch[0], mask, batch[1]), pad_values))

    seed2 = None if seed is None else seed + 1
    data = tf.data.Dataset.zip((order(len(lengths), seed), order(len(sizes), seed2))).map(cut).unbatch()
    return data.map(pad).apply(tf.data.experimental.assert_cardinality(len(sizes)))


def _pad_batch(batch, pad_values, bounds, rows_of):
    """Pad a bucketed batch to its bucket's bound and to its bucket's row count (`rows_of[bucket]`)."""
    rows, length = tf.shape(batch[0])[0], tf.shape(batch[0])[1]
    bucket = tf.searchsorted(bounds, tf.reshape(length, [1]), side="left")[0]
    width = tf.gather(bounds, bucket)
    pad = [[0, tf.gather(rows_of, bucket) - rows], [0, width - length]]
    return tuple(tf.pad(t, pad, constant_values=v) for t, v in zip(batch, pad_values))


def padding_figures(
    windows,
    batch_size,
    padding,
    bounds=BUCKET_BOUNDS,
    max_length=None,
    max_tokens=None,
    fixed_shapes=False,
    sort_by_length=False,
):
    """Real and padded tokens per epoch for a way of batching (order does not change the sums)."""
    data = make_dataset(
        windows,
        batch_size,
        0,
        padding=padding,
        bounds=bounds,
        max_length=max_length,
        max_tokens=max_tokens,
        fixed_shapes=fixed_shapes,
        sort_by_length=sort_by_length,
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
