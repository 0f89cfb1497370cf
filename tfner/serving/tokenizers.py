"""In-graph tokenizers for `predict_text`: raw text -> the Hugging Face fast tokenizer's ids, in TF ops.

Every tokenizer here is a `tf.Module` whose `tokenize(text)` maps a batch of strings to

    ids         int64 ragged (batch, tokens), the ids the fast tokenizer gives (no special tokens)
    starts/ends int64 ragged, character offsets into the ORIGINAL text (code points, as Python's `str`
                indexes it; end exclusive), as the fast tokenizer's `offset_mapping`
    word_first  bool ragged, True at the first token of each word (the tokenizer's `word_ids`)

plus `prefix` / `suffix`, the special ids around every window (`[CLS]`/`[SEP]`, `<s>`/`</s>`).
`for_tokenizer` picks one for a Hugging Face tokenizer, or says why none fits:

- WordPiece (BERT family): `tensorflow_text.BertTokenizer`, a lookup-table WordPiece whose ops TF
  Serving registers (unlike `FastBertTokenizer`'s FastBertNormalize, tensorflow/serving#2064); uncased
  vocabularies are lower-cased and stripped of accents one character at a time, so offsets map back.
- byte-level BPE (RoBERTa, GPT-2): `tfner.serving.bpe`.
- SentencePiece (XLM-R, ALBERT, DeBERTa-v2): `tensorflow_text.SentencepieceTokenizer` on the model
  proto the tokenizer saves (`sentencepiece.bpe.model`, `spiece.model`), its ids mapped to the Hugging
  Face ids (XLM-R shifts them by the fairseq offset) in the graph.
"""

import json
import os

import numpy as np
import tensorflow as tf

from tfner.serving.offsets import WS, char_offsets, chars_of, special_ids


class WordPiece(tf.Module):
    """BERT-family tokenization with `tensorflow_text.BertTokenizer` (see the module docstring)."""

    def __init__(self, tokenizer, vocab_path):
        super().__init__(name="wordpiece")
        import tensorflow_text as tf_text

        self.prefix, self.suffix = special_ids(tokenizer)
        self.vocab_table = tf.lookup.StaticVocabularyTable(
            tf.lookup.TextFileInitializer(
                vocab_path, tf.string, tf.lookup.TextFileIndex.WHOLE_LINE, tf.int64, tf.lookup.TextFileIndex.LINE_NUMBER
            ),
            num_oov_buckets=1,
        )
        # lower-casing happens in _normalize, where offsets can be mapped back to the text
        self._lower_case = bool(getattr(tokenizer, "do_lower_case", False))
        self._wordpiece = tf_text.BertTokenizer(
            self.vocab_table, token_out_type=tf.int64, lower_case=False, unknown_token=tokenizer.unk_token
        )

    def _normalize(self, text):
        """Lower-case and strip accents one character at a time (as BERT's uncased tokenizer does), so
        every byte of the normalized text maps back to the character of `text` it came from.

        Returns the normalized text and, per text, the normalized end byte of each original character.
        """
        chars = tf.strings.unicode_split(text, "UTF-8")
        if self._lower_case:
            import tensorflow_text as tf_text

            # tf.strings.lower (ICU lower-casing), not case_fold_utf8: folding maps µ to μ, ß to ss and
            # ﬁ to fi, where the Hugging Face tokenizer's lower-casing keeps them (tests/serving)
            norm = tf_text.normalize_utf8(tf.strings.lower(chars.flat_values, encoding="utf-8"), "NFD")
            chars = chars.with_flat_values(tf.strings.regex_replace(norm, r"\p{Mn}", ""))
        ends = tf.cumsum(tf.cast(tf.strings.length(chars), tf.int64), axis=1)
        return tf.strings.reduce_join(chars, axis=1), ends

    def tokenize(self, text):
        normalized, char_ends = self._normalize(text)
        tokens, starts, ends = self._wordpiece.tokenize_with_offsets(normalized)
        piece = tokens.with_values(tf.ragged.range(tokens.values.row_lengths()))  # index within its word
        word_first = tf.equal(piece.merge_dims(1, 2), 0)
        starts = tf.cast(starts.merge_dims(1, 2), tf.int64)
        ends = tf.cast(ends.merge_dims(1, 2), tf.int64)
        starts, ends = chars_of(char_ends, normalized, starts, ends)
        return tokens.merge_dims(1, 2), starts, ends, word_first


class SentencePiece(tf.Module):
    """SentencePiece models through `tensorflow_text.SentencepieceTokenizer`, ids mapped to the Hugging
    Face tokenizer's (see the module docstring)."""

    def __init__(self, tokenizer, model_path):
        super().__init__(name="sentencepiece")
        import tensorflow_text as tf_text

        self.prefix, self.suffix = special_ids(tokenizer)
        with open(model_path, "rb") as f:
            self._sp = tf_text.SentencepieceTokenizer(f.read(), out_type=tf.int32)
        pieces = [p.decode() for p in self._sp.id_to_string(tf.range(self._sp.vocab_size())).numpy()]
        unk = tokenizer.unk_token_id
        # sp id -> HF id through the piece strings: XLM-R's fairseq offset, its own <s> <pad> </s> <unk>
        vocab = tokenizer.get_vocab()
        self.hf_id = tf.constant([vocab.get(p, unk) for p in pieces], tf.int64)
        self.starts_word = tf.constant([p.startswith("▁") for p in pieces])

    def tokenize(self, text):
        ids, starts, ends = self._sp.tokenize_with_offsets(text)
        ids = tf.cast(ids, tf.int64)
        starts, ends = char_offsets(text, tf.cast(starts, tf.int64), tf.cast(ends, tf.int64))
        first = tf.gather(self.starts_word, ids)
        starts, ends = self._space(text, starts, ends, first)
        return ids.with_flat_values(tf.gather(self.hf_id, ids.flat_values)), starts, ends, first

    def _space(self, text, starts, ends, first):
        """Offsets as the fast tokenizer gives them: the `▁` of a word stands for the one space before
        it (the last of a run, which the normalizer collapses), where SentencePiece gives the whole run,
        or nothing for the spaces it strips at the start; a `▁` alone at the start stands for the text's
        first character."""
        chars = tf.strings.unicode_split(text, "UTF-8")
        space = tf.strings.regex_full_match(chars.flat_values, f"[{WS}]")
        n = tf.size(space, tf.int64)
        row_start = tf.gather(chars.row_starts(), starts.value_rowids())
        row_end = tf.gather(chars.row_limits(), starts.value_rowids())
        cs, ce = starts.flat_values + row_start, ends.flat_values + row_start  # flat character indexes
        words = tf.where(~space)[:, 0]  # the next non-space character at or after each start
        content = tf.minimum(
            tf.gather(tf.concat([words, [n]], 0), tf.searchsorted(words, cs, out_type=tf.int64)), row_end
        )
        at_space = tf.gather(tf.concat([space, [False]], 0), tf.minimum(cs, n)) & (cs < ce)
        before = tf.gather(tf.concat([[False], space], 0), cs) & (cs > row_start)  # a space just before
        start = tf.where(at_space, tf.minimum(content, ce) - 1, tf.where(before, cs - 1, cs))
        alone = (cs == ce) & (cs == row_start) & (row_end > row_start)
        word = first.flat_values
        start, end = tf.where(word, start, cs), tf.where(word & alone, ce + 1, ce)
        return starts.with_flat_values(start - row_start), starts.with_flat_values(end - row_start)


def is_wordpiece(tokenizer):
    backend = getattr(tokenizer, "backend_tokenizer", None)
    return backend is not None and type(backend.model).__name__ == "WordPiece" and hasattr(tokenizer, "vocab")


def _backend(tokenizer):
    backend = getattr(tokenizer, "backend_tokenizer", None)
    return json.loads(backend.to_str()) if backend is not None else {}


def for_tokenizer(tokenizer, folder):
    """(an in-graph tokenizer for `tokenizer`, None) or (None, why there is none). `folder` holds the
    tokenizer's saved files (`save_pretrained`): the WordPiece vocabulary and the SentencePiece proto
    are read from there (the vocabulary as a SavedModel asset)."""
    from tfner.serving import bpe

    spec = _backend(tokenizer)
    model = spec.get("model", {}).get("type")
    name = type(tokenizer).__name__
    if is_wordpiece(tokenizer):
        vocab = os.path.join(folder, "vocab.txt")
        if not os.path.exists(vocab):
            return None, f"{name} saved no vocab.txt"
        return WordPiece(tokenizer, vocab), None
    if model == "BPE" and bpe.is_byte_level(spec):
        return bpe.ByteLevelBPE(tokenizer, spec), None
    proto = getattr(tokenizer, "vocab_files_names", {}).get("vocab_file", "")
    if proto.endswith(".model"):  # save_pretrained writes the proto under this name when it has one
        saved = os.path.join(folder, proto)
        if not os.path.exists(saved):
            return None, f"{name} has no SentencePiece model file ({proto}) to save"
        why = _sentencepiece_mismatch(tokenizer, saved)
        return (None, why) if why else (SentencePiece(tokenizer, saved), None)
    if model in ("Unigram", "BPE") and spec.get("pre_tokenizer", {}).get("type") in ("Metaspace", "Sequence"):
        return None, f"{name} is SentencePiece-style but has no SentencePiece model file (vocab_file); " + (
            "save the model with a tokenizer that has one (from a sentencepiece .model)"
        )
    return None, f"{name} ({model or 'unknown'} model) has no in-graph tokenizer"


def _sentencepiece_mismatch(tokenizer, path, samples=("Hello  World, 12.5 kg ", "naïve Zoë\nmet Åsa")):
    """Why tensorflow_text's SentencePiece would not give the fast tokenizer's ids, or None (checked on a
    few strings at export, so a tokenizer with a different normalizer is refused, not silently served)."""
    module = SentencePiece(tokenizer, path)
    ids, _, _, _ = module.tokenize(tf.constant(list(samples)))
    want = tokenizer(list(samples), add_special_tokens=False)["input_ids"]
    for text, got, expected in zip(samples, ids.to_list(), want):
        if list(got) != list(expected):
            return f"{type(tokenizer).__name__}: tensorflow_text SentencePiece gives other ids on {text!r}"
    return None


def word_starts(tokenizer):
    """Per vocabulary id: 1 if the token starts a word, 0 if it continues one, -1 for special tokens.
    WordPiece marks continuations (`##`); byte-level BPE (`Ġ`) and SentencePiece (`▁`) mark starts."""
    vocab = tokenizer.get_vocab()
    table = np.zeros(max(vocab.values()) + 1, np.int8)
    backend = getattr(tokenizer, "backend_tokenizer", None)
    model = getattr(backend, "model", None)
    if type(model).__name__ == "WordPiece":
        prefix = model.continuing_subword_prefix
        for token, i in vocab.items():
            table[i] = 0 if token.startswith(prefix) else 1
    else:
        marker = "Ġ" if any(t.startswith("Ġ") for t in vocab) else "▁"
        for token, i in vocab.items():
            table[i] = 1 if token.startswith(marker) else 0
    table[[i for i in tokenizer.all_special_ids if i < len(table)]] = -1
    return table
