"""The exit convention of every command (tfner.core.cli): 0 ok; 2 and one `error: ...` line for bad usage
or bad data (argparse's own errors exit 2 too); 1 for a run that failed."""

import pytest

from tfner.core.cli import UsageError, run_command


def error_lines(capsys):
    return [l for l in capsys.readouterr().err.splitlines() if "error:" in l]


def one_error_line(capsys):
    """stderr is exactly one line, `error: ...`; its message."""
    lines = capsys.readouterr().err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), lines
    return lines[0][len("error: ") :]


# run_command --------------------------------------------------------------------------------------


def test_run_command_maps_errors_to_exit_codes(capsys):
    class Bad(RuntimeError):
        pass

    class Failed(RuntimeError):
        pass

    def raising(error):
        def main(argv):
            raise error

        return main

    assert run_command(lambda argv: None) == 0
    assert run_command(lambda argv: 3) == 3
    for error in (
        UsageError("bad flag"),
        ValueError("bad value"),
        FileNotFoundError("x: no such file"),
        IsADirectoryError("x is a folder"),
        NotADirectoryError("x is a file"),
    ):
        assert run_command(raising(error)) == 2
        assert one_error_line(capsys) == str(error)
    assert run_command(raising(Bad("wrong input")), usage_errors=(Bad,)) == 2
    assert one_error_line(capsys) == "wrong input"
    assert run_command(raising(Failed("collapsed")), failures=(Failed,)) == 1
    assert one_error_line(capsys) == "collapsed"
    assert run_command(raising(KeyboardInterrupt())) == 1
    assert one_error_line(capsys) == "interrupted"
    with pytest.raises(Bad):  # anything else is a bug: its traceback shows
        run_command(raising(Bad("bug")))
    seen = []
    run_command(seen.append, ["--x"])
    assert seen == [["--x"]]


# Each command ----------------------------------------------------------------------------------------


def _main(command):
    if command == "train":
        from tfner.training.train import main
    elif command == "evaluate":
        from tfner.evaluation.evaluate import main
    elif command == "predict":
        from tfner.serving.predict import main
    else:
        from tfner.serving.export import main
    return main


@pytest.mark.parametrize(
    "command, argv",
    [
        ("train", ["--no-such-flag"]),
        ("evaluate", ["--model", "m", "--no-such-flag"]),
        ("evaluate", []),  # --model is required
        ("predict", ["--model", "m", "--no-such-flag", "text"]),
        ("export", ["m", "--name", "x", "--no-such-flag"]),
        ("export", ["m"]),  # --name is required
    ],
)
def test_bad_flags_exit_2_through_argparse_with_one_error_line(command, argv, capsys):
    with pytest.raises(SystemExit) as e:
        _main(command)(argv)
    assert e.value.code == 2
    lines = error_lines(capsys)
    assert len(lines) == 1 and lines[0].startswith(f"tfner {command}: error: ")


@pytest.mark.parametrize("command", ["evaluate", "predict", "export"])
def test_a_missing_model_dir_exits_2(command, tmp_path, capsys):
    missing = str(tmp_path / "no-model")
    argv = {
        "evaluate": ["--model", missing],
        "predict": ["--model", missing, "a text"],
        "export": [missing, "--name", "x", "--output-root", str(tmp_path / "sm")],
    }[command]
    assert _main(command)(argv) == 2
    assert one_error_line(capsys).startswith(f"{missing}: not a saved tfner model (missing config.json")


def test_a_missing_encoder_dir_exits_2(tmp_path, capsys):
    from tfner.training.train import main

    missing = str(tmp_path / "no-encoder")
    assert (
        main(
            [
                "--encoder",
                missing,
                "--synthetic-train",
                "4",
                "--synthetic-test",
                "2",
                "--output-dir",
                str(tmp_path / "out"),
            ]
        )
        == 2
    )
    assert "no such model directory" in one_error_line(capsys)


def test_missing_data_files_exit_2(trained_run, tmp_path, capsys):
    from tfner.evaluation.evaluate import main as evaluate
    from tfner.serving.export import main as export
    from tfner.serving.predict import main as predict
    from tfner.training.train import main as train

    model, missing = trained_run.output_dir, str(tmp_path / "missing.conll")
    assert train(["--train", missing, "--output-dir", str(tmp_path / "out")]) == 2
    assert one_error_line(capsys) == f"{missing}: no such file"
    assert train(["--config", str(tmp_path / "run.json")]) == 2
    assert one_error_line(capsys) == f"{tmp_path / 'run.json'}: no such config file"
    assert evaluate(["--model", model, "--data", missing, "--output-dir", str(tmp_path / "eval")]) == 2
    assert one_error_line(capsys) == f"{missing}: no such file"
    assert predict(["--model", model, "--file", missing]) == 2
    assert one_error_line(capsys).startswith(f"{missing}: cannot read it as UTF-8 text")
    assert predict(["--model", model]) == 2
    assert one_error_line(capsys) == "no texts: give TEXT arguments, --file or --jsonl"
    assert export([model, "--name", "x", "--check-data", missing, "--output-root", str(tmp_path / "sm")]) == 2
    assert one_error_line(capsys) == f"{missing}: no such file"


def test_a_failed_training_run_exits_1(monkeypatch, capsys):
    from tfner.evaluation.collapse import LabelCollapseError
    from tfner.training import train as train_module

    for error in (
        LabelCollapseError("label collapse: the model predicts 'O' for 100.0%"),
        train_module.TrainingError("training stopped: loss nan at batch 3"),
    ):

        def failing(config, error=error):
            raise error

        monkeypatch.setattr(train_module, "train", failing)
        assert train_module.main(["--epochs", "1"]) == 1
        assert one_error_line(capsys) == str(error)
