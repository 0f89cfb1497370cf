"""Plain helpers shared by the tests: `from helpers import TINY, tiny_config, ...`.

Pytest fixtures live in `conftest.py`; the functions here are ordinary ones, so fixtures, tests and the
scripts that tests run in subprocesses (`subprocess_env()` puts this folder on their PYTHONPATH) can all
call them. pytest puts this folder on `sys.path` for the rootdir conftest (test folders have no
`__init__.py`). Nothing here imports TensorFlow at import time.
"""

import os
import socket
import subprocess
import sys
import textwrap

import numpy as np

TESTS = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(TESTS)

# A randomly initialised 2-layer, 32-wide BERT (the encoder_overrides of every tiny model).
TINY = {"hidden_size": 32, "num_hidden_layers": 2, "num_attention_heads": 2, "intermediate_size": 64}
# Smaller still: one layer, 16 wide (tests that trace the training step many times).
SMALLEST = {"hidden_size": 16, "num_hidden_layers": 1, "num_attention_heads": 1, "intermediate_size": 32}


def tiny_config(tmp_path=None, **flat_overrides):
    """A TrainConfig for the tiny random encoder with MiniLM's tokenizer: short windows, one quiet epoch
    on 40 synthetic notes. `flat_overrides` use the flat names (`lora_r=4`, `head="mlp"`); with
    `tmp_path`, the run writes to `tmp_path/run`."""
    from tfner.training.config import TrainConfig

    # A tiny random encoder predicts only O for its first epochs on the generator's notes: a healthy
    # start, which the collapse detector must not stop (tests of the detector set their own warm-up).
    values = dict(
        encoder="minilm",
        pretrained=False,
        encoder_overrides=dict(TINY),
        max_length=32,
        stride=8,
        batch_size=8,
        epochs=1,
        verbose=0,
        eval_before=False,
        synthetic_train=40,
        synthetic_test=10,
        collapse_warmup_epochs=10.0,
    )
    if tmp_path is not None:
        values["output_dir"] = str(tmp_path / "run")
    values.update(flat_overrides)
    return TrainConfig.from_dict(values)


def build_tagger(labels, tokenizer=None, total_steps=None, **flat_overrides):
    """A new Tagger on the tiny random encoder (`tiny_config(**flat_overrides).model`). With
    `total_steps`, compiled for training as `tfner train` compiles it (`compile_tagger`)."""
    from tfner.model.tagger import Tagger

    config = tiny_config(**flat_overrides)
    tagger = Tagger.build(config.model, labels, tokenizer)
    if total_steps is not None:
        from tfner.training.optim import compile_tagger

        compile_tagger(tagger, config, total_steps)
    return tagger


tiny_tagger = build_tagger  # the same builder under the name some tests use (`helpers.tiny_tagger`)


def note_labels(n=40, seed=0):
    """The label list of `n` synthetic clinical training notes (O and B-/I- of six entity types)."""
    from tfner.data.readers import build_labels
    from tfner.data.synthetic import clinical_notes

    return build_labels(clinical_notes(n, 1, seed=seed)[0])


def train_tiny(tmp_path=None, **flat_overrides):
    """A whole `tfner train` run of `tiny_config(tmp_path, **flat_overrides)`: (config, tagger, metrics)."""
    from tfner.training.train import train

    config = tiny_config(tmp_path, **flat_overrides)
    tagger, metrics = train(config)
    return config, tagger, metrics


def np_cross_entropy(labels, logits):
    """Mean cross-entropy over the positions whose label is not -100 (IGNORE), in float64 numpy."""
    labels = np.asarray(labels).reshape(-1)
    logits = np.asarray(logits, np.float64).reshape(len(labels), -1)
    keep = labels != -100
    z = logits[keep] - logits[keep].max(-1, keepdims=True)
    log_p = z - np.log(np.exp(z).sum(-1, keepdims=True))
    return float(-log_p[np.arange(keep.sum()), labels[keep]].mean())


def force_constant(tagger, label, strength=50.0):
    """Make the classifier predict `label` everywhere: zero kernel, a large bias on that class."""
    dense = tagger.model.get_layer("head").get_layer("logits")
    kernel, bias = dense.get_weights()
    bias = np.zeros_like(bias)
    bias[tagger.labels.index(label)] = strength
    dense.set_weights([np.zeros_like(kernel), bias])


def free_ports(n):
    """`n` distinct TCP ports free on localhost right now (all bound at once, so never the same one)."""
    sockets = [socket.socket() for _ in range(n)]
    try:
        for s in sockets:
            s.bind(("localhost", 0))
        return [s.getsockname()[1] for s in sockets]
    finally:
        for s in sockets:
            s.close()


def subprocess_env(**extra):
    """The environment for a Python subprocess that imports tfner and these helpers."""
    return dict(os.environ, PYTHONPATH=os.pathsep.join([ROOT, TESTS]), TF_CPP_MIN_LOG_LEVEL="2", **extra)


def run_script(script, folder, env=None, timeout=600, args=()):
    """Write `script` (dedented) to `folder/script.py` and run it there with `subprocess_env(**env)`."""
    path = folder / "script.py"
    path.write_text(textwrap.dedent(script))
    return subprocess.run(
        [sys.executable, str(path), *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        env=subprocess_env(**(env or {})),
        cwd=str(folder),
    )


def lookup_tagger(tagger, rules):
    """`tagger` with a context-free model whose logits come from a table by token id: `rules` maps a
    token id to {label: logit}; every other token gets O 5.0. It exports and serves like any tagger."""
    import tf_keras

    labels = tagger.labels
    table = np.zeros((len(tagger.tokenizer.get_vocab()) + 1, len(labels)), np.float32)
    table[:, labels.index("O")] = 5.0
    for token, logits in rules.items():
        table[token] = 0.0
        for label, value in logits.items():
            table[token, labels.index(label)] = value
    ids = tf_keras.Input((None,), dtype="int32", name="input_ids")
    mask = tf_keras.Input((None,), dtype="int32", name="attention_mask")
    embed = tf_keras.layers.Embedding(len(table), len(labels), weights=[table], name="lookup")
    tagger.model = tf_keras.Model({"input_ids": ids, "attention_mask": mask}, embed(ids))
    return tagger
