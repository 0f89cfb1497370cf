"""The configuration of a training run, and the command line generated from it.

`TrainConfig` nests the parts other stages own (`model`: `tfner.model.config.ModelConfig`, with its
`lora` part; `collapse`: `tfner.evaluation.collapse.CollapseConfig`) and adds the data, optimisation,
speed and output settings. Each field is documented once (its `help` becomes the `--help` text) and
validated by the class that owns it. The command line and older flat `config.json` files use flat names
(`--lora-r`, `--collapse-action`); `config.json` is written nested. Every trained model carries its run's
config, so `--config run.json` reproduces a run (see `tfner.core.config`).
"""

from dataclasses import dataclass

from tfner.core import config as _config
from tfner.core.config import Config, option, section
from tfner.data.batching import BUCKET_BOUNDS
from tfner.data.notes import FAMILIES, LOCALES
from tfner.evaluation.collapse import CollapseConfig
from tfner.model.config import ModelConfig


@dataclass
class TrainConfig(Config):
    model: ModelConfig = section(ModelConfig, "", "the model: encoder, head, LoRA, windows")
    # Data
    train: str = option(
        "",
        "Training data: CoNLL file, JSONL span file, saved `datasets` directory, or "
        "'hf:NAME' hub dataset. Empty: the embedded synthetic clinical notes.",
    )
    validation: str = option(
        "",
        "Validation data (same forms). Empty: the 'validation' split of a "
        "`datasets` dict, else --validation-fraction of the training documents.",
    )
    test: str = option("", "Test data evaluated after training (same forms); optional.")
    validation_fraction: float = option(
        0.1, "Share of training documents held out for validation when no validation data is given."
    )
    synthetic_train: int = option(750, "Number of synthetic training notes when --train is empty.")
    synthetic_test: int = option(100, "Number of synthetic test notes when --train is empty.")
    synthetic_families: list = option(
        [], "Layout families of the synthetic notes (default: all of tfner.data.notes.FAMILIES).", item_type=str
    )
    synthetic_locales: list = option(
        [], "Faker locales of the synthetic notes (default: all of tfner.data.notes.LOCALES).", item_type=str
    )
    synthetic_label_set: str = option(
        "default",
        "Labels of the synthetic notes: the six PHI types, or also DOCTOR, HOSPITAL and EMAIL (i2b2 2014 style).",
        choices=("default", "extended"),
    )
    max_train_documents: int = option(0, "Use only the first N training documents (0: all).")
    max_eval_documents: int = option(0, "Use only the first N validation/test documents (0: all).")
    misaligned_spans: str = option(
        "error",
        "What to do with a span that does not fall on token boundaries: "
        "stop with an error, or skip its document and count it.",
        choices=("error", "skip"),
    )
    # Optimisation
    batch_size: int = option(32, "Sentences (windows) per batch.")
    epochs: int = option(3, "Training epochs (early stopping may end sooner).")
    learning_rate: float = option(5e-5, "Peak learning rate of AdamW for the encoder.")
    head_learning_rate: float = option(
        1e-3,
        "Peak learning rate for the head, which starts from random "
        "weights and needs larger steps than the pretrained encoder "
        "(0: same as --learning-rate).",
    )
    warmup_ratio: float = option(0.1, "Share of training steps spent warming the learning rate up linearly.")
    weight_decay: float = option(0.01, "AdamW weight decay (not applied to biases and LayerNorm).")
    clip_norm: float = option(1.0, "Global gradient-norm clipping (0: off).")
    lazy_embeddings: bool = option(
        True,
        "Lazy AdamW for the word embeddings (TF Addons' LazyAdam, PyTorch's SparseAdam): each step decays "
        "and updates only the rows the batch looked up, not the whole vocabulary, whose momentum would keep "
        "moving them. A cheaper optimizer step (the embeddings are half of a small encoder's weights; the "
        "whole CoNLL epoch 1.11x on a 2-core CPU, median of three pairs; F1 within seed noise, see the "
        "README). --no-lazy-embeddings: Keras' dense AdamW update. Under --jit-compile the dense update "
        "runs (XLA cannot compile the lookup of the rows).",
    )
    early_stopping_patience: int = option(2, "Epochs without a better val_f1 before stopping (0: off).")
    seqeval_mode: str = option(
        "default", "Entity matching: seqeval's default (conlleval-like) or strict IOB2.", choices=("default", "strict")
    )
    seed: int = option(42, "Random seed for weights, shuffling and the synthetic data.")
    # Speed and distribution (tfner.training.distribute, tfner.data.batching)
    strategy: str = option(
        "auto",
        "tf.distribute strategy; auto picks tpu, multi-worker (TF_CONFIG), "
        "mirrored (several GPUs), one-device (one GPU) or default, and prints why.",
        choices=("auto", "default", "one-device", "mirrored", "multi-worker", "tpu"),
    )
    devices: list = option(
        [], "Devices for one-device/mirrored, e.g. /gpu:0 /gpu:1 (default: every GPU).", item_type=str
    )
    tpu: str = option("", "TPU name or grpc:// address for --strategy tpu ('' on a TPU VM).")
    cluster_timeout: float = option(
        300.0,
        "Seconds a multi-worker process waits for every task in TF_CONFIG to start before it stops "
        "with an error naming the ones that never answered.",
    )
    padding: str = option(
        "buckets",
        "Batch padding: --batch-size windows of one length bucket, each batch padded to its longest window "
        "(to the bucket's bound with --fixed-shapes); the same buckets with rows set by a token budget "
        "(--max-tokens); random batches padded to their longest window; or to max_length (slow).",
        choices=("buckets", "tokens", "batch", "max-length"),
    )
    max_tokens: int = option(
        0,
        "Token budget of a training batch with --padding tokens, per replica (fairseq's max_tokens): a batch "
        "of bucket bound b holds max_tokens // b windows, so rows x bound, padding included, stays within "
        "it; short windows go many to a batch, long ones few. At least --max-length. 0: --batch-size x the "
        "mean bucket bound of the training windows, about as many steps per epoch as --padding buckets.",
    )
    bucket_bounds: list = option(
        list(BUCKET_BOUNDS),
        "Bucket bounds in tokens: steps of 4 up to 32, then about 1.2x apart (bounds above max_length are "
        "dropped; max_length is always the last).",
    )
    fixed_shapes: bool = option(
        False,
        "With --padding buckets or tokens: pad each batch to its bucket's bound and fill a bucket's last "
        "batch with empty rows, one shape per bucket (always so with --jit-compile: XLA compiles once per "
        "shape). The same batches, more padding (CoNLL-2003: 13 percent of the tokens instead of 9).",
    )
    sort_by_length: bool = option(
        False,
        "With --padding buckets or tokens: batch a bucket's windows in length order (equal lengths in a "
        "new random order each epoch; the batches shuffled), not in random order: almost no padding "
        "(CoNLL-2003: 0.3 percent of the tokens) and 1.1x faster epochs, but less varied batches (1.8 F1 "
        "points lower on 2,000 CoNLL sentences over 4 seeds, see the README). Not with --fixed-shapes or "
        "--jit-compile.",
    )
    jit_compile: bool = option(
        False, "Compile the training step with XLA (use with --padding buckets: one compilation per bucket)."
    )
    precision: str = option(
        "float32",
        "Keras mixed-precision policy; logits, softmax, loss and LoRA "
        "adapters stay float32, float16 gets dynamic loss scaling.",
        choices=("float32", "mixed_float16", "mixed_bfloat16"),
    )
    steps_per_execution: int = option(
        1,
        "Training steps run per call into the compiled step (fewer Python "
        "round trips; callbacks see every N-th batch).",
    )
    # Label-collapse detection (tfner.evaluation.collapse, tfner.training.collapse)
    collapse: CollapseConfig = section(CollapseConfig, "collapse", "label-collapse detection")
    # Output
    output_dir: str = option("runs/latest", "Where the model, logs, history, metrics and plots are written.")
    eval_before: bool = option(
        True, "Also evaluate the untrained model on the test data, for a before/after comparison."
    )
    verbose: int = option(1, "Keras verbosity: 0 silent, 1 progress bar, 2 one line per epoch.", choices=(0, 1, 2))

    def __post_init__(self):
        super().__post_init__()
        for name in ("batch_size", "epochs", "synthetic_train", "synthetic_test", "steps_per_execution"):
            if getattr(self, name) <= 0:
                raise ValueError(f"{name} must be positive, got {getattr(self, name)}")
        for name in ("max_train_documents", "max_eval_documents", "early_stopping_patience", "max_tokens"):
            if getattr(self, name) < 0:
                raise ValueError(f"{name} must be >= 0, got {getattr(self, name)}")
        if self.learning_rate <= 0 or self.head_learning_rate < 0:
            raise ValueError(f"learning rates must be positive, got {self.learning_rate} and {self.head_learning_rate}")
        if not 0 <= self.warmup_ratio < 1:
            raise ValueError(f"warmup_ratio must be in [0, 1), got {self.warmup_ratio}")
        if self.weight_decay < 0 or self.clip_norm < 0:
            raise ValueError(f"weight_decay and clip_norm must be >= 0, got {self.weight_decay} and {self.clip_norm}")
        if not 0 <= self.seed < 2**32:
            raise ValueError(f"seed must be in [0, 2**32), got {self.seed}")
        if self.cluster_timeout <= 0:
            raise ValueError(f"cluster_timeout must be positive (seconds), got {self.cluster_timeout}")
        if not 0 < self.validation_fraction < 1:
            raise ValueError(f"validation_fraction must be in (0, 1), got {self.validation_fraction}")
        if not self.bucket_bounds or any(
            isinstance(b, bool) or not isinstance(b, int) or b <= 0 for b in self.bucket_bounds
        ):
            raise ValueError(f"bucket_bounds must be positive integers (a list), got {self.bucket_bounds!r}")
        if any(not isinstance(d, str) or not d for d in self.devices):
            raise ValueError(f"devices must be device names such as /gpu:0, got {self.devices!r}")
        self.bucket_bounds, self.devices = sorted(set(self.bucket_bounds)), list(self.devices)
        if self.sort_by_length and (self.fixed_shapes or self.jit_compile):
            raise ValueError(
                "sort_by_length pads each batch to its longest window: it cannot go with fixed_shapes or "
                "jit_compile (XLA needs one shape per bucket)"
            )
        if self.max_tokens and self.padding != "tokens":
            raise ValueError(
                f"max_tokens={self.max_tokens} applies to --padding tokens only, not {self.padding!r} "
                "(set it to 0, or use --padding tokens)"
            )
        if self.padding == "tokens" and 0 < self.max_tokens < self.model.max_length:
            raise ValueError(
                f"--padding tokens needs max_tokens >= max_length ({self.model.max_length}), got "
                f"{self.max_tokens}: a window of max_length tokens must fit in a batch (0: the default budget)"
            )
        for name, known in (("synthetic_families", FAMILIES), ("synthetic_locales", LOCALES)):
            unknown = [v for v in getattr(self, name) if v not in known]
            if unknown:
                raise ValueError(f"{name}: unknown {', '.join(map(repr, unknown))}; known: {', '.join(known)}")


def add_config_arguments(parser, cls=TrainConfig):
    """One flag per setting of `cls` (flat names), and `--config RUN.JSON`."""
    _config.add_config_arguments(parser, cls)


def config_from_args(args, cls=TrainConfig):
    """Defaults, then the `--config` JSON, then the flags given on the command line."""
    return _config.config_from_args(args, cls)
