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

`--batch-size` is per replica: the global batch is batch size x replicas. The model, the LoRA wrapping,
the optimizers, compile and the loading of pretrained weights all happen inside `strategy.scope()`
(see `tfner.train`). In a multi-worker cluster only the chief writes the model, checkpoints, logs and
exports; the other workers write to temporary folders that are deleted when they finish.

MultiWorkerMirroredStrategy must exist before TensorFlow runs any op, so `make_strategy` is the first
thing `tfner.train.train` does.
"""

import json
import os
import shutil
import tempfile
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


def make_strategy(name="auto", devices=(), tpu=""):
    """The strategy `name` asks for (module docstring); `devices` and `tpu` as in TrainConfig.

    One strategy object per process and setting, made on first use: several trainings in one process
    (tuner trials) share it. Two MirroredStrategy objects in one process reuse collective keys and
    their all-reduces fail with shape mismatches; MultiWorkerMirroredStrategy can be made only once.
    """
    key = (name, tuple(devices), tpu)
    if key not in _MADE:
        _MADE[key] = _make(name, devices, tpu)
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


def _make(name, devices, tpu):
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
        strategy = tf.distribute.MultiWorkerMirroredStrategy()
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
        raise StrategyError(
            f"--strategy tpu: no TPU found through TPUClusterResolver(tpu={tpu!r}): {e}. "
            "Pass --tpu NAME (or grpc://ADDRESS), or run on a TPU VM."
        ) from None
    return tf.distribute.TPUStrategy(resolver)


class OutputDir:
    """The folder this process writes to: the real one on the chief, a temporary one on other workers.

    Use as a context manager; a worker's temporary folder is deleted on exit.
    """

    def __init__(self, path):
        self.path, self.chief = path, is_chief()
        if not self.chief:
            task = tf_config()["task"]
            self.path = tempfile.mkdtemp(prefix=f"tfner-{task.get('type')}{task.get('index', 0)}-")

    def __enter__(self):
        os.makedirs(self.path, exist_ok=True)
        return self

    def __exit__(self, *exc):
        if not self.chief:
            shutil.rmtree(self.path, ignore_errors=True)
