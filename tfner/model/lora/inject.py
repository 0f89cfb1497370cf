"""LoRA for the Hugging Face TF (tf_keras) encoders: the layer, applying it by layer path, merging, and
adapter-only files.

Neither PEFT (PyTorch only) nor tf_keras (no `Dense.enable_lora`) offers this, so tfner brings its own:

    from tfner.model.lora import LoraConfig, apply_lora, merge, unmerge, save_adapter, load_adapter
    apply_lora(encoder, LoraConfig(r=16, lora_alpha=32))  # wraps query, key, value, ... Dense layers
    merge(encoder); unmerge(encoder)                       # fold (alpha/r)·A·B into the kernels and out
    save_adapter(tagger, "adapter/")                       # a few MB: A, B, trained biases, the head
    tagger = load_adapter("adapter/")                      # onto a freshly loaded base encoder

`python -m tfner.train --lora` does the first step through `Tagger.build`; every saved model is merged.

Layers are addressed by PEFT-style paths such as `encoder.layer.0.attention.self.query`: the model's
sub-layers are walked by attribute and each path is made of their Keras names, which the Hugging Face TF
models keep equal to the PyTorch module names (`layer_._0` becomes `layer.0`). Paths, never positions,
key the adapter files, and wrapping replaces the attribute on the parent layer in place, so the base
Dense keeps its variables (and their names and values) and the parent keeps its sub-layer order.
The pooler is left out: token-classification models have none in PyTorch, and tfner freezes it.
"""

import contextlib
import dataclasses
import json
import math
import os
import re
from dataclasses import dataclass, field

import numpy as np

from tfner import _env  # noqa: F401
import tensorflow as tf
import tf_keras

DEFAULT_TARGETS = ("query", "key", "value", "output.dense", "intermediate.dense")
BIAS_MODES = ("none", "all", "lora_only")
ADAPTER_CONFIG = "adapter_config.json"
ADAPTER_WEIGHTS = "adapter_model.safetensors"
FORMAT = "tfner-lora-adapter"

_state_version = 0  # bumped by every change that traced functions must not outlive


def state_version():
    """A number that changes whenever LoRA layers are added, removed, merged or unmerged anywhere.

    Python state such as `LoraDense.merged` is baked into a `tf.function` when it is traced; callers
    that cache traced functions (`Tagger.predict_logits`) retrace when this number changes.
    """
    return _state_version


def _bump():
    global _state_version
    _state_version += 1


@dataclass
class LoraConfig:
    """The adapters of one run, as PEFT's `LoraConfig` names them (see TrainConfig's `lora_*` help)."""

    r: int = 16
    lora_alpha: float = 32.0
    lora_dropout: float = 0.05
    bias: str = "lora_only"
    target_modules: object = field(default_factory=lambda: list(DEFAULT_TARGETS))
    use_rslora: bool = False

    def __post_init__(self):
        if isinstance(self.r, bool) or not isinstance(self.r, int) or self.r <= 0:
            raise ValueError(f"LoRA r must be a positive integer, got {self.r!r}")
        if not self.lora_alpha > 0:
            raise ValueError(f"lora_alpha must be positive, got {self.lora_alpha!r}")
        if not 0 <= self.lora_dropout < 1:
            raise ValueError(f"lora_dropout must be in [0, 1), got {self.lora_dropout!r}")
        if self.bias not in BIAS_MODES:
            raise ValueError(f"LoRA bias={self.bias!r}: expected one of {', '.join(BIAS_MODES)}")
        if isinstance(self.target_modules, str):
            try:
                re.compile(self.target_modules)
            except re.error as e:
                raise ValueError(f"target_modules regex {self.target_modules!r}: {e}") from None
        else:
            targets = list(self.target_modules)
            if not targets or any(not isinstance(t, str) or not t for t in targets):
                raise ValueError(f"target_modules must be a non-empty list of layer names or a regex "
                                 f"string, got {self.target_modules!r}")
            self.target_modules = targets

    @classmethod
    def from_train_config(cls, config):
        """The LoRA part of a `TrainConfig` (`--lora-target-regex` replaces `--lora-targets`)."""
        return cls(r=config.lora_r, lora_alpha=config.lora_alpha, lora_dropout=config.lora_dropout,
                   bias=config.lora_bias, use_rslora=config.lora_use_rslora,
                   target_modules=config.lora_target_regex or list(config.lora_targets))


# The layer --------------------------------------------------------------------------------------------


def _move(layer, variable, trainable):
    """Move `variable` between `layer`'s own trainable and non-trainable lists (the Keras 2 way to
    freeze one variable of a layer and not the other). True if it moved."""
    src, dst = ((layer._non_trainable_weights, layer._trainable_weights) if trainable
                else (layer._trainable_weights, layer._non_trainable_weights))
    for i, v in enumerate(src):
        if v is variable:
            del src[i]
            dst.append(variable)
            return True
    return False


def _lists(layer):
    return list(layer._trainable_weights), list(layer._non_trainable_weights)


def _restore_lists(layer, lists):
    # In place, and in the original order: a layer's weight order is its order in weight files.
    layer._trainable_weights[:], layer._non_trainable_weights[:] = lists


@tf_keras.utils.register_keras_serializable(package="tfner")
class LoraDense(tf_keras.layers.Layer):
    """A Dense layer with a frozen kernel and a trainable low-rank update:
    `base(x) + scale * B(A(dropout(x)))`, `scale = lora_alpha / lora_rank` (or `/ sqrt(lora_rank)`).

    Args:
        base: tf_keras.layers.Dense. The layer to adapt, usually already built with pretrained weights;
            its variables are kept as they are (the wrapper takes its name and dtype policy).
        lora_rank: int. The rank r of the update; A is (input x r), B is (r x units).
        lora_alpha: float. Scales the update by lora_alpha / r.
        lora_dropout: float. Dropout on the input of the adapter path only.
        use_rslora: bool. Rank-stabilised scale lora_alpha / sqrt(r).
        train_bias: bool. Whether the base layer's bias trains (the kernel never does).
    """

    def __init__(self, base, lora_rank=16, lora_alpha=32.0, lora_dropout=0.0, use_rslora=False,
                 train_bias=False, **kwargs):
        if not isinstance(base, tf_keras.layers.Dense):
            raise TypeError(f"LoraDense wraps a tf_keras Dense layer, got {type(base).__name__}")
        if base.activation is not tf_keras.activations.linear:
            # The update belongs before the activation; the encoders' targets have none.
            raise ValueError(f"{base.name}: LoRA on a Dense layer with an activation "
                             f"({base.activation.__name__}) is not supported")
        kwargs.setdefault("name", base.name)
        kwargs.setdefault("dtype", base.dtype_policy)
        super().__init__(**kwargs)
        self.base = base
        self.lora_rank = lora_rank
        self.lora_alpha = lora_alpha
        self.lora_dropout = lora_dropout
        self.use_rslora = use_rslora
        self.train_bias = train_bias
        self.scale = lora_alpha / (math.sqrt(lora_rank) if use_rslora else lora_rank)
        self.merged = False
        # float32 whatever the policy: the adapter path runs in float32 (no fp16 underflow/overflow).
        self.dropout_layer = tf_keras.layers.Dropout(lora_dropout, dtype="float32", name="lora_dropout")
        # The base's own weight lists as they were, for release(); kept out of Keras attribute tracking
        # (a tracked list would make the variables checkpoint dependencies twice).
        self.__dict__["_base_lists"] = None
        if base.built:
            self._create_adapters()

    def build(self, input_shape):
        if not self.base.built:
            self.base.build(input_shape)
        if not hasattr(self, "lora_kernel_a"):
            self._create_adapters()
        self.built = True

    def _create_adapters(self):
        kernel = self.base.kernel
        fan_in, units = int(kernel.shape[0]), int(kernel.shape[1])
        # In the base kernel's name scope, so that the names are unique and read like the layer's path
        # (.../attention/self/query/lora_kernel_a:0) whatever scope the wrapping runs in.
        scope = kernel.name.split(":")[0].rsplit("/", 1)[0] + "/" if "/" in kernel.name else None
        with tf.name_scope(scope) if scope else contextlib.nullcontext():
            self.lora_kernel_a = self.add_weight(
                "lora_kernel_a", (fan_in, self.lora_rank), dtype="float32",
                initializer=tf_keras.initializers.HeUniform(), experimental_autocast=False)
            self.lora_kernel_b = self.add_weight(
                "lora_kernel_b", (self.lora_rank, units), dtype="float32",
                initializer="zeros", experimental_autocast=False)
        self.__dict__["_base_lists"] = _lists(self.base)
        _move(self.base, kernel, False)
        if self.base.bias is not None:
            _move(self.base, self.base.bias, self.train_bias)
        self.built = True

    def call(self, inputs, training=None):
        return self._adapted(inputs, training)

    @tf.autograph.experimental.do_not_convert  # plain Python branches; converting cost 0.1 s a layer
    def _adapted(self, inputs, training):
        outputs = self.base(inputs)
        if self.merged:
            return outputs
        x = self.dropout_layer(tf.cast(inputs, tf.float32), training=training)
        # As one 2-D product: tensordot's shape juggling made graph building twice as slow.
        flat = tf.reshape(x, [-1, self.lora_kernel_a.shape[0]])
        delta = tf.matmul(tf.matmul(flat, self.lora_kernel_a), self.lora_kernel_b) * self.scale
        return outputs + tf.reshape(tf.cast(delta, outputs.dtype), tf.shape(outputs))

    def get_delta_weight(self):
        """The update `scale * A @ B` (input x units, float32): the one place it is computed."""
        return self.scale * tf.matmul(self.lora_kernel_a, self.lora_kernel_b)

    def merge(self, safe_merge=False):
        """Fold the update into the base kernel; the adapter path is then skipped."""
        if self.merged:
            return
        delta = self.get_delta_weight()
        if safe_merge and not np.isfinite((tf.cast(self.base.kernel, tf.float32) + delta).numpy()).all():
            raise ValueError(f"{self.name}: merging would give non-finite kernel values; adapter broken?")
        self.base.kernel.assign_add(tf.cast(delta, self.base.kernel.dtype))
        self.merged = True
        _bump()

    def unmerge(self):
        """Take the update back out of the base kernel (exact within float32 rounding)."""
        if not self.merged:
            return
        self.base.kernel.assign_sub(tf.cast(self.get_delta_weight(), self.base.kernel.dtype))
        self.merged = False
        _bump()

    def release(self):
        """Give the base layer its variables' trainability back (before it replaces this wrapper)."""
        if self._base_lists is not None:
            _restore_lists(self.base, self._base_lists)
        self.__dict__["_base_lists"] = None

    def get_config(self):
        config = super().get_config()
        config.update({"base": tf_keras.layers.serialize(self.base), "lora_rank": self.lora_rank,
                       "lora_alpha": self.lora_alpha, "lora_dropout": self.lora_dropout,
                       "use_rslora": self.use_rslora, "train_bias": self.train_bias})
        return config

    @classmethod
    def from_config(cls, config):
        config = dict(config)
        config["base"] = tf_keras.layers.deserialize(config["base"])
        return cls(**config)


# Layer paths ------------------------------------------------------------------------------------------


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
                    raise ValueError(f"two sub-layers share the path {child_path!r}; LoRA needs unique "
                                     "layer names")
                out[child_path] = _Slot(child, layer, attr, index)
                walk(child, child_path)

    walk(root, "")
    return out


def dense_paths(model):
    """Paths of the Dense layers LoRA can wrap (wrapped ones included), in model order."""
    return [p for p, s in layer_paths(model).items()
            if isinstance(s.layer, (tf_keras.layers.Dense, LoraDense))]


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
            named = [("kernel", layer.base.kernel), ("bias", layer.base.bias),
                     ("lora_kernel_a", layer.lora_kernel_a), ("lora_kernel_b", layer.lora_kernel_b)]
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
    unmatched = [t for t in entries if not any(_matches(p, t if isinstance(targets, str) else [t])
                                               for p in paths)]
    if unmatched:
        kind = "regex" if isinstance(targets, str) else "target(s)"
        raise ValueError(f"LoRA {kind} {', '.join(map(repr, unmatched))} match(es) no Dense layer of "
                         f"{model.name}; its Dense layer paths are: {_describe(paths) or 'none'}")
    return [p for p in paths if _matches(p, targets)]


# Applying and removing --------------------------------------------------------------------------------


@dataclass
class _LoraState:
    config: LoraConfig
    layers: dict  # path -> LoraDense
    slots: dict  # path -> _Slot where the wrapper sits
    frozen: list  # (layer, its weight lists before) for the layers outside the wrappers that froze
    originals: dict  # key -> value of every bias that trains, for unload()


def _state(model):
    return model.__dict__.get("_tfner_lora")


def has_lora(model):
    """True if `apply_lora` was applied to this encoder (and not unloaded)."""
    return _state(model) is not None


def lora_config(model):
    state = _state(model)
    return state.config if state else None


def lora_layers(model):
    """`{path: LoraDense}` of an encoder, or of any layer/model containing LoRA layers."""
    state = _state(model)
    if state is not None:
        return dict(state.layers)
    return {f"{layer.name}#{i}": layer for i, layer in enumerate(
        l for l in model._flatten_layers(include_self=True) if isinstance(l, LoraDense))}


def _replace(slot, new):
    """Put `new` where `slot.layer` is, keeping the parent's sub-layer order (the order of its weights)."""
    parent, old = slot.parent, slot.layer
    if slot.index is not None:
        getattr(parent, slot.attr)[slot.index] = new
        return
    pos = next((i for i, t in enumerate(parent._self_tracked_trackables) if t is old), None)
    setattr(parent, slot.attr, new)  # Keras rebuilds the list: the old layer out, the new one last
    tracked = parent._self_tracked_trackables
    at = next((i for i, t in enumerate(tracked) if t is new), None)
    if pos is not None and at is not None and at != pos:
        tracked.insert(pos, tracked.pop(at))


def apply_lora(model, config=None):
    """Wrap the encoder's target Dense layers in `LoraDense` and freeze everything else in it.

    Call it after the pretrained weights are loaded: the base layers keep their variables. What trains
    afterwards in the encoder: the adapters, and the biases that `config.bias` names (`none`: no bias,
    `lora_only`: the wrapped layers' biases, `all`: every bias, i.e. Dense biases and LayerNorm betas as
    PEFT's 'bias' names count them). The head is outside the encoder and stays trainable, as PEFT's
    `modules_to_save` keeps the classifier of a token-classification model. Returns `{path: LoraDense}`.
    """
    config = config or LoraConfig()
    if has_lora(model):
        raise ValueError(f"{model.name} already has LoRA adapters; unload() them first")
    if not model.trainable:
        raise ValueError("LoRA trains adapters inside the encoder: the encoder must not be frozen "
                         "(finetune='frozen')")
    paths = match_targets(model, config.target_modules)
    slots = layer_paths(model)
    layers = {}
    for path in paths:
        slot = slots[path]
        wrapper = LoraDense(slot.layer, config.r, config.lora_alpha, config.lora_dropout,
                            config.use_rslora, train_bias=config.bias != "none")
        _replace(slot, wrapper)
        layers[path] = wrapper
        slots[path] = _Slot(wrapper, slot.parent, slot.attr, slot.index)

    keys = variable_paths(model)
    keep = {id(w.lora_kernel_a) for w in layers.values()} | {id(w.lora_kernel_b) for w in layers.values()}
    if config.bias == "lora_only":
        keep |= {id(w.base.bias) for w in layers.values() if w.base.bias is not None}
    elif config.bias == "all":
        keep |= {id(v) for k, v in keys.items() if k.rsplit(".", 1)[-1] in ("bias", "beta")}
    frozen = []
    for layer in model._flatten_layers(include_self=True, recursive=True):
        if isinstance(layer, LoraDense) or any(layer is w.base for w in layers.values()):
            continue  # the wrapper manages its base layer's variables
        lists = _lists(layer)
        moved = [_move(layer, v, False) for v in lists[0] if id(v) not in keep]
        if any(moved):
            frozen.append((layer, lists))
    originals = {k: v.numpy() for k, v in keys.items()
                 if id(v) in keep and not k.endswith(("lora_kernel_a", "lora_kernel_b"))}
    model.__dict__["_tfner_lora"] = _LoraState(config, layers, {p: slots[p] for p in paths}, frozen,
                                               originals)
    _bump()
    return dict(layers)


def unload(model, merge_adapters=False):
    """Remove the adapters and give back a plain encoder (PEFT's `unload` / `merge_and_unload`).

    With `merge_adapters`, the trained update is folded into the kernels and the trained biases are
    kept: the plain encoder computes what the adapted one did. Without, the base comes back exactly as
    it was before `apply_lora` (kernels unmerged, biases restored), ready for another adapter.
    """
    state = _state(model)
    if state is None:
        raise ValueError(f"{model.name} has no LoRA adapters")
    for path, wrapper in state.layers.items():
        if merge_adapters:
            wrapper.merge()
        else:
            wrapper.unmerge()
        wrapper.release()
        _replace(state.slots[path], wrapper.base)
    for layer, lists in state.frozen:
        _restore_lists(layer, lists)
    if not merge_adapters:
        keys = variable_paths(model)
        for key, value in state.originals.items():
            keys[key].assign(value)
    del model.__dict__["_tfner_lora"]
    _bump()
    return model


def merge_and_unload(model):
    return unload(model, merge_adapters=True)


def merge(model, safe_merge=False):
    """Fold every adapter of `model` (an encoder, or any layer containing LoRA layers) into its kernel."""
    for layer in lora_layers(model).values():
        layer.merge(safe_merge)
    _reset_keras_functions(model)


def unmerge(model):
    for layer in lora_layers(model).values():
        layer.unmerge()
    _reset_keras_functions(model)


def is_merged(model):
    layers = lora_layers(model).values()
    return bool(layers) and all(l.merged for l in layers)


def _reset_keras_functions(model):
    # Keras caches its traced predict/train functions on the model; `merged` is Python state.
    for name in ("predict_function", "train_function", "test_function"):
        if hasattr(model, name):
            setattr(model, name, None)


# Counting ---------------------------------------------------------------------------------------------


def count_parameters(model):
    """(trainable, all) parameters, counted as PEFT's `print_trainable_parameters` counts them.

    The pooler is left out: PyTorch token-classification models are built without one, and in tfner it
    is frozen and gets no gradient. Adapters count once; a merged model counts as a plain one.
    """
    pooler = {id(v) for p in _poolers(model) for v in p.weights}
    size = lambda ws: sum(int(np.prod(w.shape)) for w in ws if id(w) not in pooler)
    return size(model.trainable_weights), size(model.weights)


def parameter_line(model):
    """`trainable params: N || all params: M || trainable%: P`, PEFT's form."""
    trainable, total = count_parameters(model)
    return (f"trainable params: {trainable:,} || all params: {total:,} || "
            f"trainable%: {100 * trainable / max(total, 1):.4f}")


# Merged copies and adapter files ----------------------------------------------------------------------


def _merged_values(model):
    """`{key: value}` of the encoder as a plain model: adapter variables left out, kernels merged."""
    keys = variable_paths(model, include_pooler=True)
    values = {k: v for k, v in keys.items() if not k.endswith(("lora_kernel_a", "lora_kernel_b"))}
    for path, wrapper in lora_layers(model).items():
        if not wrapper.merged:
            values[f"{path}.kernel"] = tf.cast(wrapper.base.kernel, tf.float32) + wrapper.get_delta_weight()
    return values


def merged_tagger(tagger):
    """A plain copy of a LoRA tagger with the adapters merged: same predictions, same weights and
    parameter count as a model trained without LoRA. The tagger itself is left as it is."""
    from tfner.model.encoders import build_encoder
    from tfner.model.heads import HEADS
    from tfner.model.tagger import Tagger, build_model

    config = tagger.config
    encoder = build_encoder(tagger.encoder.config)
    head = HEADS[config.head].build(config, len(tagger.labels))
    model = build_model(encoder, head)
    values = _merged_values(tagger.encoder)
    targets = variable_paths(encoder, include_pooler=True)
    missing = sorted(set(targets) - set(values))
    if missing:
        raise ValueError(f"cannot copy into a plain encoder, no values for: {', '.join(missing[:5])}")
    for key, variable in targets.items():
        variable.assign(tf.cast(values[key], variable.dtype))
    head.set_weights(tagger.model.get_layer("head").get_weights())
    return Tagger(model, encoder, tagger.tokenizer, tagger.labels, config)


def _head_variables(model):
    out = {}
    for layer in model.get_layer("head")._flatten_layers(include_self=False):
        for variable in layer.weights:
            out[f"head.{layer.name}.{variable.name.split(':')[0].rsplit('/', 1)[-1]}"] = variable
    return out


def _base_checksum(model):
    """A fingerprint of the base kernels under the adapters, to refuse an adapter on the wrong base."""
    total = 0.0
    for wrapper in lora_layers(model).values():
        kernel = tf.cast(wrapper.base.kernel, tf.float32)
        if wrapper.merged:
            kernel = kernel - wrapper.get_delta_weight()
        total += float(np.abs(kernel.numpy().astype(np.float64)).sum())
    return total


def adapter_weights(tagger):
    """`{key: array}` of what an adapter file holds: A and B, the biases that trained, the head."""
    state = _state(tagger.encoder)
    if state is None:
        raise ValueError("this tagger has no LoRA adapters (build it with lora=True)")
    keys = variable_paths(tagger.encoder)
    trainable = {id(v) for v in tagger.encoder.trainable_weights}
    out = {k: v.numpy() for k, v in keys.items() if id(v) in trainable}
    out.update({k: v.numpy() for k, v in _head_variables(tagger.model).items()})
    return out


def save_adapter(tagger, path):
    """Write the adapter of a LoRA tagger: `adapter_config.json` + `adapter_model.safetensors`."""
    from safetensors.numpy import save_file

    state = _state(tagger.encoder)
    weights = adapter_weights(tagger)
    os.makedirs(path, exist_ok=True)
    meta = {"format": FORMAT, "version": 1, "lora": dataclasses.asdict(state.config),
            "targets_wrapped": list(state.layers), "labels": list(tagger.labels),
            "base_checksum": _base_checksum(tagger.encoder),
            "train_config": dataclasses.asdict(tagger.config)}
    with open(os.path.join(path, ADAPTER_CONFIG), "w") as f:
        json.dump(meta, f, indent=1)
    save_file({k: np.ascontiguousarray(v) for k, v in weights.items()}, os.path.join(path, ADAPTER_WEIGHTS),
              metadata={"format": FORMAT})
    return path


def load_adapter(path, base=None):
    """A tagger from an adapter folder: the base encoder (`base`, a Tagger or encoder, else loaded
    afresh as the adapter's run config says), the adapter applied to it, the adapter's head.

    Adapters swap onto one base: loading another onto the same encoder first unloads the one it
    carries (restoring the base biases), so the taggers that share the encoder follow the last load.
    """
    from safetensors.numpy import load_file

    from tfner.training.config import TrainConfig
    from tfner.model.heads import HEADS
    from tfner.model.tagger import Tagger, build_model

    if not os.path.exists(os.path.join(path, ADAPTER_CONFIG)):
        raise FileNotFoundError(f"{path}: no {ADAPTER_CONFIG} (not a tfner LoRA adapter)")
    with open(os.path.join(path, ADAPTER_CONFIG)) as f:
        meta = json.load(f)
    if meta.get("format") != FORMAT:
        raise ValueError(f"{path}: {ADAPTER_CONFIG} is not a {FORMAT} file")
    config = TrainConfig.from_dict(meta["train_config"])
    labels = meta["labels"]
    if base is None:  # the encoder as Tagger.build makes it, without a model around it yet
        from tfner.model.encoders import build_encoder, load_encoder_config, resolve_encoder
        from tfner.model.tagger import _freeze_pooler

        base = build_encoder(load_encoder_config(config.encoder, config.encoder_overrides,
                                                 HEADS[config.head].layers_dropped),
                             resolve_encoder(config.encoder) if config.pretrained else None)
        _freeze_pooler(base)
    if isinstance(base, Tagger):
        encoder, tokenizer = base.encoder, base.tokenizer
    else:
        from tfner.model.encoders import load_tokenizer

        encoder, tokenizer = base, load_tokenizer(config.encoder)
    if has_lora(encoder):
        unload(encoder)
    apply_lora(encoder, LoraConfig(**meta["lora"]))
    checksum = _base_checksum(encoder)
    if not math.isclose(checksum, meta["base_checksum"], rel_tol=1e-6):
        unload(encoder)
        raise ValueError(f"{path}: the adapter was trained on another base encoder (kernel checksum "
                         f"{meta['base_checksum']:.6g}, this one {checksum:.6g}); load the base it names "
                         f"(encoder {config.encoder!r}, pretrained={config.pretrained})")
    model = build_model(encoder, HEADS[config.head].build(config, len(labels)))
    tagger = Tagger(model, encoder, tokenizer, labels, config)
    targets = {**variable_paths(encoder), **_head_variables(model)}
    values = load_file(os.path.join(path, ADAPTER_WEIGHTS))
    unknown = sorted(set(values) - set(targets))
    if unknown:
        raise ValueError(f"{path}: adapter weights for layers this model lacks: {', '.join(unknown[:5])}")
    needed = [k for k in targets if k.startswith("head.") or k.endswith(("lora_kernel_a", "lora_kernel_b"))]
    missing = sorted(k for k in needed if k not in values)
    if missing:
        raise ValueError(f"{path}: the adapter file lacks {', '.join(missing[:5])}")
    for key, value in values.items():
        if tuple(targets[key].shape) != value.shape:
            raise ValueError(f"{path}: {key} has shape {value.shape}, the model {tuple(targets[key].shape)}")
        targets[key].assign(value)
    return tagger
