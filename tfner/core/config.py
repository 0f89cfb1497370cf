"""Config dataclasses that nest, and the flat command line and JSON they are read from.

Each part of a run owns its settings: `LoraConfig` lives with LoRA, `CollapseConfig` with the collapse
diagnosis, `ModelConfig` with the model, and `TrainConfig` nests them. Users still see one flat set of
names (`--lora-r`, `--collapse-action`, `lora_r` in an old `config.json`): a nested field's metadata
gives the `prefix` its own fields are named with (`lora` + `r` -> `lora_r`; a field called `enabled`
takes the prefix alone, `--lora`), and an empty prefix lifts the fields to the parent's level
(`--encoder`). `config.json` is written nested; nested and flat (older) files are both read.

Every field carries its `--help` text (`help` metadata) and optional `choices`/`item_type`; types (and
that a float is finite: no NaN or infinity anywhere) are checked by `Config.__post_init__`, the rest of
the validation by each class.
"""

import argparse
import dataclasses
import json
import math
import re
import typing
from dataclasses import field


def option(default, help, **metadata):
    """A config field with its help text (and `choices`, `item_type`, ...): one place per setting."""
    if isinstance(default, (list, dict, tuple)):
        return field(default_factory=lambda: type(default)(default), metadata={"help": help, **metadata})
    return field(default=default, metadata={"help": help, **metadata})


def section(cls, prefix, help=""):
    """A nested config field whose own fields are named `prefix_name` on the command line and in
    flat JSON (`prefix=""`: the fields keep their own names)."""
    return field(default_factory=cls, metadata={"prefix": prefix, "help": help})


def _is_section(f):
    return "prefix" in f.metadata


def _join(prefix, name):
    if not prefix:
        return name
    return prefix if name == "enabled" else f"{prefix}_{name}"


def flat_fields(cls, prefix=""):
    """`{flat name: (path of attribute names, field, type)}` of a config class, nested ones included."""
    hints = typing.get_type_hints(cls)
    out = {}
    for f in dataclasses.fields(cls):
        if _is_section(f):
            inner_prefix = _join(prefix, f.metadata["prefix"]) if f.metadata["prefix"] else prefix
            for name, (path, inner, kind) in flat_fields(hints[f.name], inner_prefix).items():
                out[name] = ((f.name, *path), inner, kind)
        else:
            out[_join(prefix, f.name)] = ((f.name,), f, hints[f.name])
    return out


def _default(f):
    return f.default if f.default is not dataclasses.MISSING else f.default_factory()


class Config:
    """Base of the config dataclasses: type checks, nested/flat reading and writing, flat updates."""

    def __post_init__(self):
        hints = typing.get_type_hints(type(self))
        for f in dataclasses.fields(self):
            value = getattr(self, f.name)
            if _is_section(f):
                if not isinstance(value, hints[f.name]):
                    raise ValueError(f"{f.name}: expected {hints[f.name].__name__}, got {type(value).__name__}")
                continue
            check_type(f.name, value, hints[f.name])
            if hints[f.name] is float and not math.isfinite(value):
                raise ValueError(f"{f.name}: expected a finite number, got {value}")
            choices = f.metadata.get("choices")
            if choices and value not in choices:
                raise ValueError(f"{f.name}={value!r}: expected one of {', '.join(map(str, choices))}")
            if isinstance(value, tuple):
                setattr(self, f.name, list(value))

    def to_dict(self):
        return dataclasses.asdict(self)

    def flat(self):
        """`{flat name: value}`, the names of the command line and of `replace`."""
        out = {}
        for name, (path, _, _) in flat_fields(type(self)).items():
            value = self
            for attr in path:
                value = getattr(value, attr)
            out[name] = value
        return out

    def to_json(self, path=None):
        text = json.dumps(self.to_dict(), indent=2)
        if path is not None:
            with open(path, "w") as f:
                f.write(text + "\n")
        return text

    @classmethod
    def from_dict(cls, values, source="config"):
        """Build from nested values (as `to_dict` writes) or flat ones (older files, the command line),
        or a mix; an unknown name is an error that lists the known ones."""
        if not isinstance(values, dict):
            raise ValueError(f"{source}: expected a JSON object, got {type(values).__name__}")
        return cls._build(cls._nest(values, source), source)

    @classmethod
    def _nest(cls, values, source):
        flat = flat_fields(cls)
        sections = {f.name: f for f in dataclasses.fields(cls) if _is_section(f)}
        hints = typing.get_type_hints(cls)
        nested, unknown = {}, []
        for name, value in values.items():
            if name in sections and isinstance(value, dict):
                inner = hints[name]._nest(value, source)
                for key, v in inner.items():
                    nested.setdefault(name, {})[key] = v
            elif name in flat:
                path = flat[name][0]
                target = nested
                for attr in path[:-1]:
                    target = target.setdefault(attr, {})
                target[path[-1]] = value
            else:
                unknown.append(name)
        if unknown:
            raise ValueError(
                f"{source}: unknown config field(s) {', '.join(sorted(unknown))}; known: {', '.join(sorted(flat))}"
            )
        return nested

    @classmethod
    def _build(cls, nested, source, prefix=""):
        hints = typing.get_type_hints(cls)
        kwargs = {}
        for f in dataclasses.fields(cls):
            if f.name not in nested:
                continue
            value = nested[f.name]
            if _is_section(f):
                inner = _join(prefix, f.metadata["prefix"]) if f.metadata["prefix"] else prefix
                kwargs[f.name] = hints[f.name]._build(value, source, inner)
            else:
                kwargs[f.name] = value
        try:
            return cls(**kwargs)
        except ValueError as e:  # name the setting as the user wrote it: lora_r, not r
            raise ValueError(_flat_message(str(e), cls, prefix)) from None

    @classmethod
    def from_json(cls, path):
        try:
            with open(path) as f:
                values = json.load(f)
        except FileNotFoundError:
            raise ValueError(f"{path}: no such config file") from None
        except (json.JSONDecodeError, UnicodeDecodeError) as e:
            raise ValueError(f"{path}: not valid JSON ({e})") from None
        return cls.from_dict(values, source=str(path))

    def replace(self, **flat_values):
        """A copy with some settings changed, named flat (`lora_r=8`, `learning_rate=1e-4`)."""
        values = self.flat()
        values.update(flat_values)
        return type(self).from_dict(values, source="replace()")


def _flat_message(message, cls, prefix):
    """An error about a section's field `name: ...` or `name=...`, with the field's flat name."""
    match = re.match(r"^(\w+)([:=])", message)
    fields = {f.name for f in dataclasses.fields(cls) if not _is_section(f)}
    if not prefix or match is None or match.group(1) not in fields:
        return message
    return _join(prefix, match.group(1)) + message[len(match.group(1)) :]


def check_type(name, value, kind):
    """A config value must have its field's type (an int is accepted for a float), else name the field."""
    ok = {
        bool: lambda v: isinstance(v, bool),
        int: lambda v: isinstance(v, int) and not isinstance(v, bool),
        float: lambda v: isinstance(v, (int, float)) and not isinstance(v, bool),
        str: lambda v: isinstance(v, str),
        list: lambda v: isinstance(v, (list, tuple)),
        dict: lambda v: isinstance(v, dict),
    }[kind](value)
    if not ok:
        raise ValueError(f"{name}: expected {kind.__name__}, got {type(value).__name__} {value!r}")


def _flag(name):
    return "--" + name.replace("_", "-")


def add_config_arguments(parser, cls):
    """One flag per (flat) config field, with the field's help, type and choices, and `--config`."""
    parser.add_argument(
        "--config", metavar="RUN.JSON", help="Start from this saved config (flags given too override it)."
    )
    for name, (_, f, kind) in flat_fields(cls).items():
        help_text = f"{f.metadata['help']} (default: {json.dumps(_default(f))})"
        kwargs = dict(dest=name, default=argparse.SUPPRESS, help=help_text)
        if kind is bool:
            parser.add_argument(_flag(name), action=argparse.BooleanOptionalAction, **kwargs)
        elif kind is list:
            item = f.metadata.get("item_type", int)
            parser.add_argument(_flag(name), nargs="+", type=item, metavar="N" if item is int else "NAME", **kwargs)
        elif kind is dict:
            parser.add_argument(_flag(name), type=json.loads, metavar="JSON", **kwargs)
        else:
            parser.add_argument(_flag(name), type=kind, choices=f.metadata.get("choices"), **kwargs)


def config_from_args(args, cls):
    """Defaults, then the `--config` JSON, then the flags given on the command line."""
    values = {}
    if getattr(args, "config", None):
        values.update(cls.from_json(args.config).flat())
    names = flat_fields(cls)
    values.update({k: v for k, v in vars(args).items() if k in names})
    return cls.from_dict(values, source="command line")
