"""Decoding labels from probabilities: argmax, recall-first thresholds, and their file."""

import json
import re

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tfner.model.decoding import Decoder, read_thresholds, softmax, type_matrix, write_thresholds

LABELS = ["O", "B-PER", "I-PER", "B-LOC", "I-LOC"]


def test_without_thresholds_the_decision_is_the_argmax():
    p = softmax(np.random.RandomState(0).normal(size=(50, len(LABELS))))
    assert (Decoder(LABELS)(p) == p.argmax(-1)).all()


def test_a_threshold_below_the_type_probability_calls_the_type_and_picks_b_or_i():
    p = np.array(
        [
            [0.6, 0.25, 0.05, 0.05, 0.05],  # PER 0.30
            [0.6, 0.05, 0.25, 0.05, 0.05],
        ]
    )  # PER 0.30, I- more likely than B-
    assert Decoder(LABELS, {"PER": 0.35})(p).tolist() == [0, 0]
    assert Decoder(LABELS, {"PER": 0.3})(p).tolist() == [1, 2]


def test_the_most_probable_passing_type_wins():
    p = np.array([[0.5, 0.2, 0.0, 0.3, 0.0]])
    assert Decoder(LABELS, {"PER": 0.1, "LOC": 0.1})(p).tolist() == [3]
    assert Decoder(LABELS, {"PER": 0.1, "LOC": 0.4})(p).tolist() == [1]


def test_type_matrix_maps_labels_to_types():
    types, matrix, begin, inside = type_matrix(LABELS)
    assert types == ["PER", "LOC"]
    assert matrix.tolist() == [[0, 0], [1, 0], [1, 0], [0, 1], [0, 1]]
    assert begin.tolist() == [1, 3] and inside.tolist() == [2, 4]


@settings(max_examples=200, deadline=None)
@given(
    st.lists(st.lists(st.floats(0.01, 1.0), min_size=5, max_size=5), min_size=1, max_size=20),
    st.floats(0.01, 0.9),
    st.floats(0.01, 0.9),
    st.floats(0.0, 1.0),
)
def test_lowering_a_threshold_only_adds_tokens_of_that_type(rows, per, loc, fraction):
    p = np.array(rows, np.float32)
    p = p / p.sum(-1, keepdims=True)
    kind = lambda ids: np.isin(ids, [1, 2])
    high = Decoder(LABELS, {"PER": per, "LOC": loc})(p)
    low = Decoder(LABELS, {"PER": per * fraction + 1e-3, "LOC": loc})(p)
    assert (kind(low) | ~kind(high)).all()  # every PER token at the high threshold is PER at the low one


def test_bad_thresholds_are_refused_with_the_type_named(tmp_path):
    for bad, words in (
        ({"NAME": 0.2}, "'NAME' is not an entity type"),
        ({"PER": 0}, "in (0, 1]"),
        ({"PER": float("nan")}, "in (0, 1]"),
        ({"PER": "0.2"}, "in (0, 1]"),
    ):
        with pytest.raises(ValueError, match=re.escape(words)):
            Decoder(LABELS, bad)
    (tmp_path / "thresholds.json").write_text("{not json")
    with pytest.raises(ValueError, match="thresholds.json: not valid JSON"):
        read_thresholds(str(tmp_path), LABELS)


def test_thresholds_file_round_trips(tmp_path):
    path = write_thresholds(str(tmp_path), {"PER": 0.2}, LABELS, target_recall=0.99)
    assert json.load(open(path))["target_recall"] == 0.99
    assert read_thresholds(str(tmp_path), LABELS) == {"PER": 0.2}
    assert read_thresholds(str(tmp_path / "nowhere"), LABELS) is None


def test_thresholds_survive_save_and_load_and_merge(tiny_tagger, tmp_path):
    from tfner.model.tagger import Tagger

    types = tiny_tagger.decoder.types
    tiny_tagger.set_thresholds({types[0]: 0.05})
    try:
        tiny_tagger.save(str(tmp_path / "model"))
        loaded = Tagger.load(str(tmp_path / "model"))
        assert loaded.thresholds == {types[0]: 0.05}
        assert tiny_tagger.merged().thresholds == {types[0]: 0.05}
    finally:
        tiny_tagger.set_thresholds(None)


# No entity across a break ------------------------------------------------------------------------------

# words of "Anna\nVirtanen" as a model that has not seen the line break reads them: one name
ACROSS = np.array([[0.05, 0.8, 0.05, 0.05, 0.05], [0.05, 0.3, 0.55, 0.05, 0.05]], np.float32)


@pytest.mark.parametrize("thresholds", [None, {"PER": 0.5}])
def test_no_entity_continues_after_a_break_each_side_stays_an_entity(thresholds):
    from tfner.data.align import BREAK, WORD

    decoder = Decoder(LABELS, thresholds, decode="bio")
    assert decoder.tokens(ACROSS, [WORD, WORD]).tolist() == [1, 2]  # "Anna Virtanen" on one line
    assert decoder.tokens(ACROSS, [WORD, BREAK]).tolist() == [1, 1]  # two names, one per line
    # after a break, a word that could only have continued the name (P(B-PER) below P(O)) is not one
    weak = np.array([ACROSS[0], [0.35, 0.15, 0.4, 0.05, 0.05]], np.float32)
    assert decoder.tokens(weak, [WORD, WORD]).tolist() == [1, 2]
    assert decoder.tokens(weak, [WORD, BREAK]).tolist() == [1, 0]


def test_viterbi_never_continues_an_entity_after_a_break():
    from tfner.data.align import BREAK, INSIDE, WORD

    p = softmax(np.random.RandomState(3).normal(size=(40, len(LABELS))) * 3)
    starts = np.random.RandomState(4).choice([WORD, BREAK, INSIDE], size=40)
    starts[0] = WORD
    decoder = Decoder(LABELS, decode="bio")
    plain = decoder.tokens(p, np.where(starts == BREAK, WORD, starts))
    broken = decoder.tokens(p, starts)
    inside = np.isin(broken, [2, 4])
    assert not (inside & (starts == BREAK)).any()  # no I- right after a break
    assert (broken != plain).any()  # the random scores do continue across some breaks (not vacuous)


def test_argmax_decides_each_token_alone_breaks_or_not():
    from tfner.data.align import BREAK, WORD

    assert Decoder(LABELS).tokens(ACROSS, [WORD, BREAK]).tolist() == [1, 2]


def test_viterbi_scores_a_word_by_all_its_tokens():
    """A word of two tokens: the first leans O, the second is clearly inside a name. The word's score
    for B-PER is P(first = B-PER) * P(second = I-PER) = 0.32, for O 0.5 * 0.1: a name."""
    from tfner.data.align import INSIDE, WORD

    p = np.array([[0.5, 0.4, 0.04, 0.03, 0.03], [0.1, 0.05, 0.8, 0.03, 0.02]], np.float32)
    decoder = Decoder(LABELS, decode="bio")
    assert decoder.tokens(p, [WORD, INSIDE]).tolist() == [1, 2]
    emissions = decoder.word_emissions(p, np.array([True, False]), np.array([False]))
    np.testing.assert_allclose(np.exp(emissions[0, [0, 1]]), [0.5 * 0.1, 0.4 * 0.8], rtol=1e-5)
    assert decoder.tokens(p[:1], [WORD]).tolist() == [0]  # the first token alone says O
