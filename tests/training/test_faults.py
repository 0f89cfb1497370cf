"""Faults around `tfner train`: signals, a cluster that never forms, a multi-worker job whose worker is
killed mid-epoch, and the checks that fail before any model loads (issue 18).

The multi-worker runs are subprocesses (MultiWorkerMirroredStrategy must exist before TensorFlow runs
an op); the checks that fail before the strategy is made run in this process.
"""

import json
import os
import signal
import subprocess
import sys
import textwrap
import time

import pytest
from helpers import free_ports, subprocess_env

# A multi-worker job on localhost, one process per worker ------------------------------------------

WORKER = """
import hashlib, json, sys, time
import numpy as np
import tfner.training.train as T
from tfner.training import callbacks

pause = float(sys.argv[2])
begin, batch_end = callbacks.Throughput.on_epoch_begin, callbacks.Throughput.on_train_batch_end
epoch_end = callbacks.Throughput.on_epoch_end

def digest(model):
    return hashlib.sha256(b"".join(np.ascontiguousarray(w).tobytes() for w in model.get_weights())).hexdigest()

def on_epoch_begin(self, epoch, logs=None):
    self.epoch_now = epoch
    begin(self, epoch, logs)

def on_train_batch_end(self, batch, logs=None):  # paced, and announced, so a test can kill mid-epoch
    batch_end(self, batch, logs)
    print(f"BATCH {self.epoch_now} {batch}", flush=True)
    time.sleep(pause)

def on_epoch_end(self, epoch, logs=None):  # the weights every worker trained to, before best.h5 is loaded
    epoch_end(self, epoch, logs)
    print(f"EPOCH {epoch} {digest(self.model)}", flush=True)

callbacks.Throughput.on_epoch_begin, callbacks.Throughput.on_train_batch_end = on_epoch_begin, on_train_batch_end
callbacks.Throughput.on_epoch_end = on_epoch_end
sys.exit(T.main(["--config", sys.argv[1]]))
"""


class Cluster:
    """Worker processes of one TF_CONFIG cluster on localhost, each started with the same command."""

    def __init__(self, folder, config, workers=2, pause=0.0):
        self.folder, self.pause = folder, pause
        (folder / "worker.py").write_text(textwrap.dedent(WORKER))
        config.to_json(str(folder / "config.json"))
        self.cluster = {"worker": [f"localhost:{p}" for p in free_ports(workers)]}
        self.procs, self.logs, self.starts = {}, {}, {i: 0 for i in range(workers)}

    def start(self, index):
        task = {"type": "worker", "index": index}
        env = subprocess_env(TF_CONFIG=json.dumps({"cluster": self.cluster, "task": task}))
        self.starts[index] += 1
        log = self.folder / f"worker{index}.{self.starts[index]}.log"
        self.logs[index] = log
        with open(log, "w") as out:
            self.procs[index] = subprocess.Popen(
                [sys.executable, str(self.folder / "worker.py"), str(self.folder / "config.json"), str(self.pause)],
                stdout=out,
                stderr=subprocess.STDOUT,
                env=env,
                cwd=str(self.folder),
            )

    def text(self, index):
        return self.logs[index].read_text()

    def wait_for(self, index, needle, timeout):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if needle in self.text(index):
                return True
            if self.procs[index].poll() is not None:
                return needle in self.text(index)
            time.sleep(0.1)
        return False

    def stop(self):
        for p in self.procs.values():
            if p.poll() is None:
                p.kill()
                p.wait()


@pytest.fixture
def cluster_factory(tmp_path):
    made = []

    def make(*args, **kwargs):
        made.append(Cluster(tmp_path, *args, **kwargs))
        return made[-1]

    yield make
    for cluster in made:
        cluster.stop()


def _epochs(text):
    """`{epoch: weights digest}` from a worker's EPOCH lines."""
    return dict(l.split()[1:] for l in text.splitlines() if l.startswith("EPOCH "))


@pytest.mark.slow
def test_a_worker_killed_mid_epoch_and_restarted_the_job_resumes_and_finishes(tmp_path, cluster_factory):
    """SIGKILL worker 1 in the middle of epoch 2 of 3, restart it with the same command, and restart
    any worker that exits with an error (as a cluster manager's restart policy would). TensorFlow
    cannot take a new worker into a running collective job: worker 0 learns of the loss from the
    coordination service's heartbeats and stops with exit 1; started again, the whole job resumes from
    the last finished epoch (BackupAndRestore on the output dir both workers share)."""
    from helpers import tiny_config

    config = tiny_config(
        None,
        output_dir=str(tmp_path / "run"),  # one folder for both: the backup must be on storage all workers see
        strategy="multi-worker",
        batch_size=4,
        epochs=3,
        synthetic_train=48,
        synthetic_test=6,
        early_stopping_patience=0,
        cluster_timeout=120,
    )
    cluster = cluster_factory(config, pause=0.2)
    start = time.monotonic()
    cluster.start(0)
    cluster.start(1)
    assert cluster.wait_for(0, "BATCH 1 2", 300), cluster.text(0)[-3000:]  # epoch 2 of 3 has begun
    killed_at = time.monotonic()
    cluster.procs[1].kill()
    cluster.procs[1].wait()
    first_chief = cluster.procs[0]
    cluster.start(1)  # the same command
    exits = []
    deadline = time.monotonic() + 400
    while time.monotonic() < deadline and not all(p.poll() == 0 for p in cluster.procs.values()):
        for index, p in list(cluster.procs.items()):
            if p.poll() not in (None, 0):
                exits.append((index, cluster.starts[index], p.returncode, time.monotonic() - killed_at))
                exits[-1] += (cluster.text(index),)
                assert len(exits) <= 4, exits
                cluster.start(index)
        time.sleep(0.2)
    total = time.monotonic() - start
    codes = {i: p.poll() for i, p in cluster.procs.items()}
    assert codes == {0: 0, 1: 0}, (codes, exits, cluster.text(0)[-3000:], cluster.text(1)[-3000:])
    # the chief stopped on the lost worker with one clear line, and the restarted job resumed
    assert first_chief.returncode == 1
    chief_exit = next(e for e in exits if e[0] == 0 and e[1] == 1)
    assert "error: lost the multi-worker cluster" in chief_exit[4] and "start the same command" in chief_exit[4]
    restarted = [l for l in cluster.text(0).splitlines() if l.startswith("BATCH ")]
    assert restarted[0] == "BATCH 1 0"  # from the start of the unfinished epoch 2, not from epoch 1
    chief, worker = _epochs(cluster.text(0)), _epochs(cluster.text(1))
    assert list(chief) == list(worker) == ["1", "2"]  # the restarted job ran epochs 2 and 3
    assert chief == worker  # both workers trained to identical weights, epoch by epoch
    with open(tmp_path / "run" / "history.json") as f:
        history = json.load(f)
    assert {len(v) for v in history.values()} == {3}  # each epoch once
    with open(tmp_path / "run" / "metrics.json") as f:  # the saved model is the best of all 3 epochs
        assert json.load(f)["validation"]["f1"] == pytest.approx(max(history["val_f1"]), abs=1e-6)
    assert not (tmp_path / "run" / "backup").exists()  # no worker left its part of the backup behind
    from tfner.training.distribute import OutputDir

    with pytest.MonkeyPatch.context() as patch:  # the killed worker's temporary folder went with its restart
        patch.setenv("TF_CONFIG", json.dumps({"cluster": cluster.cluster, "task": {"type": "worker", "index": 1}}))
        assert not os.path.exists(OutputDir(str(tmp_path / "run")).path)
    print(
        f"\nfault test: killed at {killed_at - start:.1f} s; chief stopped "
        f"{chief_exit[3]:.1f} s after the kill; restarts {exits and [(e[0], e[2]) for e in exits]}; "
        f"job finished {total:.1f} s after the start"
    )


# A cluster that never forms, and signals ---------------------------------------------------------


def _tf_config(ports, index=0):
    cluster = {"worker": [f"localhost:{p}" for p in ports]}
    return {"cluster": cluster, "task": {"type": "worker", "index": index}}


def test_waiting_for_a_cluster_that_never_forms_times_out_naming_the_missing_workers():
    from tfner.training.distribute import StrategyError, wait_for_cluster

    ports = free_ports(3)
    start = time.monotonic()
    with pytest.raises(StrategyError) as e:
        wait_for_cluster(_tf_config(ports), timeout=0.5)
    assert time.monotonic() - start < 5
    message = str(e.value)
    assert "did not form within 0.5 s (--cluster-timeout)" in message
    assert f"worker 1 at localhost:{ports[1]}, worker 2 at localhost:{ports[2]}" in message
    assert f"localhost:{ports[0]}" not in message  # this task itself is not waited for


def test_waiting_for_a_cluster_returns_once_every_other_task_answers():
    import socket

    from tfner.training.distribute import wait_for_cluster

    ports = free_ports(2)
    with socket.create_server(("localhost", ports[1])):  # worker 1 is up (its own wait listens there)
        start = time.monotonic()
        wait_for_cluster(_tf_config(ports), timeout=30)
        assert time.monotonic() - start < 5


def test_a_port_taken_by_another_program_is_named():
    import socket

    from tfner.training.distribute import StrategyError, wait_for_cluster

    ports = free_ports(2)
    with socket.create_server(("", ports[0])):
        with pytest.raises(StrategyError, match=f"worker 0 cannot listen on port {ports[0]}"):
            wait_for_cluster(_tf_config(ports), timeout=1)


TINY_FLAGS = [
    "--no-pretrained",
    "--encoder-overrides",
    json.dumps({"hidden_size": 16, "num_hidden_layers": 1, "num_attention_heads": 1, "intermediate_size": 32}),
    "--max-length",
    "32",
    "--stride",
    "8",
    "--batch-size",
    "8",
    "--verbose",
    "0",
    "--no-eval-before",
    "--synthetic-train",
    "24",
    "--synthetic-test",
    "6",
    "--collapse-warmup-epochs",
    "10",
]


def test_multi_worker_with_a_missing_training_file_fails_before_waiting_for_the_cluster(tmp_path, monkeypatch, capsys):
    from tfner.training.train import main

    monkeypatch.setenv("TF_CONFIG", json.dumps(_tf_config(free_ports(2))))
    missing = str(tmp_path / "missing.txt")
    argv = ["--strategy", "multi-worker", "--train", missing, "--output-dir", str(tmp_path / "out")]
    assert main(argv + ["--cluster-timeout", "30"]) == 2
    err = capsys.readouterr().err
    assert err.strip() == f"error: {missing}: no such file"  # at once: not after waiting for worker 1
    assert not (tmp_path / "out").exists()


def test_a_cluster_that_never_forms_is_an_error_naming_the_workers(tmp_path, monkeypatch, capsys):
    from tfner.training.train import main

    ports = free_ports(2)
    monkeypatch.setenv("TF_CONFIG", json.dumps(_tf_config(ports)))
    argv = ["--strategy", "multi-worker", "--cluster-timeout", "1", "--output-dir", str(tmp_path / "out")]
    assert main(argv + TINY_FLAGS) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err[0] == f"waiting up to 1 s for worker 1 at localhost:{ports[1]} (TF_CONFIG) to start"
    assert err[-1].startswith(
        f"error: the multi-worker cluster did not form within 1 s (--cluster-timeout): no answer from worker 1 at "
        f"localhost:{ports[1]}."
    )
    assert not (tmp_path / "out").exists()  # a failed run leaves no empty folder


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT])
def test_a_signal_while_waiting_for_the_cluster_stops_at_once(tmp_path, signum):
    """The README's multi-worker command with the other worker never started: SIGTERM or SIGINT ends
    the wait with one line (it used to wait for ever and ignore both)."""
    env = subprocess_env(TF_CONFIG=json.dumps(_tf_config(free_ports(2))))
    argv = [sys.executable, "-m", "tfner.train", "--strategy", "multi-worker", "--output-dir", str(tmp_path / "out")]
    proc = subprocess.Popen(argv + TINY_FLAGS, stderr=subprocess.PIPE, text=True, env=env, cwd=str(tmp_path))
    try:
        for line in proc.stderr:
            if line.startswith("waiting up to 300 s for worker 1"):
                break
        sent = time.monotonic()
        proc.send_signal(signum)
        rest = proc.stderr.read()
        code = proc.wait(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert time.monotonic() - sent < 10
    assert code == 1
    assert rest.strip().splitlines()[-1] == f"error: stopped by {signal.Signals(signum).name}"
    assert not (tmp_path / "out").exists()


def test_sigterm_during_training_stops_keeps_the_backup_and_the_same_command_resumes(tmp_path, monkeypatch, capsys):
    from tfner.training import callbacks
    from tfner.training.train import main

    epochs_run, begin, end = [], callbacks.Throughput.on_epoch_begin, callbacks.Throughput.on_epoch_end

    def on_epoch_begin(self, epoch, logs=None):
        begin(self, epoch, logs)
        if epoch == 1 and not os.path.exists(tmp_path / "signalled"):
            (tmp_path / "signalled").touch()
            os.kill(os.getpid(), signal.SIGTERM)  # as `kill PID` from a shell or a cluster manager

    def on_epoch_end(self, epoch, logs=None):
        end(self, epoch, logs)
        epochs_run.append(epoch)

    monkeypatch.setattr(callbacks.Throughput, "on_epoch_begin", on_epoch_begin)
    monkeypatch.setattr(callbacks.Throughput, "on_epoch_end", on_epoch_end)
    argv = ["--epochs", "2", "--output-dir", str(tmp_path / "run")] + TINY_FLAGS
    handler = signal.getsignal(signal.SIGTERM)
    assert main(argv) == 1
    assert capsys.readouterr().err.strip().splitlines()[-1] == "error: stopped by SIGTERM"
    assert os.listdir(tmp_path / "run" / "backup")
    assert signal.getsignal(signal.SIGTERM) == handler  # the handlers are put back
    assert main(argv) == 0
    assert epochs_run == [0, 1]  # the second run trained only the epoch the first did not finish
    with open(tmp_path / "run" / "history.json") as f:
        history = json.load(f)
    assert len(history["val_f1"]) == 2
    with open(tmp_path / "run" / "metrics.json") as f:  # best.h5 knew the epoch before the restart
        assert json.load(f)["validation"]["f1"] == pytest.approx(max(history["val_f1"]), abs=1e-6)
    assert not (tmp_path / "run" / "backup").exists()
