"""Export a trained model as a SavedModel for TF Serving.

    python -m tfner.export runs/notes --name notes                  # saved_models/notes/<next free>/
    python -m tfner.export runs/notes --name notes --version 3 --force

Layout (TF Serving's): `OUTPUT_ROOT/NAME/VERSION/` with

    saved_model.pb, variables/     the graph and the weights (LoRA adapters merged)
    assets/                        labels.json, config.json (the run config), the tokenizer files
    assets.extra/tf_serving_warmup_requests   a TFRecord of PredictionLog, one request per signature
    assets.extra/model_card.json   the model card's facts (`tfner.serving.card`)
    README.md                      the model card: labels, data, metrics, use, limits, requests

The version is written to a hidden temporary folder beside it and renamed into place, so a server
watching `NAME/` never sees half a model, with the umask's permissions (0755 under umask 022), so a
server running as another user can read it; an existing version is only replaced with `--force`. A model
whose predictions have collapsed onto one label (`tfner.collapse`) is refused unless `--force`.

Signatures (int64 everywhere, dynamic `(None, None)` shapes):

- `serving_default`: `input_ids`, `attention_mask` (and `token_type_ids` when the tokenizer produces
  them; accepted for compatibility with the tokenizer's output and ignored: tfner models are trained
  with one segment) -> `logits` (float32, batch x length x labels), `probabilities` (softmax),
  `label_ids` (int64, as `tfner.model.decoding.Decoder` decides: per token by argmax or the model's
  recall-first thresholds, or, with `bio` decoding or a CRF, by IOB2-constrained Viterbi over the words,
  found from the vocabulary (a WordPiece `##` piece continues a word; BPE `Ġ` and SentencePiece `▁`
  pieces start one), each word's other sub-tokens taking its I- label and special tokens `O`). Rows of
  one request must be padded to one length.
- `predict_text` (WordPiece, byte-level BPE and SentencePiece tokenizers): `text` (string, batch) ->
  entities with the `simple` aggregation of `tfner.pipeline`: `entity_label`, `entity_start`,
  `entity_end` (character offsets, end exclusive), `entity_score`, `entity_text`, padded to the largest
  count of the batch, and `entity_count` per text. Tokenization runs in the graph
  (`tfner.serving.tokenizers`: tensorflow_text's `BertTokenizer` for WordPiece, BPE in TF ops for
  RoBERTa/GPT-2, `SentencepieceTokenizer` for XLM-R/ALBERT-style models), with offsets in characters of
  the original text (Unicode code points, as Python's `str` indexes them). Nothing is truncated: texts
  longer than `max_length` tokens (the model's, as the pipeline) become overlapping windows (`stride`
  tokens shared) that are merged per token as `tfner.serving.pipeline` merges them
  (`tfner.serving.windows`); windows run sorted by length in chunks of `CHUNK`. A tokenizer without an
  in-graph version (or whose ids tensorflow_text would not reproduce) gets no `predict_text`, and the
  export says why.
"""

import argparse
import contextlib
import json
import os
import re
import secrets
import shutil
import sys
import tempfile

import tensorflow as tf

from tfner.core.cli import UsageError, run_command
from tfner.data import tags as tag_schemes
from tfner.model import crf as crf_ops
from tfner.model.decoding import add_decode_argument, write_thresholds
from tfner.serving import tokenizers, windows
from tfner.serving.tokenizers import word_starts
from tfner.serving.warmup import read_warmup, write_warmup  # noqa: F401  (read_warmup: part of the API)

NAME = re.compile(r"[A-Za-z0-9._-]+")
CHUNK = 8  # windows per forward pass inside predict_text (sorted by length first)


def _entity_tables(labels):
    """Per label id: its entity type index (-1 for O), whether it is a B- label; and the type names."""
    types, type_of, is_b = [], [], []
    for label in labels:
        if label == "O":
            type_of.append(-1)
            is_b.append(False)
            continue
        kind = tag_schemes.entity_type(label)
        if kind not in types:
            types.append(kind)
        type_of.append(types.index(kind))
        is_b.append(tag_schemes.split(label) == ("B", kind))
    return types, type_of, is_b


class ServingModule(tf.Module):
    """The tagger's forward pass and, with an in-graph tokenizer (`tfner.serving.tokenizers`), raw text
    -> entities, as tf.functions."""

    def __init__(self, tagger, text_tokenizer=None, max_length=512, stride=None, chunk=CHUNK):
        super().__init__(name="tfner_serving")
        self._model = tagger.model
        # Tracked as a plain list: the variables are all the SavedModel needs, and tracking the Keras
        # model itself would make TensorFlow trace and serialize every layer's call.
        self.weights = list(tagger.model.variables)
        self.labels = tf.constant(tagger.labels)
        self._chunk = chunk  # rows per forward pass (`_forward`)
        self._n_labels = len(tagger.labels)
        decoder = tagger.decoder  # argmax, or recall-first thresholds (tfner.model.decoding)
        self._thresholded = bool(decoder.thresholds) and bool(decoder.types)
        if self._thresholded:
            self.type_matrix = tf.constant(decoder.matrix)
            self.type_thresholds = tf.constant(decoder.vector)
            self.type_begin = tf.constant(decoder.begin, tf.int64)
            self.type_inside = tf.constant(decoder.inside, tf.int64)
            self.outside_id = tf.constant(decoder.outside, tf.int64)
        self._sequential = decoder.sequential
        if self._sequential:  # Viterbi (CRF or bio) or thresholds + IOB2 repair, over word positions
            self._viterbi = decoder.viterbi
            transitions, start, end = decoder.scores() if decoder.viterbi else crf_ops.iob2_constraints(tagger.labels)
            self.transitions, self.start_scores, self.end_scores = map(tf.constant, (transitions, start, end))
            self.inside_of = tf.constant(decoder.inside_of, tf.int64)
            self.outside_label = tf.constant(decoder.outside, tf.int64)
            self.word_start = tf.constant(word_starts(tagger.tokenizer))
            parts = [tag_schemes.split(label) or (None, None) for label in tagger.labels]
            kinds = [k for _, k in parts]
            self.label_type = tf.constant([kinds.index(k) if k else -1 for k in kinds], tf.int64)
            self.label_is_inside = tf.constant([p == "I" for p, _ in parts])
            self.label_opens = tf.constant([p in ("B", "I") for p, _ in parts])
            begin = {k: i for i, (p, k) in enumerate(parts) if p == "B"}
            self.begin_of = tf.constant([begin.get(k, i) for i, (_, k) in enumerate(parts)], tf.int64)
        config = tagger.encoder.config
        self._vocab_size = int(config.vocab_size)
        self._positions = int(getattr(config, "max_position_embeddings", 0) or 0)
        self.token_type_ids = "token_type_ids" in tagger.tokenizer.model_input_names
        names = ["input_ids", "attention_mask"] + (["token_type_ids"] if self.token_type_ids else [])
        specs = [tf.TensorSpec((None, None), tf.int64, name=n) for n in names]
        if self.token_type_ids:
            self.serve = tf.function(
                lambda input_ids, attention_mask, token_type_ids: self._serve(input_ids, attention_mask),
                input_signature=specs,
            )
        else:
            self.serve = tf.function(
                lambda input_ids, attention_mask: self._serve(input_ids, attention_mask), input_signature=specs
            )
        self.predict_text = None
        if text_tokenizer is not None:
            self.text_tokenizer = text_tokenizer
            self._pad = tagger.tokenizer.pad_token_id or 0
            # windows as tfner.data.align cuts them: max_length - special tokens, `stride` shared
            self._width = max_length - len(text_tokenizer.prefix) - len(text_tokenizer.suffix)
            self._stride = tagger.config.stride if stride is None else stride
            if not 0 <= self._stride < self._width:
                raise ValueError(f"stride {self._stride} must be in [0, {self._width}) for windows of {max_length}")
            types, type_of, is_b = _entity_tables(tagger.labels)
            self.entity_types = tf.constant(types or [""])
            self.type_of = tf.constant(type_of, tf.int64)
            self.is_b = tf.constant(is_b)
            self.predict_text = tf.function(
                self._predict_text, input_signature=[tf.TensorSpec((None,), tf.string, name="text")]
            )

    def _forward(self, input_ids, attention_mask):
        """Logits (batch, length, labels), float32, 0 past each row's last real token.

        Rows run sorted by length in chunks of `chunk`, each cut to its own longest row: a request of
        short rows padded to its longest one pads little (as `Tagger.predict_logits` batches; on CoNLL
        sentences in requests of 32 this is 2-3x faster than one pass over the padded request)."""
        ids, mask = tf.cast(input_ids, tf.int32), tf.cast(attention_mask, tf.int32)
        width = tf.shape(ids)[1]
        # a row's length ends at its last real token (any left padding stays in the row)
        lengths = tf.reduce_max(tf.cast(mask > 0, tf.int32) * tf.range(1, width + 1), axis=1)
        order = tf.argsort(lengths, stable=True)
        n = tf.shape(ids)[0]
        # element 0 is empty, so the concatenation has the right shape for an empty request
        out = tf.TensorArray(tf.float32, size=1, dynamic_size=True, infer_shape=False)
        out = out.write(0, tf.zeros([0, width, self._n_labels]))
        for at in tf.range(0, tf.where(width > 0, n, 0), self._chunk):  # rows of no token: nothing to run
            rows = order[at : at + self._chunk]
            cut = tf.maximum(tf.reduce_max(tf.gather(lengths, rows)), 1)
            logits = self._model(
                {"input_ids": tf.gather(ids, rows)[:, :cut], "attention_mask": tf.gather(mask, rows)[:, :cut]},
                training=False,
            )
            logits = tf.pad(tf.cast(logits, tf.float32), [[0, 0], [0, width - cut], [0, 0]])
            out = out.write(at // self._chunk + 1, logits)
        logits = tf.cond(
            width > 0,
            lambda: tf.gather(out.concat(), tf.math.invert_permutation(order)),
            lambda: tf.zeros([n, 0, self._n_labels]),
        )
        return tf.where(tf.sequence_mask(lengths, width)[..., None], logits, 0.0)

    def _decide(self, logits, first):
        """Label ids (batch, length) from logits (batch, length, labels): `Decoder`'s rule in graph ops.
        first: bool (batch, length), True at the first sub-token of each word; sequential decoders
        decide over those positions and give each following sub-token the I- form of its word's label."""
        probs = tf.nn.softmax(logits, -1)
        if not self._sequential:
            return self._per_token(probs)
        if self._viterbi:
            emissions, lengths = crf_ops.pack(tf.math.log(tf.maximum(probs, 1e-30)), first)
            pad = tf.maximum(1 - tf.shape(emissions)[1], 0)  # no word in the batch: one empty column
            emissions = tf.pad(emissions, [[0, 0], [0, pad], [0, 0]])
            words = tf.cast(
                crf_ops.viterbi(emissions, lengths, self.transitions, self.start_scores, self.end_scores), tf.int64
            )
        else:  # thresholds per token, then the IOB2 repair of `tfner.model.decoding.repair_iob2`
            words, _ = crf_ops.pack(self._per_token(probs), first)
            kind = tf.gather(self.label_type, words)
            previous = lambda x, edge: tf.concat([tf.fill([tf.shape(x)[0], 1], edge), x[:, :-1]], axis=1)
            follows = previous(tf.gather(self.label_opens, words), False) & tf.equal(
                previous(kind, tf.constant(-2, tf.int64)), kind
            )
            words = tf.where(tf.gather(self.label_is_inside, words) & ~follows, tf.gather(self.begin_of, words), words)
        return crf_ops.spread(words, first, self.inside_of, self.outside_label)

    def _per_token(self, probs):
        """Each token's label alone: argmax, or the recall-first thresholds."""
        if not self._thresholded:
            return tf.argmax(probs, -1, output_type=tf.int64)
        by_type = tf.einsum("bnl,lt->bnt", probs, self.type_matrix)
        passing = tf.where(by_type >= self.type_thresholds, by_type, -tf.ones_like(by_type))
        best = tf.argmax(passing, -1, output_type=tf.int64)
        chosen = tf.reduce_max(passing, -1) >= 0
        b, i = tf.gather(self.type_begin, best), tf.gather(self.type_inside, best)
        p_b = tf.gather(probs, tf.maximum(b, 0)[..., None], batch_dims=2)[..., 0]
        p_i = tf.gather(probs, tf.maximum(i, 0)[..., None], batch_dims=2)[..., 0]
        label = tf.where((i < 0) | ((b >= 0) & (p_b >= p_i)), b, i)
        return tf.where(chosen, label, self.outside_id)

    def _check_inputs(self, input_ids, attention_mask):
        """Bad requests fail with a message naming the input and what it must be (not from inside the
        encoder's attention); an empty batch or empty rows pass and give empty outputs."""
        vocab, limit = self._vocab_size, self._positions
        checks = [
            tf.debugging.assert_equal(
                tf.shape(input_ids),
                tf.shape(attention_mask),
                message="serving_default: input_ids and attention_mask must have the same shape (batch, length)",
            ),
            tf.debugging.assert_non_negative(input_ids, message=f"serving_default: input_ids must be in [0, {vocab})"),
            tf.debugging.assert_less(
                input_ids,
                tf.constant(vocab, tf.int64),
                message=f"serving_default: input_ids must be in [0, {vocab}) (the tokenizer's vocabulary)",
            ),
            tf.debugging.assert_equal(
                tf.reduce_all((attention_mask == 0) | (attention_mask == 1)),
                True,
                message="serving_default: attention_mask must hold 0 (padding) and 1 (token) only",
            ),
        ]
        if limit:
            checks.append(
                tf.debugging.assert_less_equal(
                    tf.shape(input_ids, out_type=tf.int64)[1],
                    tf.constant(limit, tf.int64),
                    message=f"serving_default: at most {limit} tokens per row (the position limit of the encoder, "
                    "special tokens included); split longer texts into windows, or send the text to predict_text",
                )
            )
        with tf.control_dependencies(checks):
            return tf.identity(input_ids), tf.identity(attention_mask)

    def _serve(self, input_ids, attention_mask):
        input_ids, attention_mask = self._check_inputs(input_ids, attention_mask)
        logits = self._forward(input_ids, attention_mask)
        probs = tf.nn.softmax(logits, -1)
        if not self._sequential:
            return {"logits": logits, "probabilities": probs, "label_ids": self._decide(logits, None)}
        # words from the vocabulary: a token that starts a word (or follows a special token) opens one
        kind = tf.gather(self.word_start, tf.clip_by_value(input_ids, 0, tf.size(self.word_start, tf.int64) - 1))
        word_token = (kind >= 0) & (attention_mask > 0)
        after_word = tf.concat([tf.zeros_like(word_token[:, :1]), word_token[:, :-1]], axis=1)
        first = word_token & (tf.equal(kind, 1) | ~after_word)
        label_ids = tf.where(word_token, self._decide(logits, first), self.outside_label)
        return {"logits": logits, "probabilities": probs, "label_ids": label_ids}

    def _run_windows(self, content):
        """Logits of the content tokens of windows (ragged ids, (windows, tokens)), flat in window order."""
        prefix, suffix = self.text_tokenizer.prefix, self.text_tokenizer.suffix
        column = tf.ones([tf.shape(content.row_lengths())[0], 1], tf.int64)
        ids = tf.concat(
            [column * tf.constant([prefix], tf.int64), content, column * tf.constant([suffix], tf.int64)], 1
        )
        logits = self._forward(ids.to_tensor(default_value=self._pad), tf.ones_like(ids).to_tensor(default_value=0))
        # no [CLS], [SEP] (<s>, </s>)
        return tf.RaggedTensor.from_tensor(logits[:, len(prefix) :], content.row_lengths()).flat_values

    def _text_logits(self, tokens):
        """Logits (batch, longest text, labels) of whole texts (ragged ids): windows, merged per token."""
        lengths = tokens.row_lengths()
        row, start, end = windows.window_starts(lengths, self._width, self._stride)
        content = tf.gather(tokens.flat_values, windows.window_tokens(tokens.row_starts(), row, start, end))
        total = tf.shape(tokens.flat_values, out_type=tf.int64)[0]
        merged = windows.merge(self._run_windows(content), lengths, row, start, end, total)
        return tf.RaggedTensor.from_row_lengths(merged, lengths).to_tensor(0.0)

    def _predict_text(self, text):
        tokens, starts, ends, word_first = self.text_tokenizer.tokenize(text)
        batch = tf.shape(text, out_type=tf.int64)[0]
        lengths = tokens.row_lengths()
        logits = self._text_logits(tokens)
        width = tf.shape(logits, out_type=tf.int64)[1]
        probs = tf.nn.softmax(logits, -1)
        label = self._decide(logits, word_first.to_tensor(False, shape=tf.shape(logits, out_type=tf.int64)[:2]))
        score = tf.gather(probs, label[..., None], batch_dims=2)[..., 0]
        valid = tf.sequence_mask(lengths, width)
        kind = tf.gather(self.type_of, label)
        prev = tf.concat([tf.fill([batch, 1], tf.constant(-2, tf.int64)), kind[:, :-1]], axis=1)
        inside = valid & (kind >= 0)
        # the simple aggregation: a B- token, or a change of type, starts a group
        first = inside & (tf.gather(self.is_b, label) | tf.not_equal(prev, kind))
        flat = lambda x: tf.reshape(x, [-1])
        group = tf.cumsum(tf.cast(flat(first), tf.int64)) - 1
        at = tf.where(flat(inside))[:, 0]
        groups = tf.reduce_sum(tf.cast(first, tf.int64))
        segment = tf.gather(group, at)
        char_start = tf.math.unsorted_segment_min(tf.gather(flat(starts.to_tensor(width)), at), segment, groups)
        char_end = tf.math.unsorted_segment_max(tf.gather(flat(ends.to_tensor(width)), at), segment, groups)
        mean_score = tf.math.unsorted_segment_mean(tf.gather(flat(score), at), segment, groups)
        heads = tf.where(flat(first))[:, 0]
        row = heads // width
        names = tf.gather(self.entity_types, tf.gather(flat(kind), heads))
        words = tf.strings.substr(tf.gather(text, row), char_start, char_end - char_start, unit="UTF8_CHAR")
        counts = tf.reduce_sum(tf.cast(first, tf.int64), axis=1)
        padded = lambda values, default: tf.RaggedTensor.from_row_lengths(values, counts).to_tensor(default)
        return {
            "entity_label": padded(names, ""),
            "entity_start": padded(char_start, -1),
            "entity_end": padded(char_end, -1),
            "entity_score": padded(mean_score, 0.0),
            "entity_text": padded(words, ""),
            "entity_count": counts,
        }


def next_version(root):
    versions = [int(d) for d in os.listdir(root) if d.isdigit()] if os.path.isdir(root) else []
    return max(versions, default=0) + 1


def _write(path, tagger, name, max_length, log, version=1, run_dir=None, chunk=CHUNK):
    from tfner.model import lora
    from tfner.serving.card import build_card, write_card

    if lora.has_lora(tagger.encoder):
        tagger = tagger.merged()
    assets = os.path.join(path, "assets")
    staging = os.path.join(path, "_tokenizer")
    tagger.tokenizer.save_pretrained(staging)
    text_tokenizer, why = tokenizers.for_tokenizer(tagger.tokenizer, staging)
    if text_tokenizer is None:
        log(
            f"predict_text: not exported, {why} (no in-graph tokenizer); "
            "serve serving_default and tokenize on the client"
        )
    module = ServingModule(tagger, text_tokenizer, max_length, chunk=chunk)
    signatures = {"serving_default": module.serve.get_concrete_function()}
    if module.predict_text is not None:
        signatures["predict_text"] = module.predict_text.get_concrete_function()
    tf.saved_model.save(module, path, signatures=signatures)
    os.makedirs(assets, exist_ok=True)
    for f in os.listdir(staging):  # the vocab asset may already be there, with the same content
        shutil.move(os.path.join(staging, f), os.path.join(assets, f))
    os.rmdir(staging)
    with open(os.path.join(assets, "labels.json"), "w") as f:
        json.dump(tagger.labels, f, indent=1)
    tagger.config.to_json(os.path.join(assets, "config.json"))
    if tagger.thresholds:
        write_thresholds(assets, tagger.thresholds, tagger.labels)
    warmup = write_warmup(path, name, module, tagger)
    if warmup is None:
        log("warm-up requests: not written (tensorflow-serving-api is not installed)")
    write_card(path, build_card(tagger, name, version, signatures, max_length, tagger.config.stride, run_dir))
    return sorted(signatures)


def check_target(name, version=None, output_root="saved_models"):
    """Refuse, before any work, a name that is not one safe folder name, a version < 1, a file as root."""
    if not isinstance(name, str) or not NAME.fullmatch(name) or name in (".", ".."):
        raise UsageError(f"--name {name!r}: use one folder name of letters, digits, '.', '_', '-' (not . or ..)")
    if version is not None and (isinstance(version, bool) or not str(version).isdigit() or int(version) < 1):
        raise UsageError(f"--version {version}: the version must be a positive integer (1, 2, ...)")
    path = os.path.abspath(os.path.join(output_root, name))
    while not os.path.exists(path):  # the deepest folder that exists must be a directory
        path = os.path.dirname(path)
    if not os.path.isdir(path):
        raise UsageError(f"--output-root {output_root}: {path} exists and is not a directory")


def export(
    tagger,
    name,
    version=None,
    output_root="saved_models",
    force=False,
    check_windows=None,
    max_length=None,
    log=print,
    run_dir=None,
    chunk=CHUNK,
):
    """Write `output_root/name/version/` atomically (see the module docstring); returns its path.
    check_windows: Windows to run the collapse check on (None: skip it).
    run_dir: the model directory the tagger was loaded from: its metrics and history go into the card.
    chunk: rows per forward pass in the graph (sorted by length first); a chunk as large as the request
    runs it in one pass padded to its longest row, as exports did before (experiments/bench_serving.py)."""
    from tfner.evaluation.collapse import check_not_collapsed

    check_target(name, version, output_root)
    limit = min(
        getattr(tagger.encoder.config, "max_position_embeddings", 512),
        getattr(tagger.tokenizer, "model_max_length", 512) or 512,
    )
    if max_length is None:  # the windows the model was trained on, as the pipeline cuts them
        max_length = min(tagger.config.max_length, limit)
    if not 0 <= tagger.config.stride < max_length - 2 or max_length > limit:
        raise UsageError(
            f"--max-length {max_length}: windows need room for the special tokens and the stride "
            f"({tagger.config.stride}) and at most the encoder's {limit} positions"
        )
    root = os.path.join(output_root, name)
    version = next_version(root) if version is None else int(version)
    final = os.path.join(root, str(version))
    if os.path.exists(final) and not force:
        raise FileExistsError(f"{final} exists; use --force to replace it or omit --version for the next one")
    if check_windows is not None:
        check_not_collapsed(tagger, check_windows, force=force)
    created = not os.path.isdir(root)
    os.makedirs(root, exist_ok=True)
    # os.mkdir, not mkdtemp (0700): the umask's mode, readable by a server running as another user
    tmp = os.path.join(root, f".tmp-{version}-{secrets.token_hex(6)}")
    try:
        os.mkdir(tmp)
        signatures = _write(tmp, tagger, name, max_length, log, version, run_dir, chunk)
        if os.path.exists(final):  # --force: swap the old one out, then remove it
            old = tempfile.mkdtemp(prefix=f".old-{version}-", dir=root)
            os.rename(final, os.path.join(old, "v"))
            os.rename(tmp, final)
            shutil.rmtree(old)
        else:
            os.rename(tmp, final)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        if created:  # leave no empty NAME/ behind (rmdir spares one another export wrote to meanwhile)
            with contextlib.suppress(OSError):
                os.rmdir(root)
        raise
    log(f"exported {final} with signatures {', '.join(signatures)}")
    return final


def build_parser(prog="tfner export"):
    parser = argparse.ArgumentParser(prog=prog, description=__doc__.splitlines()[0])
    parser.add_argument("model", help="a model directory saved by tfner train")
    parser.add_argument("--name", required=True, help="the name TF Serving serves it under (letters, digits, ._-)")
    parser.add_argument("--version", type=int, help="a positive integer version (default: the next free one)")
    parser.add_argument("--output-root", default="saved_models")
    parser.add_argument("--force", action="store_true", help="replace an existing version; export a collapsed model")
    parser.add_argument("--check-data", help="data for the collapse check (default: synthetic clinical notes)")
    parser.add_argument(
        "--max-length",
        type=int,
        help="tokens per window of predict_text (default: the model's max_length, as the pipeline)",
    )
    add_decode_argument(parser)
    return parser


def _main(argv):
    args = build_parser().parse_args(argv)
    check_target(args.name, args.version, args.output_root)  # before the model loads (seconds)

    import tfner
    from tfner.data.readers import DataError, check_labels, read_data
    from tfner.data.synthetic import clinical_notes

    tagger = tfner.load(args.model)
    if args.decode:
        tagger.set_decoding(args.decode)
    corpus = read_data(args.check_data) if args.check_data else clinical_notes(1, 50, seed=0)[1]
    windows = None
    try:
        check_labels(corpus, tagger.labels)
        windows = tagger.encode(corpus)
    except DataError as e:
        what = args.check_data or "the synthetic clinical notes (the default check data)"
        message = f"the collapse check cannot run on {what}: {e}; give --check-data FILE with the model's labels"
        if not args.force:
            raise UsageError(f"{message}, or --force to export without the check") from None
        print(f"warning: {message}; exporting without the check (--force)", file=sys.stderr)
    export(tagger, args.name, args.version, args.output_root, args.force, windows, args.max_length, run_dir=args.model)


def main(argv=None):
    from tfner.evaluation.collapse import LabelCollapseError

    return run_command(_main, argv, usage_errors=(FileExistsError, LabelCollapseError))


if __name__ == "__main__":
    sys.exit(main())
