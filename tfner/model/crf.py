"""A linear-chain CRF over the labelled positions, and Viterbi decoding that only emits valid IOB2.

TensorFlow Addons had a CRF (`tfa.text.crf_*`), but Addons is end-of-life: its last release (0.23, 2023)
targets TensorFlow 2.13-2.15 and does not install against 2.20, so the CRF is written here in plain TF ops.

The head's logits are the emission scores; `CRF` adds start, end and transition scores. The sequence
the CRF scores is the *labelled positions* of a window (the first sub-token of each word; every token of
span data), packed to the left by `pack`, so the transitions run from word to word, not through
continuation sub-tokens. Training minimises the negative log-likelihood (`nll_sum`: the forward
algorithm in log space, masked by each sequence's length, in float32 under mixed precision).

Decoding is constrained like AllenNLP's `allowed_transitions`: `iob2_constraints` forbids what IOB2
forbids (`I-X` after anything but `B-X`/`I-X`, and at the start), and `viterbi` never takes a forbidden
step, so every decoded sequence is valid. Training is not constrained: a window cut inside an entity
starts with `I-X`, which the constraints would make impossible. The same `viterbi`, with zero
transitions and log-probabilities as emissions, is the `bio` decoding of models without a CRF.
"""

import numpy as np
import tensorflow as tf
import tf_keras

from tfner.data import tags as tag_schemes

FORBIDDEN = -1e4  # the score of a forbidden step: far below any path, finite so sums stay finite


class CRF(tf_keras.layers.Layer):
    """Start, end and transition scores for `num_labels` labels; called on the logits it returns them
    unchanged as float32 (the emissions), so the model's output stays the per-token logits."""

    def __init__(self, num_labels, **kwargs):
        kwargs.setdefault("name", "crf")
        super().__init__(dtype="float32", **kwargs)
        self.num_labels = num_labels

    def build(self, input_shape):
        n = self.num_labels
        self.transitions = self.add_weight("transitions", (n, n), initializer="zeros")
        self.start = self.add_weight("start", (n,), initializer="zeros")
        self.end = self.add_weight("end", (n,), initializer="zeros")
        super().build(input_shape)

    def call(self, logits):
        return tf.cast(logits, tf.float32)

    def get_config(self):
        return {**super().get_config(), "num_labels": self.num_labels}


def iob2_constraints(labels):
    """(transitions, start, end) float32 arrays of 0 (allowed) and FORBIDDEN, for IOB2 labels:
    `I-X` may only follow `B-X` or `I-X` and may not start a sequence; anything may end one."""
    n = len(labels)
    parts = [tag_schemes.split(label) or (None, None) for label in labels]
    transitions = np.zeros((n, n), np.float32)
    start = np.zeros(n, np.float32)
    for j, (prefix, kind) in enumerate(parts):
        if prefix != "I":
            continue
        start[j] = FORBIDDEN
        for i, (p, k) in enumerate(parts):
            if not (p in ("B", "I") and k == kind):
                transitions[i, j] = FORBIDDEN
    return transitions, start, np.zeros(n, np.float32)


def is_valid_iob2(ids, labels):
    """Whether a sequence of label ids is valid IOB2 (no `I-X` without `B-X`/`I-X` before it)."""
    previous = None
    for i in ids:
        prefix, kind = tag_schemes.split(labels[i]) or (None, None)
        if prefix == "I" and (previous is None or previous[1] != kind or previous[0] not in ("B", "I")):
            return False
        previous = (prefix, kind)
    return True


def pack(values, mask):
    """Labelled positions moved to the front of each row, in order: (values (batch, length, ...), lengths
    (batch,) int32). A stable sort, not a ragged mask, so shapes stay static (XLA compiles it)."""
    mask = tf.cast(mask, tf.bool)
    order = tf.argsort(tf.cast(~mask, tf.int32), axis=1, stable=True)
    return tf.gather(values, order, batch_dims=1), tf.reduce_sum(tf.cast(mask, tf.int32), axis=1)


def spread(words, first, inside_of, outside):
    """Per-token labels (batch, length) from the labels of the words (batch, words): a word's first
    sub-token (`first`) gets its label, the following ones its I- form (`inside_of[label]`), tokens
    before the first word `outside`. The graph form of `tfner.model.decoding.Decoder.tokens`."""
    first = tf.cast(first, tf.bool)
    words = tf.pad(words, [[0, 0], [0, tf.maximum(1 - tf.shape(words)[1], 0)]])  # no word at all: width 0
    rank = tf.cumsum(tf.cast(first, tf.int32), axis=1) - 1
    label = tf.gather(words, tf.maximum(rank, 0), batch_dims=1)
    inherited = tf.where(rank >= 0, tf.gather(inside_of, label), tf.cast(outside, label.dtype))
    return tf.where(first, label, inherited)


def _steps(emissions):
    """Positions 1.. of (batch, T, labels) emissions, time-major, with their index, and one more past the
    end: a step no row takes (t >= every length), so a scan never runs over nothing (T = 1)."""
    t = tf.shape(emissions)[1]
    padded = tf.pad(emissions[:, 1:], [[0, 0], [0, 1], [0, 0]])
    return tf.transpose(padded, [1, 0, 2]), tf.range(1, t + 1)


def log_partition(emissions, lengths, transitions, start, end):
    """log Z per sequence: log-sum-exp over every label sequence of its length (forward algorithm)."""
    emissions = tf.cast(emissions, tf.float32)
    alpha0 = start[None] + emissions[:, 0]

    def step(alpha, inputs):
        emission, t = inputs
        nxt = tf.reduce_logsumexp(alpha[:, :, None] + transitions[None], axis=1) + emission
        return tf.where((t < lengths)[:, None], nxt, alpha)

    alphas = tf.scan(step, _steps(emissions), initializer=alpha0)
    return tf.reduce_logsumexp(alphas[-1] + end[None], axis=1)


def sequence_score(emissions, tags, lengths, transitions, start, end):
    """The score of the given label sequences (batch, T) of each length."""
    emissions = tf.cast(emissions, tf.float32)
    tags = tf.cast(tags, tf.int32)
    width = tf.shape(tags)[1]
    mask = tf.sequence_mask(lengths, width, tf.float32)
    emitted = tf.reduce_sum(tf.gather(emissions, tags[..., None], batch_dims=2)[..., 0] * mask, axis=1)
    pairs = tf.stack([tags[:, :-1], tags[:, 1:]], axis=-1)
    moved = tf.reduce_sum(tf.gather_nd(transitions, pairs) * mask[:, 1:], axis=1)
    last = tf.gather(tags, tf.maximum(lengths - 1, 0), batch_dims=1)
    return emitted + moved + tf.gather(start, tags[:, 0]) + tf.gather(end, last)


def nll_sum(labels, logits, crf, ignore=-100):
    """(Sum over the batch of the sequences' negative log-likelihood, number of labelled positions).

    `labels` is (batch, length) with `ignore` where nothing is trained; the sequence of a row is its
    labelled positions (`pack`). Rows with none add nothing. Divided by the labelled-token count of the
    global batch, like the cross-entropy (`tfner.model.losses.masked_loss_sum`), the loss has the
    same scale and the same meaning under any number of replicas.
    """
    labels = tf.cast(labels, tf.int32)
    mask = tf.not_equal(labels, ignore)
    emissions, lengths = pack(tf.cast(logits, tf.float32), mask)
    scores = [tf.convert_to_tensor(w) for w in (crf.transitions, crf.start, crf.end)]  # XLA: no resource gathers
    tags, _ = pack(tf.where(mask, labels, 0), mask)  # past each length: label 0, masked out of the score
    # a batch without any labelled position packs to width 0: one padded column keeps the shapes valid
    pad = tf.maximum(1 - tf.shape(emissions)[1], 0)
    emissions = tf.pad(emissions, [[0, 0], [0, pad], [0, 0]])
    tags = tf.pad(tags, [[0, 0], [0, pad]])
    nll = log_partition(emissions, lengths, *scores) - sequence_score(emissions, tags, lengths, *scores)
    nll = tf.where(lengths > 0, nll, 0.0)
    return tf.reduce_sum(nll), tf.reduce_sum(tf.cast(lengths, tf.float32))


def viterbi(emissions, lengths, transitions, start, end):
    """The best label sequence per row (batch, T) int32 under the given scores; positions past a
    row's length repeat its last label (mask them). Forbidden steps (`FORBIDDEN`) are never taken
    when an allowed path exists, and with `iob2_constraints` one always does (all O)."""
    emissions = tf.cast(emissions, tf.float32)
    n = tf.shape(emissions)[2]
    score0 = start[None] + emissions[:, 0]
    keep = tf.broadcast_to(tf.range(n)[None], tf.shape(score0))

    def step(carry, inputs):
        score, _ = carry
        emission, t = inputs
        candidates = score[:, :, None] + transitions[None]
        active = (t < lengths)[:, None]
        best = tf.argmax(candidates, axis=1, output_type=tf.int32)
        nxt = tf.reduce_max(candidates, axis=1) + emission
        return tf.where(active, nxt, score), tf.where(active, best, keep)

    scores, pointers = tf.scan(step, _steps(emissions), initializer=(score0, keep))
    last = tf.argmax(scores[-1] + end[None], axis=1, output_type=tf.int32)
    earlier = tf.scan(lambda tag, p: tf.gather(p, tag, batch_dims=1), pointers, initializer=last, reverse=True)
    return tf.transpose(earlier)  # the step past the end repeats the last label: drop nothing else


@tf.function(
    input_signature=[
        tf.TensorSpec((None, None, None), tf.float32),
        tf.TensorSpec((None,), tf.int32),
        tf.TensorSpec((None, None), tf.float32),
        tf.TensorSpec((None,), tf.float32),
        tf.TensorSpec((None,), tf.float32),
    ]
)
def _viterbi_graph(emissions, lengths, transitions, start, end):
    return viterbi(emissions, lengths, transitions, start, end)


def decode_sequences(sequences, transitions, start, end, batch_size=256):
    """Viterbi label ids (numpy) for a list of (T_i, labels) score arrays, in padded batches of
    similar length (one traced graph for every batch)."""
    out = [np.zeros(0, np.int64)] * len(sequences)
    lengths = np.array([len(s) for s in sequences])
    order = [i for i in np.argsort(lengths, kind="stable") if lengths[i]]
    scores = [np.asarray(x, np.float32) for x in (transitions, start, end)]
    for at in range(0, len(order), batch_size):
        rows = order[at : at + batch_size]
        width = lengths[rows].max()
        padded = np.zeros((len(rows), width, len(scores[1])), np.float32)
        for r, i in enumerate(rows):
            padded[r, : lengths[i]] = sequences[i]
        best = _viterbi_graph(padded, lengths[rows].astype(np.int32), *scores).numpy()
        for r, i in enumerate(rows):
            out[i] = best[r, : lengths[i]].astype(np.int64)
    return out
