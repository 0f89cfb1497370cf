"""Layer paths of a Hugging Face TF encoder (`encoder.layer.0.attention.self.query`), and target matching.

Sub-layers are walked by attribute and each path is made of their Keras names, which the Hugging Face TF
models keep equal to the PyTorch module names (`layer_._0` becomes `layer.0`); paths, never positions, key
adapter files. The pooler is left out unless asked for.
"""

import re
from dataclasses import dataclass

import tf_keras

from tfner.model.lora.layer import LoraDense


@dataclass
class _Slot:
    layer: object
    parent: object  # the layer holding it as an attribute (None for the root)
    attr: str
    index: object  # position in a list attribute, or None


def _main_layer(model):
    """The layer whose sub-layer names start the paths: TFBertModel -> its `bert` main layer."""
    prefix = getattr(model, "base_model_prefix", None)
    main = getattr(model, prefix, None) if isinstance(prefix, str) else None
    return main if isinstance(main, tf_keras.layers.Layer) else model


def _poolers(model):
    found = []
    for layer in model._flatten_layers(include_self=True, recursive=True):
        pooler = layer.__dict__.get("pooler")
        if isinstance(pooler, tf_keras.layers.Layer):
            found.append(pooler)
    return found


def layer_paths(model, include_pooler=False):
    """`{path: _Slot}` for every sub-layer of an encoder, walked by attribute (not by flat index)."""
    root = _main_layer(model)
    skip = set() if include_pooler else {id(p) for p in _poolers(model)}
    out, seen = {"": _Slot(root, None, "", None)}, {id(root)}

    def walk(layer, path):
        if isinstance(layer, LoraDense):  # the wrapper and its base share one path
            return
        for attr, value in list(vars(layer).items()):
            if attr.startswith("_"):
                continue
            if isinstance(value, tf_keras.layers.Layer):
                children = [(None, value)]
            elif isinstance(value, (list, tuple)):
                children = [(i, v) for i, v in enumerate(value) if isinstance(v, tf_keras.layers.Layer)]
            else:
                continue
            for index, child in children:
                if id(child) in seen or id(child) in skip:
                    continue
                seen.add(id(child))
                name = child.name.replace("_._", ".")  # Hugging Face's layer_._0 is PyTorch's layer.0
                child_path = f"{path}.{name}" if path else name
                if child_path in out:
                    raise ValueError(f"two sub-layers share the path {child_path!r}; LoRA needs unique layer names")
                out[child_path] = _Slot(child, layer, attr, index)
                walk(child, child_path)

    walk(root, "")
    return out


def dense_paths(model):
    """Paths of the Dense layers LoRA can wrap (wrapped ones included), in model order."""
    return [p for p, s in layer_paths(model).items() if isinstance(s.layer, (tf_keras.layers.Dense, LoraDense))]


def _relative_names(variables):
    """Variable names relative to their common scope: ['kernel', 'bias'], ['word_embeddings.weight', ...]"""
    parts = [v.name.split(":")[0].split("/") for v in variables]
    if len(parts) == 1:
        return [parts[0][-1]]
    common = 0
    while all(len(p) > common + 1 and p[common] == parts[0][common] for p in parts):
        common += 1
    return [".".join(p[common:]) for p in parts]


def variable_paths(model, include_pooler=False):
    """`{key: variable}` for every variable of an encoder, keyed `layer path + "." + variable name`
    (`encoder.layer.0.attention.self.query.lora_kernel_a`, `embeddings.LayerNorm.beta`)."""
    out = {}
    for path, slot in layer_paths(model, include_pooler).items():
        layer = slot.layer
        if isinstance(layer, LoraDense):
            named = [
                ("kernel", layer.base.kernel),
                ("bias", layer.base.bias),
                ("lora_kernel_a", layer.lora_kernel_a),
                ("lora_kernel_b", layer.lora_kernel_b),
            ]
            named = [(n, v) for n, v in named if v is not None]
        else:
            own = list(layer._trainable_weights) + list(layer._non_trainable_weights)
            named = list(zip(_relative_names(own), own)) if own else []
        for name, variable in named:
            key = f"{path}.{name}" if path else name
            if key in out:
                raise ValueError(f"two variables share the key {key!r}")
            out[key] = variable
    return out


def _matches(path, targets):
    if isinstance(targets, str):
        return re.fullmatch(targets, path) is not None
    return any(path == t or path.endswith("." + t) for t in targets)


def _describe(paths):
    """Dense paths with layer numbers folded: 'encoder.layer.N.attention.self.query (N = 0-5)'."""
    folded = {}
    for p in paths:
        numbers = re.findall(r"\.(\d+)\.", p)
        key = re.sub(r"\.\d+\.", ".N.", p)
        folded.setdefault(key, set()).update(int(n) for n in numbers)
    return ", ".join(k + (f" (N = {min(n)}-{max(n)})" if n else "") for k, n in folded.items())


def match_targets(model, targets):
    """The Dense paths that `targets` selects, as PEFT matches `target_modules`: a list entry matches a
    path exactly or as a `.suffix`; a string is a regex that must match the whole path. A target that
    matches nothing is an error that lists the paths available."""
    paths = dense_paths(model)
    entries = [targets] if isinstance(targets, str) else list(targets)
    unmatched = [t for t in entries if not any(_matches(p, t if isinstance(targets, str) else [t]) for p in paths)]
    if unmatched:
        kind = "regex" if isinstance(targets, str) else "target(s)"
        raise ValueError(
            f"LoRA {kind} {', '.join(map(repr, unmatched))} match(es) no Dense layer of "
            f"{model.name}; its Dense layer paths are: {_describe(paths) or 'none'}"
        )
    return [p for p in paths if _matches(p, targets)]
