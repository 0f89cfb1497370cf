"""Helpers of the in-graph tokenizers (`tfner.serving.tokenizers`, `tfner.serving.bpe`): the special
ids round a window, Oniguruma's whitespace class, and byte offsets -> character offsets."""

import tensorflow as tf

WS = r"\t\n\x0B\f\r\x{85}\p{Z}"  # Oniguruma's (the tokenizers library's) \s, which RE2's \s is not


def special_ids(tokenizer):
    """The ids before and after a sequence's tokens (as `tfner.data.align` puts them round windows)."""
    sentinel = -7  # any id: build_inputs_with_special_tokens only concatenates
    full = tokenizer.build_inputs_with_special_tokens([sentinel])
    at = full.index(sentinel)
    return full[:at], full[at + 1 :]


def char_offsets(text, byte_starts, byte_ends):
    """Byte offsets (ragged, per text) -> offsets in characters of `text`: a start in the character
    holding its byte, an end after the character holding its last byte. Searched in one sorted vector
    of the batch's character ends (each text's shifted past the previous one's), not a row per token."""
    chars = tf.strings.unicode_split(text, "UTF-8")
    return chars_of(tf.cumsum(tf.cast(tf.strings.length(chars), tf.int64), axis=1), text, byte_starts, byte_ends)


def chars_of(char_ends, text, byte_starts, byte_ends):
    """`char_offsets` given the byte end of each character (ragged (batch, characters))."""
    base = tf.cumsum(tf.cast(tf.strings.length(text), tf.int64) + 1, exclusive=True)
    ends_flat = char_ends.flat_values + tf.gather(base, char_ends.value_rowids())
    row = byte_starts.value_rowids()
    shift, first = tf.gather(base, row), tf.gather(char_ends.row_starts(), row)
    start = tf.searchsorted(ends_flat, byte_starts.flat_values + shift, side="right", out_type=tf.int64) - first
    end = tf.searchsorted(ends_flat, byte_ends.flat_values - 1 + shift, side="right", out_type=tf.int64) - first + 1
    end = tf.where(byte_ends.flat_values > byte_starts.flat_values, end, start)  # empty (trimmed) stays empty
    return byte_starts.with_flat_values(start), byte_starts.with_flat_values(end)
