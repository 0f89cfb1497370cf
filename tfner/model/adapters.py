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
from tfner.model.lora import LoraConfig, apply_lora, has_lora, lora_config, lora_layers, unload, variable_paths
from tfner.model.tagger import Tagger, build_model

ADAPTER_CONFIG = "adapter_config.json"
ADAPTER_WEIGHTS = "adapter_model.safetensors"
FORMAT = "tfner-lora-adapter"


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
    """
    from safetensors.numpy import load_file

    if not os.path.exists(os.path.join(path, ADAPTER_CONFIG)):
        raise FileNotFoundError(f"{path}: no {ADAPTER_CONFIG} (not a tfner LoRA adapter)")
    with open(os.path.join(path, ADAPTER_CONFIG)) as f:
        meta = json.load(f)
    if meta.get("format") != FORMAT:
        raise ValueError(f"{path}: {ADAPTER_CONFIG} is not a {FORMAT} file")
    source = os.path.join(path, ADAPTER_CONFIG)
    if "model_config" in meta:
        config, lora_settings = (
            ModelConfig.from_dict(meta["model_config"], source),
            LoraConfig.from_dict(meta["lora"], source),
        )
    else:  # version 1: the flat run config and PEFT-named LoRA settings
        config, lora_settings = ModelConfig.from_saved(meta["train_config"], source), LoraConfig.from_peft(meta["lora"])
    labels = meta["labels"]
    if base is None:  # the encoder as Tagger.build makes it, without a model around it yet
        base = load_encoder(
            config.encoder, config.pretrained, config.encoder_overrides, HEADS[config.head].layers_dropped
        )
    if isinstance(base, Tagger):
        encoder, tokenizer = base.encoder, base.tokenizer
    else:
        encoder, tokenizer = base, load_tokenizer(config.encoder)
    if has_lora(encoder):
        unload(encoder)
    apply_lora(encoder, lora_settings)
    checksum = _base_checksum(encoder)
    if not math.isclose(checksum, meta["base_checksum"], rel_tol=1e-6):
        unload(encoder)
        raise ValueError(
            f"{path}: the adapter was trained on another base encoder (kernel checksum "
            f"{meta['base_checksum']:.6g}, this one {checksum:.6g}); load the base it names "
            f"(encoder {config.encoder!r}, pretrained={config.pretrained})"
        )
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
