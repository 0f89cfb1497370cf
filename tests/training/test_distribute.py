"""tf.distribute: strategy choice, mirrored == default for the same global batch, two real workers.

The mirrored and multi-worker tests run in subprocesses: logical CPU devices and
MultiWorkerMirroredStrategy must be set up before TensorFlow runs its first op, which in this test
process has long happened.
"""

import json
import os
import subprocess
import sys
import textwrap

import numpy as np
import pytest
from helpers import free_ports, run_script, subprocess_env

# Choosing a strategy -----------------------------------------------------------------------------


def test_auto_without_gpu_tpu_or_cluster_is_the_default_strategy(monkeypatch):
    from tfner.training.distribute import make_strategy

    monkeypatch.delenv("TF_CONFIG", raising=False)
    monkeypatch.delenv("TPU_NAME", raising=False)
    chosen = make_strategy("auto")
    assert chosen.name == "default" and chosen.replicas == 1
    assert "no GPU" in chosen.reason
    assert chosen.describe(16).endswith("1 replica(s) x batch 16 = global batch 16")


def test_auto_reads_a_cluster_from_tf_config(monkeypatch):
    from tfner.training.distribute import _auto

    monkeypatch.setenv(
        "TF_CONFIG", json.dumps({"cluster": {"worker": ["a:1", "b:2"]}, "task": {"type": "worker", "index": 1}})
    )
    assert _auto([], "")[0] == "multi-worker"
    assert _auto([], "my-tpu")[0] == "tpu"
    monkeypatch.delenv("TF_CONFIG")
    assert _auto(["gpu0", "gpu1"], "")[0] == "mirrored"
    assert _auto(["gpu0"], "")[0] == "one-device"


def test_chief_is_the_chief_task_or_worker_zero():
    from tfner.training.distribute import is_chief

    workers = {"worker": ["a:1", "b:2"]}
    assert is_chief({})
    assert is_chief({"cluster": workers, "task": {"type": "worker", "index": 0}})
    assert not is_chief({"cluster": workers, "task": {"type": "worker", "index": 1}})
    with_chief = {"chief": ["c:0"], **workers}
    assert is_chief({"cluster": with_chief, "task": {"type": "chief", "index": 0}})
    assert not is_chief({"cluster": with_chief, "task": {"type": "worker", "index": 0}})


@pytest.mark.parametrize(
    "value, message", [("{not json", "TF_CONFIG is not valid JSON"), ('{"cluster": {}}', "TF_CONFIG must be")]
)
def test_bad_tf_config_is_a_clear_error(monkeypatch, value, message):
    from tfner.training.distribute import StrategyError, tf_config

    monkeypatch.setenv("TF_CONFIG", value)
    with pytest.raises(StrategyError, match=message):
        tf_config()


def test_multi_worker_without_tf_config_says_what_to_set(monkeypatch):
    from tfner.training.distribute import StrategyError, make_strategy

    monkeypatch.delenv("TF_CONFIG", raising=False)
    with pytest.raises(StrategyError, match="needs the TF_CONFIG environment variable"):
        make_strategy("multi-worker")


def test_a_device_that_does_not_exist_is_a_clear_error():
    from tfner.training.distribute import StrategyError, make_strategy

    with pytest.raises(StrategyError, match=r"--devices /gpu:7: no such device here; available: .*CPU:0"):
        make_strategy("mirrored", ["/gpu:7"])
    with pytest.raises(StrategyError, match="no such device"):
        make_strategy("one-device", ["not a device"])


def test_devices_with_multi_worker_is_refused(monkeypatch):
    from tfner.training.distribute import StrategyError, make_strategy

    monkeypatch.setenv(
        "TF_CONFIG", '{"cluster": {"worker": ["localhost:1", "localhost:2"]}, "task": {"type": "worker", "index": 0}}'
    )
    with pytest.raises(StrategyError, match="--devices does not apply to multi-worker"):
        make_strategy("multi-worker", ["/cpu:0"])


def test_worker_output_goes_to_a_temporary_folder_that_is_removed(monkeypatch, tmp_path):
    from tfner.training.distribute import OutputDir

    monkeypatch.setenv(
        "TF_CONFIG", json.dumps({"cluster": {"worker": ["a:1", "b:2"]}, "task": {"type": "worker", "index": 1}})
    )
    with OutputDir(str(tmp_path / "run")) as out:
        assert not out.chief and out.path != str(tmp_path / "run")
        open(os.path.join(out.path, "weights.h5"), "w").close()
    assert not os.path.exists(out.path) and not os.path.exists(tmp_path / "run")
    monkeypatch.delenv("TF_CONFIG")
    with OutputDir(str(tmp_path / "run")) as out:
        assert out.chief and out.path == str(tmp_path / "run")
    assert os.path.isdir(tmp_path / "run")


def test_cli_reports_a_strategy_error_without_a_traceback(monkeypatch, capsys):
    from tfner.training.train import main

    monkeypatch.delenv("TF_CONFIG", raising=False)
    assert main(["--strategy", "multi-worker"]) == 2
    assert "TF_CONFIG" in capsys.readouterr().err


# Mirrored == default --------------------------------------------------------------------------

MIRRORED = """
import json, sys
import tensorflow as tf
cpu = tf.config.list_physical_devices("CPU")[0]
tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration()] * 2)

import numpy as np, tf_keras
from helpers import TINY, tiny_config
from tfner.model.losses import MaskedAccuracy, masked_loss
from tfner.model.tagger import Tagger
from tfner.training.distribute import make_strategy
from tfner.training.optim import compile_tagger
from tfner.training.train import train

# No dropout anywhere, so the two runs compute the same function; the rows of each global batch carry
# different numbers of labelled tokens, so a per-replica mean would differ from the global one.
no_dropout = {**TINY, "hidden_dropout_prob": 0.0, "attention_probs_dropout_prob": 0.0}
labels = ["O", "B-X", "I-X"]
rng = np.random.default_rng(0)
ids = rng.integers(1000, 5000, (24, 12)).astype(np.int32)
mask = np.ones_like(ids)
y = rng.integers(0, 3, ids.shape).astype(np.int32)
for r in range(24):
    keep = 2 + (r * 7) % 10                          # 2 .. 11 labelled tokens per row
    y[r, keep:] = -100
    mask[r, keep + 1:] = 0

def run(config, optimizer, strategy_name, devices, start=None):
    chosen = make_strategy(strategy_name, devices)
    tf_keras.utils.set_random_seed(0)
    with chosen.strategy.scope():
        tagger = Tagger.build(config.model, labels)
        if start is not None:
            tagger.model.set_weights(start)
        if optimizer == "sgd":  # plain steps: weights follow gradients linearly, so float noise stays small
            tagger.model.compile(optimizer=tf_keras.optimizers.SGD(0.05), loss=masked_loss,
                                 metrics=[MaskedAccuracy()])
            tagger.model.head_optimizer = tf_keras.optimizers.SGD(0.2)
            tagger.model.clip_norm = config.clip_norm
        else:
            compile_tagger(tagger, config, 6)
    initial = tagger.model.get_weights()
    losses = []
    class Batches(tf_keras.callbacks.Callback):
        def on_train_batch_end(self, batch, logs=None):
            losses.append(float(logs["loss"]))
    data = tf.data.Dataset.from_tensor_slices(({"input_ids": ids, "attention_mask": mask}, y)).batch(8)
    tagger.model.fit(data, epochs=2, verbose=0, shuffle=False, callbacks=[Batches()])
    return chosen.replicas, losses, initial, tagger.model.get_weights()

CASES = {"linear-sgd": ("linear", False, "sgd", False, False), "mlp-lora-sgd": ("mlp", True, "sgd", False, False),
         "linear-crf-sgd": ("linear", False, "sgd", True, False),
         "linear-adamw": ("linear", False, "adamw", False, False),
         "linear-adamw-lazy": ("linear", False, "adamw", False, True)}
asked = sys.argv[1].split(",")
results = {}
for name in (n for n in asked if n != "train"):
    head, lora, optimizer, crf, lazy = CASES[name]
    config = tiny_config(None, head=head, crf=crf, dropout=0.0, lora=lora, lora_dropout=0.0, clip_norm=0.5,
                         learning_rate=1e-3, head_learning_rate=5e-3, encoder_overrides=no_dropout,
                         lazy_embeddings=lazy)
    replicas_a, loss_a, initial, weights_a = run(config, optimizer, "default", [])
    replicas_b, loss_b, _, weights_b = run(config, optimizer, "mirrored", ["/cpu:0", "/cpu:1"], start=initial)
    results[name] = {
        "replicas": [replicas_a, replicas_b], "loss_a": loss_a, "loss_b": loss_b,
        "max_weight_diff": max(float(np.abs(a - b).max()) for a, b in zip(weights_a, weights_b)),
        "max_weight_change": max(float(np.abs(a - b).max()) for a, b in zip(weights_a, initial))}

if "train" in asked:  # the whole of tfner.train under mirrored
    config = tiny_config(None, output_dir="run", strategy="mirrored", devices=["/cpu:0", "/cpu:1"], batch_size=4,
                         epochs=1)
    train(config)
print("RESULT " + json.dumps(results))
"""


_RUNS = {}


def _mirrored(folder_factory, cases):
    """One subprocess per group of mirrored checks (TensorFlow start-up and tracing dominate their
    cost): the checks of the default run in one, the slow-marked ones in another."""
    if cases not in _RUNS:
        folder = folder_factory.mktemp("mirrored")
        result = run_script(MIRRORED, folder, args=[cases])
        assert result.returncode == 0, result.stderr[-3000:]
        line = next(l for l in result.stdout.splitlines() if l.startswith("RESULT "))
        _RUNS[cases] = json.loads(line[7:]), result.stdout, folder
    return _RUNS[cases]


@pytest.fixture(scope="module")
def mirrored(tmp_path_factory):
    return _mirrored(tmp_path_factory, "linear-sgd,mlp-lora-sgd,linear-adamw-lazy,train")


@pytest.fixture(scope="module")
def mirrored_slow(tmp_path_factory):
    return _mirrored(tmp_path_factory, "linear-crf-sgd,linear-adamw")


@pytest.mark.parametrize("case", ["linear-sgd", "mlp-lora-sgd", pytest.param("linear-crf-sgd", marks=pytest.mark.slow)])
def test_mirrored_on_two_cpus_matches_the_default_strategy(request, case):
    """Same loss at every step and the same weights after 6 clipped steps (two optimizers; with a CRF,
    its negative log-likelihood per labelled token, and transitions trained by the head optimizer)."""
    figures = request.getfixturevalue("mirrored_slow" if case == "linear-crf-sgd" else "mirrored")[0][case]
    assert figures["replicas"] == [1, 2]
    assert figures["max_weight_change"] > 1e-2  # training moved the weights ...
    assert figures["max_weight_diff"] < 1e-5  # ... the same way under both strategies
    np.testing.assert_allclose(figures["loss_b"], figures["loss_a"], rtol=1e-5)


@pytest.mark.parametrize("case", ["linear-adamw-lazy", pytest.param("linear-adamw", marks=pytest.mark.slow)])
def test_mirrored_with_the_adamw_recipe_starts_from_the_same_loss(request, case):
    """AdamW normalises each gradient element, so float noise in near-zero gradients moves weights by
    up to the learning rate: its weights are not comparable element by element. The loss before any
    update (global-batch token normalisation) must match, and the run must stay close (also with the
    lazy embedding rows, whose sparse gradients the replicas gather)."""
    figures = request.getfixturevalue("mirrored" if case.endswith("lazy") else "mirrored_slow")[0][case]
    assert figures["max_weight_change"] > 1e-4
    assert figures["loss_b"][0] == pytest.approx(figures["loss_a"][0], rel=1e-6)
    np.testing.assert_allclose(figures["loss_b"], figures["loss_a"], rtol=1e-3)


def test_train_runs_end_to_end_under_mirrored(mirrored):
    _, stdout, folder = mirrored
    assert "strategy mirrored (asked for, over" in stdout
    assert "2 replica(s) x batch 4 = global batch 8" in stdout
    assert os.path.exists(folder / "run" / "weights.h5")


# Two workers -----------------------------------------------------------------------------------

WORKER = """
import hashlib, json, sys
import numpy as np
from helpers import tiny_config
from tfner.training.train import train
config = tiny_config(None, output_dir=sys.argv[1], strategy="multi-worker", batch_size=4, epochs=2,
                     synthetic_train=24, synthetic_test=6)
tagger, metrics = train(config)
digest = hashlib.sha256(b"".join(np.ascontiguousarray(w).tobytes() for w in tagger.model.get_weights()))
print("RESULT " + json.dumps({"weights": digest.hexdigest(), "f1": metrics["validation"]["f1"],
                              "loss": metrics["validation"]["loss"]}))
"""


def test_two_local_workers_train_together_and_only_the_chief_writes(tmp_path):
    (tmp_path / "worker.py").write_text(textwrap.dedent(WORKER))
    cluster = {"worker": [f"localhost:{p}" for p in free_ports(2)]}
    procs = []
    for index in range(2):
        env_i = subprocess_env(TF_CONFIG=json.dumps({"cluster": cluster, "task": {"type": "worker", "index": index}}))
        procs.append(
            subprocess.Popen(
                [sys.executable, str(tmp_path / "worker.py"), str(tmp_path / f"out{index}")],
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
                env=env_i,
                cwd=str(tmp_path),
            )
        )
    try:
        finished = [p.communicate(timeout=600) for p in procs]
    finally:
        for p in procs:
            if p.poll() is None:  # one failed or hung: do not leave the other waiting for it
                p.kill()
    for p, (_, err) in zip(procs, finished):
        assert p.returncode == 0, err[-3000:]
    outputs = [out for out, _ in finished]
    results = [json.loads(next(l for l in o.splitlines() if l.startswith("RESULT "))[7:]) for o in outputs]
    assert "multi-worker (asked for, worker 0 of a cluster of 2" in outputs[0]
    assert "2 replica(s) x batch 4 = global batch 8" in outputs[0]
    assert results[0]["weights"] == results[1]["weights"]  # both workers end with identical weights
    assert results[0]["f1"] == results[1]["f1"]
    chief, worker = tmp_path / "out0", tmp_path / "out1"
    for name in ("weights.h5", "config.json", "metrics.json", "history.json", "checkpoints/best.h5"):
        assert (chief / name).exists(), name
    assert not (chief / "backup").exists()
    leftovers = [os.path.join(d, f) for d, _, files in os.walk(worker) for f in files] if worker.exists() else []
    assert leftovers == []  # the worker wrote nothing that stays
