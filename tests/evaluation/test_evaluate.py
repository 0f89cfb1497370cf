"""`python -m tfner.evaluate`: scores, before/after, confusion matrix files, errors."""

import json
import os

import pytest

from conftest import tiny_config


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory):
    from tfner.training.train import train

    config = tiny_config(tmp_path_factory.mktemp("eval"), synthetic_train=24, synthetic_test=6)
    train(config)
    return config.output_dir


def test_evaluate_writes_scores_confusion_and_untrained_baseline(model_dir, tmp_path):
    from tfner.evaluation.evaluate import main
    from tfner.data.synthetic import generate_notes, write_jsonl

    records = generate_notes(8, seed=3)
    write_jsonl(records, tmp_path / "notes.jsonl")
    out = tmp_path / "report"
    assert main(["--model", model_dir, "--data", str(tmp_path / "notes.jsonl"), "--untrained",
                 "--output-dir", str(out)]) == 0
    with open(out / "metrics.json") as f:
        report = json.load(f)
    gold_entities = sum(len(r["ner_tags"]) for r in records)
    for key in ("trained", "untrained"):
        scores = report[key]
        assert scores["support"] == gold_entities
        assert set(scores["per_type"]) <= {"AGE", "DATE", "ID", "LOC", "PATIENT", "PHONE"}
        assert 0 <= scores["f1"] <= 1 and 0 <= scores["accuracy"] <= 1
    matrix = report["confusion"]["matrix"]
    assert len(matrix) == 13 and all(len(row) == 13 for row in matrix)
    labelled_tokens = sum(sum(row) for row in matrix)
    assert labelled_tokens > gold_entities  # every token of every note is counted once
    assert os.path.exists(out / "confusion.png") and os.path.exists(out / "confusion.txt")


def test_evaluate_rejects_labels_the_model_does_not_know(model_dir, tmp_path, capsys):
    from tfner.evaluation.evaluate import main

    (tmp_path / "data.txt").write_text("Paris B-CITY\n")
    assert main(["--model", model_dir, "--data", str(tmp_path / "data.txt")]) == 2
    err = capsys.readouterr().err
    assert "data.txt:1" in err and "CITY" in err


def test_evaluate_names_a_folder_that_is_not_a_model(tmp_path, capsys):
    from tfner.evaluation.evaluate import main

    assert main(["--model", str(tmp_path)]) == 2
    assert "not a saved tfner model" in capsys.readouterr().err
