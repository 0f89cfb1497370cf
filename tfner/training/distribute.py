"""Which tf.distribute strategy a run uses, and which process of a cluster writes the outputs.

`--strategy` picks one of TensorFlow's own strategies:

    default       no distribution: the one device TensorFlow places ops on
    one-device    OneDeviceStrategy on --devices[0] (default: the first GPU, else the CPU)
    mirrored      MirroredStrategy over --devices (default: every GPU): one replica per device, weights
                  kept in sync by all-reducing the gradients every step
    multi-worker  MultiWorkerMirroredStrategy over the processes named in the TF_CONFIG environment
                  variable (cluster and task); each process runs the same command
    tpu           TPUStrategy through TPUClusterResolver(--tpu) (a name, a grpc:// address, or '' on
                  a TPU VM); not testable without a TPU
    auto          tpu when --tpu or TPU_NAME is set, multi-worker when TF_CONFIG names more than one
                  task, mirrored with several GPUs, one-device with one, default otherwise

`--batch-size` (and `--max-tokens`) is per replica: the global batch is batch size x replicas. The model,
the LoRA wrapping, the optimizers, compile and the loading of pretrained weights all happen inside `strategy.scope()`
(see `tfner.train`). In a multi-worker cluster only the chief writes the model, checkpoints, logs and
exports; the other workers write to temporary folders that are deleted when they finish.

MultiWorkerMirroredStrategy must exist before TensorFlow runs any op, so `make_strategy` is the first
TensorFlow work `tfner.train.train` does (reading and checking the data, which needs no TensorFlow op,
comes before it, so a missing file fails at once instead of after the cluster forms). Making the
strategy blocks inside TensorFlow, holding Python's lock, until every task of the cluster has started:
no signal handler or timeout could run there. `wait_for_cluster` therefore first waits in Python, where
SIGTERM/SIGINT stop it and `--cluster-timeout` ends it with the names of the tasks it waited for.
"""

import errno
import faulthandler
import hashlib
import json
import os
import shutil
import socket
import sys
import tempfile
import time
from dataclasses import dataclass

import tensorflow as tf


class StrategyError(RuntimeError):
    pass


@dataclass
class Chosen:
    """A strategy and, for the log, why it was chosen."""

    strategy: object
    name: str
    reason: str

    @property
    def replicas(self):
        return self.strategy.num_replicas_in_sync

    def describe(self, batch_size):
        return (
            f"strategy {self.name} ({self.reason}): {self.replicas} replica(s) x batch {batch_size} = "
            f"global batch {self.replicas * batch_size}"
        )


def tf_config():
    """The parsed TF_CONFIG environment variable ({} when unset); a clear error when it is not JSON."""
    text = os.environ.get("TF_CONFIG", "")
    if not text.strip():
        return {}
    try:
        value = json.loads(text)
    except json.JSONDecodeError as e:
        raise StrategyError(f"TF_CONFIG is not valid JSON ({e}): {text[:200]!r}") from None
    if not isinstance(value, dict) or "cluster" not in value or "task" not in value:
        raise StrategyError(
            'TF_CONFIG must be {"cluster": {"worker": ["host:port", ...]}, '
            f'"task": {{"type": "worker", "index": 0}}}}, got {text[:200]!r}'
        )
    return value


def cluster_size(config=None):
    config = tf_config() if config is None else config
    return sum(len(hosts) for hosts in config.get("cluster", {}).values())


def is_chief(config=None):
    """True in a single process, and for the chief (or worker 0 when there is no chief) of a cluster."""
    config = tf_config() if config is None else config
    if not config:
        return True
    task = config["task"]
    if task.get("type") == "chief":
        return True
    return task.get("type") == "worker" and task.get("index", 0) == 0 and "chief" not in config["cluster"]


_MADE = {}


def make_strategy(name="auto", devices=(), tpu="", cluster_timeout=300.0):
    """The strategy `name` asks for (module docstring); `devices`, `tpu` and `cluster_timeout` (seconds a
    multi-worker process waits for the other tasks) as in TrainConfig.

    One strategy object per process and setting, made on first use: several trainings in one process
    (tuner trials) share it. Two MirroredStrategy objects in one process reuse collective keys and
    their all-reduces fail with shape mismatches; MultiWorkerMirroredStrategy can be made only once.
    """
    key = (name, tuple(devices), tpu)
    if key not in _MADE:
        _MADE[key] = _make(name, devices, tpu, cluster_timeout)
    return _MADE[key]


def _check_devices(devices):
    """Every named device must exist here: TensorFlow would otherwise run elsewhere without a word."""
    have = {(d.device_type, int(d.name.rsplit(":", 1)[1])): d.name for d in tf.config.list_logical_devices()}
    for name in devices:
        try:
            spec = tf.DeviceSpec.from_string(name)
        except ValueError:
            spec = None
        if spec is None or (str(spec.device_type).upper(), spec.device_index or 0) not in have:
            raise StrategyError(f"--devices {name}: no such device here; available: {', '.join(sorted(have.values()))}")


def _make(name, devices, tpu, cluster_timeout):
    gpus = tf.config.list_physical_devices("GPU")
    if name == "auto":
        name, reason = _auto(gpus, tpu)
    else:
        reason = "asked for"
    if devices and name == "multi-worker":
        raise StrategyError("--devices does not apply to multi-worker: each worker uses all of its own devices")
    if devices:  # listing logical devices starts TensorFlow's context, which multi-worker must do itself
        _check_devices(devices)
    if name == "default":
        return Chosen(tf.distribute.get_strategy(), name, reason)
    if name == "one-device":
        device = devices[0] if devices else ("/gpu:0" if gpus else "/cpu:0")
        return Chosen(tf.distribute.OneDeviceStrategy(device), name, f"{reason}, on {device}")
    if name == "mirrored":
        strategy = tf.distribute.MirroredStrategy(devices=list(devices) or None)
        where = ", ".join(strategy.extended.worker_devices)
        return Chosen(strategy, name, f"{reason}, over {where}")
    if name == "multi-worker":
        config = tf_config()
        if not config:
            raise StrategyError(
                "--strategy multi-worker needs the TF_CONFIG environment variable: "
                '{"cluster": {"worker": ["host1:port", "host2:port"]}, "task": {"type": '
                '"worker", "index": 0}} (the same cluster in every process, its own task)'
            )
        wait_for_cluster(config, cluster_timeout)
        # Every task answered; should one vanish before TensorFlow connects, the wait below cannot be
        # interrupted: end the process (with the threads' tracebacks) rather than hang for ever.
        faulthandler.dump_traceback_later(cluster_timeout + 60, exit=True)
        try:
            strategy = tf.distribute.MultiWorkerMirroredStrategy()
        finally:
            faulthandler.cancel_dump_traceback_later()
        task = config["task"]
        return Chosen(
            strategy,
            name,
            f"{reason}, {task.get('type')} {task.get('index', 0)} of a cluster of "
            f"{cluster_size(config)} from TF_CONFIG",
        )
    if name == "tpu":
        return Chosen(_tpu_strategy(tpu), name, f"{reason}, TPU {tpu or '(local)'}")
    raise StrategyError(f"unknown strategy {name!r}")


def _auto(gpus, tpu):
    if tpu or os.environ.get("TPU_NAME"):
        return "tpu", f"auto: a TPU is named ({tpu or os.environ['TPU_NAME']})"
    if cluster_size() > 1:
        return "multi-worker", "auto: TF_CONFIG names a cluster"
    if len(gpus) > 1:
        return "mirrored", f"auto: {len(gpus)} GPUs"
    if len(gpus) == 1:
        return "one-device", "auto: one GPU"
    return "default", "auto: no TPU, no cluster, no GPU"


def _tpu_strategy(tpu):
    try:
        resolver = tf.distribute.cluster_resolver.TPUClusterResolver(tpu=tpu or None)
        tf.config.experimental_connect_to_cluster(resolver)
        tf.tpu.experimental.initialize_tpu_system(resolver)
    except (ValueError, RuntimeError, tf.errors.OpError) as e:
        why = str(e).strip().rstrip(".") or type(e).__name__
        raise StrategyError(
            f"--strategy tpu: no TPU found through TPUClusterResolver(tpu={tpu!r}): {why}. "
            "Pass --tpu NAME (or grpc://ADDRESS), or run on a TPU VM."
        ) from None
    return tf.distribute.TPUStrategy(resolver)


def _tasks(config):
    """`[(job, index, "host:port")]` of the chief and worker tasks of a TF_CONFIG cluster."""
    cluster = config["cluster"]
    return [(job, i, address) for job in ("chief", "worker") for i, address in enumerate(cluster.get(job, []))]


def _host_port(address, what):
    host, _, port = str(address).rpartition(":")
    if not host or not port.isdigit():
        raise StrategyError(f"TF_CONFIG: {what} has address {address!r}, expected host:port")
    return host.strip("[]"), int(port)


def _answers(address):
    try:
        with socket.create_connection(_host_port(address, address), timeout=1.0):
            return True
    except OSError:
        return False


def _listen(port):
    """A socket listening on `port` of every interface (IPv6 and IPv4 where the host has both), as
    TensorFlow's server will; it never accepts: the kernel completes the others' connections."""
    for family in (socket.AF_INET6, socket.AF_INET):
        listener = None
        try:
            listener = socket.socket(family)
            listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            if family == socket.AF_INET6:
                listener.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0)
            listener.bind(("", port))
            listener.listen(64)
            return listener
        except OSError as e:
            if listener is not None:
                listener.close()
            if family == socket.AF_INET or e.errno == errno.EADDRINUSE:
                raise
    raise AssertionError("the loop returns or raises")


def wait_for_cluster(config, timeout, poll=0.25):
    """Return once every other chief/worker task of the TF_CONFIG cluster accepts connections.

    Meanwhile this task listens on its own port (the one TensorFlow's server takes next), so the others
    see it too. SIGTERM/SIGINT interrupt the wait (it runs in Python); after `timeout` seconds a
    `StrategyError` names the tasks that never answered.
    """
    task = config["task"]
    me = (task.get("type"), task.get("index", 0))
    mine = [address for job, i, address in _tasks(config) if (job, i) == me]
    if not mine:
        raise StrategyError(f"TF_CONFIG: task {me[0]} {me[1]} is not in the cluster {config['cluster']}")
    port = _host_port(mine[0], f"{me[0]} {me[1]}")[1]
    waiting = [(job, i, address) for job, i, address in _tasks(config) if (job, i) != me]
    for job, i, address in waiting:
        _host_port(address, f"{job} {i}")
    try:
        listener = _listen(port)
    except OSError as e:
        raise StrategyError(
            f"{me[0]} {me[1]} cannot listen on port {port} ({mine[0]} in TF_CONFIG): {e.strerror or e}"
        ) from None
    start = time.monotonic()
    told = False
    try:
        while True:
            waiting = [t for t in waiting if not _answers(t[2])]
            if not waiting:
                return
            names = ", ".join(f"{job} {i} at {address}" for job, i, address in waiting)
            waited = time.monotonic() - start
            if waited >= timeout:
                raise StrategyError(
                    f"the multi-worker cluster did not form within {timeout:g} s (--cluster-timeout): no answer "
                    f"from {names}. Start the same command on every task of TF_CONFIG (each with its own "
                    "task), and check that these hosts and ports are reachable from here."
                )
            if not told:
                print(f"waiting up to {timeout:g} s for {names} (TF_CONFIG) to start", file=sys.stderr, flush=True)
                told = True
            time.sleep(min(poll, max(0.0, timeout - waited)))
    finally:
        listener.close()


def holds_files(folder):
    """True when `folder` or a folder inside it holds a file."""
    return any(files for _, _, files in os.walk(folder))


class OutputDir:
    """The folder this process writes to: the real one on the chief, a temporary one on other workers.

    Use as a context manager; a worker's temporary folder is deleted on exit (and, as a killed worker
    could not delete it, when the same worker of the same run starts again), and a folder this run
    created is removed again when the run fails before writing any file into it.
    """

    def __init__(self, path):
        self.path, self.chief = path, is_chief()
        if not self.chief:  # named after the run and the task: a restarted worker clears a killed one's
            config = tf_config()
            run = json.dumps([os.path.abspath(path), config["cluster"]], sort_keys=True)
            task = f"{config['task'].get('type')}{config['task'].get('index', 0)}"
            self.path = os.path.join(
                tempfile.gettempdir(), f"tfner-{task}-{hashlib.sha256(run.encode()).hexdigest()[:12]}"
            )
        self.created = not os.path.exists(self.path)

    def __enter__(self):
        if not self.chief:
            shutil.rmtree(self.path, ignore_errors=True)
            os.makedirs(self.path, mode=0o700)
        os.makedirs(self.path, exist_ok=True)
        return self

    def __exit__(self, kind, *exc):
        if not self.chief or (kind is not None and self.created and not holds_files(self.path)):
            shutil.rmtree(self.path, ignore_errors=True)
