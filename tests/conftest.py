"""Shared test helpers: tiny random encoders (fast) and the real MiniLM tokenizer (offline)."""

import os

os.environ.setdefault("TF_USE_LEGACY_KERAS", "1")
os.environ.setdefault("HF_HUB_OFFLINE", "1")  # never reach for the network in tests

import pytest

TINY = {"hidden_size": 32, "num_hidden_layers": 2, "num_attention_heads": 2, "intermediate_size": 64}


def pytest_addoption(parser):
    parser.addoption("--runslow", action="store_true", help="also run tests marked slow")


def pytest_collection_modifyitems(config, items):
    if config.getoption("--runslow"):
        return
    skip = pytest.mark.skip(reason="slow: run with --runslow (make test-all)")
    for item in items:
        if "slow" in item.keywords:
            item.add_marker(skip)


def tiny_config(tmp_path=None, **overrides):
    """A TrainConfig for a randomly initialised 2-layer, 32-wide BERT with MiniLM's tokenizer."""
    from tfner.training.config import TrainConfig

    values = dict(encoder="minilm", pretrained=False, encoder_overrides=dict(TINY), max_length=32,
                  stride=8, batch_size=8, epochs=1, verbose=0, eval_before=False,
                  synthetic_train=40, synthetic_test=10)
    if tmp_path is not None:
        values["output_dir"] = str(tmp_path / "run")
    values.update(overrides)
    return TrainConfig(**values)


@pytest.fixture(scope="session")
def tokenizer():
    from tfner.model.encoders import load_tokenizer

    return load_tokenizer("minilm")
