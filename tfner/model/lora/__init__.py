"""LoRA for the Hugging Face TF (tf_keras) encoders: the layer, applying it by layer path, merging.

Neither PEFT (PyTorch only) nor tf_keras (no `Dense.enable_lora`) offers this, so tfner brings its own:

    from tfner.model.lora import LoraConfig, apply_lora, merge, unmerge
    apply_lora(encoder, LoraConfig(r=16, alpha=32))  # wraps query, key, value, ... Dense layers
    merge(encoder); unmerge(encoder)                 # fold (alpha/r)·A·B into the kernels and out

`tfner train --lora` does the first step through `Tagger.build`; every saved model is merged
(`Tagger.save`), and `tfner.model.adapters` writes and reads adapter-only files. Wrapping replaces the
attribute on the parent layer in place, so the base Dense keeps its variables (names and values) and the
parent its sub-layer order. This package knows encoders and layers only, nothing of `Tagger`.
"""

from tfner.model.lora.config import BIAS_MODES, DEFAULT_TARGETS, LoraConfig
from tfner.model.lora.inject import (
    apply_lora,
    copy_merged,
    count_parameters,
    has_lora,
    is_merged,
    lora_config,
    lora_layers,
    merge,
    merge_and_unload,
    parameter_line,
    trace_key,
    unload,
    unmerge,
)
from tfner.model.lora.layer import LoraDense
from tfner.model.lora.paths import dense_paths, layer_paths, match_targets, variable_paths

__all__ = [
    "BIAS_MODES",
    "DEFAULT_TARGETS",
    "LoraConfig",
    "LoraDense",
    "apply_lora",
    "copy_merged",
    "count_parameters",
    "dense_paths",
    "has_lora",
    "is_merged",
    "layer_paths",
    "lora_config",
    "lora_layers",
    "match_targets",
    "merge",
    "merge_and_unload",
    "parameter_line",
    "trace_key",
    "unload",
    "unmerge",
    "variable_paths",
]
