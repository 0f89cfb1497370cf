"""Adapter-only files: the LoRA update and the head of a tagger, a few MB beside a shared base.

    save_adapter(tagger, "adapter/")   # adapter_config.json + adapter_model.safetensors, keyed by layer path
    tagger = load_adapter("adapter/")  # onto a freshly loaded base encoder (or `base=` one already loaded)

Keys are layer paths (`encoder.layer.0.attention.self.query.lora_kernel_a`), never positions; a checksum
of the base kernels refuses an adapter on the wrong base.
"""

import json
import math
import os

import numpy as np
import tensorflow as tf

from tfner.model.config import ModelConfig
from tfner.model.encoders import load_encoder, load_tokenizer
from tfner.model.heads import HEADS
from tfner.model.lora import (
    LoraConfig,
    apply_lora,
    has_lora,
    is_merged,
    lora_config,
    lora_layers,
    merge,
    unload,
    unmerge,
    variable_paths,
)
from tfner.model.tagger import ModelFileError, Tagger, build_model

ADAPTER_CONFIG = "adapter_config.json"
ADAPTER_WEIGHTS = "adapter_model.safetensors"
FORMAT = "tfner-lora-adapter"


def _head_variables(model):
    """`{key: variable}` of the head's layers (`head.<layer>.<weight>`) and the CRF's (`head.crf.<weight>`)."""
    out = {}
    layers = list(model.get_layer("head")._flatten_layers(include_self=False))
    for layer in layers + ([model.crf_layer] if model.crf_layer is not None else []):
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
    if not has_lora(tagger.encoder):
        raise ValueError("this tagger has no LoRA adapters (build it with lora.enabled=True)")
    keys = variable_paths(tagger.encoder)
    trainable = {id(v) for v in tagger.encoder.trainable_weights}
    out = {k: v.numpy() for k, v in keys.items() if id(v) in trainable}
    out.update({k: v.numpy() for k, v in _head_variables(tagger.model).items()})
    return out


def save_adapter(tagger, path):
    """Write the adapter of a LoRA tagger: `adapter_config.json` + `adapter_model.safetensors`."""
    from safetensors.numpy import save_file

    weights = adapter_weights(tagger)
    os.makedirs(path, exist_ok=True)
    meta = {
        "format": FORMAT,
        "version": 2,
        "lora": lora_config(tagger.encoder).to_dict(),
        "targets_wrapped": list(lora_layers(tagger.encoder)),
        "labels": list(tagger.labels),
        "base_checksum": _base_checksum(tagger.encoder),
        "model_config": tagger.config.to_dict(),
    }
    with open(os.path.join(path, ADAPTER_CONFIG), "w") as f:
        json.dump(meta, f, indent=1)
    save_file(
        {k: np.ascontiguousarray(v) for k, v in weights.items()},
        os.path.join(path, ADAPTER_WEIGHTS),
        metadata={"format": FORMAT},
    )
    return path


def load_adapter(path, base=None):
    """A tagger from an adapter folder: the base encoder (`base`, a Tagger or encoder, else loaded
    afresh as the adapter's model config says), the adapter applied to it, the adapter's head.

    Adapters swap onto one base: loading another onto the same encoder first unloads the one it
    carries (restoring the base biases), so the taggers that share the encoder follow the last load.
    Both files are read and checked before the base is touched: a missing file raises
    `FileNotFoundError`, a damaged one or one that does not fit the base `ModelFileError`, naming it.
    """
    meta, config, lora_settings, labels = _read_adapter_config(path)
    values = _read_adapter_weights(os.path.join(path, ADAPTER_WEIGHTS))
    if base is None:  # the encoder as Tagger.build makes it, without a model around it yet
        base = load_encoder(
            config.encoder, config.pretrained, config.encoder_overrides, HEADS[config.head].layers_dropped
        )
    if isinstance(base, Tagger):
        encoder, tokenizer = base.encoder, base.tokenizer
    else:
        encoder, tokenizer = base, load_tokenizer(config.encoder)
    restore = _carried_adapter(encoder)
    apply_lora(encoder, lora_settings)
    try:
        checksum = _base_checksum(encoder)
        if not math.isclose(checksum, meta["base_checksum"], rel_tol=1e-6):
            raise ModelFileError(
                f"{path}: the adapter was trained on another base encoder (kernel checksum "
                f"{meta['base_checksum']:.6g}, this one {checksum:.6g}); load the base it names "
                f"(encoder {config.encoder!r}, pretrained={config.pretrained})"
            )
        model = build_model(encoder, HEADS[config.head].build(config, len(labels)), config)
        targets = {**variable_paths(encoder), **_head_variables(model)}
        weights = os.path.join(path, ADAPTER_WEIGHTS)
        unknown = sorted(set(values) - set(targets))
        if unknown:
            raise ModelFileError(f"{weights}: adapter weights for layers this model lacks: {', '.join(unknown[:5])}")
        needed = [k for k in targets if k.startswith("head.") or k.endswith(("lora_kernel_a", "lora_kernel_b"))]
        missing = sorted(k for k in needed if k not in values)
        if missing:
            raise ModelFileError(f"{weights}: the adapter file lacks {', '.join(missing[:5])}")
        for key, value in values.items():
            if tuple(targets[key].shape) != value.shape:
                raise ModelFileError(
                    f"{weights}: {key} has shape {value.shape}, the model {tuple(targets[key].shape)} "
                    f"({len(labels)} labels in {ADAPTER_CONFIG}, LoRA r={lora_settings.r})"
                )
    except ModelFileError:
        unload(encoder)
        restore()  # the base goes back as it came, with the adapter it carried
        raise
    for key, value in values.items():
        targets[key].assign(value)
    return Tagger(model, encoder, tokenizer, labels, config)


def _carried_adapter(encoder):
    """Unload the adapter `encoder` carries (if any); returns a function that puts it back as it was."""
    if not has_lora(encoder):
        return lambda: None
    config, merged = lora_config(encoder), is_merged(encoder)
    if merged:
        unmerge(encoder)
    values = {k: v.numpy() for k, v in variable_paths(encoder).items()}
    unload(encoder)

    def restore():
        apply_lora(encoder, config)
        for key, variable in variable_paths(encoder).items():
            variable.assign(values[key])
        if merged:
            merge(encoder)

    return restore


def _read_adapter_config(path):
    """(meta, model config, LoRA settings, labels) of `adapter_config.json`, each checked."""
    source = os.path.join(path, ADAPTER_CONFIG)
    if not os.path.isfile(source):
        raise FileNotFoundError(f"{path}: no {ADAPTER_CONFIG} (not a tfner LoRA adapter)")
    try:
        with open(source, encoding="utf-8") as f:
            meta = json.load(f)
    except (json.JSONDecodeError, UnicodeDecodeError) as e:
        raise ModelFileError(f"{source}: not valid JSON ({e}); expected the object `save_adapter` writes") from None
    if not isinstance(meta, dict) or meta.get("format") != FORMAT:
        raise ModelFileError(f'{source}: expected a JSON object with "format": "{FORMAT}"')
    fields = ("lora", "labels", "base_checksum", "model_config" if "model_config" in meta else "train_config")
    absent = [k for k in fields if k not in meta]
    if absent:
        raise ModelFileError(f"{source}: the adapter config lacks {', '.join(absent)}")
    try:
        if "model_config" in meta:
            config, lora_settings = (
                ModelConfig.from_dict(meta["model_config"], source),
                LoraConfig.from_dict(meta["lora"], source),
            )
        else:  # version 1: the flat run config and PEFT-named LoRA settings
            config, lora_settings = (
                ModelConfig.from_saved(meta["train_config"], source),
                LoraConfig.from_peft(meta["lora"]),
            )
    except (AttributeError, KeyError, TypeError, ValueError) as e:
        reason = str(e) if str(e).startswith(source) else f"{source}: {e}"
        raise ModelFileError(f"{reason} (the adapter's model or LoRA settings)") from None
    labels = meta["labels"]
    if not isinstance(labels, list) or "O" not in labels or not all(isinstance(l, str) for l in labels):
        raise ModelFileError(f'{source}: "labels" must be a list of label strings with "O" among them')
    if isinstance(meta["base_checksum"], bool) or not isinstance(meta["base_checksum"], (int, float)):
        raise ModelFileError(f'{source}: "base_checksum" must be a number, got {meta["base_checksum"]!r}')
    return meta, config, lora_settings, labels


def _read_adapter_weights(path):
    from safetensors import SafetensorError
    from safetensors.numpy import load_file

    if not os.path.exists(path):
        raise FileNotFoundError(f"{path}: missing (the adapter's weights, written beside {ADAPTER_CONFIG})")
    try:
        values = load_file(path)
    except (SafetensorError, OSError) as e:
        raise ModelFileError(
            f"{path}: not a readable safetensors file ({e}); it is damaged or truncated: copy it again"
        ) from None
    bad = sorted(k for k, v in values.items() if v.dtype.kind == "f" and not np.isfinite(v).all())
    if bad:
        raise ModelFileError(f"{path}: NaN or infinite values in {', '.join(bad[:3])}: the file is damaged")
    return values
