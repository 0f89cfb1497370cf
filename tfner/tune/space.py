"""The search space: a JSON object of flat `TrainConfig` names (`learning_rate`, `head`, `lora_r`) ->
entries, checked against the config's fields, and its keras-tuner `HyperParameters`.

Entry types: `float` and `int` (`min`, `max`, optional `step` and `sampling`: linear, log, reverse_log),
`choice` (`values`; lists such as mlp_sizes are allowed) and `boolean`; `when` makes an entry
conditional on a choice or boolean entry (sampled only when that one has one of the given values).
A trial's config is the base config with the trial's values: `config_for(base, values)`.
"""

import json
import math
import os

import keras_tuner

from tfner.core.config import check_type, flat_fields
from tfner.training.config import TrainConfig

FIELD_TYPES = {name: kind for name, (_, _, kind) in flat_fields(TrainConfig).items()}
NOT_TUNABLE = {
    "output_dir": "each trial writes to its own folder in the project",
    "collapse_action": "trials always raise on collapse, so that a collapsed trial fails",
}
ENTRY_KEYS = {
    "float": ({"min", "max"}, {"step", "sampling"}),
    "int": ({"min", "max"}, {"step", "sampling"}),
    "choice": ({"values"}, set()),
    "boolean": (set(), set()),
}
SAMPLINGS = ("linear", "log", "reverse_log")
# What a trial reports (NERTuner.run_trial); any of them can be the objective.
TRIAL_METRICS = (
    "val_f1",
    "val_precision",
    "val_recall",
    "val_accuracy",
    "val_loss",
    "train_seconds",
    "epochs_run",
    "trainable_params",
    "seconds",
)
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


def default_space(tuner="random"):
    """The built-in space (Hyperband sets epochs itself, so its space has none)."""
    space = json.loads(json.dumps(DEFAULT_SPACE))
    if tuner == "hyperband":
        del space["epochs"]
    return space


def load_space(source):
    """A space from a JSON file, or from inline JSON text starting with '{'; returns (spec, where)."""
    text, where = source, "--space"
    if not source.lstrip().startswith("{"):
        if not os.path.isfile(source):
            raise SpaceError(f"{source}: no such space file (give a JSON file, or inline JSON starting with '{{')")
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
        raise SpaceError(
            f"{source}: expected a non-empty JSON object of TrainConfig field -> entry, got {json.dumps(spec)[:80]}"
        )
    unknown = [name for name in spec if name not in FIELD_TYPES]
    if unknown:
        valid = ", ".join(n for n in FIELD_TYPES if n not in NOT_TUNABLE)
        raise SpaceError(f"{source}: {', '.join(map(repr, unknown))} is not a TrainConfig field; valid fields: {valid}")
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
        raise SpaceError(
            f'{where}: expected an object such as {{"type": "choice", "values": [...]}}, got {json.dumps(entry)}'
        )
    kind = entry.get("type")
    if kind not in ENTRY_KEYS:
        raise SpaceError(f'{where}: "type" must be one of {", ".join(ENTRY_KEYS)}, got {kind!r}')
    required, optional = ENTRY_KEYS[kind]
    extra = sorted(set(entry) - required - optional - {"type", "when"})
    if extra:
        raise SpaceError(
            f"{where}: unknown key(s) {', '.join(extra)} for type {kind}; allowed: "
            f"{', '.join(sorted(required | optional | {'when'}))}"
        )
    missing = sorted(required - set(entry))
    if missing:
        raise SpaceError(f"{where}: type {kind} needs {', '.join(missing)}")
    field_type = FIELD_TYPES[name]
    out = {"type": kind}
    if kind == "boolean":
        if field_type is not bool:
            raise SpaceError(
                f"{where}: type boolean needs a bool field, but {name} is {field_type.__name__} (use choice)"
            )
    elif kind == "choice":
        values = entry["values"]
        if not isinstance(values, list) or not values:
            raise SpaceError(f'{where}: "values" must be a non-empty list, got {json.dumps(values)}')
        values = [float(v) if field_type is float and _is_number(v) else v for v in values]
        for value in values:
            _check_value(name, value, base, where)
        if len({json.dumps(v) for v in values}) != len(values):
            raise SpaceError(f'{where}: "values" has duplicates: {json.dumps(values)}')
        out["values"] = values
    else:
        out.update(_parse_range(name, entry, kind, field_type, base, where))
    if "when" in entry:
        when = entry["when"]
        if not isinstance(when, dict) or len(when) != 1:
            raise SpaceError(
                f'{where}: "when" must name one parent entry, such as {{"lora": true}} or '
                f'{{"head": ["mlp"]}}, got {json.dumps(when)}'
            )
        ((parent, values),) = when.items()
        out["when"] = {parent: values if isinstance(values, list) else [values]}
    return out


def _parse_range(name, entry, kind, field_type, base, where):
    """A float or int entry's min, max, sampling and step."""
    number = "a number" if kind == "float" else "an integer"
    if field_type is not {"float": float, "int": int}[kind]:
        instead = "int or choice" if field_type is int else "choice"
        raise SpaceError(
            f"{where}: type {kind} needs {'a float' if kind == 'float' else 'an int'} field, "
            f"but {name} is {field_type.__name__} (use {instead})"
        )
    lo, hi = entry["min"], entry["max"]
    for key, value in (("min", lo), ("max", hi)):
        if not _is_number(value) or (kind == "int" and not isinstance(value, int)):
            raise SpaceError(f'{where}: "{key}" must be {number}, got {json.dumps(value)}')
        _check_value(name, float(value) if kind == "float" else value, base, where)
    if not lo < hi:
        raise SpaceError(
            f'{where}: "min" ({lo}) must be below "max" ({hi}); for one value leave '
            "the field out of the space and set it in the base config"
        )
    sampling = entry.get("sampling", "linear")
    if sampling not in SAMPLINGS:
        raise SpaceError(f'{where}: "sampling" must be one of {", ".join(SAMPLINGS)}, got {sampling!r}')
    if sampling != "linear" and lo <= 0:
        raise SpaceError(f'{where}: {sampling} sampling needs "min" > 0, got {lo}')
    out = dict(min=float(lo) if kind == "float" else lo, max=float(hi) if kind == "float" else hi, sampling=sampling)
    if "step" in entry:
        step = entry["step"]
        if not _is_number(step) or step <= 0 or (kind == "int" and not isinstance(step, int)):
            raise SpaceError(f'{where}: "step" must be {number} above 0, got {json.dumps(step)}')
        if sampling != "linear" and step <= 1:
            raise SpaceError(f'{where}: with {sampling} sampling "step" is a factor and must be > 1, got {step}')
        out["step"] = step
    return out


def _is_number(value):
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def _check_value(name, value, base, where):
    """The value must make a valid TrainConfig with the base (the config's own type and range checks)."""
    try:
        check_type(name, value, FIELD_TYPES[name])  # named by its flat name, as in the space
        base.replace(**{name: value})
    except (TypeError, ValueError) as e:
        raise SpaceError(f"{where}: {json.dumps(value)} is not a valid value ({e})") from None


def _check_condition(name, when, space, where):
    ((parent, values),) = when.items()
    if parent == name or parent not in space:
        raise SpaceError(f'{where}: "when" refers to {parent!r}, which is not another entry of the space')
    kind = space[parent]["type"]
    if kind not in ("choice", "boolean"):
        raise SpaceError(f'{where}: "when" needs a choice or boolean parent; {parent!r} is {kind}')
    domain = [True, False] if kind == "boolean" else space[parent]["values"]
    if not values or any(v not in domain or isinstance(v, bool) != isinstance(domain[0], bool) for v in values):
        raise SpaceError(
            f'{where}: "when" values {json.dumps(values)} must be among {parent!r}\'s values {json.dumps(domain)}'
        )


def _parents_first(space, source):
    order, visiting = [], set()

    def visit(name):
        if name in order:
            return
        if name in visiting:
            raise SpaceError(f'{source}: the "when" conditions of {name!r} form a cycle')
        visiting.add(name)
        for parent in space[name].get("when", {}):
            visit(parent)
        order.append(name)

    for name in space:
        visit(name)
    return order


def encode(name, value):
    """A config value as keras-tuner holds it: lists and dicts as JSON text, float fields as floats."""
    kind = FIELD_TYPES[name]
    if kind in (list, dict):
        return json.dumps(value)
    return float(value) if kind is float else value


def decode(name, value):
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
            ((parent, values),) = entry["when"].items()
            condition = dict(parent_name=parent, parent_values=[encode(parent, v) for v in values])
        kind = entry["type"]
        if kind in ("float", "int"):
            make = hp.Float if kind == "float" else hp.Int
            make(name, entry["min"], entry["max"], step=entry.get("step"), sampling=entry["sampling"], **condition)
        elif kind == "choice":
            hp.Choice(name, [encode(name, v) for v in entry["values"]], **condition)
        else:
            hp.Boolean(name, **condition)
    return hp


def active_values(hps):
    """A trial's values that count: the active entries (conditions met) and Hyperband's `tuner/*`."""
    return {name: value for name, value in hps.values.items() if name.startswith("tuner/") or hps.is_active(name)}


def config_for(base, values, **changes):
    """`base.replace(**values)` for a trial's (keras-tuner) values, flat names; Hyperband's `tuner/epochs`
    sets epochs; `changes` (flat names too) go on top."""
    hp = {name: decode(name, v) for name, v in values.items() if not name.startswith("tuner/")}
    if "tuner/epochs" in values:
        hp["epochs"] = int(values["tuner/epochs"])
    return base.replace(**{**hp, **changes})
