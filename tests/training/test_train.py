"""`tfner train` (tfner.training.train) end to end: outputs, save/load round trip, resume after a kill,
CLI errors, real learning."""

import json
import os

import numpy as np
import pytest
from helpers import tiny_config, train_tiny


@pytest.fixture(scope="module")
def trained(trained_run):
    """The session's tiny run: 2 epochs, evaluated before and after."""
    return trained_run.config, trained_run.tagger, trained_run.metrics


def test_output_dir_holds_model_history_metrics_and_plots(trained):
    config, _, metrics = trained
    out = config.output_dir
    for name in (
        "config.json",
        "labels.json",
        "weights.h5",
        "encoder/config.json",
        "tokenizer/tokenizer.json",
        "history.json",
        "metrics.json",
        "curves.png",
        "confusion.png",
        "confusion.txt",
        "checkpoints/best.h5",
    ):
        assert os.path.exists(os.path.join(out, name)), name
    assert os.listdir(os.path.join(out, "logs"))  # TensorBoard events
    assert not os.path.exists(os.path.join(out, "backup"))  # removed once training finished
    with open(os.path.join(out, "history.json")) as f:
        history = json.load(f)
    for key in (
        "loss",
        "accuracy",
        "val_loss",
        "val_accuracy",
        "val_precision",
        "val_recall",
        "val_f1",
        "train_sentences_per_second",
    ):
        assert len(history[key]) == 2, key
    with open(os.path.join(out, "metrics.json")) as f:
        saved = json.load(f)
    assert saved["evaluated_on"] == "test"
    assert set(saved) >= {"before", "after", "validation", "labels", "train_seconds"}
    assert saved["after"]["f1"] == pytest.approx(metrics["after"]["f1"])
    assert saved["labels"][0] == "O" and len(saved["labels"]) == 13


def test_saved_model_predicts_identically(trained, notes):
    import tfner

    config, tagger, _ = trained
    loaded = tfner.load(config.output_dir)
    assert loaded.labels == tagger.labels
    assert loaded.config == config.model  # config.json holds the run's config, nested
    corpus = notes
    windows = tagger.encode(corpus)
    a, b = tagger.predict_logits(windows), loaded.predict_logits(loaded.encode(corpus))
    for x, y in zip(a, b):
        np.testing.assert_allclose(x, y, atol=1e-5)
    assert tagger.predict(corpus) == loaded.predict(corpus)


def test_final_weights_are_the_best_validation_epoch(trained):
    config, tagger, metrics = trained
    with open(os.path.join(config.output_dir, "history.json")) as f:
        history = json.load(f)
    assert metrics["validation"]["f1"] == pytest.approx(max(history["val_f1"]), abs=1e-6)


def test_killed_run_resumes_where_it_stopped(tmp_path, monkeypatch):
    from tfner.training import callbacks
    from tfner.training.train import train

    config = tiny_config(tmp_path, epochs=3, synthetic_train=24, synthetic_test=6)
    epochs_run, started = [], []
    on_begin, on_end = callbacks.Throughput.on_epoch_begin, callbacks.Throughput.on_epoch_end

    def killed_as_third_epoch_starts(self, epoch, logs=None):
        started.append(epoch)
        if epoch == 2 and started.count(2) == 1:
            raise KeyboardInterrupt("killed")
        on_begin(self, epoch, logs)

    def record(self, epoch, logs=None):
        on_end(self, epoch, logs)
        epochs_run.append(epoch)

    monkeypatch.setattr(callbacks.Throughput, "on_epoch_begin", killed_as_third_epoch_starts)
    monkeypatch.setattr(callbacks.Throughput, "on_epoch_end", record)
    with pytest.raises(KeyboardInterrupt):
        train(config)
    assert os.path.isdir(os.path.join(config.output_dir, "backup"))
    train(config)
    assert epochs_run == [0, 1, 2]  # the resumed run trained only the third epoch
    with open(os.path.join(config.output_dir, "history.json")) as f:
        assert len(json.load(f)["val_f1"]) == 3


def test_cli_reports_bad_data_with_file_and_line(tmp_path, capsys):
    from tfner.training.train import main

    bad = tmp_path / "train.txt"
    bad.write_text("John B-PER\nlives\n")
    code = main(["--train", str(bad), "--output-dir", str(tmp_path / "out")])
    assert code == 2
    err = capsys.readouterr().err
    assert "train.txt:2" in err and "column" in err


def test_cli_rejects_unknown_validation_label(tmp_path, capsys):
    from tfner.training.train import main

    (tmp_path / "train.txt").write_text("John B-PER\nruns O\n\nMary B-PER\n")
    (tmp_path / "valid.txt").write_text("Paris B-LOC\n")
    code = main(
        [
            "--train",
            str(tmp_path / "train.txt"),
            "--validation",
            str(tmp_path / "valid.txt"),
            "--output-dir",
            str(tmp_path / "out"),
        ]
    )
    assert code == 2
    err = capsys.readouterr().err
    assert "valid.txt:1" in err and "B-LOC" in err


def test_cli_help_lists_generated_flags(capsys):
    from tfner.training.train import main

    with pytest.raises(SystemExit) as exit_:
        main(["--help"])
    assert exit_.value.code == 0
    text = capsys.readouterr().out
    for flag in ("--head {linear,mlp,replace-last}", "--learning-rate", "--label-all-tokens", "--config"):
        assert flag in text


def test_token_budget_sets_the_training_batches(tmp_path):
    """`--padding tokens`: a batch of bucket bound b holds max_tokens // b windows, so a budget of two
    32-token windows makes more, smaller steps than batches of 8, and the run trains as usual."""
    from tfner.data.batching import steps_per_epoch
    from tfner.training.train import load_corpora

    config, tagger, metrics = train_tiny(tmp_path, padding="tokens", max_tokens=64, synthetic_train=16)
    windows = tagger.encode(load_corpora(config)["train"])
    expected = steps_per_epoch(windows, 8, "tokens", config.bucket_bounds, 32, max_tokens=64)
    assert metrics["train_steps_per_epoch"] == expected and metrics["train_max_tokens"] == 64
    assert expected > steps_per_epoch(windows, 8, "buckets", config.bucket_bounds, 32)
    assert os.path.exists(os.path.join(config.output_dir, "weights.h5")) and metrics["epochs_run"] == 1
    assert np.isfinite(metrics["validation"]["f1"])


def test_a_table_view_run_trains_on_the_view_and_saves_it(tmp_path):
    """`tfner train --table-view`: the training windows are the notes' view (headers before table cells),
    the saved model reads it again, and the run evaluates as usual."""
    from tfner.data import align
    from tfner.data.tables import TableView
    from tfner.model.tagger import Tagger
    from tfner.training.train import load_corpora

    config, tagger, metrics = train_tiny(tmp_path, table_view=True, synthetic_train=24)
    train = load_corpora(config)["train"]
    assert any(TableView(d.text) for d in train.documents)  # the embedded notes hold tables
    viewed = sum(map(len, tagger.encode(train).input_ids))
    assert viewed > sum(map(len, align.encode(train, tagger.tokenizer, tagger.labels, 32, 8).input_ids))
    assert Tagger.load(config.output_dir).config.table_view
    assert np.isfinite(metrics["validation"]["f1"]) and metrics["epochs_run"] == 1


@pytest.mark.parametrize("max_tokens, expected", [(0, None), (256, 512)])
def test_token_budget_is_per_replica_like_the_batch_size(max_tokens, expected):
    from tfner.training.train import train_batching

    batching = train_batching(tiny_config(padding="tokens", max_tokens=max_tokens), replicas=2)
    assert batching["batch_size"] == 16 and batching["max_tokens"] == expected  # None: make_dataset's default
    assert batching["padding"] == "tokens" and batching["max_length"] == 32
    assert train_batching(tiny_config(), replicas=2)["max_tokens"] is None


def test_xla_always_gets_fixed_batch_shapes():
    from tfner.training.train import train_batching

    assert train_batching(tiny_config(), replicas=1)["fixed_shapes"] is False
    assert train_batching(tiny_config(jit_compile=True), replicas=1)["fixed_shapes"] is True
    assert train_batching(tiny_config(fixed_shapes=True), replicas=1)["fixed_shapes"] is True
    assert train_batching(tiny_config(sort_by_length=True), replicas=1)["sort_by_length"] is True
    with pytest.raises(ValueError, match="sort_by_length"):
        tiny_config(sort_by_length=True, jit_compile=True)


def test_real_learning_minilm_on_synthetic_notes(tmp_path):
    """The pretrained MiniLM learns the clinical notes: F1 rises far above the untrained model's, and
    the label-collapse detector, checking every 10 steps and at epoch ends, never flags the healthy run.

    90 steps on the generator's 14 families and 14 locales (measured: F1 0.01 -> 0.41); the main job
    trains 3 epochs on 675 notes."""
    from tfner.training.config import TrainConfig
    from tfner.training.train import train

    config = TrainConfig.from_dict(
        dict(
            head="linear",
            synthetic_train=250,
            synthetic_test=40,
            epochs=2,
            batch_size=8,
            learning_rate=1e-4,
            head_learning_rate=3e-3,
            verbose=0,
            output_dir=str(tmp_path / "run"),
            early_stopping_patience=0,
            collapse={"action": "raise", "check_every_steps": 10},
        )
    )
    _, metrics = train(config)
    assert metrics["before"]["f1"] < 0.1
    assert metrics["after"]["f1"] > 0.3
    assert metrics["after"]["f1"] > metrics["before"]["f1"] + 0.25
    assert metrics["collapse"]["collapsed"] is False and metrics["collapse"]["checks"] >= 4
    with open(tmp_path / "run" / "history.json") as f:
        logged = json.load(f)
    assert logged["collapse_flag"] == [0.0, 0.0]
    assert logged["collapse_entities_predicted"][-1] > 0 and logged["collapse_classes_predicted"][-1] > 6


def test_many_bucket_shapes_trace_the_training_step_at_most_twice():
    """Keras traces `fit`'s step for the first shapes, then once for any shape (tf.function's
    reduce_retracing): a bucket costs no tracing of its own, which is what lets the default ladder
    be fine (tfner.data.batching.BUCKET_BOUNDS)."""
    from types import SimpleNamespace

    from helpers import build_tagger, note_labels

    from tfner.data.batching import make_dataset

    labels = note_labels()
    rng = np.random.default_rng(0)
    lengths = [3, 9, 13, 17, 21, 25, 29, 32, 6, 11, 15, 19, 23, 27, 31, 10]
    windows = SimpleNamespace(
        input_ids=[rng.integers(1000, 2000, n).astype(np.int32) for n in lengths],
        labels=[rng.integers(0, len(labels), n).astype(np.int32) for n in lengths],
    )
    data = make_dataset(windows, 2, 0, shuffle=True, padding="buckets", max_length=32)
    # each batch padded to its longest window: widths of 7 buckets (bounds 8, 12, ..., 32) and more
    assert len({tuple(x["input_ids"].shape) for x, _ in data}) >= 7
    tagger = build_tagger(labels, total_steps=int(data.cardinality()))
    tagger.model.fit(data, epochs=1, verbose=0)
    assert tagger.model.train_function.experimental_get_tracing_count() <= 2
