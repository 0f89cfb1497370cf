"""tfner.data.batching, the input pipelines: every window exactly once, bucket shapes, step counts, padding figures."""

from types import SimpleNamespace

import numpy as np
import pytest

from tfner.data.align import IGNORE
from tfner.data.batching import (
    COARSE_BUCKET_BOUNDS,
    bucket_bounds,
    default_max_tokens,
    make_dataset,
    padding_figures,
    real_tokens,
    steps_per_epoch,
)

PAD = 0


def _windows(lengths, seed=0):
    """Windows whose token ids encode (window index, position), so batches can be traced back."""
    rng = np.random.default_rng(seed)
    ids = [np.array([1000 * (i + 1) + p for p in range(n)], np.int32) for i, n in enumerate(lengths)]
    labels = [np.where(rng.random(n) < 0.3, IGNORE, rng.integers(0, 5, n)).astype(np.int32) for n in lengths]
    return SimpleNamespace(input_ids=ids, labels=labels)  # all that batching reads


LENGTHS = [3, 17, 16, 40, 5, 64, 65, 120, 9, 33, 31, 2, 100, 16, 7, 50, 128, 1, 90, 12, 15, 60, 70]


def _rows(dataset):
    """(window index, ids, labels) of every non-empty row, plus the batch shapes."""
    rows, shapes = [], []
    for x, y in dataset:
        ids, mask, y = x["input_ids"].numpy(), x["attention_mask"].numpy(), y.numpy()
        shapes.append(ids.shape)
        for r in range(len(ids)):
            n = int(mask[r].sum())
            assert (mask[r, :n] == 1).all() and (mask[r, n:] == 0).all()
            assert (ids[r, n:] == PAD).all() and (y[r, n:] == IGNORE).all()
            if n:
                rows.append((int(ids[r, 0]) // 1000 - 1, ids[r, :n], y[r, :n]))
    return rows, shapes


@pytest.mark.parametrize("padding", ["batch", "max-length"])
def test_every_window_comes_once_with_its_labels(padding):
    windows = _windows(LENGTHS)
    data = make_dataset(windows, 4, PAD, shuffle=True, seed=3, padding=padding, max_length=128)
    rows, shapes = _rows(data)
    assert sorted(r[0] for r in rows) == list(range(len(LENGTHS)))
    for index, ids, labels in rows:
        np.testing.assert_array_equal(ids, windows.input_ids[index])
        np.testing.assert_array_equal(labels, windows.labels[index])
    assert len(shapes) == steps_per_epoch(windows, 4, padding, max_length=128)
    if padding == "max-length":
        assert {s[1] for s in shapes} == {128}


@pytest.mark.parametrize("padding", ["buckets", "tokens"])
@pytest.mark.parametrize("fixed_shapes", [False, True])
def test_bucketed_batches_hold_every_window_once(padding, fixed_shapes):
    windows = _windows(LENGTHS * 3)
    data = make_dataset(
        windows, 4, PAD, shuffle=True, seed=3, padding=padding, max_length=128, fixed_shapes=fixed_shapes
    )
    rows, shapes = _rows(data)
    assert sorted(r[0] for r in rows) == list(range(3 * len(LENGTHS)))
    for index, ids, labels in rows:
        np.testing.assert_array_equal(ids, windows.input_ids[index])
        np.testing.assert_array_equal(labels, windows.labels[index])
    assert len(shapes) == int(data.cardinality()) == steps_per_epoch(windows, 4, padding, max_length=128)


@pytest.mark.parametrize(
    "padding, variant",
    [
        ("batch", {}),
        ("max-length", {}),
        ("buckets", {}),
        ("tokens", {"fixed_shapes": True}),
        ("buckets", {"sort_by_length": True}),
    ],
)
def test_line_starts_come_as_token_type_ids_with_their_windows(padding, variant):
    """With `line_starts`, each row carries its window's `line_starts()` as token_type_ids (0 on
    padding) and the same ids, mask and labels as without; in every way of batching. Token types other
    than 0 and 1 pass unchanged too (experiments/casing_trial.py gives six)."""
    windows = _windows(LENGTHS * 2)
    rng = np.random.default_rng(4)
    flags = [rng.integers(0, 6, len(ids)).astype(np.int32) for ids in windows.input_ids]
    windows.line_starts = lambda: flags
    data = make_dataset(
        windows, 4, PAD, shuffle=True, seed=3, padding=padding, max_length=128, line_starts=True, **variant
    )
    seen = 0
    for x, _ in data:
        ids, mask, types = (x[k].numpy() for k in ("input_ids", "attention_mask", "token_type_ids"))
        assert set(np.unique(mask)) <= {0, 1} and (types[mask == 0] == 0).all()
        for r in range(len(ids)):
            n = int(mask[r].sum())
            if n:
                np.testing.assert_array_equal(types[r, :n], flags[int(ids[r, 0]) // 1000 - 1])
                seen += 1
    assert seen == len(flags)
    plain = make_dataset(windows, 4, PAD, shuffle=True, seed=3, padding=padding, max_length=128, **variant)
    assert "token_type_ids" not in next(iter(plain))[0]
    same = [(i, a.tolist(), b.tolist()) for i, a, b in _rows(plain)[0]]
    assert same == [(i, a.tolist(), b.tolist()) for i, a, b in _rows(data)[0]]  # the same batches, in order


@pytest.mark.parametrize("padding", ["buckets", "tokens"])
def test_default_batches_are_the_fixed_shape_batches_without_their_padding(padding):
    windows = _windows(LENGTHS * 3)

    def batches(**variant):  # one pass: (windows of each batch, longest), shapes
        data = make_dataset(windows, 4, PAD, shuffle=True, seed=9, padding=padding, max_length=128, **variant)
        out, shapes = [], []
        for x, _ in data:
            ids, real = x["input_ids"].numpy(), x["attention_mask"].numpy().sum(1)
            out.append(([int(i) // 1000 - 1 for i, n in zip(ids[:, 0], real) if n], real.max()))
            shapes.append(ids.shape)
        return out, shapes

    (own, own_shapes), (fixed, fixed_shapes) = batches(), batches(fixed_shapes=True)
    assert [b for b, _ in own] == [b for b, _ in fixed]  # the same windows together, in the same order
    assert [s[1] for s in own_shapes] == [int(n) for _, n in own]  # padded to the longest window only
    assert [s[0] for s in own_shapes] == [len(b) for b, _ in own]  # no empty rows
    assert sum(r * w for r, w in own_shapes) < sum(r * w for r, w in fixed_shapes)


def test_length_sorted_batches_pad_to_their_longest_window_within_one_bucket():
    lengths = LENGTHS * 4 + list(range(1, 60))
    bounds = bucket_bounds(128)
    data = make_dataset(
        _windows(lengths), 4, PAD, shuffle=True, seed=5, padding="buckets", max_length=128, sort_by_length=True
    )
    spans = {}  # bucket: [(shortest, longest) of each batch]
    for x, _ in data:
        real = x["attention_mask"].numpy().sum(1)
        assert real.min() > 0 and x["input_ids"].shape[1] == real.max()  # no empty rows, no extra width
        bucket = {int(np.searchsorted(bounds, n)) for n in real}
        assert len(bucket) == 1  # one bucket per batch
        spans.setdefault(bucket.pop(), []).append((int(real.min()), int(real.max())))
    for batches in spans.values():  # a bucket's batches are consecutive runs of its windows in length order
        batches.sort()
        assert all(a[1] <= b[0] for a, b in zip(batches, batches[1:]))
    assert sum(x["input_ids"].shape[0] < 4 for x, _ in data) <= len(spans)  # one partial batch a bucket
    padded = padding_figures(_windows(lengths), 4, "buckets", max_length=128)
    assert (
        padded["padding_share"]
        < padding_figures(_windows(lengths), 4, "buckets", max_length=128, fixed_shapes=True)["padding_share"]
    )


def test_length_sorted_batches_change_each_epoch_and_repeat_for_a_seed():
    windows = _windows(LENGTHS * 3 + [12] * 30)

    def epochs(seed):
        data = make_dataset(
            windows, 4, PAD, shuffle=True, seed=seed, padding="buckets", max_length=128, sort_by_length=True
        )
        return [[r[0] for r in _rows(data)[0]] for _ in range(2)]

    first, second = epochs(7)
    assert first != second and sorted(first) == sorted(second)
    assert epochs(7) == [first, second]
    twelves = {i for i, n in enumerate(LENGTHS * 3 + [12] * 30) if n == 12}
    assert [i for i in first if i in twelves] != [i for i in second if i in twelves]  # ties in a new order
    unshuffled = make_dataset(windows, 4, PAD, padding="buckets", max_length=128, sort_by_length=True)
    widths = [x["input_ids"].shape[1] for x, _ in unshuffled]
    assert widths == sorted(widths)  # without shuffling: shortest batches first


def test_buckets_with_fixed_shapes_pad_to_the_bound_and_fill_every_batch():
    windows = _windows(LENGTHS)
    data = make_dataset(windows, 4, PAD, padding="buckets", bounds=[16, 32, 64], max_length=128, fixed_shapes=True)
    rows, shapes = _rows(data)
    assert {s[0] for s in shapes} == {4}  # partial batches get empty rows
    assert {s[1] for s in shapes} <= {16, 32, 64, 128}
    for x, _ in data:  # each row sits in the smallest bucket that holds it
        lengths = x["attention_mask"].numpy().sum(1)
        width = x["input_ids"].shape[1]
        real = lengths[lengths > 0]
        assert real.max() <= width
        smaller = [b for b in (16, 32, 64, 128) if b < width]
        assert not smaller or real.min() > smaller[-1]


def test_bucket_bounds_end_at_max_length():
    assert bucket_bounds(128) == [8, 12, 16, 20, 24, 28, 32, 40, 48, 56, 64, 80, 96, 112, 128]
    assert bucket_bounds(100) == [8, 12, 16, 20, 24, 28, 32, 40, 48, 56, 64, 80, 96, 100]
    assert bucket_bounds(512, [64, 8]) == [8, 64, 512]


def test_shuffle_changes_the_order_each_epoch_but_not_the_content():
    windows = _windows(LENGTHS)
    data = make_dataset(windows, 4, PAD, shuffle=True, seed=1, padding="buckets", max_length=128)
    first, second = [r[0] for r in _rows(data)[0]], [r[0] for r in _rows(data)[0]]
    assert first != second and sorted(first) == sorted(second)


def test_padding_figures_count_real_and_padded_tokens():
    windows = _windows([10, 10, 30, 100])
    batch = padding_figures(windows, 2, "batch", max_length=128)
    assert batch["real_tokens"] == real_tokens(windows) == 150
    assert batch["padded_tokens"] == 2 * 10 + 2 * 100
    buckets = padding_figures(windows, 2, "buckets", max_length=128, fixed_shapes=True)
    assert buckets["padded_tokens"] == 2 * 12 + 2 * 32 + 2 * 112  # the 100-token window rides alone
    assert padding_figures(windows, 2, "buckets", max_length=128)["padded_tokens"] == 150  # no padding left
    fixed = padding_figures(windows, 2, "max-length", max_length=128)
    assert fixed["padded_tokens"] == 4 * 128
    assert fixed["padding_share"] == pytest.approx(1 - 150 / 512)


def test_a_window_longer_than_max_length_is_an_error():
    with pytest.raises(ValueError, match="shorter than the longest window"):
        make_dataset(_windows([10, 200]), 2, PAD, padding="buckets", max_length=128)
    with pytest.raises(ValueError, match="padding='nope'"):
        make_dataset(_windows([10]), 2, PAD, padding="nope")
    with pytest.raises(ValueError, match="cannot have fixed_shapes"):
        make_dataset(_windows([10]), 2, PAD, padding="buckets", fixed_shapes=True, sort_by_length=True)


@pytest.mark.parametrize("padding", ["buckets", "tokens", "batch", "max-length"])
def test_tf_data_autotuning_is_off(padding):
    """With autotuning on, the end of every pass (every Keras epoch) waited for the tuning thread's
    next wake-up, up to 10 s; the pipelines use fixed sizes instead."""
    data = make_dataset(_windows(LENGTHS), 4, PAD, shuffle=True, padding=padding, max_length=128)
    assert data.options().autotune.enabled is False


# Token budget (padding="tokens") ------------------------------------------------------------------


def test_token_budget_batches_hold_every_window_once_within_the_budget():
    windows = _windows(LENGTHS * 3)
    data = make_dataset(
        windows, 4, PAD, shuffle=True, seed=2, padding="tokens", max_tokens=256, max_length=128, fixed_shapes=True
    )
    rows, shapes = _rows(data)
    assert sorted(r[0] for r in rows) == list(range(3 * len(LENGTHS)))  # every window exactly once
    for index, ids, labels in rows:
        np.testing.assert_array_equal(ids, windows.input_ids[index])
        np.testing.assert_array_equal(labels, windows.labels[index])
    assert all(r * w <= 256 for r, w in shapes)
    assert {(r, w) for r, w in shapes} <= {(256 // b, b) for b in bucket_bounds(128)}  # one shape per bucket
    assert len(shapes) == steps_per_epoch(windows, 4, "tokens", max_length=128, max_tokens=256)
    assert int(data.cardinality()) == len(shapes)
    for x, _ in data:  # each row still sits in the smallest bucket that holds it
        lengths = x["attention_mask"].numpy().sum(1)
        real, width = lengths[lengths > 0], x["input_ids"].shape[1]
        smaller = [b for b in bucket_bounds(128) if b < width]
        assert real.max() <= width and (not smaller or real.min() > smaller[-1])


def test_token_budget_is_deterministic_for_a_seed():
    windows = _windows(LENGTHS * 3)

    def order(seed):
        data = make_dataset(windows, 4, PAD, shuffle=True, seed=seed, padding="tokens", max_tokens=256, max_length=128)
        return [r[0] for r in _rows(data)[0]]

    assert order(7) == order(7)
    assert order(7) != order(8)


def test_default_token_budget_keeps_about_the_steps_of_buckets():
    windows = _windows([5] * 60 + [100] * 4)  # bounds 8 and 128: mean bound (60*8 + 4*128)/64 = 15.5
    coarse = dict(bounds=COARSE_BUCKET_BOUNDS, max_length=128)
    assert default_max_tokens(windows, 4, **coarse) == 128  # 4 x 15.5 = 62, raised to the 128 bound
    assert default_max_tokens(windows, 32, **coarse) == 496
    data = make_dataset(windows, 32, PAD, padding="tokens", fixed_shapes=True, **coarse)
    shapes = [tuple(x["input_ids"].shape) for x, _ in data]
    assert sorted(set(shapes)) == [(3, 128), (62, 8)]
    sorted_shapes = [tuple(x["input_ids"].shape) for x, _ in make_dataset(windows, 32, PAD, padding="tokens", **coarse)]
    assert sorted(sorted_shapes) == [(1, 100), (3, 100), (60, 5)]  # same rows, widths of their longest window
    assert len(shapes) == steps_per_epoch(windows, 32, "tokens", **coarse) == 2 + 1  # buckets: 2 + 1
    # the default ladder: bounds 8 and 112, mean (60*8 + 4*112)/64 = 14.5
    assert default_max_tokens(windows, 32, max_length=128) == 464


def test_token_budget_errors():
    with pytest.raises(ValueError, match="cannot fit"):
        make_dataset(_windows([10, 100]), 4, PAD, padding="tokens", max_tokens=64, max_length=128)
    with pytest.raises(ValueError, match="padding='tokens' only"):
        make_dataset(_windows([10]), 4, PAD, padding="buckets", max_tokens=64, max_length=128)
    figures = padding_figures(
        _windows([10, 10, 30, 100]),
        2,
        "tokens",
        bounds=COARSE_BUCKET_BOUNDS,
        max_length=128,
        max_tokens=128,
        fixed_shapes=True,
    )
    assert figures["padded_tokens"] == 8 * 16 + 4 * 32 + 1 * 128  # a partial batch is filled with empty rows
