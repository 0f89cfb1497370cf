"""Hyperparameter search over the training config with keras-tuner: `python -m tfner.tune`.

    python -m tfner.tune --show-space                       # the built-in space, JSON to copy and edit
    python -m tfner.tune --tuner bayesian --max-trials 8 --space space.json \\
        --train ../shared/datasets/conll2003/train.txt --validation ../shared/datasets/conll2003/valid.txt \\
        --epochs 1 --no-eval-before --directory runs/tuning --project-name conll
    python -m tfner.train --config runs/tuning/conll/best_config.json      # retrain the best trial

A search space maps `tfner.config.TrainConfig` field names to entries (a JSON file, or inline JSON):

    {"learning_rate": {"type": "float", "min": 1e-5, "max": 1e-3, "sampling": "log"},
     "head":          {"type": "choice", "values": ["linear", "mlp", "replace-last"]},
     "mlp_sizes":     {"type": "choice", "values": [[20, 8], [64]], "when": {"head": "mlp"}},
     "lora":          {"type": "boolean"},
     "lora_r":        {"type": "int", "min": 4, "max": 32, "step": 4, "when": {"lora": true}}}

Types: `float` and `int` (`min`, `max`, optional `step` and `sampling`: linear, log, reverse_log),
`choice` (`values`; lists such as mlp_sizes are allowed) and `boolean`; `when` makes an entry
conditional on a choice or boolean entry (sampled only when that one has one of the given values).
Every other field comes from the base config, given by the usual `tfner.train` flags and/or
`--config base.json`, and each trial trains `dataclasses.replace(base, **values)` through
`tfner.train.train` (a fresh encoder every trial), with its output in the trial's folder and
`collapse_action="raise"`: a collapsed trial, or one whose loss became NaN, is a failed trial and is
never the best. Hyperband sets `epochs` itself and continues its later rounds from the earlier round's
best checkpoint.

The project folder (`--directory`/`--project-name`) holds keras-tuner's state, one `trial_ID/` per
trial (its model, history and metrics in `execution0/`), and the results: `trials.json`,
`trials.csv`, `summary.txt`, `objective.png`, TensorBoard HParams logs in `hparams/`
(`tensorboard --logdir DIR/PROJECT/hparams`) and `best_config.json`, which `python -m tfner.train
--config` trains again with the same seed. Started again with the same arguments, a search resumes:
finished trials are kept and an interrupted one runs again (`--overwrite` starts afresh).

Distributed tuning, keras-tuner's chief/worker mode: start the same command in several processes
(same machine or not) with these variables. The chief (a KERASTUNER_TUNER_ID containing "chief")
runs no trial: it serves the oracle over gRPC at KERASTUNER_ORACLE_IP:KERASTUNER_ORACLE_PORT, blocks
until the search is over, then writes the results. Each worker asks it for trials, trains them and
reports the metrics back; failure messages and Hyperband checkpoints are files, so give every process
the same --directory on a shared file system.

    export KERASTUNER_ORACLE_IP=127.0.0.1 KERASTUNER_ORACLE_PORT=8000
    KERASTUNER_TUNER_ID=chief   python -m tfner.tune --tuner random --max-trials 8 ... &
    KERASTUNER_TUNER_ID=tuner0  python -m tfner.tune --tuner random --max-trials 8 ... &
    KERASTUNER_TUNER_ID=tuner1  python -m tfner.tune --tuner random --max-trials 8 ...
"""

import argparse
import contextlib
import csv
import dataclasses
import gc
import io
import json
import math
import os
import shutil
import sys
import time
import typing

import numpy as np

from tfner import _env  # noqa: F401
import keras_tuner
import tf_keras
from keras_tuner.engine.trial import TrialStatus

from tfner.evaluation import plots
from tfner.training import train as training
from tfner.evaluation.collapse import LabelCollapseError
from tfner.training.config import TrainConfig, add_config_arguments, config_from_args
from tfner.data.readers import DataError
from tfner.model.encoders import EncoderError

FIELD_TYPES = typing.get_type_hints(TrainConfig)
NOT_TUNABLE = {"output_dir": "each trial writes to its own folder in the project",
               "collapse_action": "trials always raise on collapse, so that a collapsed trial fails"}
ENTRY_KEYS = {"float": ({"min", "max"}, {"step", "sampling"}),
              "int": ({"min", "max"}, {"step", "sampling"}),
              "choice": ({"values"}, set()),
              "boolean": (set(), set())}
SAMPLINGS = ("linear", "log", "reverse_log")
# What run_trial reports for every trial; any of them can be the objective.
TRIAL_METRICS = ("val_f1", "val_precision", "val_recall", "val_accuracy", "val_loss", "train_seconds",
                 "epochs_run", "trainable_params", "seconds")
TUNERS = ("random", "bayesian", "hyperband", "grid")

DEFAULT_SPACE = {
    "learning_rate": {"type": "float", "min": 1e-5, "max": 1e-3, "sampling": "log"},
    "batch_size": {"type": "choice", "values": [16, 32]},
    "head": {"type": "choice", "values": ["linear", "mlp", "replace-last"]},
    "mlp_sizes": {"type": "choice", "values": [[20, 8], [64], [128, 64]], "when": {"head": ["mlp"]}},
    "dropout": {"type": "float", "min": 0.0, "max": 0.3, "step": 0.1},
    "lora": {"type": "boolean"},
    "lora_r": {"type": "int", "min": 4, "max": 32, "step": 4, "when": {"lora": [True]}},
    "lora_alpha": {"type": "choice", "values": [16.0, 32.0, 64.0], "when": {"lora": [True]}},
    "lora_dropout": {"type": "choice", "values": [0.0, 0.05, 0.1], "when": {"lora": [True]}},
    "warmup_ratio": {"type": "float", "min": 0.0, "max": 0.2, "step": 0.05},
    "epochs": {"type": "int", "min": 1, "max": 3},
}


class TuneError(ValueError):
    """A search that cannot start as asked: the message says what to change."""


class SpaceError(TuneError):
    """A search space entry that cannot be used; the message names the entry."""


# The search space ---------------------------------------------------------------------------------

def default_space(tuner="random"):
    """The built-in space (Hyperband sets epochs itself, so its space has none)."""
    space = json.loads(json.dumps(DEFAULT_SPACE))
    if tuner == "hyperband":
        del space["epochs"]
    return space


def load_space(source):
    """A space from a JSON file, or from inline JSON text starting with '{'."""
    text, where = source, "--space"
    if not source.lstrip().startswith("{"):
        if not os.path.isfile(source):
            raise SpaceError(f"{source}: no such space file (give a JSON file, or inline JSON starting "
                             "with '{')")
        with open(source) as f:
            text, where = f.read(), source
    try:
        return json.loads(text), where
    except json.JSONDecodeError as e:
        raise SpaceError(f"{where}: not valid JSON ({e})") from None


def parse_space(spec, base=None, source="space"):
    """Check a space against TrainConfig (field names, types, every value and bound); returns it
    normalised (`when` values as lists, float fields' values as floats), parents before children."""
    base = base or TrainConfig()
    if not isinstance(spec, dict) or not spec:
        raise SpaceError(f"{source}: expected a non-empty JSON object of TrainConfig field -> entry, got "
                         f"{json.dumps(spec)[:80]}")
    unknown = [name for name in spec if name not in FIELD_TYPES]
    if unknown:
        valid = ", ".join(n for n in FIELD_TYPES if n not in NOT_TUNABLE)
        raise SpaceError(f"{source}: {', '.join(map(repr, unknown))} is not a TrainConfig field; valid fields: "
                         f"{valid}")
    for name in spec:
        if name in NOT_TUNABLE:
            raise SpaceError(f"{source}: {name!r} cannot be tuned: {NOT_TUNABLE[name]}")
    space = {name: _parse_entry(name, entry, base, f"{source}: {name!r}") for name, entry in spec.items()}
    for name, entry in space.items():
        if "when" in entry:
            _check_condition(name, entry["when"], space, f"{source}: {name!r}")
    return {name: space[name] for name in _parents_first(space, source)}


def _parse_entry(name, entry, base, where):
    if not isinstance(entry, dict):
        raise SpaceError(f"{where}: expected an object such as {{\"type\": \"choice\", \"values\": [...]}}, "
                         f"got {json.dumps(entry)}")
    kind = entry.get("type")
    if kind not in ENTRY_KEYS:
        raise SpaceError(f"{where}: \"type\" must be one of {', '.join(ENTRY_KEYS)}, got {kind!r}")
    required, optional = ENTRY_KEYS[kind]
    extra = sorted(set(entry) - required - optional - {"type", "when"})
    if extra:
        raise SpaceError(f"{where}: unknown key(s) {', '.join(extra)} for type {kind}; allowed: "
                         f"{', '.join(sorted(required | optional | {'when'}))}")
    missing = sorted(required - set(entry))
    if missing:
        raise SpaceError(f"{where}: type {kind} needs {', '.join(missing)}")
    field_type = FIELD_TYPES[name]
    out = {"type": kind}
    if kind == "boolean":
        if field_type is not bool:
            raise SpaceError(f"{where}: type boolean needs a bool field, but {name} is {field_type.__name__} "
                             "(use choice)")
    elif kind == "choice":
        values = entry["values"]
        if not isinstance(values, list) or not values:
            raise SpaceError(f"{where}: \"values\" must be a non-empty list, got {json.dumps(values)}")
        values = [float(v) if field_type is float and _is_number(v) else v for v in values]
        for value in values:
            _check_value(name, value, base, where)
        if len({json.dumps(v) for v in values}) != len(values):
            raise SpaceError(f"{where}: \"values\" has duplicates: {json.dumps(values)}")
        out["values"] = values
    else:
        number = "a number" if kind == "float" else "an integer"
        if field_type is not {"float": float, "int": int}[kind]:
            instead = "int or choice" if field_type is int else "choice"
            raise SpaceError(f"{where}: type {kind} needs {'a float' if kind == 'float' else 'an int'} field, "
                             f"but {name} is {field_type.__name__} (use {instead})")
        lo, hi = entry["min"], entry["max"]
        for key, value in (("min", lo), ("max", hi)):
            if not _is_number(value) or (kind == "int" and not isinstance(value, int)):
                raise SpaceError(f"{where}: \"{key}\" must be {number}, got {json.dumps(value)}")
            _check_value(name, float(value) if kind == "float" else value, base, where)
        if not lo < hi:
            raise SpaceError(f"{where}: \"min\" ({lo}) must be below \"max\" ({hi}); for one value leave "
                             "the field out of the space and set it in the base config")
        sampling = entry.get("sampling", "linear")
        if sampling not in SAMPLINGS:
            raise SpaceError(f"{where}: \"sampling\" must be one of {', '.join(SAMPLINGS)}, got {sampling!r}")
        if sampling != "linear" and lo <= 0:
            raise SpaceError(f"{where}: {sampling} sampling needs \"min\" > 0, got {lo}")
        out.update(min=float(lo) if kind == "float" else lo, max=float(hi) if kind == "float" else hi,
                   sampling=sampling)
        if "step" in entry:
            step = entry["step"]
            if not _is_number(step) or step <= 0 or (kind == "int" and not isinstance(step, int)):
                raise SpaceError(f"{where}: \"step\" must be {number} above 0, got {json.dumps(step)}")
            if sampling != "linear" and step <= 1:
                raise SpaceError(f"{where}: with {sampling} sampling \"step\" is a factor and must be > 1, "
                                 f"got {step}")
            out["step"] = step
    if "when" in entry:
        when = entry["when"]
        if not isinstance(when, dict) or len(when) != 1:
            raise SpaceError(f"{where}: \"when\" must name one parent entry, such as {{\"lora\": true}} or "
                             f"{{\"head\": [\"mlp\"]}}, got {json.dumps(when)}")
        (parent, values), = when.items()
        out["when"] = {parent: values if isinstance(values, list) else [values]}
    return out


def _is_number(value):
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def _check_value(name, value, base, where):
    """The value must make a valid TrainConfig with the base (the config's own type and range checks)."""
    try:
        dataclasses.replace(base, **{name: value})
    except (TypeError, ValueError) as e:
        raise SpaceError(f"{where}: {json.dumps(value)} is not a valid value ({e})") from None


def _check_condition(name, when, space, where):
    (parent, values), = when.items()
    if parent == name or parent not in space:
        raise SpaceError(f"{where}: \"when\" refers to {parent!r}, which is not another entry of the space")
    kind = space[parent]["type"]
    if kind not in ("choice", "boolean"):
        raise SpaceError(f"{where}: \"when\" needs a choice or boolean parent; {parent!r} is {kind}")
    domain = [True, False] if kind == "boolean" else space[parent]["values"]
    if not values or any(v not in domain or isinstance(v, bool) != isinstance(domain[0], bool)
                         for v in values):
        raise SpaceError(f"{where}: \"when\" values {json.dumps(values)} must be among {parent!r}'s values "
                         f"{json.dumps(domain)}")


def _parents_first(space, source):
    order, visiting = [], set()

    def visit(name):
        if name in order:
            return
        if name in visiting:
            raise SpaceError(f"{source}: the \"when\" conditions of {name!r} form a cycle")
        visiting.add(name)
        for parent in space[name].get("when", {}):
            visit(parent)
        order.append(name)

    for name in space:
        visit(name)
    return order


def _encode(name, value):
    """A config value as keras-tuner holds it: lists and dicts as JSON text, float fields as floats."""
    kind = FIELD_TYPES[name]
    if kind in (list, dict):
        return json.dumps(value)
    return float(value) if kind is float else value


def _decode(name, value):
    """A keras-tuner value as the config field wants it (floats rounded to 6 significant digits)."""
    kind = FIELD_TYPES[name]
    if kind in (list, dict):
        return json.loads(value) if isinstance(value, str) else value
    if kind is float:
        return float(f"{float(value):.6g}")
    return kind(value)


def hyperparameters(space):
    """The keras-tuner `HyperParameters` of a parsed space (conditions through parent_name/values)."""
    hp = keras_tuner.HyperParameters()
    for name, entry in space.items():
        condition = {}
        if "when" in entry:
            (parent, values), = entry["when"].items()
            condition = dict(parent_name=parent, parent_values=[_encode(parent, v) for v in values])
        kind = entry["type"]
        if kind in ("float", "int"):
            make = hp.Float if kind == "float" else hp.Int
            make(name, entry["min"], entry["max"], step=entry.get("step"), sampling=entry["sampling"],
                 **condition)
        elif kind == "choice":
            hp.Choice(name, [_encode(name, v) for v in entry["values"]], **condition)
        else:
            hp.Boolean(name, **condition)
    return hp


def config_for(base, values, **changes):
    """`dataclasses.replace(base, **hp)` for a trial's values; Hyperband's `tuner/epochs` sets epochs."""
    hp = {name: _decode(name, v) for name, v in values.items() if not name.startswith("tuner/")}
    if "tuner/epochs" in values:
        hp["epochs"] = int(values["tuner/epochs"])
    return dataclasses.replace(base, **{**hp, **changes})


def _active_values(hps):
    return {name: value for name, value in hps.values.items()
            if name.startswith("tuner/") or hps.is_active(name)}


# Tuners ---------------------------------------------------------------------------------------------

def make_objective(text="val_f1"):
    """`keras_tuner.Objective` from 'name' or 'name:max'/'name:min' (losses and seconds: min, others max)."""
    name, _, direction = text.partition(":")
    if name not in TRIAL_METRICS:
        raise TuneError(f"--objective {text!r}: expected one of {', '.join(TRIAL_METRICS)}, optionally with "
                        ":max or :min")
    direction = direction or ("min" if "loss" in name or "seconds" in name else "max")
    if direction not in ("max", "min"):
        raise TuneError(f"--objective {text!r}: the direction must be max or min")
    return keras_tuner.Objective(name, direction)


def make_oracle(kind, space, objective="val_f1", max_trials=None, seed=42, max_consecutive_failed_trials=3,
                initial_points=None, max_epochs=3, factor=3, hyperband_iterations=1):
    """The keras-tuner oracle for `kind` (random, bayesian, hyperband, grid) over a parsed space."""
    if kind not in TUNERS:
        raise TuneError(f"unknown tuner {kind!r}; expected one of {', '.join(TUNERS)}")
    if kind == "hyperband" and "epochs" in space:
        raise SpaceError("space: 'epochs' cannot be tuned by Hyperband, which sets each trial's epochs "
                         "itself (--max-epochs); leave it out of the space")
    common = dict(objective=make_objective(objective) if isinstance(objective, str) else objective,
                  hyperparameters=hyperparameters(space), seed=seed,
                  max_consecutive_failed_trials=max_consecutive_failed_trials)
    if kind == "hyperband":
        return keras_tuner.oracles.HyperbandOracle(max_epochs=max_epochs, factor=factor,
                                                   hyperband_iterations=hyperband_iterations, **common)
    if kind == "grid":
        return keras_tuner.oracles.GridSearchOracle(max_trials=max_trials, **common)
    max_trials = max_trials or 10
    if kind == "random":
        return keras_tuner.oracles.RandomSearchOracle(max_trials=max_trials, **common)
    if initial_points is None:  # keras-tuner's 3 x dimensions would leave a short search all random
        initial_points = max(2, min(3 * len(space), max_trials // 2))
    return keras_tuner.oracles.BayesianOptimizationOracle(max_trials=max_trials,
                                                          num_initial_points=initial_points, **common)


def distributed_role():
    """'chief', 'worker' or None, from keras-tuner's KERASTUNER_* variables (incomplete ones are an error)."""
    if "KERASTUNER_ORACLE_IP" not in os.environ:
        return None
    missing = [v for v in ("KERASTUNER_ORACLE_PORT", "KERASTUNER_TUNER_ID") if not os.environ.get(v)]
    if missing:
        raise TuneError(f"KERASTUNER_ORACLE_IP is set, so this is distributed tuning, but "
                        f"{' and '.join(missing)} {'is' if len(missing) == 1 else 'are'} not: set "
                        "KERASTUNER_TUNER_ID (containing 'chief' for the chief) and KERASTUNER_ORACLE_PORT in "
                        "every process")
    return "chief" if "chief" in os.environ["KERASTUNER_TUNER_ID"] else "worker"


class NERTuner(keras_tuner.Tuner):
    """A keras-tuner `Tuner` whose trials are `tfner.train.train` runs of `config_for(base, values)`.

    It never builds a Keras model itself (keras-tuner 1.4.8 accepts only Keras 3 models from a
    HyperModel, and these are tf_keras), so `run_trial` is all of it: one training per execution,
    memory released after each, the validation metrics returned as floats. `load_model` gives a
    trial's saved `Tagger`; `search` writes the results (except on a worker).
    """

    def __init__(self, base_config, oracle, space, tuner="random", executions_per_trial=1,
                 directory="runs/tuning", project_name="search", overwrite=False):
        self.base_config, self.space, self.kind = base_config, space, tuner
        role = distributed_role()
        overwrite = overwrite and role != "worker"  # the chief owns the project folder
        objective = f"{oracle.objective.name}:{oracle.objective.direction}"
        self._settings = {"tuner": tuner, "objective": objective, "executions_per_trial": executions_per_trial,
                          "space": space, "base_config": _comparable(base_config)}
        if role != "worker" and not overwrite:
            _check_same_search(os.path.join(str(directory), project_name), self._settings)
        super().__init__(oracle=oracle, executions_per_trial=executions_per_trial, directory=directory,
                         project_name=project_name, overwrite=overwrite)
        if role != "worker":
            with open(os.path.join(self.project_dir, "search.json"), "w") as f:
                json.dump({**self._settings, "base_config": dataclasses.asdict(base_config)}, f, indent=1)

    # Trials -----------------------------------------------------------------------------------------

    def execution_dir(self, trial_id, execution=0):
        return os.path.join(self.get_trial_dir(trial_id), f"execution{execution}")

    def run_trial(self, trial, *args, **kwargs):
        values = _active_values(trial.hyperparameters)
        start = time.perf_counter()
        try:
            runs = [self._run_execution(trial.trial_id, values, i) for i in range(self.executions_per_trial)]
        except keras_tuner.errors.FailedTrialError as e:
            self._write_outcome(trial.trial_id, "FAILED", time.perf_counter() - start, str(e))
            raise  # keras-tuner marks the trial FAILED and prints the error
        metrics = {name: float(np.mean([run[name] for run in runs])) for name in runs[0]}
        metrics["seconds"] = time.perf_counter() - start
        self._write_outcome(trial.trial_id, "COMPLETED", metrics["seconds"])
        return metrics

    def _run_execution(self, trial_id, values, execution):
        try:
            config = config_for(self.base_config, values, output_dir=self.execution_dir(trial_id, execution),
                                collapse_action="raise")
            if execution:  # each further execution starts from another initialisation
                config = dataclasses.replace(config, seed=config.seed + execution)
        except ValueError as e:
            raise keras_tuner.errors.FailedTrialError(f"not a valid training config: {e}") from None
        initial_epoch, weights = int(values.get("tuner/initial_epoch", 0)), None
        if "tuner/trial_id" in values:  # a later Hyperband round: go on from the earlier round's best
            weights = os.path.join(self.execution_dir(values["tuner/trial_id"], execution),
                                   training.BEST_CHECKPOINT)
            if not os.path.exists(weights):
                print(f"warning: {weights} not found (trial {values['tuner/trial_id']} ran elsewhere?): "
                      f"training from scratch for {config.epochs} epochs", file=sys.stderr)
                initial_epoch, weights = 0, None
        try:
            return _trial_metrics(_train(config, initial_epoch=initial_epoch, initial_weights=weights))
        except (LabelCollapseError, training.TrainingError) as e:
            raise keras_tuner.errors.FailedTrialError(f"{type(e).__name__}: {e}") from None
        except (DataError, EncoderError) as e:  # every trial would fail the same way
            raise keras_tuner.errors.FatalError(str(e)) from e
        finally:
            tf_keras.backend.clear_session()
            gc.collect()

    def _write_outcome(self, trial_id, status, seconds, error=None):
        """Beside keras-tuner's trial.json: what the chief cannot learn over gRPC (the error, the time)."""
        with open(os.path.join(self.get_trial_dir(trial_id), "outcome.json"), "w") as f:
            json.dump({"status": status, "seconds": seconds, "error": error}, f, indent=1)

    def save_model(self, trial_id, model, step=0):
        """Nothing to do: `tfner.train` has saved the trial's model in its execution folder."""

    def load_model(self, trial):
        """The trial's trained `Tagger` (its first execution), not a Keras model."""
        from tfner.model.tagger import Tagger

        return Tagger.load(self.execution_dir(trial.trial_id, 0))

    def on_trial_end(self, trial):
        super().on_trial_end(trial)
        if not self._is_worker():  # cheap: an interrupted search still leaves its table
            self._write_tables(self.trial_rows())

    def search(self, *args, **kwargs):
        """Run trials until the oracle stops (a chief serves the oracle instead), then write the results
        (not on a worker: the chief does) and return them."""
        try:
            super().search(*args, **kwargs)
        except RuntimeError as e:  # the oracle's "Number of consecutive failures exceeded the limit"
            if "consecutive failures" not in str(e):
                raise
            print(f"search stopped: {str(e).splitlines()[0]} (--max-consecutive-failed-trials)",
                  file=sys.stderr)
        if self._is_worker():
            print("worker finished: the chief writes the results")
            return None
        return self.write_results()

    # Results ----------------------------------------------------------------------------------------

    def trial_rows(self):
        """One dict per trial in the order they started: id, status, score, values, metrics, seconds, error."""
        trials = self.oracle.trials
        order = [t for t in self.oracle.start_order if t in trials] + \
            sorted(t for t in trials if t not in self.oracle.start_order)
        rows = []
        for trial_id in order:
            trial = trials[trial_id]
            values = _active_values(trial.hyperparameters)
            outcome_path = os.path.join(self.project_dir, f"trial_{trial_id}", "outcome.json")
            outcome = {}
            if os.path.exists(outcome_path):
                with open(outcome_path) as f:
                    outcome = json.load(f)
            metrics = {name: _finite(trial.metrics.get_last_value(name)) for name in trial.metrics.metrics}
            error = None
            if trial.status != TrialStatus.COMPLETED:
                error = outcome.get("error") or _last_line(trial.message)
            rows.append({
                "trial_id": trial_id, "status": trial.status,
                "score": _finite(trial.score) if trial.status == TrialStatus.COMPLETED else None,
                "hyperparameters": {n: _decode(n, v) for n, v in values.items()
                                    if not n.startswith("tuner/")},
                "hyperband": {k.split("/")[1]: v for k, v in values.items() if k.startswith("tuner/")},
                "metrics": metrics,
                "seconds": metrics.get("seconds", outcome.get("seconds")),
                "error": error,
            })
        return rows

    def best_row(self, rows=None):
        """The completed trial with the best objective, or None (failed trials never qualify)."""
        done = [r for r in (rows or self.trial_rows()) if r["status"] == TrialStatus.COMPLETED
                and r["score"] is not None]
        if not done:
            return None
        pick = max if self.oracle.objective.direction == "max" else min
        return pick(done, key=lambda r: r["score"])

    def best_config(self, row=None):
        """The TrainConfig that trains the best trial again (same seed; output to PROJECT/best)."""
        row = row or self.best_row()
        if row is None:
            return None
        values = {**{n: _encode(n, v) for n, v in row["hyperparameters"].items()},
                  **{f"tuner/{k}": v for k, v in row["hyperband"].items() if k == "epochs"}}
        return config_for(self.base_config, values, output_dir=os.path.join(self.project_dir, "best"))

    def write_results(self):
        """trials.json/.csv, best_config.json, objective.png, hparams/ and summary.txt; returns a dict."""
        rows = self.trial_rows()
        objective = self.oracle.objective.name
        self._write_tables(rows)
        best = self.best_row(rows)
        best_path = os.path.join(self.project_dir, "best_config.json")
        if best is not None:
            self.best_config(best).to_json(best_path)
        elif os.path.exists(best_path):
            os.remove(best_path)
        plots.plot_trials(rows, objective, os.path.join(self.project_dir, "objective.png"),
                          f"{self.kind} search: {objective} per trial ({self.oracle.objective.direction})",
                          labels=[_short(r["hyperparameters"]) for r in rows],
                          direction=self.oracle.objective.direction)
        self._write_hparams(rows)
        summary = io.StringIO()
        with contextlib.redirect_stdout(summary):
            completed = sum(r["status"] == TrialStatus.COMPLETED for r in rows)
            self.results_summary(num_trials=min(10, completed) or 1)
        text = summary.getvalue() + "\n" + format_table(rows, self.space, objective) + "\n\n"
        text += (f"best: trial {best['trial_id']}, {objective} {best['score']:.4f}; retrain it with\n"
                 f"  python -m tfner.train --config {best_path}\n" if best else
                 "no trial completed: no best config (see the error column)\n")
        with open(os.path.join(self.project_dir, "summary.txt"), "w") as f:
            f.write(text)
        print(text)
        return {"trials": rows, "best": best, "best_config": best_path if best else None,
                "project_dir": self.project_dir}

    def _write_tables(self, rows):
        with open(os.path.join(self.project_dir, "trials.json"), "w") as f:
            json.dump({"objective": self.oracle.objective.name, "direction": self.oracle.objective.direction,
                       "tuner": self.kind, "trials": rows}, f, indent=1)
        hp_names = list(self.space)
        metric_names = [m for m in TRIAL_METRICS if m != "seconds" and any(m in r["metrics"] for r in rows)]
        band = sorted({k for r in rows for k in r["hyperband"]})
        with open(os.path.join(self.project_dir, "trials.csv"), "w", newline="") as f:
            writer = csv.writer(f)
            writer.writerow(["trial_id", "status", "score", *hp_names, *[f"tuner/{k}" for k in band],
                             *metric_names, "seconds", "error"])
            for r in rows:
                hp = r["hyperparameters"]
                writer.writerow([r["trial_id"], r["status"], _cell(r["score"]),
                                 *[_cell(hp.get(n)) for n in hp_names],
                                 *[_cell(r["hyperband"].get(k)) for k in band],
                                 *[_cell(r["metrics"].get(m)) for m in metric_names], _cell(r["seconds"]),
                                 r["error"] or ""])

    def _write_hparams(self, rows):
        """TensorBoard HParams: the space and metrics at the top, one run per trial."""
        import tensorflow as tf
        from tensorboard.plugins.hparams import api as hparams_api

        root = os.path.join(self.project_dir, "hparams")
        shutil.rmtree(root, ignore_errors=True)
        domains = {name: hparams_api.HParam(name, _hparam_domain(entry, name, hparams_api))
                   for name, entry in self.space.items()}
        metric_names = [m for m in TRIAL_METRICS if any(r["metrics"].get(m) is not None for r in rows)]
        writer = tf.summary.create_file_writer(root)
        with writer.as_default():
            hparams_api.hparams_config(hparams=list(domains.values()),
                                       metrics=[hparams_api.Metric(m, display_name=m) for m in metric_names])
        writer.close()
        for r in rows:
            writer = tf.summary.create_file_writer(os.path.join(root, f"trial_{r['trial_id']}"))
            with writer.as_default():
                hparams_api.hparams({domains[n]: _encode(n, v) for n, v in r["hyperparameters"].items()},
                                    trial_id=r["trial_id"])
                for m in metric_names:
                    if r["metrics"].get(m) is not None:
                        tf.summary.scalar(m, r["metrics"][m], step=0)
            writer.close()


def _train(config, **kwargs):
    """`tfner.train.train`'s metrics only: the tagger is let go at once, so clear_session can free it."""
    return training.train(config, **kwargs)[1]


def _trial_metrics(metrics):
    v = metrics["validation"]
    return {"val_f1": v["f1"], "val_precision": v["precision"], "val_recall": v["recall"],
            "val_accuracy": v["accuracy"], "val_loss": v["loss"], "train_seconds": metrics["train_seconds"],
            "epochs_run": metrics["epochs_run"], "trainable_params": metrics["trainable_params"]}


def _comparable(config):
    """The base config's fields that change what trials train (not where they write or how they print)."""
    return {k: v for k, v in dataclasses.asdict(config).items() if k not in ("output_dir", "verbose")}


def _check_same_search(project_dir, settings):
    path = os.path.join(project_dir, "search.json")
    if not os.path.exists(path):
        return
    with open(path) as f:
        saved = json.load(f)
    saved["base_config"] = {k: v for k, v in saved.get("base_config", {}).items()
                            if k not in ("output_dir", "verbose")}
    same = lambda a, b: json.dumps(a, sort_keys=True) == json.dumps(b, sort_keys=True)  # noqa: E731
    differs = [k for k in settings if not same(saved.get(k), settings[k])]
    if differs:
        detail = [d for d in differs if d != "base_config"]
        if "base_config" in differs:
            fields = [k for k in settings["base_config"]
                      if not same(saved["base_config"].get(k), settings["base_config"][k])]
            detail.append(f"base config field(s) {', '.join(fields)}")
        raise TuneError(f"{project_dir} holds a search started with a different {', '.join(detail)} (see "
                        f"{path}); run it again with the same settings to resume, or start afresh with "
                        "--overwrite or another --project-name")


def _hparam_domain(entry, name, api):
    kind = entry["type"]
    if kind == "boolean":
        return api.Discrete([True, False])
    if kind == "choice":
        return api.Discrete([_encode(name, v) for v in entry["values"]])
    if kind == "int" and entry.get("step") and entry["sampling"] == "linear":
        return api.Discrete(list(range(entry["min"], entry["max"] + 1, entry["step"])))
    if kind == "int":
        return api.IntInterval(entry["min"], entry["max"])
    return api.RealInterval(float(entry["min"]), float(entry["max"]))


def _finite(value):
    return float(value) if value is not None and math.isfinite(float(value)) else None


def _last_line(text):
    lines = [line for line in (text or "").strip().splitlines() if line.strip()]
    return lines[-1].split(": ", 1)[-1] if lines else None


def _cell(value):
    if value is None:
        return ""
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() and abs(value) < 1e15 else f"{value:.6g}"
    return json.dumps(value) if isinstance(value, (list, dict, bool)) else str(value)


def _short(hp):
    """A compact label of a trial's values for plots: 'mlp lora r8 lr=0.0003'."""
    parts = []
    for name, value in hp.items():
        if isinstance(value, bool):
            parts.append(name if value else f"no-{name}")
        elif name == "head":
            parts.append(str(value))
        else:
            parts.append(f"{name.replace('learning_rate', 'lr')}={_cell(value)}")
    return " ".join(parts)


def format_table(rows, space, objective):
    """A markdown table of the trials: id, status, objective, the space's values, seconds, error."""
    names = list(space)
    band = sorted({k for r in rows for k in r["hyperband"]})
    head = ["trial", "status", objective, *names, *[f"tuner/{k}" for k in band], "seconds", "error"]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for r in rows:
        score = f"{r['score']:.4f}" if r["score"] is not None else ""
        seconds = f"{r['seconds']:.0f}" if r["seconds"] is not None else ""
        error = (r["error"] or "")[:90].replace("|", "/")
        cells = [r["trial_id"], r["status"], score, *[_cell(r["hyperparameters"].get(n)) for n in names],
                 *[_cell(r["hyperband"].get(k)) for k in band], seconds, error]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


# Command line -----------------------------------------------------------------------------------------

def make_tuner(base_config, space=None, tuner="random", max_trials=None, executions_per_trial=1,
               objective="val_f1", directory="runs/tuning", project_name="search", overwrite=False, seed=None,
               max_consecutive_failed_trials=3, initial_points=None, max_epochs=None, factor=3,
               hyperband_iterations=1):
    """An `NERTuner` over `space` (a spec dict, parsed here; None: the built-in space) from `base_config`."""
    space = parse_space(default_space(tuner) if space is None else space, base_config)
    oracle = make_oracle(tuner, space, objective, max_trials=max_trials,
                         seed=base_config.seed if seed is None else seed,
                         max_consecutive_failed_trials=max_consecutive_failed_trials,
                         initial_points=initial_points, max_epochs=max_epochs or base_config.epochs,
                         factor=factor, hyperband_iterations=hyperband_iterations)
    return NERTuner(base_config, oracle, space, tuner=tuner, executions_per_trial=executions_per_trial,
                    directory=directory, project_name=project_name, overwrite=overwrite)


def _positive(text):
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be a positive integer, got {text}")
    return value


def build_parser():
    parser = argparse.ArgumentParser(prog="python -m tfner.tune", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    search = parser.add_argument_group("search")
    search.add_argument("--tuner", choices=TUNERS, default="random",
                        help="Search algorithm (default: random).")
    search.add_argument("--max-trials", type=_positive, help="Trials to run in all, resumed ones included "
                        "(default: 10; grid: the whole grid; hyperband: set by --max-epochs and --factor).")
    search.add_argument("--executions-per-trial", type=_positive, default=1,
                        help="Trainings per trial, seeds seed, seed+1, ...; the metrics are averaged "
                        "(default: 1).")
    search.add_argument("--objective", default="val_f1",
                        help=f"Metric to optimise, NAME or NAME:max/NAME:min; one of "
                        f"{', '.join(TRIAL_METRICS)} (default: val_f1, maximised).")
    search.add_argument("--space", metavar="SPACE.JSON",
                        help="Search space: a JSON file or inline JSON (default: the built-in space, see "
                        "--show-space).")
    search.add_argument("--show-space", action="store_true", help="Print the search space as JSON and exit.")
    search.add_argument("--directory", default="runs/tuning",
                        help="Parent folder of the project (default: runs/tuning).")
    search.add_argument("--project-name", default="search", help="Project folder name (default: search).")
    search.add_argument("--overwrite", action="store_true",
                        help="Delete the project and start afresh (default: resume it).")
    search.add_argument("--tuner-seed", type=int, help="Seed of the oracle's sampling (default: --seed).")
    search.add_argument("--max-consecutive-failed-trials", type=_positive, default=3,
                        help="Stop the search after this many failed trials in a row (default: 3).")
    search.add_argument("--initial-points", type=_positive,
                        help="bayesian: random trials before the Gaussian process guides the search "
                        "(default: 3 per dimension, at most half of --max-trials, at least 2).")
    search.add_argument("--max-epochs", type=_positive,
                        help="hyperband: epochs of the longest trials (default: --epochs).")
    search.add_argument("--factor", type=int, default=3, help="hyperband: reduction factor (default: 3).")
    search.add_argument("--hyperband-iterations", type=_positive, default=1,
                        help="hyperband: times to run the whole algorithm (default: 1).")
    add_config_arguments(parser.add_argument_group("base training config (what the space leaves alone; "
                                                   "--output-dir is not used)"))
    return parser


def main(argv=None):
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        base = config_from_args(args)
        if args.space:
            spec, source = load_space(args.space)
            space = parse_space(spec, base, source)
        else:
            space = parse_space(default_space(args.tuner), base, "built-in space")
        if args.show_space:
            print(json.dumps(space, indent=1))
            return 0
        if args.tuner == "hyperband" and args.max_trials:
            print("note: --max-trials is ignored by hyperband (--max-epochs and --factor set the trials)",
                  file=sys.stderr)
        tuner = make_tuner(base, space, tuner=args.tuner, max_trials=args.max_trials,
                           executions_per_trial=args.executions_per_trial, objective=args.objective,
                           directory=args.directory, project_name=args.project_name, overwrite=args.overwrite,
                           seed=args.tuner_seed,
                           max_consecutive_failed_trials=args.max_consecutive_failed_trials,
                           initial_points=args.initial_points, max_epochs=args.max_epochs, factor=args.factor,
                           hyperband_iterations=args.hyperband_iterations)
        results = tuner.search()
    except (TuneError, DataError, EncoderError, keras_tuner.errors.FatalError, ValueError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("\ninterrupted: run the same command again to resume (the unfinished trial runs again, from "
              "its last finished epoch)", file=sys.stderr)
        return 130
    if results is not None and results["best"] is None:
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
