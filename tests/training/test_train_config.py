"""tfner.training.config: TrainConfig validation, JSON round trip and the generated command line.
(The nesting machinery itself, flat <-> nested, is tested in tests/core/test_config.py.)"""

import argparse
import dataclasses
import json
import re

import pytest

from tfner.core.config import flat_fields
from tfner.training.config import TrainConfig, add_config_arguments, config_from_args


def make(**flat):
    return TrainConfig.from_dict(flat)


def parse(argv):
    parser = argparse.ArgumentParser(prog="tfner-train")
    add_config_arguments(parser)
    return config_from_args(parser.parse_args(argv))


# --------------------------------------------------------------------------
# Validation


def test_defaults():
    c = TrainConfig()
    m = c.model
    assert (m.encoder, m.pretrained, m.head, m.mlp_sizes, m.finetune) == ("minilm", True, "linear", [20, 8], "full")
    assert (m.max_length, m.stride, c.batch_size, c.epochs) == (128, 32, 32, 3)
    assert m.encoder_overrides == {} and c.seqeval_mode == "default" and c.misaligned_spans == "error"


def test_mutable_defaults_are_not_shared():
    a, b = TrainConfig(), TrainConfig()
    a.model.mlp_sizes.append(4)
    a.model.encoder_overrides["num_hidden_layers"] = 1
    a.model.lora.targets.append("dense")
    a.devices.append("/gpu:0")
    assert b.model.mlp_sizes == [20, 8] and b.model.encoder_overrides == {} and "dense" not in b.model.lora.targets
    assert TrainConfig().model.mlp_sizes == [20, 8] and TrainConfig().devices == []


@pytest.mark.parametrize(
    "field, value, pattern",
    [
        ("head", "cnn", r"head='cnn': expected one of linear, mlp, replace-last"),
        ("finetune", "lora", r"finetune='lora'"),
        ("seqeval_mode", "lenient", r"seqeval_mode='lenient'"),
        ("misaligned_spans", "shift", r"misaligned_spans='shift'"),
        ("batch_size", 0, r"batch_size must be positive, got 0"),
        ("batch_size", -4, r"batch_size must be positive, got -4"),
        ("epochs", 0, r"epochs must be positive"),
        ("max_length", 0, r"max_length must be above 2"),
        ("synthetic_train", 0, r"synthetic_train must be positive"),
        ("mlp_sizes", [], r"mlp_sizes must be positive integers"),
        ("mlp_sizes", [0], r"mlp_sizes must be positive integers"),
        ("mlp_sizes", [16, -1], r"mlp_sizes must be positive integers"),
        ("stride", -1, r"stride must be in \[0, max_length - 2\), got stride=-1"),
        ("validation_fraction", 0.0, r"validation_fraction must be in \(0, 1\)"),
        ("validation_fraction", 1.0, r"validation_fraction"),
        ("learning_rate", 0.0, r"learning rates must be positive"),
        ("dropout", 1.0, r"dropout must be in \[0, 1\)"),
        ("warmup_ratio", -0.1, r"warmup_ratio"),
        ("strategy", "horovod", r"strategy='horovod': expected one of auto, default"),
        ("padding", "none", r"padding='none'"),
        ("max_tokens", -1, r"max_tokens must be >= 0, got -1"),
        ("max_tokens", 4096, r"max_tokens=4096 applies to --padding tokens only, not 'buckets'"),
        ("precision", "float16", r"precision='float16'"),
        ("steps_per_execution", 0, r"steps_per_execution must be positive"),
        ("bucket_bounds", [], r"bucket_bounds must be positive integers"),
        ("bucket_bounds", [16, 0], r"bucket_bounds must be positive integers"),
        ("devices", ["/gpu:0", 1], r"devices must be device names"),
    ],
)
def test_invalid_values_raise_naming_the_field(field, value, pattern):
    with pytest.raises(ValueError, match=pattern):
        make(**{field: value})


def test_token_budget_must_hold_a_window_of_max_length():
    with pytest.raises(ValueError, match=r"--padding tokens needs max_tokens >= max_length \(128\), got 127"):
        make(padding="tokens", max_tokens=127)
    with pytest.raises(ValueError, match=r"max_length \(64\), got 63"):
        make(padding="tokens", max_tokens=63, max_length=64)
    assert make(padding="tokens", max_tokens=128).max_tokens == 128
    assert make(padding="tokens").max_tokens == 0  # the default budget, decided from the data


@pytest.mark.parametrize("stride, max_length", [(126, 128), (127, 128), (200, 128), (8, 10)])
def test_stride_must_leave_room_in_the_window(stride, max_length):
    with pytest.raises(ValueError, match=f"stride=.*{stride}.*max_length={max_length}"):
        make(stride=stride, max_length=max_length)


def test_largest_valid_stride_and_mlp_sizes_normalised():
    assert make(stride=125, max_length=128).model.stride == 125
    assert make(stride=0).model.stride == 0
    c = make(mlp_sizes=(32, 16))
    assert c.model.mlp_sizes == [32, 16] and isinstance(c.model.mlp_sizes, list)


@pytest.mark.parametrize("value", ["32", [2.5], ["x"]])
def test_mlp_sizes_of_wrong_type_raise_naming_the_field(value):
    with pytest.raises(ValueError, match="mlp_sizes"):
        make(mlp_sizes=value)


def test_wrong_type_from_json_raises_value_error_naming_the_field():
    with pytest.raises(ValueError, match="batch_size"):
        TrainConfig.from_dict({"batch_size": "8"})


# --------------------------------------------------------------------------
# JSON


def test_json_round_trip(tmp_path):
    c = make(
        head="mlp",
        mlp_sizes=[32, 16],
        pretrained=False,
        encoder_overrides={"num_hidden_layers": 2},
        max_length=64,
        stride=16,
        learning_rate=3e-5,
        label_all_tokens=True,
        seqeval_mode="strict",
        output_dir=str(tmp_path / "run"),
        lora=True,
        lora_targets=["query"],
        collapse_action="warn",
    )
    path = tmp_path / "run.json"
    text = c.to_json(path)
    assert json.loads(text) == dataclasses.asdict(c)
    assert json.loads(path.read_text()) == dataclasses.asdict(c)
    back = TrainConfig.from_json(path)
    assert back == c
    assert back.model.encoder_overrides == {"num_hidden_layers": 2} and back.model.mlp_sizes == [32, 16]
    assert back.model.lora.targets == ["query"] and back.collapse.action == "warn"
    assert back != TrainConfig()


def test_to_json_without_path_writes_nothing(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    text = TrainConfig().to_json()
    assert json.loads(text)["model"]["head"] == "linear"
    assert list(tmp_path.iterdir()) == []


def test_unknown_field_in_json_raises_naming_it(tmp_path):
    path = tmp_path / "bad.json"
    path.write_text(json.dumps({"head": "mlp", "hidden_sizes": [3], "lr": 0.1}))
    with pytest.raises(ValueError) as e:
        TrainConfig.from_json(path)
    message = str(e.value)
    assert str(path) in message
    assert "unknown config field(s) hidden_sizes, lr" in message


def test_invalid_json_raises_value_error(tmp_path):
    path = tmp_path / "bad.json"
    path.write_text('{"head": "mlp",')
    with pytest.raises(ValueError, match=re.escape(str(path)) + ": not valid JSON"):
        TrainConfig.from_json(path)


def test_invalid_value_in_json_is_validated(tmp_path):
    path = tmp_path / "bad.json"
    path.write_text(json.dumps({"head": "transformer"}))
    with pytest.raises(ValueError, match="head='transformer'"):
        TrainConfig.from_json(path)


# --------------------------------------------------------------------------
# Command line


def test_cli_defaults():
    assert parse([]) == TrainConfig()


def test_cli_flags():
    c = parse(
        [
            "--head",
            "mlp",
            "--mlp-sizes",
            "32",
            "16",
            "--no-pretrained",
            "--encoder-overrides",
            '{"num_hidden_layers": 2}',
            "--max-length",
            "64",
            "--stride",
            "8",
            "--learning-rate",
            "1e-4",
            "--label-all-tokens",
            "--misaligned-spans",
            "skip",
        ]
    )
    m = c.model
    assert m.head == "mlp" and m.mlp_sizes == [32, 16] and m.pretrained is False
    assert m.encoder_overrides == {"num_hidden_layers": 2}
    assert m.max_length == 64 and m.stride == 8 and c.learning_rate == 1e-4
    assert m.label_all_tokens is True and c.misaligned_spans == "skip"
    assert c.batch_size == 32 and c.epochs == 3  # untouched defaults
    assert parse(["--pretrained"]).model.pretrained is True


def test_cli_speed_and_distribution_flags():
    c = parse(
        [
            "--strategy",
            "mirrored",
            "--devices",
            "/gpu:0",
            "/gpu:1",
            "--padding",
            "batch",
            "--bucket-bounds",
            "64",
            "16",
            "32",
            "--jit-compile",
            "--precision",
            "mixed_bfloat16",
            "--steps-per-execution",
            "4",
        ]
    )
    assert c.strategy == "mirrored" and c.devices == ["/gpu:0", "/gpu:1"] and c.padding == "batch"
    assert c.bucket_bounds == [16, 32, 64]  # sorted
    assert c.jit_compile is True and c.precision == "mixed_bfloat16" and c.steps_per_execution == 4


def test_cli_token_budget_flags():
    c = parse(["--padding", "tokens", "--max-tokens", "4096"])
    assert c.padding == "tokens" and c.max_tokens == 4096
    with pytest.raises(ValueError, match="max_tokens=4096 applies to --padding tokens only"):
        parse(["--max-tokens", "4096"])


def test_cli_config_file_then_flags_override(tmp_path):
    path = tmp_path / "run.json"
    make(head="mlp", batch_size=4, mlp_sizes=[7], pretrained=False, epochs=9).to_json(path)
    c = parse(["--config", str(path), "--batch-size", "16", "--pretrained"])
    assert c.model.head == "mlp" and c.model.mlp_sizes == [7] and c.epochs == 9  # from the file
    assert c.batch_size == 16 and c.model.pretrained is True  # flags win
    assert parse(["--batch-size", "16", "--config", str(path)]).batch_size == 16  # order does not matter
    assert parse(["--config", str(path)]) == TrainConfig.from_json(path)


def test_cli_invalid_choice_is_rejected_by_argparse(capsys):
    with pytest.raises(SystemExit) as e:
        parse(["--head", "cnn"])
    assert e.value.code == 2
    assert "invalid choice: 'cnn'" in capsys.readouterr().err


def test_cli_values_are_validated():
    with pytest.raises(ValueError, match="stride=126"):
        parse(["--stride", "126"])
    with pytest.raises(ValueError, match="batch_size must be positive"):
        parse(["--batch-size", "0"])


def test_cli_help_has_each_field_help_and_default(capsys):
    parser = argparse.ArgumentParser(prog="tfner-train")
    add_config_arguments(parser)
    with pytest.raises(SystemExit) as e:
        parser.parse_args(["--help"])
    assert e.value.code == 0
    out = capsys.readouterr().out
    text = " ".join(out.split())  # argparse wraps lines: collapse whitespace
    bare = "".join(out.split())  # it also breaks after hyphens ("gt-\n all-minilm"): compare without any
    assert (
        "--mlp-sizes N [N ...] Hidden layer sizes of the mlp head (relu), before the output layer. "
        "(default: [20, 8])" in text
    )
    assert "--batch-size BATCH_SIZE Sentences (windows) per batch. (default: 32)" in text
    assert '--head {linear,mlp,replace-last} Token-classification head. (default: "linear")' in text
    assert "--pretrained, --no-pretrained Load the encoder's pretrained weights" in text
    assert "--config RUN.JSON Start from this saved config" in text
    for name, (_, f, _) in flat_fields(TrainConfig).items():  # nested settings included (--lora-r, ...)
        assert "".join(f.metadata["help"].split()) in bare, name
        assert "--" + name.replace("_", "-") in text


def test_flags_named_in_help_texts_exist():
    parser = argparse.ArgumentParser(prog="tfner-train")
    add_config_arguments(parser)
    flags = {s for a in parser._actions for s in a.option_strings}
    mentioned = set()
    for _, f, _ in flat_fields(TrainConfig).values():
        mentioned.update(re.findall(r"--[a-z][a-z-]*[a-z]", f.metadata["help"]))
    assert mentioned >= {"--no-pretrained", "--learning-rate", "--validation-fraction"}
    assert sorted(mentioned - flags) == []
