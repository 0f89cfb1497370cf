"""Byte-level BPE (RoBERTa, GPT-2) in TensorFlow ops, with character offsets, for `predict_text`.

The Hugging Face `ByteLevel` pre-tokenizer splits text with GPT-2's pattern

    's|'t|'re|'ve|'m|'ll|'d| ?\\p{L}+| ?\\p{N}+| ?[^\\s\\p{L}\\p{N}]+|\\s+(?!\\S)|\\s+

RE2 (TensorFlow's regex engine) has no look-ahead, so the two whitespace alternatives become one
whitespace character per piece, and runs of them are joined afterwards as `\\s+(?!\\S)` would have cut
them: a run followed by a word loses its last character (which a space gives to the word, through
` ?`, and any other whitespace keeps as a piece of its own), a run at the end stays whole. Each piece's
bytes become GPT-2's printable characters, adjacent symbols are merged lowest rank first (the leftmost
of equal ranks, as `tokenizers` does) in a `tf.while_loop`, and the merged strings are looked up in the
vocabulary. Distinct pieces of a batch are merged once.

keras-hub's `BytePairTokenizer` (0.32) saves into a SavedModel that loads without keras_hub and gives
the same ids, but returns no offsets (its pre-split inserts marker characters, so pieces do not map
back to the text) and caches every word it sees in a `MutableHashTable` that grows for as long as a
server runs; it would also add keras-hub, kagglehub and kagglesdk to the requirements.
"""

import json

import tensorflow as tf

from tfner.serving.offsets import WS, char_offsets, special_ids

PIECE = rf"'s|'t|'re|'ve|'m|'ll|'d| ?\p{{L}}+| ?\p{{N}}+| ?[^{WS}\p{{L}}\p{{N}}]+|[{WS}]"
NO_RANK = tf.int64.max


def is_byte_level(spec):
    """Whether a tokenizer.json (as a dict) is a byte-level BPE with GPT-2's split and no normalizer."""
    pre = spec.get("pre_tokenizer") or {}
    return pre.get("type") == "ByteLevel" and pre.get("use_regex", True) and not spec.get("normalizer")


def bytes_to_unicode():
    """GPT-2's map from bytes to printable characters (the alphabet of byte-level BPE)."""
    bs = list(range(ord("!"), ord("~") + 1)) + list(range(ord("¡"), ord("¬") + 1)) + list(range(ord("®"), ord("ÿ") + 1))
    cs, n = bs[:], 0
    for b in range(256):
        if b not in bs:  # the others (controls, space, ...) move past 255, in order
            bs.append(b)
            cs.append(256 + n)
            n += 1
    return {b: chr(c) for b, c in zip(bs, cs)}


def _table(keys, values, default):
    values = tf.constant(values, tf.string if isinstance(default, str) else tf.int64)
    return tf.lookup.StaticHashTable(tf.lookup.KeyValueTensorInitializer(tf.constant(keys), values), default)


class ByteLevelBPE(tf.Module):
    """A Hugging Face byte-level BPE tokenizer (`spec`: its tokenizer.json as a dict) in TF ops."""

    def __init__(self, tokenizer, spec):
        super().__init__(name="byte_level_bpe")
        self.prefix, self.suffix = special_ids(tokenizer)
        model = spec["model"]
        merges = [m if isinstance(m, str) else " ".join(m) for m in model["merges"]]
        self.add_prefix_space = bool(spec["pre_tokenizer"].get("add_prefix_space", False))
        processor = json.dumps(spec.get("post_processor") or {})
        self.trim_offsets = '"trim_offsets": true' in processor
        mapping = bytes_to_unicode()
        self.byte_char = _table([bytes([b]) for b in range(256)], [mapping[b] for b in range(256)], "")
        self.rank = _table(merges, list(range(len(merges))), NO_RANK)
        self.vocab = _table(list(model["vocab"]), list(model["vocab"].values()), tokenizer.unk_token_id or 0)

    def _merge(self, symbols):
        """Ragged (words, symbols) strings -> the words' BPE tokens, one merge per word per step."""

        words = symbols.nrows()

        def step(values, rows, _):
            n = tf.shape(values, out_type=tf.int64)[0]
            same = tf.concat([tf.equal(rows[1:], rows[:-1]), [False]], 0)  # a pair starts here
            nxt = tf.concat([values[1:], [""]], 0)
            rank = tf.where(same, self.rank.lookup(tf.strings.join([values, nxt], " ")), NO_RANK)
            best = tf.math.unsorted_segment_min(rank, rows, words)
            hit = same & tf.equal(rank, tf.gather(best, rows)) & (rank < NO_RANK)
            first = tf.math.unsorted_segment_min(tf.where(hit, tf.range(n), n), rows, words)  # leftmost
            at = tf.equal(tf.range(n), tf.gather(first, rows))
            after = tf.concat([[False], at[:-1]], 0)
            values = tf.where(at, tf.strings.join([values, nxt]), values)
            keep = ~after
            return tf.boolean_mask(values, keep), tf.boolean_mask(rows, keep), tf.reduce_any(at)

        values, rows = symbols.flat_values, symbols.value_rowids()
        values, rows, _ = tf.while_loop(
            lambda v, r, going: going,
            step,
            (values, rows, tf.size(values) > 0),
            shape_invariants=(tf.TensorShape([None]), tf.TensorShape([None]), tf.TensorShape([])),
        )
        return tf.RaggedTensor.from_value_rowids(values, rows, symbols.nrows())

    def _pieces(self, text):
        """Pre-tokens of the texts with byte offsets: ragged (texts, pieces) strings, starts, ends."""
        import tensorflow_text as tf_text

        parts, begin, end = tf_text.regex_split_with_offsets(text, PIECE, PIECE)
        values, rows = parts.flat_values, parts.value_rowids()
        begin, end = tf.cast(begin.flat_values, tf.int64), tf.cast(end.flat_values, tf.int64)
        space = tf.strings.regex_full_match(values, f"[{WS}]")
        same_row = tf.equal(rows[1:], rows[:-1])
        prev_space = tf.concat([[False], space[:-1] & same_row], 0)
        has_next = tf.concat([same_row, [False]], 0)
        next_space = tf.concat([space[1:], [False]], 0) & has_next
        next_spaced = tf.concat([tf.strings.substr(values[1:], 0, 1) == " ", [False]], 0) & has_next
        # a whitespace run followed by a word that did not take its last character (a space): that
        # character is a piece of its own
        last_before_word = space & ~next_space & has_next & ~next_spaced
        starts = ~space | ~prev_space | last_before_word
        group = tf.cumsum(tf.cast(starts, tf.int64)) - 1
        groups = tf.reduce_sum(tf.cast(starts, tf.int64))
        pieces = tf.strings.unsorted_segment_join(values, group, groups)
        heads = tf.where(starts)[:, 0]
        row = tf.gather(rows, heads)
        ragged = lambda x: tf.RaggedTensor.from_value_rowids(x, row, parts.nrows())
        lo = tf.math.unsorted_segment_min(begin, group, groups)
        hi = tf.math.unsorted_segment_max(end, group, groups)
        return ragged(pieces), ragged(lo), ragged(hi)

    def tokenize(self, text):
        lead = tf.zeros_like(text, tf.int64)
        if self.add_prefix_space:  # as the pre-tokenizer: a space before a text that does not start with one
            lead = tf.cast((tf.strings.length(text) > 0) & (tf.strings.substr(text, 0, 1) != " "), tf.int64)
            text_in = tf.where(lead > 0, tf.strings.join([" ", text]), text)
        else:
            text_in = text
        pieces, piece_start, _ = self._pieces(text_in)
        unique, index = tf.unique(pieces.flat_values)
        tokens = tf.gather(self._merge(self.byte_char.lookup(tf.strings.bytes_split(unique))), index)
        strings, piece = tokens.flat_values, tokens.value_rowids()
        first_of_piece = tf.gather(tokens.row_starts(), piece)
        size = tf.cast(tf.strings.length(strings, unit="UTF8_CHAR"), tf.int64)  # one character per byte
        before = tf.cumsum(size, exclusive=True)
        start = before - tf.gather(before, first_of_piece) + tf.gather(piece_start.flat_values, piece)
        end = start + size
        if self.trim_offsets:  # the post-processor trims spaces (Ġ) off the offsets, as tokenizers does
            spaces = lambda pattern: (
                size
                - tf.cast(tf.strings.length(tf.strings.regex_replace(strings, pattern, ""), unit="UTF8_CHAR"), tf.int64)
            )
            leading, trailing = spaces("^Ġ+"), spaces("Ġ+$")
            if self.add_prefix_space:  # the space added before a text's first token stays
                leading = tf.where((start == 0) & (leading == 1), tf.zeros_like(leading), leading)
            start = tf.minimum(start + leading, end)
            end = tf.where(end >= trailing, tf.maximum(end - trailing, start), end)
        row = tf.gather(pieces.value_rowids(), piece)
        shift = tf.gather(lead, row)  # back to bytes of the text as given
        start, end = tf.maximum(start - shift, 0), tf.maximum(end - shift, 0)
        by_text = lambda x: tf.RaggedTensor.from_value_rowids(x, row, tf.shape(text, out_type=tf.int64)[0])
        starts, ends = char_offsets(text, by_text(start), by_text(end))
        first = tf.equal(tf.range(tf.size(size, out_type=tf.int64)), first_of_piece)
        return by_text(self.vocab.lookup(strings)), starts, ends, by_text(first)
