"""tfner.training.collapse: the LabelCollapseDetector callback's checks, logs and actions, and a healthy
run that raises no alarm. The figures and the verdict it relies on are tested in
tests/evaluation/test_collapse.py."""

import json

import numpy as np
import pytest
import tf_keras
from helpers import SMALLEST, build_tagger, force_constant, tiny_config

# The callback ---------------------------------------------------------------------------------------


# One layer, 16 wide (SMALLEST), compiled once: tracing the training step is the slow part of these tests.
@pytest.fixture(scope="module")
def compiled(tokenizer):
    """A tiny tagger compiled as tfner.train compiles (masked loss, two optimizers, clipping)."""
    from tfner.data.batching import make_dataset
    from tfner.data.readers import build_labels
    from tfner.data.synthetic import clinical_notes

    train, valid = clinical_notes(12, 6, seed=5)
    config = tiny_config(encoder_overrides=SMALLEST)
    tagger = build_tagger(build_labels(train), tokenizer, total_steps=1000, encoder_overrides=SMALLEST)
    train_w = tagger.encode(train)
    data = make_dataset(train_w, config.batch_size, tagger.tokenizer.pad_token_id or 0, shuffle=True, seed=config.seed)
    return tagger, data, tagger.encode(valid), tagger.model.get_weights()


@pytest.fixture
def tiny(compiled):
    """(tagger, training data, validation windows), the tagger back at its initial weights."""
    tagger, data, valid_w, initial = compiled
    tagger.model.set_weights(initial)
    return tagger, data, valid_w


def _fit(tiny, callbacks, epochs=1):
    tagger, data, _ = tiny
    return tagger.model.fit(data, epochs=epochs, verbose=0, callbacks=callbacks)


@pytest.mark.parametrize("label", ["O", "B-PATIENT"])
def test_forced_constant_model_is_caught_at_the_first_check(tiny, tmp_path, label, capsys):
    from tfner.training.callbacks import HistoryFile
    from tfner.training.collapse import LabelCollapseDetector

    tagger, _, valid_w = tiny
    force_constant(tagger, label)  # a bias of 50 outlasts an epoch of small steps
    detector = LabelCollapseDetector(tagger, valid_w, action="warn")
    history = HistoryFile(str(tmp_path / "history.json"))
    _fit(tiny, [detector, history], epochs=1)
    first = detector.readings[0]
    assert len(detector.readings) == 1 and first["at_epoch_end"] and first["flag"] == 1
    assert first["top_label"] == label and first["figures"]["top_share"] == 1.0
    assert first["figures"]["classes_predicted"] == 1 and first["figures"]["classes_gold"] > 6
    assert ("no-entity" in first["reasons"]) == (label == "O")
    with open(tmp_path / "history.json") as f:
        logged = json.load(f)
    assert logged["collapse_flag"] == [1.0] and logged["collapse_top_share"] == [1.0]
    assert logged["collapse_top_class"] == [float(tagger.labels.index(label))]
    out = capsys.readouterr().out
    assert f"predicts {label!r} for 100.0%" in out
    assert "--learning-rate" in out and "--head-learning-rate" in out


def test_step_checks_flag_an_entity_class_at_once_and_o_after_warmup(tiny, compiled):
    from tfner.training.collapse import LabelCollapseDetector

    tagger, _, valid_w = tiny
    force_constant(tagger, "B-PATIENT")
    detector = LabelCollapseDetector(tagger, valid_w, action="stop", check_every_steps=2)
    _fit(tiny, [detector], epochs=2)
    assert [r["step"] for r in detector.readings] == [2]  # caught at the first check, then stopped
    assert detector.readings[0]["flag"] and not detector.readings[0]["at_epoch_end"]
    assert tagger.model.stop_training

    tagger.model.set_weights(compiled[3])
    force_constant(tagger, "O")
    detector = LabelCollapseDetector(tagger, valid_w, action="warn", check_every_steps=2, warmup_epochs=1)
    _fit(tiny, [detector], epochs=1)
    flags = [(r["at_epoch_end"], r["flag"]) for r in detector.readings]
    assert flags[-1] == (True, 1) and all(flag == 0 for _, flag in flags[:-1]) and len(flags) > 1
    assert all(r["reasons"] == ["constant", "no-entity"] for r in detector.readings)  # seen, not yet due


class _ForceAt(tf_keras.callbacks.Callback):
    """Record the weights at each epoch end, then force a constant prediction at epoch `at`'s end."""

    def __init__(self, tagger, at, label="B-PATIENT"):
        super().__init__()
        self.tagger, self.at, self.label, self.weights = tagger, at, label, []

    def on_epoch_end(self, epoch, logs=None):
        self.weights.append(self.model.get_weights())
        if epoch == self.at:
            force_constant(self.tagger, self.label)


def _run_action(tiny, action, tmp_path, epochs=4, at=2):
    from tfner.training.callbacks import HistoryFile
    from tfner.training.collapse import LabelCollapseDetector

    tagger, _, valid_w = tiny
    force = _ForceAt(tagger, at)
    # A long warm-up keeps the tiny, barely trained model from counting as "no entity predicted".
    detector = LabelCollapseDetector(tagger, valid_w, action=action, warmup_epochs=100)
    history = HistoryFile(str(tmp_path / "history.json"))
    _fit(tiny, [force, detector, history], epochs=epochs)
    with open(tmp_path / "history.json") as f:
        return tagger, force, detector, json.load(f)


def _same(a, b):
    return all(np.array_equal(x, y) for x, y in zip(a, b))


def test_action_restore_puts_back_the_last_healthy_epoch_and_stops(tiny, tmp_path, capsys):
    tagger, force, detector, history = _run_action(tiny, "restore", tmp_path)
    assert history["collapse_flag"] == [0.0, 0.0, 1.0]  # stopped after the collapsed epoch
    assert detector.healthy_at["epoch"] == 2 and detector.collapsed_at["epoch"] == 3
    outcome = detector.outcome()
    assert outcome["collapsed"] and outcome["top_label"] == "B-PATIENT"
    assert (outcome["at"], outcome["weights_restored_from"]) == ("the end of epoch 3", "the end of epoch 2")
    weights = tagger.model.get_weights()
    assert _same(weights, force.weights[1])  # the last healthy epoch's weights
    assert not _same(weights, force.weights[2]) and not _same(force.weights[1], force.weights[0])
    out = capsys.readouterr().out
    assert "restored" in out and "the end of epoch 2" in out and "'B-PATIENT' for 100.0%" in out


def test_restore_with_no_healthy_check_yet_keeps_the_weights_and_says_so(tiny, capsys):
    from tfner.training.collapse import LabelCollapseDetector

    tagger, _, valid_w = tiny
    force_constant(tagger, "B-PATIENT")
    detector = LabelCollapseDetector(tagger, valid_w, action="restore", check_every_steps=1)
    _fit(tiny, [detector], epochs=2)
    assert [r["step"] for r in detector.readings] == [1] and detector.healthy_weights is None
    assert detector.outcome()["weights_restored_from"] is None and detector.outcome()["at"] == (
        "epoch 1, step 1 (global step 1)"
    )
    assert "no check was healthy yet" in capsys.readouterr().out


def test_action_stop_stops_with_the_collapsed_weights(tiny, tmp_path):
    from tfner.evaluation.collapse import check_tagger

    tagger, force, detector, history = _run_action(tiny, "stop", tmp_path)
    assert history["collapse_flag"] == [0.0, 0.0, 1.0]
    assert check_tagger(tagger, detector.windows).top_label == "B-PATIENT"


def test_action_warn_goes_on(tiny, tmp_path, capsys):
    _, _, detector, history = _run_action(tiny, "warn", tmp_path, epochs=3, at=1)
    assert history["collapse_flag"] == [0.0, 1.0, 1.0]  # the forced bias outlasts an epoch of training
    assert detector.collapsed_at["epoch"] == 2
    assert capsys.readouterr().out.count("label collapse at the end of epoch 3 too") == 1


def test_action_raise_names_the_class_and_the_share(tiny, tmp_path):
    from tfner.evaluation.collapse import LabelCollapseError

    with pytest.raises(LabelCollapseError) as caught:
        _run_action(tiny, "raise", tmp_path, epochs=3, at=1)
    message = str(caught.value)
    assert "'B-PATIENT'" in message and "100.0%" in message and "epoch 2" in message
    assert caught.value.report.top_label == "B-PATIENT" and caught.value.report.top_share == 1.0


def test_bad_action_is_refused(tiny):
    from tfner.training.collapse import LabelCollapseDetector

    tagger, _, valid_w = tiny
    with pytest.raises(ValueError, match="warn, stop, restore, raise"):
        LabelCollapseDetector(tagger, valid_w, action="ignore")


def test_from_config_takes_the_collapse_settings(tiny):
    from tfner.evaluation.collapse import CollapseConfig
    from tfner.training.collapse import LabelCollapseDetector

    tagger, _, valid_w = tiny
    settings = CollapseConfig(
        action="stop", check_every_steps=3, warmup_epochs=0.5, max_top_share=0.9, max_gold_share=0.8, sample=20
    )
    run = tiny_config(collapse_action="stop")
    detector = LabelCollapseDetector.from_config(tagger, valid_w, settings, seed=4, batch_size=16, run_config=run)
    assert detector.get_config() == {
        "action": "stop",
        "check_every_steps": 3,
        "warmup_epochs": 0.5,
        "max_top_share": 0.9,
        "max_gold_share": 0.8,
        "max_windows": 20,
        "seed": 4,
        "batch_size": 16,
        "prefix": "collapse_",
    }
    assert len(detector.windows) <= 20 and detector.run_config is run


# A real healthy run (pretrained MiniLM, never flagged): tests/training/test_train.py::test_real_learning_*


def test_one_prediction_pass_per_validation(tiny_tagger, notes, monkeypatch):
    """At an epoch's end the detector reads the logits EntityMetrics predicted (its sample's rows)
    instead of predicting again, and reaches the figures it would have reached on its own."""
    from tfner.training.callbacks import EntityMetrics
    from tfner.training.collapse import LabelCollapseDetector

    windows = tiny_tagger.encode(notes)
    calls, predict = [], tiny_tagger.predict_logits
    monkeypatch.setattr(tiny_tagger, "predict_logits", lambda w, batch_size=64: calls.append(len(w)) or predict(w))
    metrics = EntityMetrics(tiny_tagger, windows)
    shared = LabelCollapseDetector(tiny_tagger, windows, "warn", max_windows=6, predictions=metrics.predictions)
    alone = LabelCollapseDetector(tiny_tagger, windows, "warn", max_windows=6)
    for callback in (metrics, shared, alone):
        callback.set_model(tiny_tagger.model)
        callback.set_params({"epochs": 2, "steps": 1})
    assert len(windows) > 6 and shared.sample is not None
    metrics.on_epoch_end(0, {})
    shared.on_epoch_end(0, {})
    assert calls == [len(windows)]  # the detector predicted nothing of its own
    alone.on_epoch_end(0, {})
    assert calls == [len(windows), len(shared.windows)]
    assert shared.readings[-1]["figures"] == alone.readings[-1]["figures"]
    shared.on_epoch_end(1, {})  # no predictions of epoch 2 yet: the detector predicts its sample
    assert calls[-1] == len(shared.windows)
