"""The CRF and Viterbi decoding (tfner.model.crf, tfner.model.decoding): against brute force over every
label sequence, valid IOB2 whatever the scores, and a CRF tagger saved, loaded, merged and adapted."""

import itertools

import numpy as np
import pytest
import tensorflow as tf
from helpers import build_tagger
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from tfner.data.align import IGNORE
from tfner.model import crf
from tfner.model.decoding import Decoder

LABELS = ["O", "B-PER", "I-PER", "B-LOC", "I-LOC"]


def random_scores(seed, labels=3, length=4, batch=3):
    rng = np.random.default_rng(seed)
    f = lambda *shape: rng.normal(size=shape).astype(np.float32)
    return f(batch, length, labels), f(labels, labels), f(labels), f(labels)


def path_score(emissions, path, transitions, start, end):
    score = start[path[0]] + emissions[0, path[0]] + end[path[-1]]
    for t in range(1, len(path)):
        score += transitions[path[t - 1], path[t]] + emissions[t, path[t]]
    return score


def all_paths(labels, length):
    return list(itertools.product(range(labels), repeat=length))


@pytest.mark.parametrize("seed", range(4))
def test_log_partition_and_viterbi_equal_brute_force(seed):
    emissions, transitions, start, end = random_scores(seed, labels=3, length=4)
    lengths = np.array([4, 2, 1], np.int32)
    log_z = crf.log_partition(emissions, lengths, transitions, start, end).numpy()
    best = crf.viterbi(emissions, lengths, transitions, start, end).numpy()
    for b, n in enumerate(lengths):
        paths = all_paths(3, n)
        scores = np.array([path_score(emissions[b], p, transitions, start, end) for p in paths])
        assert log_z[b] == pytest.approx(np.logaddexp.reduce(scores), rel=1e-5)
        assert tuple(best[b, :n]) == paths[int(scores.argmax())]


def test_sequence_score_and_nll_of_packed_labels_equal_brute_force():
    """The likelihood runs over the labelled positions only (IGNORE ones are skipped, not scored)."""
    emissions, transitions, start, end = random_scores(7, labels=3, length=6, batch=2)
    labels = np.array([[IGNORE, 1, IGNORE, 2, 0, IGNORE], [2, IGNORE, IGNORE, IGNORE, IGNORE, IGNORE]], np.int32)
    layer = crf.CRF(3)
    layer.build((None, None, 3))
    layer.set_weights([transitions, start, end])
    total, count = crf.nll_sum(labels, emissions, layer)
    expected = 0.0
    for row, lab in zip(emissions, labels):
        keep = lab != IGNORE
        em, gold = row[keep], tuple(lab[keep])
        scores = [path_score(em, p, transitions, start, end) for p in all_paths(3, len(gold))]
        expected += np.logaddexp.reduce(scores) - path_score(em, gold, transitions, start, end)
    assert float(count) == 4
    assert float(total) == pytest.approx(expected, rel=1e-5)


def test_nll_of_a_batch_without_labelled_positions_is_zero():
    layer = crf.CRF(3)
    layer.build((None, None, 3))
    total, count = crf.nll_sum(np.full((2, 5), IGNORE, np.int32), np.zeros((2, 5, 3), np.float32), layer)
    assert float(total) == 0.0 and float(count) == 0.0


def test_gradients_reach_emissions_and_transitions():
    emissions, transitions, start, end = random_scores(3, labels=5, length=6, batch=2)
    layer = crf.CRF(5)
    layer.build((None, None, 5))
    layer.set_weights([transitions, start, end])
    logits = tf.Variable(emissions)
    labels = np.array([[0, 1, 2, 0, IGNORE, IGNORE], [3, 4, 4, 0, 1, 0]], np.int32)
    with tf.GradientTape() as tape:
        total, _ = crf.nll_sum(labels, logits, layer)
    grads = tape.gradient(total, [logits, *layer.trainable_variables])
    assert all(g is not None and np.isfinite(g.numpy()).all() for g in grads)
    assert np.abs(grads[0].numpy()[0, 4:]).max() == 0  # unlabelled positions get no gradient


def test_constrained_viterbi_equals_brute_force_over_valid_sequences():
    n = len(LABELS)
    emissions, transitions, start, end = random_scores(11, labels=n, length=5, batch=4)
    emissions[:, :, 2] += 3.0  # argmax would love I-PER everywhere, even at the start
    allowed = crf.iob2_constraints(LABELS)
    lengths = np.array([5, 4, 2, 1], np.int32)
    best = crf.viterbi(emissions, lengths, *(a + b for a, b in zip((transitions, start, end), allowed))).numpy()
    for b, length in enumerate(lengths):
        valid = [p for p in all_paths(n, length) if crf.is_valid_iob2(p, LABELS)]
        scores = [path_score(emissions[b], p, transitions, start, end) for p in valid]
        assert tuple(best[b, :length]) == valid[int(np.argmax(scores))]


@settings(max_examples=150, deadline=None)
@given(arrays(np.float32, st.tuples(st.integers(1, 12), st.just(len(LABELS))), elements=st.floats(-8, 8, width=32)))
def test_bio_decoding_never_emits_an_invalid_sequence(logits):
    probabilities = np.exp(logits) / np.exp(logits).sum(-1, keepdims=True)
    ids = Decoder(LABELS, decode="bio").sequences([probabilities])[0]
    assert len(ids) == len(logits) and crf.is_valid_iob2(ids, LABELS)


@settings(max_examples=100, deadline=None)
@given(
    arrays(np.float32, st.tuples(st.integers(1, 10), st.just(len(LABELS))), elements=st.floats(0.015625, 1, width=32)),
    st.floats(0.05, 0.9),
    st.floats(0.05, 1.0),
)
def test_bio_thresholds_keep_sequences_valid_and_a_lower_threshold_never_calls_fewer(probabilities, high, fraction):
    """With `bio`, thresholds are Viterbi's per-type bonus log((1 - t) / t): valid IOB2 always, nothing
    changes at t = 0.5, and the best path's count of a type's positions can only grow as its bonus does."""
    p = probabilities / probabilities.sum(-1, keepdims=True)
    plain = Decoder(LABELS, decode="bio").sequences([p])[0]
    assert list(Decoder(LABELS, {"PER": 0.5, "LOC": 0.5}, decode="bio").sequences([p])[0]) == list(plain)
    low = high * fraction
    at_high = Decoder(LABELS, {"PER": high}, decode="bio").sequences([p])[0]
    at_low = Decoder(LABELS, {"PER": low}, decode="bio").sequences([p])[0]
    assert crf.is_valid_iob2(at_high, LABELS) and crf.is_valid_iob2(at_low, LABELS)
    per = lambda ids: int(np.isin(ids, [LABELS.index("B-PER"), LABELS.index("I-PER")]).sum())
    assert per(at_low) >= per(at_high)


def test_a_threshold_calls_a_type_whose_probability_reaches_it():
    """Against O alone, Viterbi with the bonus calls PER where P(PER) >= t, as the per-token rule does."""
    p = np.array([[0.7, 0.3, 0.0, 0.0, 0.0]], np.float32) + 1e-6
    assert LABELS[Decoder(LABELS, {"PER": 0.35}, decode="bio").sequences([p])[0][0]] == "O"
    assert LABELS[Decoder(LABELS, {"PER": 0.25}, decode="bio").sequences([p])[0][0]] == "B-PER"


def test_tokens_give_continuations_their_words_inside_label():
    decoder = Decoder(LABELS, decode="bio")
    probabilities = np.full((5, len(LABELS)), 0.01, np.float32)
    probabilities[[0, 2, 3], [1, 0, 3]] = 0.96  # B-PER, (cont.), O, B-LOC, (cont.)
    probabilities[[1, 4]] = 0.2  # the continuations say nothing: their words' first tokens decide
    first = np.array([True, False, True, True, False])
    assert [LABELS[i] for i in decoder.tokens(probabilities, first)] == ["B-PER", "I-PER", "O", "B-LOC", "I-LOC"]
    assert list(decoder.tokens(probabilities, np.zeros(5, bool))) == [0] * 5  # no word: O


def test_decode_sequences_batches_any_lengths():
    rng = np.random.default_rng(0)
    sequences = [rng.normal(size=(n, 3)).astype(np.float32) for n in (0, 5, 1, 9, 2)]
    zero = np.zeros((3, 3), np.float32), np.zeros(3, np.float32), np.zeros(3, np.float32)
    decoded = crf.decode_sequences(sequences, *zero, batch_size=2)
    assert [list(d) for d in decoded] == [list(s.argmax(-1)) for s in sequences]  # no transitions: argmax


def test_spread_matches_decoder_tokens():
    words = tf.constant([[1, 0, 3], [4, 0, 0]], tf.int64)
    first = tf.constant([[False, True, False, True, True, False], [True, False, False, False, False, False]])
    inside_of = tf.constant(Decoder(LABELS).inside_of, tf.int64)
    out = crf.spread(words, first, inside_of, 0).numpy()
    assert [[LABELS[i] for i in row] for row in out] == [
        ["O", "B-PER", "I-PER", "O", "B-LOC", "I-LOC"],
        ["I-LOC", "I-LOC", "I-LOC", "I-LOC", "I-LOC", "I-LOC"],
    ]


# A CRF tagger ---------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def crf_tagger(labels, tokenizer):
    tagger = build_tagger(labels, tokenizer, crf=True)
    layer = tagger.model.crf_layer
    rng = np.random.default_rng(5)
    layer.set_weights([rng.normal(size=w.shape).astype(np.float32) for w in layer.get_weights()])
    return tagger


def test_crf_tagger_decodes_valid_sequences_and_trains_the_crf_with_the_head(crf_tagger, notes):
    assert crf_tagger.decoder.sequential and crf_tagger.model.crf_layer is not None
    assert {id(v) for v in crf_tagger.model.crf_layer.trainable_variables} <= {
        id(v) for v in crf_tagger.model.head_variables
    }
    labels = crf_tagger.labels
    for doc in crf_tagger.predict(notes):
        assert crf.is_valid_iob2([labels.index(t) for t in doc], labels)


def test_crf_tagger_refuses_thresholds(crf_tagger):
    kind = crf_tagger.labels[1][2:]
    with pytest.raises(ValueError, match="CRF"):
        crf_tagger.set_thresholds({kind: 0.3})


def test_crf_tagger_saves_loads_and_merges_with_the_same_predictions(crf_tagger, notes, tmp_path):
    import tfner

    crf_tagger.save(tmp_path / "m")
    loaded = tfner.load(str(tmp_path / "m"))
    for a, b in zip(crf_tagger.model.crf_layer.get_weights(), loaded.model.crf_layer.get_weights()):
        np.testing.assert_array_equal(a, b)
    assert loaded.predict(notes) == crf_tagger.predict(notes)


def test_lora_crf_tagger_merges_and_its_adapter_carries_the_crf(labels, tokenizer, notes, tmp_path):
    from tfner.model.adapters import load_adapter, save_adapter

    tagger = build_tagger(labels, tokenizer, crf=True, lora=True)
    layer = tagger.model.crf_layer
    layer.set_weights([np.full(w.shape, 0.3, np.float32) for w in layer.get_weights()])
    expected = tagger.predict(notes)
    merged = tagger.merged()
    np.testing.assert_array_equal(merged.model.crf_layer.transitions.numpy(), layer.transitions.numpy())
    assert merged.predict(notes) == expected
    save_adapter(tagger, tmp_path / "adapter")
    again = load_adapter(str(tmp_path / "adapter"), base=tagger.encoder)
    np.testing.assert_array_equal(again.model.crf_layer.transitions.numpy(), layer.transitions.numpy())


def test_crf_training_step_compiles_with_xla():
    """`pack` sorts instead of masking raggedly and the scores are read as tensors, so XLA compiles it."""
    import tf_keras
    from helpers import tiny_config

    from tfner.model.tagger import Tagger

    tagger = Tagger.build(tiny_config(None, crf=True).model, ["O", "B-X", "I-X"])
    tagger.model.compile(optimizer=tf_keras.optimizers.SGD(0.1), jit_compile=True)
    rng = np.random.default_rng(0)
    ids = rng.integers(1000, 5000, (8, 12)).astype(np.int32)
    labels = rng.integers(0, 3, ids.shape).astype(np.int32)
    labels[:, 9:] = IGNORE
    data = tf.data.Dataset.from_tensor_slices(({"input_ids": ids, "attention_mask": np.ones_like(ids)}, labels))
    losses = tagger.model.fit(data.batch(4), epochs=2, verbose=0).history["loss"]
    assert all(np.isfinite(losses))
