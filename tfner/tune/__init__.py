"""Stage 6, tuning: hyperparameter search over the training config with keras-tuner (`tfner tune`).

`space` reads and checks a search space (flat TrainConfig names -> entries), `tuner` runs the trials
through `tfner.training.train.train` (`make_tuner(base_config, space).search()`), `report` writes the
results and the best config, and `cli` is the command; its docstring describes the whole search.
"""

from tfner.tune.cli import build_parser, main
from tfner.tune.report import best_config, best_row, format_table, trial_rows, write_results
from tfner.tune.space import (
    DEFAULT_SPACE,
    TRIAL_METRICS,
    TUNERS,
    SpaceError,
    TuneError,
    config_for,
    default_space,
    hyperparameters,
    load_space,
    parse_space,
)
from tfner.tune.tuner import NERTuner, distributed_role, make_objective, make_oracle, make_tuner

__all__ = [
    "DEFAULT_SPACE",
    "TRIAL_METRICS",
    "TUNERS",
    "NERTuner",
    "SpaceError",
    "TuneError",
    "best_config",
    "best_row",
    "build_parser",
    "config_for",
    "default_space",
    "distributed_role",
    "format_table",
    "hyperparameters",
    "load_space",
    "main",
    "make_objective",
    "make_oracle",
    "make_tuner",
    "parse_space",
    "trial_rows",
    "write_results",
]
