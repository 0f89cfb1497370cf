"""A trial: does the uncased default encoder gain on unseen notes when it is told each word's casing?

    python experiments/casing_trial.py --only-splits 0 1 --no-legacy --name leave_families_out_casing

The offline default encoder (all-MiniLM-L6-v2) is uncased: "Vitals", "VITALS" and "vitals", "Bergen" and
"bergen" are the same ids, so a name or a city in a layout never seen in training must be told from an
ordinary word by context alone. This trial gives the encoder each word's casing as an extra embedding:
every token's type becomes line start (0/1) + 2 x casing (0: other, 1: Capitalised, 2: ALL CAPS, of the
whole word), the pretrained token-type table reads the line start and a new (3, hidden) table, zero at
the start so that the pretrained model is unchanged, adds the casing before the embeddings' layer norm.
Everything else is experiments/leave_families_out.py (same splits, seeds, recipe and report; its
arguments), so its rows compare with that script's.

It patches `Windows.line_starts` and the BERT embeddings for this process only: a measurement, not a
feature (exported models and `tfner deid` know nothing of it).
"""

import os
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
import tensorflow as tf  # noqa: E402

import tfner  # noqa: E402,F401
from tfner.data import align  # noqa: E402

OTHER, CAPITALISED, UPPER = 0, 1, 2


def word_casing(word):
    """OTHER, CAPITALISED or UPPER for a word's text (letters only count; one capital letter is CAPITALISED)."""
    letters = [c for c in word if c.isalpha()]
    if not letters or not letters[0].isupper():
        return OTHER
    return UPPER if len(letters) > 1 and all(c.isupper() for c in letters) else CAPITALISED


def casing(text, offsets, starts):
    """Per token of a span document: the casing of the word it belongs to (`align.word_starts` words)."""
    out = np.zeros(len(offsets), np.int32)
    heads = [i for i, s in enumerate(starts) if s != align.INSIDE] + [len(offsets)]
    for first, nxt in zip(heads[:-1], heads[1:]):
        out[first:nxt] = word_casing(text[offsets[first][0] : offsets[nxt - 1][1]])
    return out


def line_starts_and_casing(self):
    """`Windows.line_starts` + 2 x the casing of each scored token's word."""
    flags = _line_starts(self)
    if not self.word_starts:
        return flags
    cases = {}
    for k, (units, doc) in enumerate(zip(self.unit_index, self.doc_index)):
        if doc not in cases:
            cases[doc] = casing(self.documents[doc].text, self.offsets[doc], self.word_starts[doc])
        units = np.asarray(units)
        scored = units >= 0
        flags[k][scored] += 2 * cases[doc][units[scored]]
    return flags


def embeddings_call(
    self, input_ids=None, position_ids=None, token_type_ids=None, inputs_embeds=None, past_key_values_length=0,
    training=False,
):  # fmt: skip
    """TFBertEmbeddings.call with token types split into line starts (pretrained table) and casing (new)."""
    if not hasattr(self, "case_embeddings"):
        with tf.name_scope("case_embeddings"):
            self.case_embeddings = self.add_weight(
                name="embeddings", shape=[3, self.hidden_size], initializer="zeros", trainable=True
            )
    inputs_embeds = tf.gather(self.weight, input_ids)
    shape = tf.shape(inputs_embeds)[:-1]
    if token_type_ids is None:
        token_type_ids = tf.zeros(shape, tf.int32)
    if position_ids is None:
        position_ids = tf.range(shape[1])[None]
    total = (
        inputs_embeds
        + tf.gather(self.position_embeddings, position_ids)
        + tf.gather(self.token_type_embeddings, token_type_ids % 2)
        + tf.gather(self.case_embeddings, token_type_ids // 2)
    )
    return self.dropout(self.LayerNorm(total), training=training)


_line_starts = align.Windows.line_starts
align.Windows.line_starts = line_starts_and_casing
from transformers.models.bert.modeling_tf_bert import TFBertEmbeddings, TFBertModel  # noqa: E402

TFBertEmbeddings.call = embeddings_call
# the new table is not in the pretrained checkpoint: let the loader pass it over (it stays zero)
TFBertModel._keys_to_ignore_on_load_missing = [r"case_embeddings"]

if __name__ == "__main__":
    from experiments import leave_families_out

    leave_families_out.main()
