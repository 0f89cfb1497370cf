"""tfner.serving.card: the README.md and assets.extra/model_card.json every export writes."""

import json
import os

import pytest


@pytest.fixture(scope="module")
def run_export(trained_run, tmp_path_factory):
    """`tfner export` of the session's trained run (forced: a 2-epoch tiny model may have collapsed)."""
    from tfner.serving.export import main

    root = tmp_path_factory.mktemp("card")
    assert main([trained_run.output_dir, "--name", "notes", "--output-root", str(root), "--force"]) in (0, None)
    return os.path.join(root, "notes", "1")


def read_card(path):
    with open(os.path.join(path, "assets.extra", "model_card.json")) as f:
        data = json.load(f)
    with open(os.path.join(path, "README.md")) as f:
        return data, f.read()


def test_card_carries_the_runs_facts(run_export, trained_run):
    card, readme = read_card(run_export)
    with open(os.path.join(trained_run.output_dir, "metrics.json")) as f:
        metrics = json.load(f)
    assert card["name"] == "notes" and card["version"] == 1
    assert card["labels"] == trained_run.tagger.labels
    assert card["entity_types"] == ["AGE", "DATE", "ID", "LOC", "PATIENT", "PHONE"]
    assert card["metrics"]["validation"]["f1"] == metrics["validation"]["f1"]
    assert card["metrics"]["test"]["f1"] == metrics["after"]["f1"]
    assert card["metrics"]["test"]["per_type"]["DATE"]["support"] == metrics["after"]["per_type"]["DATE"]["support"]
    assert card["training"]["epochs_run"] == metrics["epochs_run"]
    assert len(card["training"]["validation_f1_per_epoch"]) == 2
    assert card["training_data"]["train"].startswith("40 synthetic clinical notes")
    assert card["config"]["model"]["head"] == trained_run.config.model.head
    assert card["model"]["max_length"] == trained_run.config.model.max_length
    assert card["model"]["stride"] == trained_run.config.model.stride
    assert set(card["signatures"]) == {"serving_default", "predict_text"}
    assert any("synthetic" in n for n in card["limitations"])
    # the README says the same things, with working request examples for both signatures
    for needed in (
        "## Labels",
        "B-PATIENT",
        "## Training data",
        "## Metrics",
        "| DATE |",
        "## Intended use",
        "## Limitations",
        "v1/models/notes:predict",
        '"signature_name": "predict_text"',
        '"signature_name": "serving_default"',
        "--signature_def predict_text",
        "--signature_def serving_default",
        f"{metrics['after']['f1']:.4f}",
    ):
        assert needed in readme, needed


def test_card_request_bodies_run_on_the_export(run_export):
    """The JSON bodies in the card are accepted by the signatures they name (as TF Serving would feed them)."""
    import numpy as np
    import tensorflow as tf
    import tensorflow_text  # noqa: F401

    card, _ = read_card(run_export)
    loaded = tf.saved_model.load(run_export)
    for signature, request in card["requests"].items():
        inputs = request["rest_body"]["inputs"]
        feed = {k: tf.constant(np.array(v, np.int64 if k != "text" else object)) for k, v in inputs.items()}
        out = loaded.signatures[signature](**feed)
        assert out, signature


def test_card_of_a_tagger_exported_from_memory_says_what_is_missing(tiny_tagger, tmp_path):
    from tfner.serving.export import export

    path = export(tiny_tagger, "mem", output_root=str(tmp_path), log=lambda m: None)
    card, readme = read_card(path)
    assert card["metrics"] is None and "not recorded" in card["training_data"]["source"]
    assert "Not recorded: no metrics.json" in readme
    assert card["labels"] == tiny_tagger.labels
