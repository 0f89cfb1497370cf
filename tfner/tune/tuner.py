"""The search itself: the objective and oracle of each algorithm, and `NERTuner`, a keras-tuner `Tuner`
whose trials are `tfner.training.train.train` runs; `make_tuner` puts them together over a space.

A resumed project must be the same search: `search.json` holds the settings it started with, and
another space, objective, tuner or base config is refused (`--overwrite` starts afresh).
"""

import gc
import json
import os
import sys
import time

import keras_tuner
import numpy as np
import tf_keras

from tfner.data.readers import DataError
from tfner.evaluation.collapse import LabelCollapseError
from tfner.model.encoders import EncoderError
from tfner.training import train as training
from tfner.training.config import TrainConfig
from tfner.tune import report
from tfner.tune.space import (
    TRIAL_METRICS,
    TUNERS,
    SpaceError,
    TuneError,
    active_values,
    config_for,
    default_space,
    hyperparameters,
    parse_space,
)

NOT_COMPARED = ("output_dir", "verbose")  # base config settings a resumed search may change


def make_objective(text="val_f1"):
    """`keras_tuner.Objective` from 'name' or 'name:max'/'name:min' (losses and seconds: min, others max)."""
    name, _, direction = text.partition(":")
    if name not in TRIAL_METRICS:
        raise TuneError(
            f"--objective {text!r}: expected one of {', '.join(TRIAL_METRICS)}, optionally with :max or :min"
        )
    direction = direction or ("min" if "loss" in name or "seconds" in name else "max")
    if direction not in ("max", "min"):
        raise TuneError(f"--objective {text!r}: the direction must be max or min")
    return keras_tuner.Objective(name, direction)


def make_oracle(
    kind,
    space,
    objective="val_f1",
    max_trials=None,
    seed=42,
    max_consecutive_failed_trials=3,
    initial_points=None,
    max_epochs=3,
    factor=3,
    hyperband_iterations=1,
):
    """The keras-tuner oracle for `kind` (random, bayesian, hyperband, grid) over a parsed space."""
    if kind not in TUNERS:
        raise TuneError(f"unknown tuner {kind!r}; expected one of {', '.join(TUNERS)}")
    if kind == "hyperband" and "epochs" in space:
        raise SpaceError(
            "space: 'epochs' cannot be tuned by Hyperband, which sets each trial's epochs "
            "itself (--max-epochs); leave it out of the space"
        )
    common = dict(
        objective=make_objective(objective) if isinstance(objective, str) else objective,
        hyperparameters=hyperparameters(space),
        seed=seed,
        max_consecutive_failed_trials=max_consecutive_failed_trials,
    )
    if kind == "hyperband":
        return keras_tuner.oracles.HyperbandOracle(
            max_epochs=max_epochs, factor=factor, hyperband_iterations=hyperband_iterations, **common
        )
    if kind == "grid":
        return keras_tuner.oracles.GridSearchOracle(max_trials=max_trials, **common)
    max_trials = max_trials or 10
    if kind == "random":
        return keras_tuner.oracles.RandomSearchOracle(max_trials=max_trials, **common)
    if initial_points is None:  # keras-tuner's 3 x dimensions would leave a short search all random
        initial_points = max(2, min(3 * len(space), max_trials // 2))
    return keras_tuner.oracles.BayesianOptimizationOracle(
        max_trials=max_trials, num_initial_points=initial_points, **common
    )


def distributed_role():
    """'chief', 'worker' or None, from keras-tuner's KERASTUNER_* variables (incomplete ones are an error)."""
    if "KERASTUNER_ORACLE_IP" not in os.environ:
        return None
    missing = [v for v in ("KERASTUNER_ORACLE_PORT", "KERASTUNER_TUNER_ID") if not os.environ.get(v)]
    if missing:
        raise TuneError(
            f"KERASTUNER_ORACLE_IP is set, so this is distributed tuning, but "
            f"{' and '.join(missing)} {'is' if len(missing) == 1 else 'are'} not: set "
            "KERASTUNER_TUNER_ID (containing 'chief' for the chief) and KERASTUNER_ORACLE_PORT in "
            "every process"
        )
    return "chief" if "chief" in os.environ["KERASTUNER_TUNER_ID"] else "worker"


class NERTuner(keras_tuner.Tuner):
    """A keras-tuner `Tuner` whose trials are `tfner.training.train.train` runs of `config_for(base, values)`.

    It never builds a Keras model itself (keras-tuner 1.4.8 accepts only Keras 3 models from a
    HyperModel, and these are tf_keras), so `run_trial` is all of it: one training per execution,
    memory released after each, the validation metrics returned as floats. `load_model` gives a
    trial's saved `Tagger`; `search` writes the results (`tfner.tune.report`; not on a worker).
    """

    def __init__(
        self,
        base_config,
        oracle,
        space,
        tuner="random",
        executions_per_trial=1,
        directory="runs/tuning",
        project_name="search",
        overwrite=False,
    ):
        self.base_config, self.space, self.kind = base_config, space, tuner
        role = distributed_role()
        overwrite = overwrite and role != "worker"  # the chief owns the project folder
        objective = f"{oracle.objective.name}:{oracle.objective.direction}"
        settings = {
            "tuner": tuner,
            "objective": objective,
            "executions_per_trial": executions_per_trial,
            "space": space,
            "base_config": comparable(base_config),
        }
        if role != "worker" and not overwrite:
            check_same_search(os.path.join(str(directory), project_name), settings)
        super().__init__(
            oracle=oracle,
            executions_per_trial=executions_per_trial,
            directory=directory,
            project_name=project_name,
            overwrite=overwrite,
        )
        if role != "worker":
            with open(os.path.join(self.project_dir, "search.json"), "w") as f:
                json.dump({**settings, "base_config": base_config.to_dict()}, f, indent=1)

    def execution_dir(self, trial_id, execution=0):
        return os.path.join(self.get_trial_dir(trial_id), f"execution{execution}")

    def run_trial(self, trial, *args, **kwargs):
        values = active_values(trial.hyperparameters)
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
            config = config_for(
                self.base_config, values, output_dir=self.execution_dir(trial_id, execution), collapse_action="raise"
            )
            if execution:  # each further execution starts from another initialisation
                config = config.replace(seed=config.seed + execution)
        except ValueError as e:
            raise keras_tuner.errors.FailedTrialError(f"not a valid training config: {e}") from None
        initial_epoch, weights = int(values.get("tuner/initial_epoch", 0)), None
        if "tuner/trial_id" in values:  # a later Hyperband round: go on from the earlier round's best
            weights = os.path.join(self.execution_dir(values["tuner/trial_id"], execution), training.BEST_CHECKPOINT)
            if not os.path.exists(weights):
                print(
                    f"warning: {weights} not found (trial {values['tuner/trial_id']} ran elsewhere?): "
                    f"training from scratch for {config.epochs} epochs",
                    file=sys.stderr,
                )
                initial_epoch, weights = 0, None
        try:
            # the metrics only: the tagger is let go at once, so clear_session can free it
            _, metrics = training.train(config, initial_epoch=initial_epoch, initial_weights=weights)
            return _trial_metrics(metrics)
        except (LabelCollapseError, training.TrainingError) as e:
            raise keras_tuner.errors.FailedTrialError(f"{type(e).__name__}: {e}") from None
        except (DataError, EncoderError) as e:  # every trial would fail the same way
            raise keras_tuner.errors.FatalError(str(e)) from e
        finally:
            tf_keras.backend.clear_session()
            gc.collect()

    def _write_outcome(self, trial_id, status, seconds, error=None):
        """What the chief cannot learn over gRPC (the error, the time), for `report.trial_rows`."""
        with open(os.path.join(self.get_trial_dir(trial_id), report.OUTCOME), "w") as f:
            json.dump({"status": status, "seconds": seconds, "error": error}, f, indent=1)

    def save_model(self, trial_id, model, step=0):
        """Nothing to do: `tfner.training.train` has saved the trial's model in its execution folder."""

    def load_model(self, trial):
        """The trial's trained `Tagger` (its first execution), not a Keras model."""
        from tfner.model.tagger import Tagger

        return Tagger.load(self.execution_dir(trial.trial_id, 0))

    def on_trial_end(self, trial):
        super().on_trial_end(trial)
        if not self._is_worker():  # cheap: an interrupted search still leaves its table
            report.write_tables(self, report.trial_rows(self))

    def search(self, *args, **kwargs):
        """Run trials until the oracle stops (a chief serves the oracle instead), then write the results
        (not on a worker: the chief does) and return them (`report.write_results`)."""
        try:
            super().search(*args, **kwargs)
        except RuntimeError as e:  # the oracle's "Number of consecutive failures exceeded the limit"
            if "consecutive failures" not in str(e):
                raise
            print(f"search stopped: {str(e).splitlines()[0]} (--max-consecutive-failed-trials)", file=sys.stderr)
        if self._is_worker():
            print("worker finished: the chief writes the results")
            return None
        return report.write_results(self)


def _trial_metrics(metrics):
    v = metrics["validation"]
    return {
        "val_f1": v["f1"],
        "val_precision": v["precision"],
        "val_recall": v["recall"],
        "val_accuracy": v["accuracy"],
        "val_loss": v["loss"],
        "train_seconds": metrics["train_seconds"],
        "epochs_run": metrics["epochs_run"],
        "trainable_params": metrics["trainable_params"],
    }


def make_tuner(
    base_config,
    space=None,
    tuner="random",
    max_trials=None,
    executions_per_trial=1,
    objective="val_f1",
    directory="runs/tuning",
    project_name="search",
    overwrite=False,
    seed=None,
    max_consecutive_failed_trials=3,
    initial_points=None,
    max_epochs=None,
    factor=3,
    hyperband_iterations=1,
):
    """An `NERTuner` over `space` (a spec dict, parsed here; None: the built-in space) from `base_config`."""
    space = parse_space(default_space(tuner) if space is None else space, base_config)
    oracle = make_oracle(
        tuner,
        space,
        objective,
        max_trials=max_trials,
        seed=base_config.seed if seed is None else seed,
        max_consecutive_failed_trials=max_consecutive_failed_trials,
        initial_points=initial_points,
        max_epochs=max_epochs or base_config.epochs,
        factor=factor,
        hyperband_iterations=hyperband_iterations,
    )
    return NERTuner(
        base_config,
        oracle,
        space,
        tuner=tuner,
        executions_per_trial=executions_per_trial,
        directory=directory,
        project_name=project_name,
        overwrite=overwrite,
    )


# Resuming: the same search or none -------------------------------------------------------------------


def comparable(config):
    """The base config's flat settings that change what trials train (not where they write or print)."""
    return {k: v for k, v in config.flat().items() if k not in NOT_COMPARED}


def _saved_flat(values):
    """search.json's base config (nested, or flat from before nested configs) as comparable flat settings;
    one that no longer reads as a TrainConfig is compared as it is (and so differs)."""
    try:
        return comparable(TrainConfig.from_dict(values, source="search.json"))
    except (TypeError, ValueError):
        return {k: v for k, v in values.items() if k not in NOT_COMPARED} if isinstance(values, dict) else {}


def check_same_search(project_dir, settings):
    """A TuneError unless `project_dir` holds no search yet, or one started with these `settings`."""
    path = os.path.join(project_dir, "search.json")
    if not os.path.exists(path):
        return
    with open(path) as f:
        saved = json.load(f)
    saved["base_config"] = _saved_flat(saved.get("base_config", {}))
    same = lambda a, b: json.dumps(a, sort_keys=True) == json.dumps(b, sort_keys=True)  # noqa: E731
    differs = [k for k in settings if not same(saved.get(k), settings[k])]
    if differs:
        detail = [d for d in differs if d != "base_config"]
        if "base_config" in differs:
            names = list(settings["base_config"]) + [
                k for k in saved["base_config"] if k not in settings["base_config"]
            ]
            fields = [k for k in names if not same(saved["base_config"].get(k), settings["base_config"].get(k))]
            detail.append(f"base config field(s) {', '.join(fields)}")
        raise TuneError(
            f"{project_dir} holds a search started with a different {', '.join(detail)} (see "
            f"{path}); run it again with the same settings to resume, or start afresh with "
            "--overwrite or another --project-name"
        )
