"""tfner.model.losses: the masked loss and token accuracy that leave out unlabelled positions."""

import math

import numpy as np
import pytest
from helpers import np_cross_entropy

from tfner.data.align import IGNORE
from tfner.model.losses import MaskedAccuracy, masked_loss

# --------------------------------------------------------------------------
# masked_loss


def test_masked_loss_hand_computed_value():
    labels = np.array([[0, 1, IGNORE]])
    logits = np.array([[[0.0, 0.0], [0.0, math.log(3.0)], [50.0, -50.0]]], np.float32)
    # -log(1/2) and -log(3/4): the -100 position does not count
    expected = (math.log(2.0) + math.log(4.0 / 3.0)) / 2
    assert float(masked_loss(labels, logits)) == pytest.approx(expected, rel=1e-6)
    assert expected == pytest.approx(0.490415, abs=1e-6)


def test_masked_loss_matches_numpy_over_labelled_positions():
    rng = np.random.default_rng(0)
    labels = np.array([[1, IGNORE, 0, 4, IGNORE], [IGNORE, 2, 2, IGNORE, IGNORE]], np.int32)
    logits = rng.normal(0, 3, (2, 5, 5)).astype(np.float32)
    expected = np_cross_entropy(labels, logits)
    got = float(masked_loss(labels, logits))
    assert got == pytest.approx(expected, rel=1e-5)
    # the plain mean over all positions (with -100 treated as class 0) would be something else
    assert got != pytest.approx(np_cross_entropy(np.where(labels == IGNORE, 0, labels), logits), rel=1e-3)


def test_masked_loss_ignores_padding():
    rng = np.random.default_rng(1)
    labels = np.array([[3, 1, 0]], np.int32)
    logits = rng.normal(0, 2, (1, 3, 4)).astype(np.float32)
    base = float(masked_loss(labels, logits))
    padded_labels = np.concatenate([labels, np.full((1, 4), IGNORE, np.int32)], 1)
    padded_logits = np.concatenate([logits, rng.normal(0, 100, (1, 4, 4)).astype(np.float32)], 1)
    assert float(masked_loss(padded_labels, padded_logits)) == pytest.approx(base, rel=1e-6)
    # a whole extra row of padding in the batch changes nothing either
    two_rows_labels = np.concatenate([padded_labels, np.full((1, 7), IGNORE, np.int32)], 0)
    two_rows_logits = np.concatenate([padded_logits, np.full((1, 7, 4), 1e4, np.float32)], 0)
    assert float(masked_loss(two_rows_labels, two_rows_logits)) == pytest.approx(base, rel=1e-6)


def test_masked_loss_all_ignored_is_zero_not_nan():
    labels = np.full((2, 3), IGNORE, np.int32)
    logits = np.random.default_rng(2).normal(size=(2, 3, 5)).astype(np.float32)
    value = float(masked_loss(labels, logits))
    assert value == 0.0 and not math.isnan(value)


# --------------------------------------------------------------------------
# MaskedAccuracy


def one_hot_logits(ids, num=3):
    return np.eye(num, dtype=np.float32)[np.asarray(ids)] * 5.0


def test_masked_accuracy_counts_only_labelled_positions():
    m = MaskedAccuracy()
    assert m.name == "accuracy"
    labels = np.array([[0, 1, IGNORE, IGNORE], [2, 2, IGNORE, IGNORE]])
    # predictions: right, wrong, (padding right), (padding wrong) / right, wrong
    logits = one_hot_logits([[0, 0, 0, 2], [2, 1, 0, 0]])
    m.update_state(labels, logits)
    assert float(m.result()) == pytest.approx(0.5)
    assert float(m.correct) == 2.0 and float(m.total) == 4.0
    m.update_state(np.array([[1, 1, IGNORE]]), one_hot_logits([[1, 1, 2]]))
    assert float(m.result()) == pytest.approx(4 / 6)
    m.reset_state()
    assert float(m.result()) == 0.0
    m.update_state(np.full((1, 3), IGNORE), one_hot_logits([[0, 1, 2]]))
    assert float(m.result()) == 0.0  # nothing labelled: 0, not NaN
