"""Hyperparameter search: trials through tfner.train, the best config retrained, resume, failed
(collapsed) trials, Hyperband rounds, chief and worker processes, space and CLI errors."""

import json
import os
import subprocess
import sys

import pytest
from helpers import ROOT, TINY, free_ports, tiny_config

# The tiny random encoder predicts only O for its first epochs: with a long collapse warm-up that is no
# collapse here, while a constant entity class still is one at once. Large steps make it learn a little.
SEARCH_BASE = dict(
    epochs=2, learning_rate=3e-3, head_learning_rate=3e-2, warmup_ratio=0.0, collapse_warmup_epochs=100.0
)
SPACE = {
    "learning_rate": {"type": "float", "min": 1e-3, "max": 1e-2, "sampling": "log"},
    "head": {"type": "choice", "values": ["linear", "mlp"]},
    "mlp_sizes": {"type": "choice", "values": [[16], [32, 16]], "when": {"head": "mlp"}},
}


def base_config(tmp_path, **overrides):
    return tiny_config(tmp_path, **{**SEARCH_BASE, **overrides})


@pytest.fixture(scope="module")
def searched(tmp_path_factory):
    from tfner.tune import make_tuner

    folder = tmp_path_factory.mktemp("search")
    tuner = make_tuner(
        base_config(folder), SPACE, tuner="random", max_trials=3, directory=str(folder), project_name="random"
    )
    return tuner, tuner.search()


def test_random_search_runs_three_trials_and_writes_its_results(searched):
    tuner, results = searched
    rows = results["trials"]
    assert [r["status"] for r in rows] == ["COMPLETED"] * 3
    assert results["best"]["score"] == max(r["score"] for r in rows)
    project = results["project_dir"]
    for name in ("trials.json", "trials.csv", "summary.txt", "objective.png", "best_config.json", "search.json"):
        assert os.path.exists(os.path.join(project, name)), name
    for r in rows:
        assert set(r["metrics"]) >= {"val_f1", "val_precision", "val_recall", "val_loss", "seconds"}
        assert r["seconds"] > 0 and r["metrics"]["val_f1"] == r["score"]
        assert r["hyperparameters"]["head"] in ("linear", "mlp")
        assert ("mlp_sizes" in r["hyperparameters"]) == (r["hyperparameters"]["head"] == "mlp")
        assert os.path.exists(os.path.join(project, f"trial_{r['trial_id']}", "execution0", "weights.h5"))
        assert os.listdir(os.path.join(project, "hparams", f"trial_{r['trial_id']}"))  # one HParams run each
    with open(os.path.join(project, "trials.csv")) as f:
        lines = f.read().splitlines()
    assert lines[0].startswith("trial_id,status,score,learning_rate,head,mlp_sizes,val_f1")
    assert len(lines) == 4
    with open(os.path.join(project, "summary.txt")) as f:
        assert "Results summary" in f.read()  # keras-tuner's results_summary, then our table


def test_best_config_retrains_to_the_same_val_f1(searched, tmp_path):
    from tfner.training.config import TrainConfig
    from tfner.training.train import train

    _, results = searched
    best = results["best"]
    config = TrainConfig.from_json(results["best_config"])
    assert config.learning_rate == best["hyperparameters"]["learning_rate"] and config.seed == 42
    assert config.model.head == best["hyperparameters"]["head"]
    with open(results["best_config"]) as f:
        assert isinstance(json.load(f)["model"], dict)  # written nested, as every config.json
    _, metrics = train(config.replace(output_dir=str(tmp_path / "again")))
    assert metrics["validation"]["f1"] == best["score"]  # same seed, same numbers: exactly
    assert metrics["validation"]["loss"] == pytest.approx(best["metrics"]["val_loss"], rel=1e-9)


@pytest.mark.slow  # keeps the default run short; make test-all runs it
def test_interrupted_search_resumes_without_rerunning_finished_trials(tmp_path, monkeypatch):
    from tfner.training import train as training
    from tfner.tune import TuneError, make_tuner

    real, trained = training.train, []

    def killed_at_the_second_trial(config, **kwargs):
        trained.append(os.path.relpath(config.output_dir, tmp_path))
        if len(trained) == 2:
            raise KeyboardInterrupt("killed")
        return real(config, **kwargs)

    monkeypatch.setattr(training, "train", killed_at_the_second_trial)
    base = base_config(tmp_path, epochs=1)
    with pytest.raises(KeyboardInterrupt):
        make_tuner(base, SPACE, max_trials=2, directory=str(tmp_path), project_name="p").search()
    assert trained == ["p/trial_0/execution0", "p/trial_1/execution0"]
    trained.clear()
    results = make_tuner(base, SPACE, max_trials=2, directory=str(tmp_path), project_name="p").search()
    assert trained == ["p/trial_1/execution0"]  # only the interrupted trial ran again
    assert [(r["trial_id"], r["status"]) for r in results["trials"]] == [("0", "COMPLETED"), ("1", "COMPLETED")]
    with pytest.raises(TuneError, match="different space"):  # resuming with another space is refused
        make_tuner(
            base, {"learning_rate": SPACE["learning_rate"]}, max_trials=3, directory=str(tmp_path), project_name="p"
        )


def test_collapsed_trial_is_failed_and_never_the_best(tmp_path):
    from tfner.training.config import TrainConfig
    from tfner.tune import make_tuner

    # learning rate 10: the model predicts one entity class everywhere within a few steps (seen at seeds 42, 1
    # and 2; at 100 it may instead go constant 'O', which the warm-up lets pass, and at 1000 the loss is nan)
    base = base_config(tmp_path, epochs=1, head_learning_rate=0.0, collapse_check_every_steps=4)
    space = {"learning_rate": {"type": "choice", "values": [10.0, 3e-3]}}
    results = make_tuner(base, space, tuner="grid", max_trials=2, directory=str(tmp_path), project_name="grid").search()
    collapsed, healthy = results["trials"]
    assert collapsed["hyperparameters"]["learning_rate"] == 10.0
    assert collapsed["status"] == "FAILED" and collapsed["score"] is None
    assert "LabelCollapseError" in collapsed["error"] and "100.0%" in collapsed["error"]
    assert healthy["status"] == "COMPLETED"
    assert results["best"]["trial_id"] == healthy["trial_id"]
    assert TrainConfig.from_json(results["best_config"]).learning_rate == 3e-3
    with open(os.path.join(results["project_dir"], "summary.txt")) as f:
        assert "FAILED" in f.read()


def test_invalid_combinations_fail_their_trials_and_consecutive_failures_stop_the_search(tmp_path, capsys):
    from tfner.tune import make_tuner

    # each value is a valid config on its own; together, LoRA on a frozen encoder is not
    space = {
        "finetune": {"type": "choice", "values": ["frozen"]},
        "lora": {"type": "choice", "values": [True]},
        "lora_r": {"type": "int", "min": 4, "max": 32},
    }
    results = make_tuner(
        base_config(tmp_path), space, max_trials=5, max_consecutive_failed_trials=2, directory=str(tmp_path)
    ).search()
    assert [r["status"] for r in results["trials"]] == ["FAILED", "FAILED"]
    assert "not a valid training config: lora trains adapters" in results["trials"][0]["error"]
    assert results["best"] is None and results["best_config"] is None
    assert not os.path.exists(os.path.join(results["project_dir"], "best_config.json"))
    assert "search stopped: Number of consecutive failures" in capsys.readouterr().err


@pytest.mark.slow  # keeps the default run short; make test-all runs it
def test_hyperband_continues_a_later_round_from_the_earlier_rounds_weights(tmp_path, monkeypatch):
    from tfner.training import train as training
    from tfner.tune import make_tuner

    real, calls = training.train, []

    def recorded(config, **kwargs):
        calls.append((config.epochs, kwargs))
        return real(config, **kwargs)

    monkeypatch.setattr(training, "train", recorded)
    space = {"learning_rate": {"type": "choice", "values": [3e-3, 1e-2]}}
    results = make_tuner(
        base_config(tmp_path),
        space,
        tuner="hyperband",
        max_epochs=2,
        factor=2,
        directory=str(tmp_path),
        project_name="hb",
    ).search()
    rows = results["trials"]
    later = [r for r in rows if r["hyperband"].get("initial_epoch")]
    assert later and all(r["status"] == "COMPLETED" for r in rows)
    row = later[0]
    assert row["hyperband"]["epochs"] == 2 and row["hyperband"]["initial_epoch"] == 1
    epochs, kwargs = calls[rows.index(row)]
    assert epochs == 2 and kwargs["initial_epoch"] == 1
    assert kwargs["initial_weights"] == os.path.join(
        results["project_dir"], f"trial_{row['hyperband']['trial_id']}", "execution0", "checkpoints", "best.h5"
    )
    with open(os.path.join(results["project_dir"], f"trial_{row['trial_id']}", "execution0", "history.json")) as f:
        assert len(json.load(f)["val_f1"]) == 2  # the second epoch only was trained (the first: NaN)


@pytest.mark.slow  # keeps the default run short; make test-all runs it
def test_chief_and_worker_finish_a_search_together(tmp_path):
    flags = [
        "--tuner",
        "random",
        "--max-trials",
        "2",
        "--space",
        json.dumps(SPACE),
        "--directory",
        str(tmp_path),
        "--project-name",
        "dist",
        # the tiny_config() and SEARCH_BASE settings, as flags
        "--no-pretrained",
        "--encoder-overrides",
        json.dumps(TINY),
        "--max-length",
        "32",
        "--stride",
        "8",
        "--batch-size",
        "8",
        "--epochs",
        "1",
        "--verbose",
        "0",
        "--no-eval-before",
        "--synthetic-train",
        "40",
        "--synthetic-test",
        "10",
        "--learning-rate",
        "3e-3",
        "--head-learning-rate",
        "3e-2",
        "--warmup-ratio",
        "0",
        "--collapse-warmup-epochs",
        "100",
    ]
    env = {
        **os.environ,
        "PYTHONPATH": ROOT,
        "KERASTUNER_ORACLE_IP": "127.0.0.1",
        "KERASTUNER_ORACLE_PORT": str(free_ports(1)[0]),
    }
    run = lambda tuner_id: subprocess.Popen(  # noqa: E731
        [sys.executable, "-m", "tfner.tune", *flags],
        env={**env, "KERASTUNER_TUNER_ID": tuner_id},
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    chief, worker = run("chief"), run("tuner0")
    try:
        worker_out, _ = worker.communicate(timeout=300)
        chief_out, _ = chief.communicate(timeout=120)
    finally:
        for process in (chief, worker):
            if process.poll() is None:
                process.kill()
    assert worker.returncode == 0, worker_out[-3000:]
    assert chief.returncode == 0, chief_out[-3000:]
    assert "worker finished" in worker_out and "Results summary" in chief_out
    project = tmp_path / "dist"
    with open(project / "trials.json") as f:
        trials = json.load(f)["trials"]
    assert [t["status"] for t in trials] == ["COMPLETED", "COMPLETED"]
    for name in ("summary.txt", "trials.csv", "best_config.json", "objective.png"):
        assert (project / name).exists(), name
    assert (project / "trial_0" / "execution0" / "weights.h5").exists()  # trained by the worker


# The space and the command line: errors before any training ---------------------------------------


@pytest.mark.parametrize(
    "spec, message",
    [
        (
            {"learning_rat": {"type": "float", "min": 1e-5, "max": 1e-3}},
            "'learning_rat' is not a TrainConfig field; valid fields: encoder, ",
        ),
        (
            {"lora_r": {"type": "float", "min": 4, "max": 8}},
            "'lora_r': type float needs a float field, but lora_r is int",
        ),
        ({"lora": {"type": "choice", "values": [1, 0]}}, "'lora': 1 is not a valid value (lora: expected bool"),
        ({"head": {"type": "choice", "values": []}}, "'head': \"values\" must be a non-empty list"),
        ({"head": {"type": "choice", "values": ["linear", "crf"]}}, "'head': \"crf\" is not a valid value"),
        ({"dropout": {"type": "float", "min": 0.0, "max": 1.5}}, "'dropout': 1.5 is not a valid value"),
        (
            {"warmup_ratio": {"type": "float", "min": 0.0, "max": 0.2, "sampling": "log"}},
            'log sampling needs "min" > 0',
        ),
        ({"learning_rate": {"type": "float", "min": 1e-3, "max": 1e-5}}, 'must be below "max"'),
        ({"batch_size": {"type": "int", "min": 8, "max": 32, "stepp": 8}}, "unknown key(s) stepp"),
        (
            {"lora_r": {"type": "int", "min": 4, "max": 8, "when": {"lora": True}}},
            "\"when\" refers to 'lora', which is not another entry",
        ),
        (
            {"lora": {"type": "boolean"}, "lora_r": {"type": "int", "min": 4, "max": 8, "when": {"lora": "yes"}}},
            '"when" values ["yes"] must be among \'lora\'',
        ),
        ({"output_dir": {"type": "choice", "values": ["a", "b"]}}, "'output_dir' cannot be tuned"),
        ({"head": "mlp"}, "'head': expected an object"),
        ([], "expected a non-empty JSON object"),
    ],
)
def test_space_errors_name_the_entry(spec, message):
    from tfner.tune import SpaceError, parse_space

    with pytest.raises(SpaceError) as caught:
        parse_space(spec)
    assert message in str(caught.value)


def test_default_space_is_valid_and_conditional():
    from tfner.tune import default_space, hyperparameters, parse_space

    space = parse_space(default_space())
    assert set(space) >= {
        "learning_rate",
        "batch_size",
        "head",
        "mlp_sizes",
        "lora",
        "lora_r",
        "lora_alpha",
        "dropout",
        "warmup_ratio",
        "epochs",
    }
    assert space["lora_r"]["when"] == {"lora": [True]} and space["mlp_sizes"]["when"] == {"head": ["mlp"]}
    assert "epochs" not in parse_space(default_space("hyperband"))
    hp = hyperparameters(space)
    hp.values.update({"head": "linear", "lora": False})
    assert not hp.is_active("mlp_sizes") and not hp.is_active("lora_r")


def test_trial_config_is_the_base_with_the_trial_values(tmp_path):
    from tfner.tune import config_for

    base = base_config(tmp_path)
    config = config_for(
        base,
        {
            "head": "mlp",
            "mlp_sizes": "[64, 32]",
            "learning_rate": 0.000123456789,
            "lora": True,
            "lora_r": 8,
            "tuner/epochs": 3,
            "tuner/initial_epoch": 1,
        },
        output_dir="elsewhere",
    )
    model = config.model
    assert (model.head, model.mlp_sizes, model.lora.enabled, model.lora.r) == ("mlp", [64, 32], True, 8)
    assert config.learning_rate == 0.000123457 and config.epochs == 3 and config.output_dir == "elsewhere"
    assert config.model.encoder_overrides == base.model.encoder_overrides and config.seed == base.seed
    assert config.collapse.warmup_epochs == 100.0  # nested settings of the base are kept too


def test_hyperband_refuses_epochs_in_the_space(tmp_path):
    from tfner.tune import SpaceError, make_tuner

    with pytest.raises(SpaceError, match="'epochs' cannot be tuned by Hyperband"):
        make_tuner(
            base_config(tmp_path),
            {"epochs": {"type": "int", "min": 1, "max": 3}},
            tuner="hyperband",
            directory=str(tmp_path),
        )


def test_cli_errors_exit_2_with_a_clear_message(tmp_path, capsys, monkeypatch):
    from tfner.tune import main

    common = ["--directory", str(tmp_path), "--no-pretrained"]
    bad = tmp_path / "space.json"
    bad.write_text('{"head": {"type": "choice", "values": ["linear",]}}')
    assert main(["--space", str(bad), *common]) == 2
    assert f"{bad}: not valid JSON" in capsys.readouterr().err
    assert main(["--space", '{"headd": {"type": "boolean"}}', *common]) == 2
    assert "'headd' is not a TrainConfig field" in capsys.readouterr().err
    assert main(["--space", str(tmp_path / "missing.json"), *common]) == 2
    assert "no such space file" in capsys.readouterr().err
    assert main(["--objective", "val_f2", *common]) == 2
    assert "--objective 'val_f2': expected one of val_f1" in capsys.readouterr().err
    assert main(["--train", str(tmp_path / "missing.txt"), "--max-trials", "1", *common]) == 2
    assert "missing.txt: no such file" in capsys.readouterr().err  # a data error stops the search at once
    monkeypatch.setenv("KERASTUNER_ORACLE_IP", "127.0.0.1")
    assert main(common) == 2
    assert "KERASTUNER_ORACLE_PORT and KERASTUNER_TUNER_ID are not" in capsys.readouterr().err
    with pytest.raises(SystemExit) as exit_:
        main(["--max-trials", "0"])
    assert exit_.value.code == 2


def test_cli_show_space_prints_json_that_parses_back(capsys):
    from tfner.tune import default_space, main, parse_space

    assert main(["--show-space"]) == 0
    assert json.loads(capsys.readouterr().out) == parse_space(default_space())


def test_cli_bad_tuner_or_space_exits_2_with_one_error_line(capsys):
    from tfner.tune.cli import main

    try:
        code = main(["--tuner", "nope"])
    except SystemExit as e:  # argparse's own usage error
        code = e.code
    assert code == 2
    assert "invalid choice: 'nope'" in capsys.readouterr().err
    assert main(["--space", '{"lora_r": {"type": "float", "min": 4, "max": 8}}', "--show-space"]) == 2
    captured = capsys.readouterr()
    lines = captured.err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: --space: 'lora_r': type float needs a float field")
    assert captured.out == ""


def test_resume_check_compares_the_flat_settings_of_nested_and_older_flat_search_json(tmp_path):
    from tfner.tune import TuneError
    from tfner.tune.tuner import check_same_search, comparable

    base = base_config(tmp_path)
    settings = {
        "tuner": "random",
        "objective": "val_f1:max",
        "executions_per_trial": 1,
        "space": SPACE,
        "base_config": comparable(base),
    }

    def saved(base_config):
        with open(tmp_path / "search.json", "w") as f:
            json.dump({**settings, "base_config": base_config}, f)

    saved(base.to_dict())  # as written now: nested
    check_same_search(str(tmp_path), settings)
    saved(base.replace(output_dir="elsewhere", verbose=2).flat())  # flat (older), output settings differ
    check_same_search(str(tmp_path), settings)
    saved(base.replace(learning_rate=1e-4, lora_r=4).to_dict())
    with pytest.raises(TuneError, match=r"different base config field\(s\) lora_r, learning_rate"):
        check_same_search(str(tmp_path), settings)
