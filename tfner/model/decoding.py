"""From per-token label probabilities to labels: argmax or valid-IOB2 Viterbi, and recall-first thresholds.

A de-identification model must miss as little as possible; `tfner calibrate` lowers, per entity type,
the probability a token needs to be called that type until the validation recall reaches a target, and
writes the thresholds into the model folder (`thresholds.json`). With thresholds, a token's entity
probability for type T is P(B-T) + P(I-T); the token gets the most probable type among those whose
probability reaches their threshold (O if none does), and B- or I- by which of the two is more probable.
Without thresholds the decision is the plain argmax. The same rule runs in numpy here and in the
exported SavedModel's graph (`tfner.serving.export`).

Argmax labels each token alone and can emit what IOB2 forbids (`I-PER` after `O`, `B-LOC I-ORG`).
Decoding `bio` (the default) and every model with a CRF decide whole sequences instead: Viterbi
(`tfner.model.crf.viterbi`) over the log-probabilities, plus the CRF's learned transitions when the model
has one, with the forbidden transitions removed, so every output is valid. The sequence is the word
positions: the labelled word positions of word-level data in `Tagger.tags`, and the first sub-token of
each word for span data in `Tagger.tags`, the pipeline and the SavedModel, where the other sub-tokens
take the I- form of their word's label. With thresholds (no CRF), `bio` keeps Viterbi and adds to every
label of type T the log-odds log((1 - t) / t) of its threshold t: 0 at t = 0.5 (the thresholds change
nothing there), more as t falls, so that against O a position whose P(T) reaches t is called T, as the
per-token rule says, while the sequence stays valid. Lowering a threshold never lowers the number of
positions called that type (the best path's count of them can only grow with their bonus).

On raw text, no entity runs across a line break, a tab or a run of spaces (`tfner.data.align.word_starts`
marks the word after one `BREAK`): the tokenizer drops whitespace, so without this a model cannot tell
"Jani  23.03.2004" in a table from "Jani 23.03.2004", or an address line from the next line. The word
after a break cannot take an I- label; each side of a break can still be an entity of its own. A word of
raw text is scored by all its tokens, not by its first alone (`Decoder.word_emissions`). (Reading P(I-X)
as P(B-X) after a break, so that what would have continued an entity begins one, was tried: on split 1
of experiments/leave_families_out.py it kept 0.4 points more PHI tokens and cost 1.6 points of entity F1.)
"""

import json
import math
import os

import numpy as np

from tfner.data import tags as tag_schemes
from tfner.data.align import BREAK
from tfner.model import crf as crf_ops

THRESHOLDS = "thresholds.json"
DECODINGS = ("argmax", "bio")


def softmax(logits):
    """Probabilities from logits along the last axis (float64 inside, float32 out)."""
    z = np.asarray(logits, np.float64)
    z = np.exp(z - z.max(-1, keepdims=True))
    return (z / z.sum(-1, keepdims=True)).astype(np.float32)


def add_decode_argument(parser):
    """`--decode {argmax,bio}`: override a saved model's decoding (for the commands that load one)."""
    parser.add_argument(
        "--decode",
        choices=DECODINGS,
        help="decode with 'argmax' (each token alone) or 'bio' (Viterbi, valid IOB2 only) instead of the "
        "model's own setting (config.json's decode; models with a CRF always use Viterbi)",
    )


def log_probabilities(probabilities):
    """Log-probabilities for Viterbi: a probability that underflowed to 0 counts as 1e-30."""
    return np.log(np.maximum(np.asarray(probabilities, np.float32), 1e-30))


def type_matrix(labels):
    """(entity types, a labels x types 0/1 matrix mapping each B-/I- label to its type, B-label
    index per type, I-label index per type) of a label list."""
    types = []
    for label in labels:
        kind = tag_schemes.entity_type(label)
        if kind is not None and kind not in types:
            types.append(kind)
    matrix = np.zeros((len(labels), len(types)), np.float32)
    begin, inside = np.full(len(types), -1), np.full(len(types), -1)
    for i, label in enumerate(labels):
        parts = tag_schemes.split(label)
        if parts is None or parts[0] == tag_schemes.OUTSIDE:
            continue
        t = types.index(parts[1])
        matrix[i, t] = 1.0
        if parts[0] == "B":
            begin[t] = i
        else:
            inside[t] = i
    return types, matrix, begin, inside


def check_thresholds(thresholds, labels, source="thresholds"):
    """Thresholds must name entity types of the model, each a probability in (0, 1]."""
    types = type_matrix(labels)[0]
    if not isinstance(thresholds, dict):
        raise ValueError(f"{source}: expected an object of entity type -> threshold, got {type(thresholds).__name__}")
    for kind, value in thresholds.items():
        if kind not in types:
            raise ValueError(f"{source}: {kind!r} is not an entity type of this model ({', '.join(types)})")
        if (
            isinstance(value, bool)
            or not isinstance(value, (int, float))
            or not math.isfinite(value)
            or not 0 < value <= 1
        ):
            raise ValueError(f"{source}: the threshold of {kind} must be a number in (0, 1], got {value!r}")
    return {k: float(v) for k, v in thresholds.items()}


class Decoder:
    """Labels from probabilities (tokens x labels): argmax, per-type thresholds, or Viterbi (see the
    module doc).

    thresholds: {entity type: probability}, or None; a type left out of the thresholds needs a
    probability of 0.5. decode: "argmax" or "bio". crf: the model's `tfner.model.crf.CRF` layer, or None;
    its scores are read at each call, so a decoder follows a CRF that is still training.
    """

    def __init__(self, labels, thresholds=None, decode="argmax", crf=None):
        if decode not in DECODINGS:
            raise ValueError(f"decode must be one of {', '.join(DECODINGS)}, got {decode!r}")
        if thresholds and crf is not None:
            raise ValueError("a model with a CRF decodes with Viterbi: probability thresholds do not apply to it")
        self.labels = list(labels)
        self.thresholds = check_thresholds(thresholds, labels) if thresholds else None
        self.decode = decode
        self.crf = crf
        self.types, self.matrix, self.begin, self.inside = type_matrix(self.labels)
        self.outside = self.labels.index(tag_schemes.OUTSIDE) if tag_schemes.OUTSIDE in self.labels else 0
        self.vector = np.array(
            [self.thresholds.get(t, 0.5) if self.thresholds else 0.5 for t in self.types], np.float32
        )
        self.is_inside = np.array([(tag_schemes.split(l) or (None,))[0] == "I" for l in self.labels])
        # Viterbi's bonus per label: log((1 - t) / t) for the labels of a type with threshold t, else 0
        self.bias = np.zeros(len(self.labels), np.float32)
        for kind, t in (self.thresholds or {}).items():
            self.bias[self.matrix[:, self.types.index(kind)] > 0] = math.log(max(1.0 - t, 1e-12) / t)
        self.inside_of = np.array(
            [
                self.labels.index(tag_schemes.inside_form(l)) if tag_schemes.inside_form(l) in self.labels else i
                for i, l in enumerate(self.labels)
            ]
        )

    @property
    def sequential(self):
        """Whether labels are decided over whole sequences (Viterbi, with the thresholds' bonus if any)."""
        return self.crf is not None or self.decode == "bio"

    def scores(self):
        """(transitions, start, end) of the Viterbi: the CRF's (if any) plus the IOB2 constraints."""
        constraints = crf_ops.iob2_constraints(self.labels)
        if self.crf is None:
            return constraints
        learned = (self.crf.transitions, self.crf.start, self.crf.end)
        return tuple(np.asarray(w.numpy(), np.float32) + c for w, c in zip(learned, constraints))

    def __call__(self, probabilities):
        """Per-token labels: argmax, or the thresholds (no sequence constraint)."""
        probabilities = np.asarray(probabilities, np.float32)
        if self.thresholds is None or not self.types:
            return probabilities.argmax(-1)
        by_type = probabilities @ self.matrix  # (..., types)
        passing = np.where(by_type >= self.vector, by_type, -1.0)
        best = passing.argmax(-1)
        chosen = np.take_along_axis(passing, best[..., None], -1)[..., 0] >= 0
        b, i = self.begin[best], self.inside[best]
        p_b = np.take_along_axis(probabilities, np.maximum(b, 0)[..., None], -1)[..., 0]
        p_i = np.take_along_axis(probabilities, np.maximum(i, 0)[..., None], -1)[..., 0]
        label = np.where((i < 0) | ((b >= 0) & (p_b >= p_i)), b, i)
        return np.where(chosen, label, self.outside)

    def sequences(self, probabilities):
        """Labels of whole sequences: a list of (positions, labels) probability arrays -> id arrays."""
        if not self.sequential:
            return [self(p) for p in probabilities]
        return crf_ops.decode_sequences([log_probabilities(p) + self.bias for p in probabilities], *self.scores())

    def word_emissions(self, probabilities, first, breaks):
        """Viterbi scores of the words of one text (words x labels): for label L, log P(the word's first
        token is L) + the sum over its other tokens of log P(that token is L's I- form), the probability
        that the word's tokens carry the labels a word labelled L gives them (every token's evidence
        counts, not only the first's). At a break (`breaks`, per word) I- is forbidden. probabilities:
        (tokens, labels); first: bool per token."""
        emissions = log_probabilities(probabilities[first])
        emissions[np.ix_(breaks, self.is_inside)] = crf_ops.FORBIDDEN
        word = np.cumsum(first) - 1
        rest = ~first & (word >= 0)
        np.add.at(emissions, word[rest], log_probabilities(probabilities[rest])[:, self.inside_of])
        return emissions

    def documents(self, probabilities, word_starts=None):
        """Label ids of whole documents (`sequences`); given each document's word starts (span data,
        `Windows.word_starts`), a sequential decoder decides the words and the other tokens follow them
        (`tokens`), as the pipeline and the SavedModel do."""
        if not self.sequential or not word_starts or word_starts[0] is None:
            return self.sequences(probabilities)
        return [
            self.tokens(p, first) if len(p) else np.zeros(0, np.int64) for p, first in zip(probabilities, word_starts)
        ]

    def tokens(self, probabilities, first):
        """Per-token labels of one text whose words start at `first` (per token, `tfner.data.align`'s
        `word_starts`: nonzero at a word's first token, `BREAK` after a break): sequential decoders decide
        the word sequence and give each other sub-token the I- form of its word's label (tokens before
        the first word: O); otherwise each token is decided alone."""
        probabilities = np.asarray(probabilities, np.float32)
        if not self.sequential:
            return self(probabilities)
        starts = np.asarray(first)
        first = starts > 0
        breaks = starts[first] == BREAK
        emissions = self.word_emissions(probabilities, first, breaks) + self.bias
        words = crf_ops.decode_sequences([emissions], *self.scores())[0]
        word = np.cumsum(first) - 1
        inherited = np.where(word >= 0, self.inside_of[words[np.maximum(word, 0)]] if len(words) else 0, self.outside)
        return np.where(first, words[np.maximum(word, 0)] if len(words) else self.outside, inherited)


def read_thresholds(model_dir, labels):
    """The thresholds saved in a model folder, or None."""
    path = os.path.join(model_dir, THRESHOLDS)
    if not os.path.exists(path):
        return None
    try:
        with open(path) as f:
            saved = json.load(f)
    except json.JSONDecodeError as e:
        raise ValueError(f"{path}: not valid JSON ({e})") from None
    if not isinstance(saved, dict) or "thresholds" not in saved:
        raise ValueError(f"{path}: expected an object with a 'thresholds' field")
    return check_thresholds(saved["thresholds"], labels, path)


def write_thresholds(model_dir, thresholds, labels, **details):
    """Write `thresholds.json` (the thresholds and how they were chosen) into a model folder."""
    thresholds = check_thresholds(thresholds, labels)
    path = os.path.join(model_dir, THRESHOLDS)
    text = json.dumps({"thresholds": thresholds, **details}, indent=1)  # all of it, before the file opens
    with open(path, "w") as f:
        f.write(text + "\n")
    return path
