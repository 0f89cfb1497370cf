"""Hyperparameter search over the training config with keras-tuner: `tfner tune` (or `python -m tfner.tune`).

    tfner tune --show-space                                 # the built-in space, JSON to copy and edit
    tfner tune --tuner bayesian --max-trials 8 --space space.json \\
        --train ../shared/datasets/conll2003/train.txt --validation ../shared/datasets/conll2003/valid.txt \\
        --epochs 1 --no-eval-before --directory runs/tuning --project-name conll
    tfner train --config runs/tuning/conll/best_config.json         # retrain the best trial

A search space maps TrainConfig settings, by their flat names (those of the flags, `lora_r` for
`--lora-r`), to entries (a JSON file, or inline JSON):

    {"learning_rate": {"type": "float", "min": 1e-5, "max": 1e-3, "sampling": "log"},
     "head":          {"type": "choice", "values": ["linear", "mlp", "replace-last"]},
     "mlp_sizes":     {"type": "choice", "values": [[20, 8], [64]], "when": {"head": "mlp"}},
     "lora":          {"type": "boolean"},
     "lora_r":        {"type": "int", "min": 4, "max": 32, "step": 4, "when": {"lora": true}}}

Types: `float` and `int` (`min`, `max`, optional `step` and `sampling`: linear, log, reverse_log),
`choice` (`values`; lists such as mlp_sizes are allowed) and `boolean`; `when` makes an entry
conditional on a choice or boolean entry (sampled only when that one has one of the given values).
Every other setting comes from the base config, given by the usual `tfner train` flags and/or
`--config base.json`, and each trial trains `base.replace(**values)` through `tfner.training.train`
(a fresh encoder every trial), with its output in the trial's folder and `collapse_action="raise"`: a
collapsed trial, or one whose loss became NaN, is a failed trial and is never the best. Hyperband sets
`epochs` itself and continues its later rounds from the earlier round's best checkpoint.

The project folder (`--directory`/`--project-name`) holds keras-tuner's state, one `trial_ID/` per
trial (its model, history and metrics in `execution0/`), and the results: `trials.json`,
`trials.csv`, `summary.txt`, `objective.png`, TensorBoard HParams logs in `hparams/`
(`tensorboard --logdir DIR/PROJECT/hparams`) and `best_config.json`, which `tfner train --config`
trains again with the same seed. Started again with the same arguments, a search resumes: finished
trials are kept and an interrupted one runs again (`--overwrite` starts afresh).

Distributed tuning, keras-tuner's chief/worker mode: start the same command in several processes
(same machine or not) with these variables. The chief (a KERASTUNER_TUNER_ID containing "chief")
runs no trial: it serves the oracle over gRPC at KERASTUNER_ORACLE_IP:KERASTUNER_ORACLE_PORT, blocks
until the search is over, then writes the results. Each worker asks it for trials, trains them and
reports the metrics back; failure messages and Hyperband checkpoints are files, so give every process
the same --directory on a shared file system.

    export KERASTUNER_ORACLE_IP=127.0.0.1 KERASTUNER_ORACLE_PORT=8000
    KERASTUNER_TUNER_ID=chief   tfner tune --tuner random --max-trials 8 ... &
    KERASTUNER_TUNER_ID=tuner0  tfner tune --tuner random --max-trials 8 ... &
    KERASTUNER_TUNER_ID=tuner1  tfner tune --tuner random --max-trials 8 ...

Exit status: 0 done, 1 no trial completed, 2 bad flags, space or data (one `error: ...` line),
130 interrupted (run the same command again to resume).
"""

import argparse
import json
import sys

import keras_tuner

from tfner.core.cli import FAILED, fail, run_command
from tfner.data.readers import DataError
from tfner.model.encoders import EncoderError
from tfner.training.config import add_config_arguments, config_from_args
from tfner.tune.space import TRIAL_METRICS, TUNERS, TuneError, default_space, load_space, parse_space
from tfner.tune.tuner import make_tuner

INTERRUPTED = 130


def _positive(text):
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be a positive integer, got {text}")
    return value


def build_parser(prog="tfner tune"):
    parser = argparse.ArgumentParser(
        prog=prog, description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    search = parser.add_argument_group("search")
    search.add_argument("--tuner", choices=TUNERS, default="random", help="Search algorithm (default: random).")
    search.add_argument(
        "--max-trials",
        type=_positive,
        help="Trials to run in all, resumed ones included "
        "(default: 10; grid: the whole grid; hyperband: set by --max-epochs and --factor).",
    )
    search.add_argument(
        "--executions-per-trial",
        type=_positive,
        default=1,
        help="Trainings per trial, seeds seed, seed+1, ...; the metrics are averaged (default: 1).",
    )
    search.add_argument(
        "--objective",
        default="val_f1",
        help=f"Metric to optimise, NAME or NAME:max/NAME:min; one of "
        f"{', '.join(TRIAL_METRICS)} (default: val_f1, maximised).",
    )
    search.add_argument(
        "--space",
        metavar="SPACE.JSON",
        help="Search space: a JSON file or inline JSON (default: the built-in space, see --show-space).",
    )
    search.add_argument("--show-space", action="store_true", help="Print the search space as JSON and exit.")
    search.add_argument(
        "--directory", default="runs/tuning", help="Parent folder of the project (default: runs/tuning)."
    )
    search.add_argument("--project-name", default="search", help="Project folder name (default: search).")
    search.add_argument(
        "--overwrite", action="store_true", help="Delete the project and start afresh (default: resume it)."
    )
    search.add_argument("--tuner-seed", type=int, help="Seed of the oracle's sampling (default: --seed).")
    search.add_argument(
        "--max-consecutive-failed-trials",
        type=_positive,
        default=3,
        help="Stop the search after this many failed trials in a row (default: 3).",
    )
    search.add_argument(
        "--initial-points",
        type=_positive,
        help="bayesian: random trials before the Gaussian process guides the search "
        "(default: 3 per dimension, at most half of --max-trials, at least 2).",
    )
    search.add_argument(
        "--max-epochs", type=_positive, help="hyperband: epochs of the longest trials (default: --epochs)."
    )
    search.add_argument("--factor", type=int, default=3, help="hyperband: reduction factor (default: 3).")
    search.add_argument(
        "--hyperband-iterations",
        type=_positive,
        default=1,
        help="hyperband: times to run the whole algorithm (default: 1).",
    )
    add_config_arguments(
        parser.add_argument_group("base training config (what the space leaves alone; --output-dir is not used)")
    )
    return parser


def _main(argv):
    args = build_parser().parse_args(argv)
    try:
        return _search(args)
    except KeyboardInterrupt:  # before run_command, which would call it a failed run
        print(
            "\ninterrupted: run the same command again to resume (the unfinished trial runs again, from "
            "its last finished epoch)",
            file=sys.stderr,
        )
        return INTERRUPTED


def _search(args):
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
        print("note: --max-trials is ignored by hyperband (--max-epochs and --factor set the trials)", file=sys.stderr)
    tuner = make_tuner(
        base,
        space,
        tuner=args.tuner,
        max_trials=args.max_trials,
        executions_per_trial=args.executions_per_trial,
        objective=args.objective,
        directory=args.directory,
        project_name=args.project_name,
        overwrite=args.overwrite,
        seed=args.tuner_seed,
        max_consecutive_failed_trials=args.max_consecutive_failed_trials,
        initial_points=args.initial_points,
        max_epochs=args.max_epochs,
        factor=args.factor,
        hyperband_iterations=args.hyperband_iterations,
    )
    results = tuner.search()
    if results is not None and results["best"] is None:  # None: a worker, whose chief writes the results
        return fail(f"no trial completed: no best config (see {results['project_dir']}/summary.txt)", FAILED)
    return 0


def main(argv=None):
    """`tfner tune`: 0 done, 1 no trial completed, 2 bad usage or data (one `error:` line), 130 interrupted."""
    return run_command(_main, argv, usage_errors=(TuneError, DataError, EncoderError, keras_tuner.errors.FatalError))
