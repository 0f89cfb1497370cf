"""The settings of LoRA adapters, as one nested part of the model config (`--lora-*` flags)."""

import re
from dataclasses import dataclass

from tfner.core.config import Config, option

DEFAULT_TARGETS = ("query", "key", "value", "output.dense", "intermediate.dense")
BIAS_MODES = ("none", "all", "lora_only")


@dataclass
class LoraConfig(Config):
    """LoRA adapters on the encoder's Dense layers; PEFT's names in brackets. The defaults are the
    clinical de-identification recipe."""

    enabled: bool = option(
        False,
        "Train LoRA adapters on the frozen encoder (and the whole head) instead "
        "of every weight; saved models are merged, the adapter also goes to "
        "OUTPUT_DIR/adapter. LoRA wants a larger --learning-rate than full fine-tuning, "
        "e.g. 5e-4.",
    )
    r: int = option(16, "LoRA rank r [r].")
    alpha: float = option(32.0, "LoRA scale numerator: the update is (alpha/r)·A·B [lora_alpha].")
    dropout: float = option(
        0.05,
        "Dropout in the adapter path, on the rank-r product x·A (PEFT drops features of the input x: "
        "the same expectation, r instead of fan_in random numbers a token) [lora_dropout].",
    )
    bias: str = option(
        "lora_only",
        "Which biases train: none, every bias of the encoder (Dense biases, "
        "LayerNorm betas), or those of the wrapped layers [bias].",
        choices=BIAS_MODES,
    )
    targets: list = option(
        list(DEFAULT_TARGETS),
        "Dense layers to adapt, matched against paths such as "
        "encoder.layer.0.attention.self.query exactly or as a .suffix ('output.dense' is "
        "both the attention output and the feed-forward output) [target_modules].",
        item_type=str,
    )
    target_regex: str = option(
        "", "A regex the whole layer path must match, instead of --lora-targets [target_modules as a string]."
    )
    use_rslora: bool = option(False, "Rank-stabilised scale alpha/sqrt(r) [use_rslora].")

    def __post_init__(self):
        super().__post_init__()
        if self.r <= 0:
            raise ValueError(f"LoRA r must be a positive integer, got {self.r!r}")
        if not self.alpha > 0:
            raise ValueError(f"LoRA alpha must be positive, got {self.alpha!r}")
        if not 0 <= self.dropout < 1:
            raise ValueError(f"LoRA dropout must be in [0, 1), got {self.dropout!r}")
        if not self.targets or any(not isinstance(t, str) or not t for t in self.targets):
            raise ValueError(f"LoRA targets must be a non-empty list of layer names, got {self.targets!r}")
        try:
            re.compile(self.target_regex)
        except re.error as e:
            raise ValueError(f"LoRA target_regex {self.target_regex!r}: {e}") from None

    @property
    def target_modules(self):
        """PEFT's `target_modules`: the regex string when one is given, else the list of names."""
        return self.target_regex or list(self.targets)

    @property
    def scale(self):
        return self.alpha / (self.r**0.5 if self.use_rslora else self.r)

    @classmethod
    def from_peft(cls, values):
        """From PEFT-named settings (`lora_alpha`, `target_modules`, ...), as adapter files of tfner
        0.1 stored them."""
        values = dict(values)
        renames = {"lora_alpha": "alpha", "lora_dropout": "dropout"}
        out = {renames.get(k, k): v for k, v in values.items() if k != "target_modules"}
        targets = values.get("target_modules")
        if isinstance(targets, str):
            out["target_regex"] = targets
        elif targets is not None:
            out["targets"] = list(targets)
        return cls.from_dict(out, source="adapter_config.json lora")
