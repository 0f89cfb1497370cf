"""De-identification metrics: binary PHI tokens, nervaluate's schemes, and leaks."""

import math
from types import SimpleNamespace

from tfner.data.readers import Document
from tfner.evaluation.phi import entity_schemes, leak_text, leaks, phi_report, token_scores


def test_binary_phi_tokens_ignore_the_type():
    gold = [["O", "B-PER", "I-PER", "O", "B-LOC"]]
    pred = [["O", "B-LOC", "I-PER", "B-PER", "O"]]
    scores = token_scores(gold, pred)
    assert scores["recall"] == 2 / 3 and scores["precision"] == 2 / 3
    assert scores["per_type"]["PER"]["recall"] == 0.5 and scores["per_type"]["LOC"]["recall"] == 0.0
    assert math.isnan(token_scores([["O"]], [["O"]])["recall"])


def test_nervaluate_schemes_strict_and_relaxed():
    gold = [["O", "B-PER", "I-PER", "O", "B-LOC"]]
    pred = [["O", "B-PER", "O", "O", "B-LOC"]]  # PER right type, wrong boundary; LOC exact
    overall = entity_schemes(gold, pred)["overall"]
    assert overall["strict"]["correct"] == 1 and overall["ent_type"]["correct"] == 2
    assert overall["strict"]["recall"] == 0.5 and overall["ent_type"]["recall"] == 1.0


def test_a_leak_is_a_gold_entity_with_a_unit_predicted_o():
    doc = Document(text="Jo Li at Oslo", spans=[(0, 5, "PER"), (9, 13, "LOC")])
    windows = SimpleNamespace(
        gold=[["B-PER", "I-PER", "O", "B-LOC"]], offsets=[[(0, 2), (3, 5), (6, 8), (9, 13)]], documents=[doc]
    )
    pred = [["B-PER", "O", "O", "B-LOC"]]
    found = leaks(windows, pred)
    assert found == [
        {"document": 0, "label": "PER", "units": [0, 2], "missed_units": 1, "units_in_entity": 2, "start": 0, "end": 5}
    ]
    assert "text" not in found[0] and leak_text(windows, found[0]) == "Jo Li"
    report = phi_report(windows, pred)
    assert report["leaked_entities"] == 1 and report["gold_entities"] == 2
