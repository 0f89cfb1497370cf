"""The SavedModel's signatures: the tagger's forward pass and decoding, and raw text -> entities, as
tf.functions of one `tf.Module` (`ServingModule`), which `tfner.serving.export` saves.

Signatures (int64 everywhere, dynamic `(None, None)` shapes):

- `serving_default`: `input_ids`, `attention_mask` (and `token_type_ids` when the tokenizer produces
  them: a model that sees layout (`ModelConfig.line_starts`) reads them as line starts, 1 at the first
  token of each line, cell or field as `tfner.data.align.Windows.line_starts` marks them, and the
  tokenizer's own zeros as a text without layout; other models ignore them) -> `logits` (float32,
  batch x length x labels), `probabilities` (softmax), `label_ids` (int64, as
  `tfner.model.decoding.Decoder` decides: per token by argmax or the model's recall-first thresholds,
  or, with `bio` decoding or a CRF, by IOB2-constrained Viterbi over the words (thresholds as its
  per-type bonus), found from the vocabulary (a WordPiece `##` piece continues a word; BPE `Ġ` and
  SentencePiece `▁` pieces start one), each word's other sub-tokens taking its I- label and special
  tokens `O`). Rows of one request must be padded to one length.
- `predict_text` (WordPiece, byte-level BPE and SentencePiece tokenizers): `text` (string, batch) ->
  entities with the `simple` aggregation of `tfner.pipeline`: `entity_label`, `entity_start`,
  `entity_end` (character offsets, end exclusive), `entity_score`, `entity_text`, padded to the largest
  count of the batch, and `entity_count` per text. Words and breaks are `tfner.data.align.word_starts`'
  (joined words such as "Briggs-Hart"; no entity across a line break, a tab or two spaces), as in the
  pipeline, and a model that sees layout gets the line starts it was trained with; `serving_default`
  sees ids only and decides over the vocabulary's words. Tokenization runs in the graph
  (`tfner.serving.tokenizers`: tensorflow_text's `BertTokenizer` for WordPiece, BPE in TF ops for
  RoBERTa/GPT-2, `SentencepieceTokenizer` for XLM-R/ALBERT-style models), with offsets in characters
  of the original text (Unicode code points, as Python's `str` indexes them). A model that reads the
  table view (`ModelConfig.table_view`) reads it here too: `tfner.serving.table_view` inserts the headers
  before tokenizing and maps the offsets back; a header's tokens never stretch an entity, and an entity
  made only of them is none (as the pipeline groups them). Nothing is truncated:
  texts longer than `max_length` tokens (the model's, as the pipeline) become overlapping windows
  (`stride` tokens shared) that are merged per token as `tfner.serving.pipeline` merges them
  (`tfner.serving.windows`); windows run sorted by length in chunks of `CHUNK`. A tokenizer without an
  in-graph version (or whose ids tensorflow_text would not reproduce) gets no `predict_text`, and the
  export says why.
"""

import re

import tensorflow as tf

from tfner.data import align
from tfner.data import tags as tag_schemes
from tfner.model import crf as crf_ops
from tfner.serving import pipeline, windows
from tfner.serving.table_view import SPACE, table_view
from tfner.serving.tokenizers import word_starts

# `pipeline.trim` as RE2 patterns: what an entity's text loses at its start, at its end, then a full stop
TRIM = (
    "^[" + re.escape(pipeline.NOT_FIRST) + SPACE[1:-1] + "]+",  # SPACE: str.isspace as an RE2 class
    "[" + re.escape(pipeline.NOT_LAST) + SPACE[1:-1] + "]+$",
    rf"([0-9]|\pL{{{pipeline.LONG_WORD}}})\.$",  # -> \1: a full stop after a digit or a long word
)
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
        self._layout = tagger.sees_layout  # the model takes line starts as token_type_ids
        self._table_view = tagger.config.table_view  # predict_text reads `tfner.serving.table_view`'s view
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
        if self._sequential:  # Viterbi (CRF or bio, with the thresholds' bonus if any), over word positions
            self.transitions, self.start_scores, self.end_scores = map(tf.constant, decoder.scores())
            self.label_bias = tf.constant(decoder.bias)
            self.inside_of = tf.constant(decoder.inside_of, tf.int64)
            self.outside_label = tf.constant(decoder.outside, tf.int64)
            self.word_start = tf.constant(word_starts(tagger.tokenizer))
            self.label_is_inside = tf.constant(decoder.is_inside)
        config = tagger.encoder.config
        self._vocab_size = int(config.vocab_size)
        self._positions = int(getattr(config, "max_position_embeddings", 0) or 0)
        self.token_type_ids = "token_type_ids" in tagger.tokenizer.model_input_names
        names = ["input_ids", "attention_mask"] + (["token_type_ids"] if self.token_type_ids else [])
        specs = [tf.TensorSpec((None, None), tf.int64, name=n) for n in names]
        if self.token_type_ids:
            self.serve = tf.function(
                lambda input_ids, attention_mask, token_type_ids: self._serve(
                    input_ids, attention_mask, token_type_ids
                ),
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

    def _forward(self, input_ids, attention_mask, line_starts=None):
        """Logits (batch, length, labels), float32, 0 past each row's last real token. line_starts:
        (batch, length), the token type ids of a model that sees layout (None: none).

        Rows run sorted by length in chunks of `chunk`, each cut to its own longest row: a request of
        short rows padded to its longest one pads little (as `Tagger.predict_logits` batches; on CoNLL
        sentences in requests of 32 this is 2-3x faster than one pass over the padded request)."""
        ids, mask = tf.cast(input_ids, tf.int32), tf.cast(attention_mask, tf.int32)
        inputs = {"input_ids": ids, "attention_mask": mask}
        if self._layout:
            inputs["token_type_ids"] = tf.zeros_like(ids) if line_starts is None else tf.cast(line_starts, tf.int32)
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
            logits = self._model({k: tf.gather(v, rows)[:, :cut] for k, v in inputs.items()}, training=False)
            logits = tf.pad(tf.cast(logits, tf.float32), [[0, 0], [0, width - cut], [0, 0]])
            out = out.write(at // self._chunk + 1, logits)
        logits = tf.cond(
            width > 0,
            lambda: tf.gather(out.concat(), tf.math.invert_permutation(order)),
            lambda: tf.zeros([n, 0, self._n_labels]),
        )
        return tf.where(tf.sequence_mask(lengths, width)[..., None], logits, 0.0)

    def _decide(self, logits, first, breaks=None, valid=None):
        """Label ids (batch, length) from logits (batch, length, labels): `Decoder`'s rule in graph ops.
        first: bool (batch, length), True at the first sub-token of each word; sequential decoders
        decide over those positions and give each following sub-token the I- form of its word's label.
        breaks: bool (batch, length) or None, True at the words after a break, where no entity
        continues (`tfner.data.align.word_starts`). valid: bool (batch, length), the tokens of words
        (each word is scored by all of them, `Decoder.word_emissions`)."""
        probs = tf.nn.softmax(logits, -1)
        if not self._sequential:
            return self._per_token(probs)
        breaks = tf.zeros_like(first) if breaks is None else breaks
        valid = tf.ones_like(first) if valid is None else valid
        log_probs = tf.math.log(tf.maximum(probs, 1e-30))
        emissions = tf.where(breaks[..., None] & self.label_is_inside, crf_ops.FORBIDDEN, log_probs)  # no I- at a break
        emissions, lengths = crf_ops.pack(emissions, first)
        # each word's other tokens: log P(token is the I- form of the word's label), summed per word
        batch, width = tf.shape(first)[0], tf.shape(first)[1]
        rank = tf.cumsum(tf.cast(first, tf.int32), axis=1) - 1
        rest = ~first & (rank >= 0) & valid
        later = tf.gather(log_probs, self.inside_of, axis=2)
        word = tf.range(batch)[:, None] * width + rank
        masked = lambda x: tf.boolean_mask(x, rest)
        sums = tf.math.unsorted_segment_sum(masked(later), masked(word), batch * width)
        emissions += tf.reshape(sums, tf.shape(emissions)) + self.label_bias
        pad = tf.maximum(1 - tf.shape(emissions)[1], 0)  # no word in the batch: one empty column
        emissions = tf.pad(emissions, [[0, 0], [0, pad], [0, 0]])
        words = tf.cast(
            crf_ops.viterbi(emissions, lengths, self.transitions, self.start_scores, self.end_scores), tf.int64
        )
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

    def _check_inputs(self, input_ids, attention_mask, token_type_ids=None):
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
        if token_type_ids is not None and self._layout:
            checks += [
                tf.debugging.assert_equal(
                    tf.shape(token_type_ids),
                    tf.shape(input_ids),
                    message="serving_default: token_type_ids must have the shape of input_ids (batch, length)",
                ),
                tf.debugging.assert_equal(
                    tf.reduce_all((token_type_ids == 0) | (token_type_ids == 1)),
                    True,
                    message="serving_default: token_type_ids must hold 0 and 1 (line starts) only",
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

    def _serve(self, input_ids, attention_mask, token_type_ids=None):
        input_ids, attention_mask = self._check_inputs(input_ids, attention_mask, token_type_ids)
        logits = self._forward(input_ids, attention_mask, token_type_ids if self._layout else None)
        probs = tf.nn.softmax(logits, -1)
        if not self._sequential:
            return {"logits": logits, "probabilities": probs, "label_ids": self._decide(logits, None)}
        # words from the vocabulary: a token that starts a word (or follows a special token) opens one
        kind = tf.gather(self.word_start, tf.clip_by_value(input_ids, 0, tf.size(self.word_start, tf.int64) - 1))
        word_token = (kind >= 0) & (attention_mask > 0)
        after_word = tf.concat([tf.zeros_like(word_token[:, :1]), word_token[:, :-1]], axis=1)
        first = word_token & (tf.equal(kind, 1) | ~after_word)
        label_ids = tf.where(word_token, self._decide(logits, first, valid=word_token), self.outside_label)
        return {"logits": logits, "probabilities": probs, "label_ids": label_ids}

    def _run_windows(self, content, line_starts):
        """Logits of the content tokens of windows (ragged ids, (windows, tokens)), flat in window order;
        line_starts: ragged int64 as `content`, 1 at line starts (special tokens get 0)."""
        prefix, suffix = self.text_tokenizer.prefix, self.text_tokenizer.suffix
        column = tf.ones([tf.shape(content.row_lengths())[0], 1], tf.int64)
        ids = tf.concat(
            [column * tf.constant([prefix], tf.int64), content, column * tf.constant([suffix], tf.int64)], 1
        )
        none = lambda special: column * tf.zeros([1, len(special)], tf.int64)
        types = tf.concat([none(prefix), line_starts, none(suffix)], 1)
        logits = self._forward(
            ids.to_tensor(default_value=self._pad),
            tf.ones_like(ids).to_tensor(default_value=0),
            types.to_tensor(default_value=0),
        )
        # no [CLS], [SEP] (<s>, </s>)
        return tf.RaggedTensor.from_tensor(logits[:, len(prefix) :], content.row_lengths()).flat_values

    def _text_logits(self, tokens, line_starts):
        """Logits (batch, longest text, labels) of whole texts (ragged ids; line_starts ragged bool as
        `tokens`): windows, merged per token."""
        lengths = tokens.row_lengths()
        row, start, end = windows.window_starts(lengths, self._width, self._stride)
        at = windows.window_tokens(tokens.row_starts(), row, start, end)
        content = tf.gather(tokens.flat_values, at)
        types = tf.gather(tf.cast(line_starts.flat_values, tf.int64), at)
        total = tf.shape(tokens.flat_values, out_type=tf.int64)[0]
        merged = windows.merge(self._run_windows(content, types), lengths, row, start, end, total)
        return tf.RaggedTensor.from_row_lengths(merged, lengths).to_tensor(0.0)

    @staticmethod
    def _word_starts(text, starts, ends, word_first):
        """`tfner.data.align.word_starts` in graph ops: (word_first, breaks), ragged bool as `starts`.
        word_first loses the tokens that continue a word across a joiner (`align.JOINERS`, one character
        touching a non-empty token on each side, between two ASCII digits or two letters); breaks is
        True at each word's first token whose gap from the previous token's end holds a break
        (`align.BREAK_CHARS` or two spaces)."""
        chars = tf.strings.unicode_split(text, "UTF-8")
        flat = chars.flat_values
        base = tf.gather(chars.row_starts(), starts.value_rowids())  # each token's text in `flat`
        at = tf.range(tf.size(starts.flat_values, out_type=tf.int64))
        first_of_row = at == tf.gather(starts.row_starts(), starts.value_rowids())
        last_of_row = at + 1 == tf.gather(starts.row_limits(), starts.value_rowids())
        a, b = starts.flat_values + base, ends.flat_values + base  # offsets into `flat`
        n = tf.size(a, out_type=tf.int64)
        shift = lambda x, by: tf.gather(x, tf.clip_by_value(at + by, 0, tf.maximum(n - 1, 0)))
        char = lambda i: tf.gather(flat, tf.clip_by_value(i, 0, tf.maximum(tf.size(flat, tf.int64) - 1, 0)))
        one_of = lambda c, chars: tf.reduce_any(tf.equal(c[:, None], tf.constant(list(chars))), axis=1)

        def kind(c):  # align.char_class: 1 ASCII digit, 2 letter, 0 other
            digit, letter = tf.strings.regex_full_match(c, "[0-9]"), tf.strings.regex_full_match(c, r"\p{L}")
            return tf.where(digit, 1, tf.where(letter, 2, 0))

        joiner = (
            ~first_of_row
            & ~last_of_row
            & tf.equal(b - a, 1)
            & tf.equal(shift(b, -1), a)
            & tf.equal(shift(a, 1), b)
            & (shift(a, -1) < shift(b, -1))
            & (shift(b, 1) > shift(a, 1))
            & one_of(char(a), align.JOINERS)
            & tf.equal(kind(char(a - 1)), kind(char(b)))
            & (kind(char(b)) > 0)
        )
        joined = joiner | (~first_of_row & (shift(tf.cast(joiner, tf.int32), -1) > 0))
        word = word_first.flat_values & ~joined
        # breaks: counts of break characters and of space pairs before each position of `flat`
        counts = lambda hits: tf.concat([[0], tf.cumsum(tf.cast(hits, tf.int64))], 0)
        breaks_before = counts(one_of(flat, align.BREAK_CHARS))
        space = tf.equal(flat, " ")
        pairs_before = counts(space & tf.concat([space[1:], [False]], 0))
        gap_start = tf.where(first_of_row, a, shift(b, -1))  # a text's first token: no gap
        gap_end = tf.maximum(a, gap_start)
        in_gap = lambda before, lo, hi: tf.gather(before, tf.maximum(hi, lo)) - tf.gather(before, lo) > 0
        broken = in_gap(breaks_before, gap_start, gap_end) | in_gap(pairs_before, gap_start, gap_end - 1)
        return starts.with_flat_values(word), starts.with_flat_values(word & broken)

    def _predict_text(self, text):
        read, view = table_view(text) if self._table_view else (text, None)
        tokens, starts, ends, word_first = self.text_tokenizer.tokenize(read)
        word_first, breaks = self._word_starts(read, starts, ends, word_first)
        if view is not None:  # offsets in the text given; a header's tokens: the empty span at its cell
            starts, ends = view.to_original(starts), view.to_original(ends)
        batch = tf.shape(text, out_type=tf.int64)[0]
        lengths = tokens.row_lengths()
        logits = self._text_logits(tokens, breaks)
        width = tf.shape(logits, out_type=tf.int64)[1]
        probs = tf.nn.softmax(logits, -1)
        shape = tf.shape(logits, out_type=tf.int64)[:2]
        valid = tf.sequence_mask(lengths, shape[1])
        label = self._decide(
            logits, word_first.to_tensor(False, shape=shape), breaks.to_tensor(False, shape=shape), valid
        )
        score = tf.gather(probs, label[..., None], batch_dims=2)[..., 0]
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
        token_start = tf.gather(flat(starts.to_tensor(width)), at)
        token_end = tf.gather(flat(ends.to_tensor(width)), at)
        if view is not None:  # `pipeline.group_entities(skip_empty=True)`: a header never stretches an end
            token_end = tf.where(token_end > token_start, token_end, tf.constant(-1, token_end.dtype))
        char_start = tf.math.unsorted_segment_min(token_start, segment, groups)
        char_end = tf.math.unsorted_segment_max(token_end, segment, groups)
        mean_score = tf.math.unsorted_segment_mean(tf.gather(flat(score), at), segment, groups)
        heads = tf.where(flat(first))[:, 0]
        row = heads // width
        # `pipeline.trim`: no entity begins or ends with the characters it cannot; one of nothing else is none
        words = tf.strings.substr(tf.gather(text, row), char_start, char_end - char_start, unit="UTF8_CHAR")
        chars = lambda x: tf.cast(tf.strings.length(x, unit="UTF8_CHAR"), tf.int64)
        not_first, not_last, full_stop = TRIM
        char_start += chars(words) - chars(tf.strings.regex_replace(words, not_first, ""))
        stripped = tf.strings.regex_replace(words, not_last, "")
        stripped = tf.strings.regex_replace(tf.strings.regex_replace(stripped, full_stop, r"\1"), not_last, "")
        char_end -= chars(words) - chars(stripped)
        kept = char_end > char_start
        char_start, char_end, mean_score, heads, row = (
            tf.boolean_mask(x, kept) for x in (char_start, char_end, mean_score, heads, row)
        )
        names = tf.gather(self.entity_types, tf.gather(flat(kind), heads))
        words = tf.strings.substr(tf.gather(text, row), char_start, char_end - char_start, unit="UTF8_CHAR")
        counts = tf.math.unsorted_segment_sum(tf.ones_like(row), row, batch)
        padded = lambda values, default: tf.RaggedTensor.from_row_lengths(values, counts).to_tensor(default)
        return {
            "entity_label": padded(names, ""),
            "entity_start": padded(char_start, -1),
            "entity_end": padded(char_end, -1),
            "entity_score": padded(mean_score, 0.0),
            "entity_text": padded(words, ""),
            "entity_count": counts,
        }
