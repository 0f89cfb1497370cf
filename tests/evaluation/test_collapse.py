"""The label-collapse detector: the figures and verdict, the callback's checks and actions, the guards."""

import json

import numpy as np
import pytest

from conftest import tiny_config

LABELS = ["O", "B-PER", "I-PER", "B-LOC", "I-LOC"]


# The figures and the verdict (pure numpy) ---------------------------------------------------------

def _gold(n=1000, o_share=0.8, seed=0):
    rng = np.random.RandomState(seed)
    return np.where(rng.rand(n) < o_share, 0, rng.randint(1, len(LABELS), n))


def test_constant_o_is_collapse_after_warmup_only():
    from tfner.evaluation.collapse import collapse_report

    r = collapse_report(np.zeros(1000, int), _gold(), LABELS)
    assert r.reasons == ("constant", "no-entity")
    assert (r.top_label, r.top_share, r.classes_predicted, r.entropy) == ("O", 1.0, 1, 0.0)
    assert r.entities_predicted == 0
    assert r.classes_gold == 5 and r.gold_share_of_top == pytest.approx(0.8, abs=0.03)
    assert r.needs_warmup and r.flagged(warm=True) and not r.flagged(warm=False)


def test_constant_entity_class_is_collapse_at_once():
    from tfner.evaluation.collapse import collapse_report

    r = collapse_report(np.full(1000, 3), _gold(), LABELS)
    assert r.reasons == ("constant",) and r.top_label == "B-LOC" and r.top_share == 1.0
    assert not r.needs_warmup and r.flagged(warm=False)


def test_near_constant_is_collapse_and_a_spread_is_not():
    from tfner.evaluation.collapse import collapse_report

    gold = _gold()
    near = np.zeros(1000, int)
    near[:5] = 1  # 99.5 % O, 2 classes predicted
    r = collapse_report(near, gold, LABELS)
    assert r.reasons == ("constant",) and r.classes_predicted == 2 and r.entities_predicted == 5
    healthy = collapse_report(gold, gold, LABELS)
    assert healthy.reasons == () and not healthy.flagged()
    assert healthy.entropy == pytest.approx(healthy.gold_entropy)
    assert set(healthy.logs()) == {"collapse_top_share", "collapse_top_class", "collapse_classes_predicted",
                                   "collapse_classes_gold", "collapse_entropy", "collapse_entities_predicted"}


def test_only_labelled_tokens_count():
    from tfner.evaluation.collapse import collapse_report

    gold = [np.array([-100, 0, 1, 2, -100, -100]), np.array([-100, 0, 3, -100])]
    pred = [np.array([0, 0, 1, 2, 0, 0]), np.array([0, 0, 3, 0])]  # O at every ignored position
    r = collapse_report(pred, gold, LABELS)
    assert r.tokens == 5 and r.top_share == pytest.approx(0.4) and r.reasons == ()


def test_mostly_o_gold_needs_entities_not_spread():
    from tfner.evaluation.collapse import collapse_report

    gold = _gold(o_share=0.98)
    all_o = collapse_report(np.zeros(1000, int), gold, LABELS)
    assert all_o.reasons == ("constant", "no-entity")  # one class predicted of several
    mostly_o = gold.copy()
    mostly_o[np.nonzero(gold)[0][::2]] = 0  # half the entity tokens missed: 99 % O, gold 98 %
    assert collapse_report(mostly_o, gold, LABELS).reasons == ()
    assert collapse_report(np.zeros(50, int), np.zeros(50, int), LABELS).reasons == ()  # gold all O


def test_report_from_tags_matches_ids():
    from tfner.evaluation.collapse import collapse_report, report_from_tags

    gold = [["B-PER", "I-PER", "O"], None, ["O", "B-LOC"]]
    pred = [["O", "O", "O"], ["O"], ["O", "O"]]
    r = report_from_tags(gold, pred, LABELS)
    assert r.to_dict() == collapse_report([0, 0, 0, 0, 0], [1, 2, 0, 0, 3], LABELS).to_dict()
    assert r.tokens == 5 and r.collapsed


def test_sample_windows_keeps_whole_documents(tokenizer):
    from tfner.data.align import encode
    from tfner.evaluation.collapse import sample_windows
    from tfner.data.readers import build_labels
    from tfner.data.synthetic import clinical_notes

    corpus = clinical_notes(1, 30, seed=3)[1]
    labels = build_labels(corpus)
    windows = encode(corpus, tokenizer, labels, max_length=32, stride=8)
    sample = sample_windows(windows, 40, seed=1)
    assert 30 <= len(sample) <= 40 and len(sample.units) < len(windows.units)
    assert sorted(set(sample.doc_index)) == list(range(len(sample.units)))
    from tfner.data.align import merge  # the sample maps back onto its documents like any Windows
    merged = merge(sample, sample.labels, fill=0)
    for doc, gold in zip(merged, sample.gold):
        assert [labels[i] for i in doc] == gold
    assert sample_windows(windows, 0) is windows


# The callback -----------------------------------------------------------------------------------

# One layer, 16 wide, compiled once: tracing the training step is the slow part of these tests.
SMALLEST = {"hidden_size": 16, "num_hidden_layers": 1, "num_attention_heads": 1, "intermediate_size": 32}


@pytest.fixture(scope="module")
def compiled():
    """A tiny tagger compiled as tfner.train compiles (masked loss, two optimizers, clipping)."""
    from tfner.data.batching import make_dataset
    from tfner.data.readers import build_labels
    from tfner.evaluation.metrics import MaskedAccuracy, masked_loss
    from tfner.training.optim import make_optimizers
    from tfner.data.synthetic import clinical_notes
    from tfner.model.tagger import Tagger

    train, valid = clinical_notes(12, 6, seed=5)
    tagger = Tagger.build(tiny_config(encoder_overrides=SMALLEST), build_labels(train))
    config = tagger.config
    train_w = tagger.encode(train)
    data = make_dataset(train_w, config.batch_size, tagger.tokenizer.pad_token_id or 0, shuffle=True,
                        seed=config.seed)
    encoder_optimizer, head_optimizer = make_optimizers(config, 1000)
    tagger.model.compile(optimizer=encoder_optimizer, loss=masked_loss, metrics=[MaskedAccuracy()])
    tagger.model.head_optimizer, tagger.model.clip_norm = head_optimizer, config.clip_norm
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


def force_constant(tagger, label, strength=50.0):
    """Make the classifier predict `label` everywhere: zero kernel, a large bias on that class."""
    dense = tagger.model.get_layer("head").get_layer("logits")
    kernel, bias = dense.get_weights()
    bias = np.zeros_like(bias)
    bias[tagger.labels.index(label)] = strength
    dense.set_weights([np.zeros_like(kernel), bias])


@pytest.mark.parametrize("label", ["O", "B-PATIENT"])
def test_forced_constant_model_is_caught_at_the_first_check(tiny, tmp_path, label, capsys):
    from tfner.training.callbacks import HistoryFile
    from tfner.evaluation.collapse import LabelCollapseDetector

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
    from tfner.evaluation.collapse import LabelCollapseDetector

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


class _ForceAt(__import__("tf_keras").callbacks.Callback):
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
    from tfner.evaluation.collapse import LabelCollapseDetector

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
    from tfner.evaluation.collapse import LabelCollapseDetector

    tagger, _, valid_w = tiny
    force_constant(tagger, "B-PATIENT")
    detector = LabelCollapseDetector(tagger, valid_w, action="restore", check_every_steps=1)
    _fit(tiny, [detector], epochs=2)
    assert [r["step"] for r in detector.readings] == [1] and detector.healthy_weights is None
    assert detector.outcome()["weights_restored_from"] is None and detector.outcome()["at"] == (
        "epoch 1, step 1 (global step 1)")
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
    from tfner.evaluation.collapse import LabelCollapseDetector

    tagger, _, valid_w = tiny
    with pytest.raises(ValueError, match="warn, stop, restore, raise"):
        LabelCollapseDetector(tagger, valid_w, action="ignore")


def test_export_guard_refuses_a_collapsed_model_unless_forced(tiny, capsys):
    from tfner.evaluation.collapse import LabelCollapseError, check_not_collapsed

    tagger, _, valid_w = tiny
    assert not check_not_collapsed(tagger, valid_w).collapsed  # random weights: a spread of classes
    force_constant(tagger, "O")
    with pytest.raises(LabelCollapseError, match="'O' for 100.0%.*--force"):
        check_not_collapsed(tagger, valid_w)
    report = check_not_collapsed(tagger, valid_w, force=True)
    assert report.collapsed and "WARNING" in capsys.readouterr().err


# A real healthy run ---------------------------------------------------------------------------------

def _compile_and_fit(tagger, train_windows, callbacks, epochs):
    """Compile and fit as tfner.train does (masked loss, two optimizers, clipping)."""
    from tfner.data.batching import make_dataset
    from tfner.evaluation.metrics import MaskedAccuracy, masked_loss
    from tfner.training.optim import make_optimizers

    config = tagger.config
    data = make_dataset(train_windows, config.batch_size, tagger.tokenizer.pad_token_id or 0, shuffle=True,
                        seed=config.seed)
    encoder_optimizer, head_optimizer = make_optimizers(config, len(data) * epochs)
    tagger.model.compile(optimizer=encoder_optimizer, loss=masked_loss, metrics=[MaskedAccuracy()])
    tagger.model.head_optimizer, tagger.model.clip_norm = head_optimizer, config.clip_norm
    return tagger.model.fit(data, epochs=epochs, verbose=0, callbacks=callbacks)


def test_healthy_minilm_run_raises_no_alarm(tmp_path):
    """MiniLM learning the clinical notes is never flagged, at epoch ends or every 10 steps."""
    from tfner.training.callbacks import EntityMetrics, HistoryFile
    from tfner.evaluation.collapse import LabelCollapseDetector
    from tfner.training.config import TrainConfig
    from tfner.data.readers import build_labels
    from tfner.data.synthetic import clinical_notes
    from tfner.model.tagger import Tagger

    import tf_keras

    tf_keras.utils.set_random_seed(0)
    train, valid = clinical_notes(150, 30, seed=11)
    config = TrainConfig(encoder="minilm", head="linear", learning_rate=1e-4, batch_size=8, epochs=2,
                         verbose=0)
    tagger = Tagger.build(config, build_labels(train))
    valid_w = tagger.encode(valid)
    detector = LabelCollapseDetector(tagger, valid_w, action="raise", check_every_steps=10)
    history = HistoryFile(str(tmp_path / "history.json"))
    _compile_and_fit(tagger, tagger.encode(train), [EntityMetrics(tagger, valid_w), detector, history], 2)
    assert len(detector.readings) >= 4 and all(r["flag"] == 0 for r in detector.readings)
    with open(tmp_path / "history.json") as f:
        logged = json.load(f)
    assert logged["collapse_flag"] == [0.0, 0.0]
    assert logged["val_f1"][-1] > 0.2  # it learns (the untrained model scores about 0)
    assert logged["collapse_entities_predicted"][-1] > 0 and logged["collapse_classes_predicted"][-1] > 6
