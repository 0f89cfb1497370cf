"""Shared fixtures: the real MiniLM tokenizer (offline), synthetic notes and their labels, a tiny random
tagger, and one tiny training run per session. Plain helper functions are in `helpers.py`."""

import os

os.environ.setdefault("TF_USE_LEGACY_KERAS", "1")
os.environ.setdefault("HF_HUB_OFFLINE", "1")  # never reach for the network in tests

from types import SimpleNamespace

import helpers
import pytest


def pytest_addoption(parser):
    parser.addoption("--runslow", action="store_true", help="also run tests marked slow")


def pytest_collection_modifyitems(config, items):
    if config.getoption("--runslow"):
        return
    skip = pytest.mark.skip(reason="slow: run with --runslow (make test-all)")
    for item in items:
        if "slow" in item.keywords:
            item.add_marker(skip)


@pytest.fixture(scope="session")
def tokenizer():
    from tfner.model.encoders import load_tokenizer

    return load_tokenizer("minilm")


@pytest.fixture(scope="session")
def labels():
    """The labels of the synthetic clinical notes: O, then B-/I- of AGE, DATE, ID, LOC, PATIENT, PHONE."""
    return helpers.note_labels()


@pytest.fixture(scope="session")
def notes():
    """12 labelled synthetic clinical notes (a test corpus, seed 7)."""
    from tfner.data.synthetic import clinical_notes

    return clinical_notes(1, 12, seed=7)[1]


@pytest.fixture(scope="module")
def tiny_tagger(labels, tokenizer):
    """A tiny random tagger for the notes' labels, one per test module (modules may change its weights)."""
    return helpers.build_tagger(labels, tokenizer)


@pytest.fixture(scope="session")
def trained_run(tmp_path_factory):
    """One tiny `tfner train` run per session (2 epochs, evaluated before and after, on 40 synthetic
    notes): `.config`, `.tagger`, `.metrics` and `.output_dir`, the saved model. For tests that need *a*
    trained model; they must not change it."""
    config, tagger, metrics = helpers.train_tiny(tmp_path_factory.mktemp("trained"), epochs=2, eval_before=True)
    return SimpleNamespace(config=config, tagger=tagger, metrics=metrics, output_dir=config.output_dir)
