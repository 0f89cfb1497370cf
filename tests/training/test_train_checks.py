"""`tfner train` checks its numbers, paths and config file before any data or model loads (issue 18):
one `error: ...` line and exit 2, and no output folder left behind."""

import json
import os

import pytest
from helpers import tiny_config


def one_error_line(capsys):
    lines = capsys.readouterr().err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), lines
    return lines[0][len("error: ") :]


@pytest.fixture
def nothing_loads(monkeypatch):
    """Fail the test if the run gets as far as reading data or building a model."""
    from tfner.training import train as train_module

    def refuse(*args, **kwargs):
        raise AssertionError("got past the checks")

    monkeypatch.setattr(train_module, "load_corpora", refuse)
    monkeypatch.setattr(train_module.Tagger, "build", refuse)


@pytest.mark.parametrize(
    "argv, message",
    [
        (["--learning-rate", "nan"], "learning_rate: expected a finite number, got nan"),
        (["--head-learning-rate", "inf"], "head_learning_rate: expected a finite number, got inf"),
        (["--clip-norm=-inf"], "clip_norm: expected a finite number, got -inf"),
        (["--lora", "--lora-alpha", "inf"], "lora_alpha: expected a finite number, got inf"),
        (["--dropout", "nan"], "dropout: expected a finite number, got nan"),
        (["--collapse-warmup-epochs", "nan"], "collapse_warmup_epochs: expected a finite number, got nan"),
        (["--cluster-timeout", "0"], "cluster_timeout must be positive (seconds), got 0.0"),
        (["--seed", "-1"], "seed must be in [0, 2**32), got -1"),
        (["--validation-fraction", "1"], "validation_fraction must be in (0, 1), got 1.0"),
        (["--epochs", "0"], "epochs must be positive, got 0"),
    ],
)
def test_numbers_are_range_and_finiteness_checked(argv, message, tmp_path, capsys, nothing_loads):
    from tfner.training.train import main

    assert main(argv + ["--output-dir", str(tmp_path / "out")]) == 2
    assert one_error_line(capsys) == message
    assert not (tmp_path / "out").exists()


def _output_dir_cases(tmp_path):
    (tmp_path / "a-file").write_text("x")
    (tmp_path / "notes").mkdir()
    (tmp_path / "notes" / "draft.txt").write_text("mine")
    return {
        "a file": (tmp_path / "a-file", "the output dir is a file, not a folder"),
        "inside a file": (
            tmp_path / "a-file" / "run",
            f"the output dir cannot be created: {tmp_path / 'a-file'} is a file, not a folder",
        ),
        "someone's folder": (
            tmp_path / "notes",
            "the output dir holds files that are not from an earlier run (draft.txt); pick a new or an empty folder",
        ),
    }


@pytest.mark.parametrize("case", ["a file", "inside a file", "someone's folder"])
def test_output_dirs_of_the_wrong_kind_are_refused_before_work(case, tmp_path, capsys, nothing_loads):
    from tfner.training.train import main

    path, message = _output_dir_cases(tmp_path)[case]
    assert main(["--output-dir", str(path)]) == 2
    assert one_error_line(capsys) == f"{path}: {message}"
    assert (tmp_path / "notes" / "draft.txt").read_text() == "mine"


def test_an_output_dir_that_is_not_writable_is_refused(tmp_path, capsys, monkeypatch, nothing_loads):
    from tfner.training.train import main

    access = os.access
    monkeypatch.setattr(os, "access", lambda p, mode: False if str(p) == str(tmp_path) else access(p, mode))
    assert main(["--output-dir", str(tmp_path / "run")]) == 2  # run as root here: chmod would not stop us
    assert one_error_line(capsys) == f"{tmp_path / 'run'}: the output dir is not writable ({tmp_path} is not)"


def test_an_earlier_run_or_an_empty_folder_is_accepted(tmp_path, capsys):
    from tfner.training.train import main

    (tmp_path / "earlier").mkdir()
    (tmp_path / "earlier" / "history.json").write_text("{}")
    (tmp_path / "empty").mkdir()
    missing = str(tmp_path / "missing.txt")
    for out in ("earlier", "empty"):
        assert main(["--train", missing, "--output-dir", str(tmp_path / out)]) == 2
        assert one_error_line(capsys) == f"{missing}: no such file"  # past the output-dir check
    assert os.listdir(tmp_path / "empty") == []


def _saved_run(tmp_path, backup=False):
    run = tmp_path / "saved"
    run.mkdir()
    tiny_config(tmp_path).replace(output_dir=str(run), train=str(tmp_path / "missing.txt")).to_json(
        str(run / "config.json")
    )
    if backup:
        (run / "backup" / "chief").mkdir(parents=True)
        (run / "backup" / "chief" / "checkpoint").write_text("")
    return run


def test_config_of_a_saved_run_does_not_overwrite_it_silently(tmp_path, capsys, nothing_loads):
    from tfner.training.train import main

    run = _saved_run(tmp_path)
    assert main(["--config", str(run / "config.json")]) == 2
    assert one_error_line(capsys) == (
        f"--config {run / 'config.json'}: its output_dir {run} holds a trained model, which this run would "
        "overwrite; pass --output-dir NEW_DIR (or --force to overwrite it)"
    )


@pytest.mark.parametrize("extra", [["--output-dir", "new"], ["--force"], "interrupted run"])
def test_config_of_a_saved_run_with_a_new_output_dir_force_or_a_backup_goes_on(extra, tmp_path, capsys):
    from tfner.training.train import main

    run = _saved_run(tmp_path, backup=extra == "interrupted run")
    argv = ["--config", str(run / "config.json")] + (extra if isinstance(extra, list) else [])
    if "new" in argv:
        argv[argv.index("new")] = str(tmp_path / "new")
    assert main(argv) == 2
    assert one_error_line(capsys) == f"{tmp_path / 'missing.txt'}: no such file"  # got past the refusal


def test_a_missing_config_file_is_one_line(tmp_path, capsys):
    from tfner.training.train import main

    assert main(["--config", str(tmp_path / "nope.json")]) == 2
    assert one_error_line(capsys) == f"{tmp_path / 'nope.json'}: no such config file"


def test_tpu_strategy_without_a_tpu_is_one_line(tmp_path, capsys, monkeypatch):
    from tfner.training.train import main

    monkeypatch.delenv("TPU_NAME", raising=False)
    argv = ["--strategy", "tpu", "--synthetic-train", "4", "--synthetic-test", "2", "--output-dir", str(tmp_path / "o")]
    assert main(argv) == 2
    message = one_error_line(capsys)
    assert message.startswith("--strategy tpu: no TPU found through TPUClusterResolver(tpu='')")
    assert message.endswith("Pass --tpu NAME (or grpc://ADDRESS), or run on a TPU VM.") and ".." not in message
    assert not (tmp_path / "o").exists()


def test_a_lone_document_taken_by_the_validation_hold_out_says_why_and_what_to_do(tmp_path, capsys):
    from tfner.training.train import main

    (tmp_path / "one.txt").write_text("John B-PER\nruns O\n")
    assert main(["--train", str(tmp_path / "one.txt"), "--output-dir", str(tmp_path / "out")]) == 2
    assert one_error_line(capsys) == (
        f"{tmp_path / 'one.txt'}: no training documents left: its only document went to the validation hold-out "
        "(--validation-fraction 0.1, at least one document). Give validation data with --validation FILE, or "
        "more training documents."
    )
    assert not (tmp_path / "out").exists()


def test_a_folder_the_run_made_is_removed_when_it_fails_before_writing_a_file(tmp_path):
    from tfner.training.distribute import OutputDir

    for name, write in (("empty", False), ("written", True)):
        with pytest.raises(RuntimeError):
            with OutputDir(str(tmp_path / name)) as out:
                os.makedirs(os.path.join(out.path, "checkpoints"))
                if write:
                    open(os.path.join(out.path, "history.json"), "w").close()
                raise RuntimeError("failed")
    assert not (tmp_path / "empty").exists()  # nothing in it: gone
    assert (tmp_path / "written" / "history.json").exists()  # a failed run's files stay for a look
    (tmp_path / "mine").mkdir()
    with pytest.raises(RuntimeError):
        with OutputDir(str(tmp_path / "mine")):
            raise RuntimeError("failed")
    assert (tmp_path / "mine").is_dir()  # a folder that was there before is left alone


def test_config_json_round_trip_keeps_the_cluster_timeout(tmp_path):
    config = tiny_config(tmp_path, cluster_timeout=45)
    config.to_json(str(tmp_path / "c.json"))
    assert json.loads((tmp_path / "c.json").read_text())["cluster_timeout"] == 45
