"""`Tagger`: a tf_keras token-classification model with its tokenizer, labels and run config.

The model is functional: `{"input_ids", "attention_mask"}` (int32, shape (batch, length)), plus
`token_type_ids` (line starts, `Windows.line_starts`) when it `sees_layout`, -> logits (batch, length,
labels) from the encoder's last hidden state through the head. A saved tagger is a folder holding
everything needed to rebuild it offline:

    config.json          the run config (`TrainConfig`), whose `model` part rebuilds the tagger
    labels.json          label list, index = class id
    encoder/config.json  the transformers config of the encoder as trained (layers dropped included)
    tokenizer/           the fast tokenizer files
    weights.h5           all weights (encoder and head)

A model trained with LoRA (`config.lora.enabled`) is saved merged: `weights.h5` holds a plain encoder with
the adapters folded into its kernels, so `load` rebuilds it without LoRA (config.json still records how it
was trained). The adapter alone is written by `tfner.model.adapters.save_adapter`. Compiling for training
lives with training (`tfner.training.optim.compile_tagger`), scoring with evaluation
(`tfner.evaluation.metrics.evaluate_tagger`).
"""

import dataclasses
import json
import os

import numpy as np
import tensorflow as tf
import tf_keras

from tfner.data import align
from tfner.model import crf as crf_ops
from tfner.model import lora
from tfner.model.config import ModelConfig
from tfner.model.decoding import Decoder, read_thresholds, softmax, write_thresholds
from tfner.model.encoders import build_encoder, load_encoder, load_tokenizer
from tfner.model.heads import HEADS
from tfner.model.losses import masked_loss_sum

WEIGHTS = "weights.h5"


class TaggerModel(tf_keras.Model):
    """The functional tagger with a training step that gives the head its own optimizer.

    The head starts from random weights and needs a larger learning rate than the pretrained encoder;
    Adam ignores gradient scale, so two optimizers are the way to get two learning rates. Gradients
    are clipped by their global norm over both groups together. Set `head_optimizer` before `fit`;
    without one, the compiled optimizer updates everything (`Tagger.compile` sets everything up).

    Under a tf.distribute strategy with several replicas the step is the same computation as on one
    device for the same global batch: the loss is the sum over each replica's labelled tokens divided
    by the labelled-token count of the global batch, the gradients are summed across replicas before
    the global-norm clipping, and the optimizers then apply them without aggregating again.
    With float16 (`loss_scaled`), the loss is scaled by the encoder optimizer's dynamic loss scale and
    the gradients unscaled; a step whose gradients are not finite is skipped by both optimizers (the
    clipping turns every gradient into NaN then, so both see it).
    """

    head_optimizer = None
    clip_norm = 0.0
    loss_scaled = False

    def __call__(self, inputs, *args, **kwargs):
        # a model that sees layout, given no token types (word-level data, a caller that has no line
        # starts): none, as Hugging Face encoders default them
        if isinstance(inputs, dict) and "token_type_ids" in self.input and "token_type_ids" not in inputs:
            inputs = {**inputs, "token_type_ids": tf.zeros_like(inputs["input_ids"])}
        return super().__call__(inputs, *args, **kwargs)

    def train_step(self, data):
        x, y = data
        context = tf.distribute.get_replica_context()
        replicas = context.num_replicas_in_sync if context is not None else 1
        with tf.GradientTape() as tape:
            logits = self(x, training=True)
            crf = self.crf_layer
            total, count = masked_loss_sum(y, logits) if crf is None else crf_ops.nll_sum(y, logits, crf)
            if replicas > 1:
                count = context.all_reduce(tf.distribute.ReduceOp.SUM, count)
            loss = total / tf.maximum(count, 1.0)
            objective = self.optimizer.get_scaled_loss(loss) if self.loss_scaled else loss
        variables = self.trainable_variables
        pairs = [(g, v) for g, v in zip(tape.gradient(objective, variables), variables) if g is not None]
        grads = [g for g, _ in pairs]
        if self.loss_scaled:
            grads = self.optimizer.get_unscaled_gradients(grads)
        if replicas > 1:
            grads = context.all_reduce(tf.distribute.ReduceOp.SUM, grads)
            loss = context.all_reduce(tf.distribute.ReduceOp.SUM, loss)
        grads = [_sum_duplicates(g) for g in grads]
        if self.clip_norm:
            grads, _ = tf.clip_by_global_norm(grads, self.clip_norm)
        pairs = [(g, v) for g, (_, v) in zip(grads, pairs)]
        head = {id(v) for v in self.head_variables}
        groups = [
            (self.optimizer, [p for p in pairs if id(p[1]) not in head]),
            (self.head_optimizer, [p for p in pairs if id(p[1]) in head]),
        ]
        if self.head_optimizer is None:
            groups = [(self.optimizer, pairs)]
        for optimizer, group in groups:
            if group:
                optimizer.apply_gradients(group, skip_gradients_aggregation=True)
        self._loss_tracker.update_state(loss)
        self.compiled_metrics.update_state(y, logits)
        return {m.name: m.result() for m in self.metrics}

    @property
    def crf_layer(self):
        """The `tfner.model.crf.CRF` layer, or None."""
        return next((layer for layer in self.layers if isinstance(layer, crf_ops.CRF)), None)

    @property
    def head_variables(self):
        """The trainable variables of the head and the CRF: the ones the head optimizer updates."""
        extra = self.crf_layer.trainable_variables if self.crf_layer is not None else []
        return self.get_layer("head").trainable_variables + extra

    @property
    def metrics(self):
        tracker = getattr(self, "_loss_tracker", None)
        return ([tracker] if tracker is not None else []) + [m for m in super().metrics if m.name != "loss"]

    def compile(self, *args, **kwargs):
        super().compile(*args, **kwargs)
        # Created here, in the strategy's scope like compile; set past Keras' attribute tracking, which
        # would count its two variables among the model's weights (and in weights.h5).
        object.__setattr__(self, "_loss_tracker", tf_keras.metrics.Mean(name="loss"))


def _sum_duplicates(grad):
    """An embedding's gradient (IndexedSlices) with one row per index: a token seen twice in a batch,
    or on two replicas, otherwise gives two rows, and the global norm would square them separately
    instead of squaring their sum, so the clipping would differ from the true gradient norm's."""
    if not isinstance(grad, tf.IndexedSlices):
        return grad
    unique, position = tf.unique(grad.indices)
    values = tf.math.unsorted_segment_sum(grad.values, position, tf.shape(unique)[0])
    return tf.IndexedSlices(values, unique, grad.dense_shape)


def sees_layout(config, encoder):
    """Whether a model of `config` on `encoder` takes line starts as token type ids: asked for
    (`ModelConfig.line_starts`) and the encoder has a second token type."""
    return config.line_starts and getattr(encoder.config, "type_vocab_size", 0) >= 2


def build_model(encoder, head, config):
    """The functional tagger: encoder -> head -> logits, with a `CRF` layer on the logits if
    `config.crf`; inputs `input_ids`, `attention_mask` and, when it `sees_layout`, `token_type_ids`."""
    inputs = {name: tf_keras.Input((None,), dtype=tf.int32, name=name) for name in ("input_ids", "attention_mask")}
    if sees_layout(config, encoder):
        inputs["token_type_ids"] = tf_keras.Input((None,), dtype=tf.int32, name="token_type_ids")
    hidden = encoder(**inputs).last_hidden_state
    logits = head(hidden)
    if config.crf:  # the CRF layer holds the transition scores and passes the logits on as float32
        logits = crf_ops.CRF(logits.shape[-1])(logits)
    elif logits.dtype != tf.float32:  # mixed precision: softmax and loss want float32 logits
        logits = tf_keras.layers.Activation("linear", dtype="float32", name="logits")(logits)
    return TaggerModel(inputs, logits, name="tagger")


class Tagger:
    """A trained or trainable NER model: the functional model, its encoder, tokenizer, labels and
    `ModelConfig`. `predict` works on `tfner.data.Corpus` objects."""

    def __init__(self, model, encoder, tokenizer, labels, config):
        self.model = model
        self.encoder = encoder
        self.tokenizer = tokenizer
        self.labels = list(labels)
        self.config = config
        self.set_thresholds(None)  # the config's decoding until thresholds are set
        self._forward = None  # (lora.trace_key when traced, the traced forward pass)

    @classmethod
    def build(cls, config, labels, tokenizer=None):
        """A new tagger: the configured encoder (pretrained unless told not to) and a fresh head."""
        spec = HEADS[config.head]
        encoder = load_encoder(config.encoder, config.pretrained, config.encoder_overrides, spec.layers_dropped)
        if config.finetune == "frozen":
            encoder.trainable = False
        if config.lora.enabled:  # after the pretrained weights are in: the wrapped layers keep them
            lora.apply_lora(encoder, config.lora)
        model = build_model(encoder, spec.build(config, len(labels)), config)
        return cls(model, encoder, tokenizer or load_tokenizer(config.encoder), labels, config)

    # Inference ------------------------------------------------------------------------------------

    def encode(self, corpus, label_all_tokens=False, misaligned_spans="error"):
        c = self.config
        return align.encode(
            corpus,
            self.tokenizer,
            self.labels,
            c.max_length,
            c.stride,
            label_all_tokens,
            misaligned_spans,
            c.table_view,
        )

    @property
    def sees_layout(self):
        """Whether the model takes line starts as `token_type_ids` (`sees_layout`)."""
        return "token_type_ids" in self.model.input

    def predict_logits(self, windows, batch_size=64):
        """Logits per window, trimmed to its length; batches are grouped by length to pad little."""
        key = lora.trace_key(self.encoder)
        if self._forward is None or self._forward[0] != key:  # retrace after a merge
            names = list(self.model.input)
            spec = [tf.TensorSpec((None, None), tf.int32)] * len(names)
            forward = lambda *inputs: self.model(dict(zip(names, inputs)), training=False)
            self._forward = (key, tf.function(forward, input_signature=spec))
        lengths = np.array([len(ids) for ids in windows.input_ids])
        types = windows.line_starts() if self.sees_layout else None
        order = np.argsort(lengths, kind="stable")
        pad = self.tokenizer.pad_token_id or 0
        out = [None] * len(lengths)
        for at in range(0, len(order), batch_size):
            rows = order[at : at + batch_size]
            width = lengths[rows].max()
            inputs = {
                "input_ids": np.full((len(rows), width), pad, np.int32),
                "attention_mask": np.zeros((len(rows), width), np.int32),
            }
            if types is not None:
                inputs["token_type_ids"] = np.zeros((len(rows), width), np.int32)
            for r, w in enumerate(rows):
                inputs["input_ids"][r, : lengths[w]] = windows.input_ids[w]
                inputs["attention_mask"][r, : lengths[w]] = 1
                if types is not None:
                    inputs["token_type_ids"][r, : lengths[w]] = types[w]
            logits = self._forward[1](*(inputs[name] for name in self.model.input)).numpy()
            for r, w in enumerate(rows):
                out[w] = logits[r, : lengths[w]]
        return out

    @property
    def thresholds(self):
        """Recall-first decision thresholds per entity type (`tfner calibrate`), or None: argmax."""
        return self.decoder.thresholds

    def set_thresholds(self, thresholds):
        self.decoder = Decoder(self.labels, thresholds, self.config.decode, self.model.crf_layer)

    def set_decoding(self, decode):
        """Decode with "argmax" or "bio" from now on (models with a CRF always decode with Viterbi)."""
        self.config = dataclasses.replace(self.config, decode=decode)
        self.set_thresholds(self.thresholds)

    def tags(self, windows, logits):
        """Predicted tags per document unit (word, or token for span data), decided by `decoder`: per
        position, or over each whole document (Viterbi on the units' merged window scores). For span
        data a sequential decoder decides the sequence of words (their first tokens) and the other
        tokens of a word follow it, as `NERPipeline` and the SavedModel do, so no entity starts or ends
        inside a word."""
        if not self.decoder.sequential:
            ids = align.merge(windows, [self.decoder(softmax(l)) for l in logits], fill=self.labels.index("O"))
            return [[self.labels[i] for i in doc] for doc in ids]
        outside = np.full(len(self.labels), crf_ops.FORBIDDEN, np.float32)
        outside[self.labels.index("O")] = 0.0  # units no window scores (words with no sub-token): O
        merged = align.merge(windows, [softmax(l) for l in logits], fill=softmax(outside))
        return [[self.labels[i] for i in doc] for doc in self.decoder.documents(merged, windows.word_starts)]

    def predict(self, corpus, batch_size=64):
        windows = self.encode(corpus)
        return self.tags(windows, self.predict_logits(windows, batch_size))

    # Persistence ----------------------------------------------------------------------------------

    def merged(self):
        """A plain copy of a LoRA tagger with the adapters merged: same predictions, and the weights and
        parameter count of a model trained without LoRA. This tagger is left as it is."""
        encoder = lora.copy_merged(self.encoder, build_encoder(self.encoder.config))
        head = HEADS[self.config.head].build(self.config, len(self.labels))
        model = build_model(encoder, head, self.config)
        head.set_weights(self.model.get_layer("head").get_weights())
        if model.crf_layer is not None:
            model.crf_layer.set_weights(self.model.crf_layer.get_weights())
        plain = Tagger(model, encoder, self.tokenizer, self.labels, self.config)
        plain.set_thresholds(self.thresholds)
        return plain

    def save(self, path, run_config=None):
        """Write the tagger to `path`; `run_config` (a config with `to_json`, e.g. the `TrainConfig`
        that trained it) is written as config.json, else the model config alone."""
        if lora.has_lora(self.encoder):  # every saved model is merged; this tagger stays as it is
            return self.merged().save(path, run_config)
        os.makedirs(path, exist_ok=True)
        if run_config is not None:
            run_config.to_json(os.path.join(path, "config.json"))
        else:
            with open(os.path.join(path, "config.json"), "w") as f:
                json.dump({"model": self.config.to_dict()}, f, indent=2)
        with open(os.path.join(path, "labels.json"), "w") as f:
            json.dump(self.labels, f, indent=1)
        self.encoder.config.save_pretrained(os.path.join(path, "encoder"))
        self.tokenizer.save_pretrained(os.path.join(path, "tokenizer"))
        self.model.save_weights(os.path.join(path, WEIGHTS))
        if self.thresholds:
            write_thresholds(path, self.thresholds, self.labels)

    @classmethod
    def load(cls, path):
        """The tagger saved in `path` by `save`. A file that is missing raises `FileNotFoundError`; one
        that is damaged, of the wrong kind or does not fit the others raises `ModelFileError` naming the
        file and what was expected (both are what the commands print as `error: ...`, exit 2)."""
        _check_model_files(path)
        config_path, labels_path = os.path.join(path, "config.json"), os.path.join(path, "labels.json")
        saved = _read_json(config_path, dict, "an object: the run config that `tfner train` saves")
        try:
            config = ModelConfig.from_saved(saved, config_path)
        except (TypeError, ValueError) as e:
            raise ModelFileError(f"{config_path}: not a model config this tfner can read ({e})") from None
        labels = _read_labels(labels_path)
        encoder, tokenizer = _load_encoder_files(path)
        model = build_model(encoder, HEADS[config.head].build(config, len(labels)), config)
        _load_weights(model, os.path.join(path, WEIGHTS), config, labels)
        tagger = cls(model, encoder, tokenizer, labels, config)
        tagger.set_thresholds(read_thresholds(path, labels))
        return tagger


class ModelFileError(ValueError):
    """A saved model's file is damaged, of the wrong kind or does not fit the others; the message names
    the file and what was expected."""


def _check_model_files(path):
    kinds = {"config.json": "file", "labels.json": "file", "encoder": "folder", "tokenizer": "folder", WEIGHTS: "file"}
    missing = [p for p in kinds if not os.path.exists(os.path.join(path, p))]
    if missing:
        raise FileNotFoundError(f"{path}: not a saved tfner model (missing {', '.join(missing)})")
    for name, kind in kinds.items():
        if os.path.isdir(os.path.join(path, name)) != (kind == "folder"):
            raise ModelFileError(f"{os.path.join(path, name)}: expected a {kind} of a saved tfner model")
    if not os.path.isfile(os.path.join(path, "encoder", "config.json")):
        raise FileNotFoundError(f"{path}: not a saved tfner model (missing encoder/config.json)")


def _read_json(path, kind, expected):
    try:
        with open(path, encoding="utf-8") as f:
            value = json.load(f)
    except (json.JSONDecodeError, UnicodeDecodeError) as e:
        raise ModelFileError(f"{path}: not valid JSON ({e}); expected {expected}") from None
    if not isinstance(value, kind):
        raise ModelFileError(f"{path}: expected {expected}, found a JSON {type(value).__name__}")
    return value


def _read_labels(path):
    expected = 'a list of unique label strings, "O" among them (index = class id)'
    labels = _read_json(path, list, expected)
    if not labels or not all(isinstance(l, str) for l in labels) or len(set(labels)) < len(labels):
        raise ModelFileError(f"{path}: expected {expected}, found {json.dumps(labels)[:200]}")
    if "O" not in labels:
        raise ModelFileError(f'{path}: expected {expected}; it has no "O"')
    return labels


def _load_encoder_files(path):
    """The encoder (random weights: weights.h5 holds them) and the tokenizer of a saved model."""
    from transformers import AutoConfig, AutoTokenizer

    folder = os.path.join(path, "encoder")
    try:
        encoder = build_encoder(AutoConfig.from_pretrained(folder))
    except (OSError, ValueError, KeyError, TypeError) as e:
        reason = str(e).strip().split("\n")[0][:300]
        raise ModelFileError(
            f"{folder}/config.json: not a transformers encoder config with TensorFlow support ({reason})"
        ) from None
    folder = os.path.join(path, "tokenizer")
    try:  # the Rust tokenizers library raises a bare Exception for a damaged tokenizer.json
        tokenizer = AutoTokenizer.from_pretrained(folder, use_fast=True)
    except Exception as e:
        reason = str(e).strip().split("\n")[0][:300] or type(e).__name__
        raise ModelFileError(
            f"{folder}: not a readable fast tokenizer (tokenizer.json and its config): {reason}"
        ) from None
    vocabulary = encoder.config.vocab_size
    if len(tokenizer) > vocabulary:
        raise ModelFileError(
            f"{folder}: the tokenizer has {len(tokenizer)} tokens, more than the {vocabulary} of "
            f"{path}/encoder/config.json: the two come from different models"
        )
    return encoder, tokenizer


def _load_weights(model, path, config, labels):
    try:
        import h5py

        with h5py.File(path, "r"):  # a truncated or foreign file fails here, before any weight is read
            pass
        model.load_weights(path)
    except (OSError, KeyError) as e:
        reason = str(e).strip().split("\n")[0][:200]
        raise ModelFileError(
            f"{path}: not a readable HDF5 weights file ({reason}); it is damaged or truncated: copy it again "
            "or retrain the model"
        ) from None
    except ValueError as e:
        reason = str(e).strip().split("\n")[0][:300]
        folder = os.path.dirname(path)
        raise ModelFileError(
            f"{path}: its weights do not fit the model that {folder}/config.json (head {config.head!r}), "
            f"labels.json ({len(labels)} labels) and encoder/config.json describe ({reason}); were "
            "files copied from different models?"
        ) from None
    bad = [w.name for w in model.weights if not np.isfinite(w.numpy()).all()]
    if bad:
        raise ModelFileError(
            f"{path}: NaN or infinite values in {len(bad)} of {len(model.weights)} weight arrays (first "
            f"{bad[0]}): the file is damaged, or the run that wrote it diverged (retrain with a lower "
            "learning rate)"
        )
