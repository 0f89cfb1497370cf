"""tfner.evaluation.metrics: seqeval scores, confusion, the windows' masked loss, evaluate_tagger."""

import math

import numpy as np
import pytest
from helpers import np_cross_entropy

from tfner.data.align import IGNORE, encode
from tfner.data.readers import Corpus, Document
from tfner.evaluation.metrics import confusion_matrix, entity_scores, evaluate_tagger, window_loss
from tfner.model.losses import MaskedAccuracy, masked_loss

# --------------------------------------------------------------------------
# entity_scores

GOLD = [["B-PER", "I-PER", "O", "B-LOC"], ["O", "B-LOC", "I-LOC", "O", "B-PER"]]
PRED = [["B-PER", "I-PER", "O", "B-PER"], ["O", "B-LOC", "O", "O", "B-PER"]]


def test_entity_scores_hand_made():
    s = entity_scores(GOLD, PRED)
    # gold: PER(0-1), LOC(3) | LOC(1-2), PER(4); pred: PER(0-1), PER(3) | LOC(1), PER(4)
    # correct: PER(0-1), PER(4) -> 2 of 4 predicted, 2 of 4 gold
    assert s["precision"] == pytest.approx(0.5)
    assert s["recall"] == pytest.approx(0.5)
    assert s["f1"] == pytest.approx(0.5)
    assert s["support"] == 4
    assert s["entities_predicted"] == 4
    assert s["accuracy"] == pytest.approx(7 / 9)  # tokens 3 (LOC vs PER) and 6 (I-LOC vs O) wrong
    assert s["per_type"] == {
        "LOC": {"precision": 0.0, "recall": 0.0, "f1": 0.0, "support": 2, "predicted": 1},
        "PER": {
            "precision": pytest.approx(2 / 3),
            "recall": 1.0,
            "f1": pytest.approx(0.8),
            "support": 2,
            "predicted": 3,
        },
    }
    assert all(type(v) is float for v in (s["precision"], s["recall"], s["f1"]))
    assert type(s["support"]) is int


def test_entity_scores_perfect_and_empty():
    s = entity_scores(GOLD, GOLD)
    assert (s["precision"], s["recall"], s["f1"], s["accuracy"]) == (1.0, 1.0, 1.0, 1.0)
    none = entity_scores(GOLD, [["O"] * 4, ["O"] * 5])
    assert (none["precision"], none["recall"], none["f1"], none["entities_predicted"]) == (0.0, 0.0, 0.0, 0)
    assert none["accuracy"] == pytest.approx(3 / 9)  # the three gold O tokens
    assert none["per_type"]["PER"]["predicted"] == 0


def test_entity_scores_type_only_predicted():
    s = entity_scores([["B-PER", "O"]], [["B-PER", "B-DATE"]])
    assert s["precision"] == pytest.approx(0.5) and s["recall"] == 1.0
    assert s["per_type"]["DATE"] == {"precision": 0.0, "recall": 0.0, "f1": 0.0, "support": 0, "predicted": 1}


def test_entity_scores_strict_vs_default_on_invalid_iob2():
    gold = [["B-PER", "I-PER", "O"]]
    pred = [["I-PER", "I-PER", "O"]]  # an entity starting with I-: invalid IOB2
    default = entity_scores(gold, pred)
    strict = entity_scores(gold, pred, mode="strict")
    assert (default["precision"], default["recall"], default["f1"]) == (1.0, 1.0, 1.0)
    assert (strict["precision"], strict["recall"], strict["f1"]) == (0.0, 0.0, 0.0)
    # the token accuracy does not depend on the mode
    assert default["accuracy"] == strict["accuracy"] == pytest.approx(2 / 3)


def test_entity_scores_strict_type_change_inside_entity():
    gold = [["B-PER", "I-PER", "O"]]
    pred = [["B-PER", "I-LOC", "O"]]
    # default: PER(0) and LOC(1) -> PER does not match PER(0-1); strict: only PER(0), no match either
    assert entity_scores(gold, pred)["f1"] == 0.0
    assert entity_scores(gold, pred)["entities_predicted"] == 2


def test_entity_scores_strict_predicted_counts_strict_entities():
    gold = [["B-PER", "I-PER", "O", "B-LOC"]]
    pred = [["I-PER", "I-PER", "O", "B-LOC"]]
    s = entity_scores(gold, pred, mode="strict")
    assert s["precision"] == 1.0  # strict sees one predicted entity (LOC), and it is right
    assert s["entities_predicted"] == 1
    assert s["per_type"]["PER"]["predicted"] == 0


# --------------------------------------------------------------------------
# confusion_matrix


def test_confusion_matrix_counts():
    labels = ["O", "B-LOC", "I-LOC", "B-PER", "I-PER"]
    m = confusion_matrix(GOLD, PRED, labels)
    expected = np.zeros((5, 5), int)
    expected[0, 0] = 3  # O -> O
    expected[3, 3] = 2  # B-PER -> B-PER
    expected[4, 4] = 1  # I-PER -> I-PER
    expected[1, 3] = 1  # B-LOC -> B-PER
    expected[1, 1] = 1  # B-LOC -> B-LOC
    expected[2, 0] = 1  # I-LOC -> O
    assert m.tolist() == expected.tolist()
    assert m.sum() == 9 and m.shape == (5, 5)
    # rows are gold, columns predicted
    assert confusion_matrix([["O"]], [["B-PER"]], labels)[0].tolist() == [0, 0, 0, 1, 0]


# --------------------------------------------------------------------------
# window_loss


@pytest.fixture(scope="module")
def windows(tokenizer):
    words = (
        "John Smithsonianification met Marlon Brando in Paris while Kari Nordmann stayed in "
        "Oslo near the old red house by a lake"
    ).split()
    tags = [
        "B-PER",
        "I-PER",
        "O",
        "B-PER",
        "I-PER",
        "O",
        "B-LOC",
        "O",
        "B-PER",
        "I-PER",
        "O",
        "O",
        "B-LOC",
        "O",
        "O",
        "O",
        "O",
        "O",
        "O",
        "O",
        "O",
    ]
    corpus = Corpus(
        [Document(tokens=words, tags=tags, origin="a:1"), Document(tokens=words[:4], tags=tags[:4], origin="a:2")], "a"
    )
    return encode(corpus, tokenizer, ["O", "B-LOC", "I-LOC", "B-PER", "I-PER"], max_length=12, stride=3)


def test_window_loss_matches_masked_loss(windows):
    assert len(windows) >= 4 and len({len(ids) for ids in windows.input_ids}) > 1  # ragged windows
    rng = np.random.default_rng(3)
    logits = [rng.normal(0, 2, (len(ids), 5)).astype(np.float32) for ids in windows.input_ids]
    loss, accuracy = window_loss(windows, logits)
    labels = np.concatenate(windows.labels)[None]
    flat = np.concatenate(logits)[None]
    assert loss == pytest.approx(float(masked_loss(labels, flat)), rel=1e-5)
    assert loss == pytest.approx(np_cross_entropy(labels, flat), rel=1e-9)
    m = MaskedAccuracy()
    m.update_state(labels, flat)
    assert accuracy == pytest.approx(float(m.result()))


def test_window_loss_perfect_logits(windows):
    logits = [np.eye(5, dtype=np.float32)[np.where(l == IGNORE, 0, l)] * 30.0 for l in windows.labels]
    loss, accuracy = window_loss(windows, logits)
    assert accuracy == 1.0 and loss < 1e-10


def test_window_loss_nothing_labelled_is_nan(windows):
    class Unlabelled:
        labels = [np.full(len(l), IGNORE, np.int32) for l in windows.labels]

        def __len__(self):
            return len(self.labels)

    logits = [np.zeros((len(l), 5), np.float32) for l in windows.labels]
    loss, accuracy = window_loss(Unlabelled(), logits)
    assert math.isnan(loss) and math.isnan(accuracy)


# --------------------------------------------------------------------------
# evaluate_tagger


def test_evaluate_tagger_scores_a_corpus_or_its_windows(tiny_tagger, notes):
    windows = tiny_tagger.encode(notes)
    scores = evaluate_tagger(tiny_tagger, notes, batch_size=4)
    logits = tiny_tagger.predict_logits(windows)
    pred = tiny_tagger.tags(windows, logits)
    assert scores["pred"] == pred and len(pred) == len(notes.documents)
    expected = entity_scores(windows.gold, pred)
    assert {k: scores[k] for k in expected} == expected
    loss, accuracy = window_loss(windows, logits)
    assert scores["loss"] == pytest.approx(loss, rel=1e-5)
    assert scores["window_accuracy"] == pytest.approx(accuracy)
    from_windows = evaluate_tagger(tiny_tagger, windows, mode="strict")
    assert from_windows["pred"] == pred
    assert from_windows["f1"] == entity_scores(windows.gold, pred, mode="strict")["f1"]
