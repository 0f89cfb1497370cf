"""tfner.core.config: nested config dataclasses read and written flat or nested, `replace`, the errors,
and the command line generated from them (on the real configs: TrainConfig, ModelConfig, LoraConfig,
CollapseConfig)."""

import argparse
import json

import pytest

from tfner.core.config import add_config_arguments, check_type, config_from_args, flat_fields
from tfner.evaluation.collapse import CollapseConfig
from tfner.model.config import ModelConfig
from tfner.model.lora import LoraConfig
from tfner.training.config import TrainConfig

# A run far from the defaults in every part, in the flat names of the command line and old config.json.
FLAT = {
    "encoder": "bert-base-cased",
    "pretrained": False,
    "head": "mlp",
    "mlp_sizes": [32, 16],
    "encoder_overrides": {"num_hidden_layers": 2},
    "max_length": 64,
    "stride": 16,
    "lora": True,
    "lora_r": 4,
    "lora_alpha": 8.0,
    "lora_dropout": 0.1,
    "lora_bias": "all",
    "lora_targets": ["query", "value"],
    "lora_use_rslora": True,
    "collapse_action": "warn",
    "collapse_check_every_steps": 10,
    "collapse_sample": 64,
    "batch_size": 4,
    "learning_rate": 1e-4,
    "seqeval_mode": "strict",
    "devices": ["/gpu:0"],
}
NESTED = {
    "model": {
        "encoder": "bert-base-cased",
        "pretrained": False,
        "head": "mlp",
        "mlp_sizes": [32, 16],
        "encoder_overrides": {"num_hidden_layers": 2},
        "max_length": 64,
        "stride": 16,
        "lora": {
            "enabled": True,
            "r": 4,
            "alpha": 8.0,
            "dropout": 0.1,
            "bias": "all",
            "targets": ["query", "value"],
            "use_rslora": True,
        },
    },
    "collapse": {"action": "warn", "check_every_steps": 10, "sample": 64},
    "batch_size": 4,
    "learning_rate": 1e-4,
    "seqeval_mode": "strict",
    "devices": ["/gpu:0"],
}


def parse(argv, cls=TrainConfig):
    parser = argparse.ArgumentParser(prog="test")
    add_config_arguments(parser, cls)
    return config_from_args(parser.parse_args(argv), cls)


# Flat names ---------------------------------------------------------------------------------------


def test_flat_names_of_nested_fields():
    fields = flat_fields(TrainConfig)
    assert fields["encoder"][0] == ("model", "encoder")  # an empty prefix lifts the model's fields
    assert fields["lora"][0] == ("model", "lora", "enabled")  # `enabled` takes the prefix alone
    assert fields["lora_r"][0] == ("model", "lora", "r")
    assert fields["lora_target_regex"][0] == ("model", "lora", "target_regex")
    assert fields["collapse_action"][0] == ("collapse", "action")
    assert fields["batch_size"][0] == ("batch_size",)
    assert fields["lora_r"][2] is int and fields["lora_targets"][2] is list and fields["lora"][2] is bool
    assert fields["lora_r"][1].name == "r" and "LoRA rank" in fields["lora_r"][1].metadata["help"]
    assert not {"model", "collapse", "lora_enabled", "enabled", "r"} & set(fields)
    assert set(flat_fields(LoraConfig)) == {
        "enabled",
        "r",
        "alpha",
        "dropout",
        "bias",
        "targets",
        "target_regex",
        "use_rslora",
    }
    assert set(flat_fields(ModelConfig)) >= {"encoder", "head", "lora", "lora_r"}


def test_flat_and_nested_views_of_one_config():
    c = TrainConfig.from_dict(FLAT)
    assert c.model.lora == LoraConfig(
        enabled=True, r=4, alpha=8.0, dropout=0.1, bias="all", targets=["query", "value"], use_rslora=True
    )
    assert c.collapse == CollapseConfig(action="warn", check_every_steps=10, sample=64)
    assert (c.model.encoder, c.model.head, c.batch_size) == ("bert-base-cased", "mlp", 4)
    flat = c.flat()
    assert set(flat) == set(flat_fields(TrainConfig))
    assert {k: flat[k] for k in FLAT} == FLAT
    nested = c.to_dict()
    assert nested["model"]["lora"]["r"] == 4 and nested["collapse"]["action"] == "warn"
    assert "lora_r" not in nested and "lora_r" not in nested["model"]


@pytest.mark.parametrize("cls", [TrainConfig, ModelConfig, LoraConfig, CollapseConfig])
def test_round_trips_flat_and_nested(cls):
    defaults = cls()
    assert cls.from_dict(defaults.flat()) == defaults
    assert cls.from_dict(defaults.to_dict()) == defaults
    assert cls.from_dict({}) == defaults
    assert cls.from_dict(json.loads(defaults.to_json())) == defaults


def test_round_trips_of_a_non_default_run(tmp_path):
    c = TrainConfig.from_dict(FLAT)
    assert c != TrainConfig()
    assert TrainConfig.from_dict(c.flat()) == c
    assert TrainConfig.from_dict(c.to_dict()) == c
    c.to_json(tmp_path / "run.json")
    assert TrainConfig.from_json(tmp_path / "run.json") == c
    assert ModelConfig.from_dict(c.model.flat()) == c.model


def test_old_flat_and_new_nested_files_give_the_same_config(tmp_path):
    (tmp_path / "flat.json").write_text(json.dumps(FLAT))
    (tmp_path / "nested.json").write_text(json.dumps(NESTED))
    flat, nested = TrainConfig.from_json(tmp_path / "flat.json"), TrainConfig.from_json(tmp_path / "nested.json")
    assert flat == nested == TrainConfig.from_dict(FLAT) == TrainConfig.from_dict(NESTED)
    # a whole tfner 0.1 config.json was flat: every setting by its flat name
    old = TrainConfig.from_dict(FLAT).flat()
    assert TrainConfig.from_dict(old) == flat
    # mixed: a nested part and flat names side by side
    assert TrainConfig.from_dict({"model": {"head": "mlp"}, "lora_r": 4, "collapse": {"sample": 3}}) == (
        TrainConfig.from_dict({"head": "mlp", "lora_r": 4, "collapse_sample": 3})
    )
    # the model part of a saved run, nested or flat; one saved before `line_starts` and `table_view` existed
    # lacks them and was trained without them
    assert (
        ModelConfig.from_saved(NESTED)
        == ModelConfig.from_saved(FLAT)
        == flat.model.replace(line_starts=False, table_view=False)
    )
    saved = {**NESTED, "model": {**NESTED["model"], "line_starts": True, "table_view": True}}
    assert ModelConfig.from_saved(saved) == flat.model


# replace ------------------------------------------------------------------------------------------


def test_replace_takes_flat_names_and_returns_a_new_validated_config():
    c = TrainConfig.from_dict(FLAT)
    d = c.replace(lora_r=8, learning_rate=1e-3, head="linear", collapse_action="raise")
    assert (d.model.lora.r, d.learning_rate, d.model.head, d.collapse.action) == (8, 1e-3, "linear", "raise")
    assert (c.model.lora.r, c.learning_rate, c.model.head, c.collapse.action) == (4, 1e-4, "mlp", "warn")
    assert d.replace(lora_r=4, learning_rate=1e-4, head="mlp", collapse_action="warn") == c
    assert {k: v for k, v in d.flat().items() if k not in ("lora_r", "learning_rate", "head", "collapse_action")} == (
        {k: v for k, v in c.flat().items() if k not in ("lora_r", "learning_rate", "head", "collapse_action")}
    )
    assert c.replace() == c and c.replace() is not c
    assert c.model.lora.replace(r=2).r == 2  # every config class has it
    with pytest.raises(ValueError, match="r must be a positive integer"):
        c.replace(lora_r=0)
    with pytest.raises(ValueError, match="unknown config field"):
        c.replace(rank=2)


# Errors -------------------------------------------------------------------------------------------


def test_unknown_names_are_listed_with_the_known_ones(tmp_path):
    with pytest.raises(ValueError) as e:
        TrainConfig.from_dict({"head": "mlp", "hidden_sizes": [3], "lr": 0.1, "lora_rank": 4})
    message = str(e.value)
    assert message.startswith("config: unknown config field(s) hidden_sizes, lora_rank, lr; known: ")
    known = message.split("known: ")[1].split(", ")
    assert known == sorted(flat_fields(TrainConfig)) and "lora_r" in known and "collapse_action" in known
    with pytest.raises(ValueError, match=r"unknown config field\(s\) rank; known: .*alpha"):
        TrainConfig.from_dict({"model": {"lora": {"rank": 4}}})  # inside a nested part: its own names
    (tmp_path / "bad.json").write_text(json.dumps({"colapse_action": "warn"}))
    with pytest.raises(ValueError, match=f"^{tmp_path / 'bad.json'}: unknown config field\\(s\\) colapse_action"):
        TrainConfig.from_json(tmp_path / "bad.json")
    with pytest.raises(ValueError, match="expected a JSON object, got list"):
        TrainConfig.from_dict([1, 2])
    with pytest.raises(ValueError, match="no such config file"):
        TrainConfig.from_json(tmp_path / "missing.json")


@pytest.mark.parametrize(
    "values, message",
    [
        ({"batch_size": "8"}, "batch_size: expected int, got str '8'"),
        ({"batch_size": True}, "batch_size: expected int, got bool True"),
        ({"learning_rate": "fast"}, "learning_rate: expected float, got str 'fast'"),
        ({"eval_before": 1}, "eval_before: expected bool, got int 1"),
        ({"devices": "/gpu:0"}, "devices: expected list, got str"),
        ({"head": 3}, "head: expected str, got int 3"),
        ({"encoder_overrides": []}, "encoder_overrides: expected dict, got list"),
        ({"head": "cnn"}, "head='cnn': expected one of linear, mlp, replace-last"),
        ({"padding": "none"}, "padding='none': expected one of buckets, tokens, batch, max-length"),
        ({"verbose": 3}, "verbose=3: expected one of 0, 1, 2"),
    ],
)
def test_type_and_choice_errors_name_the_field(values, message):
    with pytest.raises(ValueError) as e:
        TrainConfig.from_dict(values)
    assert message in str(e.value)


def test_an_int_is_accepted_for_a_float_and_a_tuple_becomes_a_list():
    c = TrainConfig.from_dict({"learning_rate": 1, "lora_alpha": 16, "mlp_sizes": (8, 4)})
    assert c.learning_rate == 1 and c.model.lora.alpha == 16 and c.model.mlp_sizes == [8, 4]
    check_type("x", 1, float)
    with pytest.raises(ValueError, match="x: expected int, got float 1.5"):
        check_type("x", 1.5, int)


@pytest.mark.parametrize(
    "values, flat_name, message",
    [
        ({"lora_r": 2.5}, "lora_r", "expected int, got float 2.5"),
        ({"lora_bias": "some"}, "lora_bias", "expected one of none, all, lora_only"),
        ({"lora_targets": "query"}, "lora_targets", "expected list, got str"),
        ({"collapse_action": "ignore"}, "collapse_action", "expected one of warn, stop, restore, raise"),
        ({"collapse_sample": "all"}, "collapse_sample", "expected int, got str"),
    ],
)
def test_type_and_choice_errors_of_nested_fields_name_the_flat_field(values, flat_name, message):
    """The name the user wrote (`lora_r` in config.json, `--lora-r`), not the attribute inside its part."""
    with pytest.raises(ValueError, match=message) as e:
        TrainConfig.from_dict(values)
    assert flat_name in str(e.value)


def test_nested_parts_must_be_their_config_class():
    with pytest.raises(ValueError, match="lora: expected LoraConfig, got dict"):
        ModelConfig(lora={"r": 4})
    with pytest.raises(ValueError, match="collapse: expected CollapseConfig"):
        TrainConfig(collapse="warn")


# The command line ---------------------------------------------------------------------------------


def test_flags_parse_into_the_nested_fields():
    c = parse(
        [
            "--lora",
            "--lora-r",
            "4",
            "--collapse-action",
            "raise",
            "--encoder",
            "./my-encoder",
            "--lora-targets",
            "query",
            "key",
            "--collapse-max-top-share",
            "0.9",
        ]
    )
    assert c.model.lora.enabled is True and c.model.lora.r == 4 and c.model.lora.targets == ["query", "key"]
    assert c.collapse.action == "raise" and c.collapse.max_top_share == 0.9
    assert c.model.encoder == "./my-encoder"
    assert c == TrainConfig.from_dict(
        {
            "lora": True,
            "lora_r": 4,
            "collapse_action": "raise",
            "encoder": "./my-encoder",
            "lora_targets": ["query", "key"],
            "collapse_max_top_share": 0.9,
        }
    )
    assert parse(["--no-lora"]).model.lora.enabled is False
    assert parse([]) == TrainConfig()
    assert parse(["--lora", "--lora-r", "8"], ModelConfig) == ModelConfig.from_dict({"lora": True, "lora_r": 8})


def test_config_file_then_flags(tmp_path):
    (tmp_path / "old.json").write_text(json.dumps(FLAT))  # a flat file from tfner 0.1
    c = parse(["--config", str(tmp_path / "old.json"), "--lora-r", "2", "--no-lora-use-rslora"])
    assert c == TrainConfig.from_dict({**FLAT, "lora_r": 2, "lora_use_rslora": False})


@pytest.mark.parametrize(
    "argv, message",
    [
        (["--lora-r", "four"], "argument --lora-r: invalid int value: 'four'"),
        (["--collapse-action", "ignore"], "argument --collapse-action: invalid choice: 'ignore'"),
        (["--lora-bias", "some"], "argument --lora-bias: invalid choice: 'some'"),
        (["--encoder-overrides", "{not json"], "argument --encoder-overrides: invalid loads value"),
    ],
)
def test_bad_flags_are_argparse_errors_naming_the_flag(argv, message, capsys):
    with pytest.raises(SystemExit) as e:
        parse(argv)
    assert e.value.code == 2
    assert message in capsys.readouterr().err


def test_flag_values_are_validated_by_the_owning_class():
    with pytest.raises(ValueError, match="LoRA r must be a positive integer, got 0"):
        parse(["--lora-r", "0"])
    with pytest.raises(ValueError, match="cannot be combined with finetune=frozen"):
        parse(["--lora", "--finetune", "frozen"])
    with pytest.raises(ValueError, match="collapse max_top_share and max_gold_share must be in"):
        parse(["--collapse-max-top-share", "1.5"])
