"""Applying LoRA to an encoder and taking it off again: wrapping the target layers, freezing the rest,
merging, unloading, counting parameters, and copying the merged weights into a plain encoder."""

from dataclasses import dataclass

import numpy as np
import tensorflow as tf

from tfner.model.lora.config import LoraConfig
from tfner.model.lora.layer import LoraDense, _lists, _move, _restore_lists
from tfner.model.lora.paths import _poolers, _Slot, layer_paths, match_targets, variable_paths


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
    return {
        f"{layer.name}#{i}": layer
        for i, layer in enumerate(l for l in model._flatten_layers(include_self=True) if isinstance(l, LoraDense))
    }


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
        raise ValueError("LoRA trains adapters inside the encoder: the encoder must not be frozen (finetune='frozen')")
    paths = match_targets(model, config.target_modules)
    slots = layer_paths(model)
    layers = {}
    for path in paths:
        slot = slots[path]
        wrapper = LoraDense(
            slot.layer, config.r, config.alpha, config.dropout, config.use_rslora, train_bias=config.bias != "none"
        )
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
    originals = {
        k: v.numpy() for k, v in keys.items() if id(v) in keep and not k.endswith(("lora_kernel_a", "lora_kernel_b"))
    }
    model.__dict__["_tfner_lora"] = _LoraState(config, layers, {p: slots[p] for p in paths}, frozen, originals)
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


def trace_key(model):
    """What traced functions of `model` depend on: the LoRA layers and whether each is merged
    (`LoraDense.merged` is Python state, baked into a graph when it is traced). Callers that cache
    traced functions retrace when it changes."""
    return tuple((path, layer.merged) for path, layer in lora_layers(model).items())


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
    return (
        f"trainable params: {trainable:,} || all params: {total:,} || trainable%: {100 * trainable / max(total, 1):.4f}"
    )


def _merged_values(model):
    """`{key: value}` of the encoder as a plain model: adapter variables left out, kernels merged."""
    keys = variable_paths(model, include_pooler=True)
    values = {k: v for k, v in keys.items() if not k.endswith(("lora_kernel_a", "lora_kernel_b"))}
    for path, wrapper in lora_layers(model).items():
        if not wrapper.merged:
            values[f"{path}.kernel"] = tf.cast(wrapper.base.kernel, tf.float32) + wrapper.get_delta_weight()
    return values


def copy_merged(encoder, plain):
    """Assign `encoder`'s weights with the adapters merged to `plain`, an encoder of the same
    configuration without LoRA: it then computes what the adapted encoder computes, at plain speed."""
    values = _merged_values(encoder)
    targets = variable_paths(plain, include_pooler=True)
    missing = sorted(set(targets) - set(values))
    if missing:
        raise ValueError(f"cannot copy into a plain encoder, no values for: {', '.join(missing[:5])}")
    for key, variable in targets.items():
        variable.assign(tf.cast(values[key], variable.dtype))
    return plain
