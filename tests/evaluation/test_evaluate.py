"""`tfner evaluate` (tfner.evaluation.evaluate): scores, before/after, confusion matrix files, errors."""

import json
import os

import pytest


@pytest.fixture(scope="module")
def model_dir(trained_run):
    return trained_run.output_dir


def test_evaluate_writes_scores_confusion_and_untrained_baseline(model_dir, tmp_path):
    from tfner.data.synthetic import generate_notes, write_jsonl
    from tfner.evaluation.evaluate import main

    records = generate_notes(8, seed=3)
    write_jsonl(records, tmp_path / "notes.jsonl")
    out = tmp_path / "report"
    assert (
        main(["--model", model_dir, "--data", str(tmp_path / "notes.jsonl"), "--untrained", "--output-dir", str(out)])
        == 0
    )
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


def test_evaluate_defaults_to_the_runs_synthetic_test_notes(model_dir, trained_run, tmp_path):
    from tfner.data.synthetic import clinical_notes
    from tfner.evaluation.evaluate import main

    out = tmp_path / "report"
    assert main(["--model", model_dir, "--output-dir", str(out)]) == 0
    with open(out / "metrics.json") as f:
        report = json.load(f)
    config = trained_run.config  # config.json is nested; its top-level run settings are read
    test = clinical_notes(1, config.synthetic_test, seed=config.seed)[1]
    assert report["trained"]["support"] == sum(len(d.spans) for d in test.documents)
    assert report["seqeval_mode"] == config.seqeval_mode


def test_evaluate_needs_data_for_a_model_saved_without_its_run(tiny_tagger, tmp_path, capsys):
    from tfner.evaluation.evaluate import main

    tiny_tagger.save(str(tmp_path / "model"))  # config.json holds the model part only
    assert main(["--model", str(tmp_path / "model")]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("error: ") and "give --data" in err[0]


def test_the_misaligned_span_advice_works_where_it_is_given(model_dir, tmp_path, capsys):
    """evaluate stops on a span that cuts a token and advises --misaligned-spans skip, which it accepts."""
    from tfner.evaluation.evaluate import main

    data = tmp_path / "cut.jsonl"
    data.write_text(
        json.dumps({"text": "John Smith was seen.", "ner_tags": [[1, 4, "PATIENT"]]})
        + "\n"
        + json.dumps({"text": "Seen on 2021-03-04.", "ner_tags": [[8, 18, "DATE"]]})
        + "\n"
    )
    out = str(tmp_path / "report")
    assert main(["--model", model_dir, "--data", str(data), "--output-dir", out]) == 2
    error = capsys.readouterr().err
    assert "--misaligned-spans skip" in error and error.count("error:") == 1
    assert main(["--model", model_dir, "--data", str(data), "--output-dir", out, "--misaligned-spans", "skip"]) == 0
    with open(os.path.join(out, "metrics.json")) as f:
        report = json.load(f)
    assert sum(report["skipped"].values()) == 1 and report["trained"]["support"] == 1
