"""`NERPipeline`: raw text -> entity groups, like the Hugging Face token-classification pipeline.

    from tfner.serving.pipeline import NERPipeline
    ner = NERPipeline(tfner.load("runs/notes"), aggregation="simple")
    ner("Seen by Dr. Smith on 3/4/2021.")
    # [{'entity_group': 'NAME', 'score': 0.98, 'word': 'Smith', 'start': 12, 'end': 17}, ...]

Texts go through tfner's span path (`align.encode` on documents without spans): the tokenizer's
character offsets map tokens back onto the text, and texts longer than `max_length` become
overlapping windows (`stride` tokens shared) whose softmax probabilities are merged per token
(`align.merge`: each token takes the window where it sits farthest from a cut), so an entity anywhere
in a long document is found. `word` is always the exact slice `text[start:end]`.

Aggregations (the Hugging Face semantics):

- `none`: one dict per token (`entity` is its B-/I- label), tokens labelled in `ignore_labels` dropped;
- `simple`: adjacent tokens of the same type are grouped, a `B-` token starts a new group; the score
  is the mean of the tokens' scores (each token's probability of its predicted label);
- `first`, `average`, `max`: first a label per *word* (the tokenizer's `word_ids`; sub-tokens of one
  word always share a label): the first sub-token's label, the label of the mean of the sub-tokens'
  probabilities, or the label of the sub-token with the highest score; then words are grouped as in
  `simple`, the score being the mean of the word scores.

Grouped entities never begin with a double quote, hyphen, closing parenthesis or HL7 separator (`^`, `|`) and
never end with a comma, semicolon, colon, double quote, hyphen, opening parenthesis or HL7 separator, nor with
whitespace at either end (`NOT_FIRST`, `NOT_LAST`); nor do they end with a sentence's full stop after a digit or
a long word (`trim`). Those characters are trimmed off, and a group of nothing else is no entity. No PHI value
of the note generator begins or ends with one of them (a phone number may begin with "(", so that one stays);
the model may carry a name's "Family, Given" comma past its end, or take a JSON value's opening quote, the " -",
" (" or "." after a phone number or the "^^" after an HL7 component. Trimming lifted exact-span F1 on unseen
notes of the de-identification protocol on every split (e.g. 0.768 -> 0.801,
experiments/results/entity_edges_more_old_models.md). `predict_text` trims the same way.
"""

import numpy as np

from tfner.data import align
from tfner.data import tags as tag_schemes
from tfner.data.readers import Corpus, Document
from tfner.model.decoding import softmax

AGGREGATIONS = ("none", "simple", "first", "average", "max")
NOT_FIRST = '"-)^|'  # no grouped entity begins with these (nor with whitespace) ...
NOT_LAST = ',;:"-(^|'  # ... or ends with these (nor with whitespace)
LONG_WORD = 5  # letters before a final "." that make it a sentence's full stop, not an abbreviation's


def _trim_end(text, start, end):
    while end > start and (text[end - 1] in NOT_LAST or text[end - 1].isspace()):
        end -= 1
    return end


def trim(text, start, end):
    """(start, end) of the entity text[start:end] without the characters it cannot begin or end with, then
    without a sentence's full stop: a final "." after a digit or after LONG_WORD letters ("2175.", "Madrid.";
    not "St.", "Jr.", "J."), then the characters it cannot end with again."""
    while start < end and (text[start] in NOT_FIRST or text[start].isspace()):
        start += 1
    end = _trim_end(text, start, end)
    if end > start and text[end - 1] == ".":
        before = text[max(start, end - 1 - LONG_WORD) : end - 1]  # up to LONG_WORD characters before it
        if before and ("0" <= before[-1] <= "9" or (len(before) == LONG_WORD and before.isalpha())):
            end = _trim_end(text, start, end - 1)
    return start, end


def _tag(label):
    """('B', 'PER') for B-PER, ('I', 'PER') for I-PER, ('I', 'O') for O (as Hugging Face does)."""
    parts = tag_schemes.split(label)
    if parts and parts[0] in ("B", "I"):
        return parts
    return "I", label


def group_entities(items, text, skip_empty=False):
    """Adjacent items of the same type, a B- item starting a new group. items: (label, score, start, end).

    skip_empty: for models that read the table view (`ModelConfig.table_view`), whose tokens of an inserted
    header have the empty offset at their cell's start: such an item never stretches a group's end. Off,
    empty items count as any other (as `predict_text` groups them). Every group is then `trim`med; one with
    no character left is no entity."""
    groups = []
    for label, score, start, end in items:
        bi, kind = _tag(label)
        if groups and groups[-1]["type"] == kind and bi != "B":
            groups[-1]["scores"].append(score)
            if end > start or not skip_empty:
                groups[-1]["end"] = end
        else:
            groups.append({"type": kind, "scores": [score], "start": start, "end": end})
    out = []
    for g in groups:
        start, end = trim(text, int(g["start"]), int(g["end"]))
        if end > start:
            score = float(np.mean(g["scores"]))
            out.append({"entity_group": g["type"], "score": score, "word": text[start:end], "start": start, "end": end})
    return out


def aggregate(
    text,
    probabilities,
    offsets,
    labels,
    aggregation="simple",
    ignore_labels=("O",),
    word_ids=None,
    decide=None,
    joint=False,
    skip_empty=False,
):
    """Entities of one text from per-token probabilities (tokens, labels) and character offsets.

    decide: probabilities (n, labels) -> label ids (n,); argmax by default, the tagger's
    `Decoder` (thresholds, Viterbi) in `NERPipeline`. joint: `decide` labels the whole sequence (Viterbi
    over the words): the word aggregations keep each word's label and only score it their way. skip_empty:
    leave out tokens with no character of the text (the table view's headers; `group_entities`)."""
    if aggregation not in AGGREGATIONS:
        raise ValueError(f"aggregation must be one of {', '.join(AGGREGATIONS)}, got {aggregation!r}")
    probabilities = np.asarray(probabilities)
    if len(probabilities) == 0:
        return []
    decide = decide or (lambda p: p.argmax(-1))
    ids = decide(probabilities)
    scores = probabilities[np.arange(len(ids)), ids]
    ignore = set(ignore_labels)
    if aggregation == "none":
        return [
            {"entity": labels[i], "score": float(s), "index": n, "word": text[a:b], "start": int(a), "end": int(b)}
            for n, (i, s, (a, b)) in enumerate(zip(ids, scores, offsets))
            if labels[i] not in ignore and (b > a or not skip_empty)
        ]
    if aggregation == "simple":
        items = [(labels[i], float(s), a, b) for i, s, (a, b) in zip(ids, scores, offsets)]
    else:
        if word_ids is None:
            raise ValueError(f"aggregation {aggregation!r} needs the word of each token (word_ids)")
        items = []
        words = np.asarray(word_ids)
        boundaries = np.nonzero(np.concatenate([[True], words[1:] != words[:-1]]))[0]
        for lo, hi in zip(boundaries, list(boundaries[1:]) + [len(words)]):
            p = probabilities[lo:hi]
            if joint:  # the word's label is decided; first/average/max only say how to score it
                k = int(ids[lo])
                score = {"first": p[0, k], "average": p[:, k].mean(), "max": p[:, k].max()}[aggregation]
            elif aggregation == "first":
                k = int(decide(p[:1])[0])
                score = p[0, k]
            elif aggregation == "average":
                mean = p.mean(0)
                k = int(decide(mean[None])[0])
                score = mean[k]
            else:  # max
                best = int(scores[lo:hi].argmax())
                k, score = int(ids[lo + best]), scores[lo + best]
            items.append((labels[k], float(score), offsets[lo][0], offsets[hi - 1][1]))
    return [g for g in group_entities(items, text, skip_empty) if g["entity_group"] not in ignore]


class NERPipeline:
    """Texts -> entity dicts with a trained `Tagger` (see the module docstring).

    tagger: Tagger. The model, its tokenizer and labels.
    aggregation: str. One of none/simple/first/average/max.
    ignore_labels: tuple. Entity types (or labels, for `none`) left out of the results.
    batch_size: int. Windows per forward pass.
    max_length, stride: int. Window size and overlap in tokens; the tagger's config by default.
    """

    def __init__(self, tagger, aggregation="simple", ignore_labels=("O",), batch_size=32, max_length=None, stride=None):
        if aggregation not in AGGREGATIONS:
            raise ValueError(f"aggregation must be one of {', '.join(AGGREGATIONS)}, got {aggregation!r}")
        self.tagger = tagger
        self.aggregation = aggregation
        self.ignore_labels = tuple(ignore_labels)
        self.batch_size = batch_size
        self.max_length = max_length or tagger.config.max_length
        self.stride = tagger.config.stride if stride is None else stride

    def __call__(self, texts):
        """A str -> its list of entities; a list of str -> one list of entities per text."""
        single = isinstance(texts, str)
        batch = [texts] if single else texts
        if not isinstance(batch, (list, tuple)):
            raise TypeError(f"expected a str or a list of str, got {type(texts).__name__}")
        for n, text in enumerate(batch):
            if not isinstance(text, str):
                raise TypeError(f"text {n} is a {type(text).__name__}, not a str")
        results = self.probabilities(batch)
        decoder = self.tagger.decoder
        out = []
        for text, (probs, offsets, words, starts) in zip(batch, results):
            decide = decoder
            if decoder.sequential:  # Viterbi over the words (first sub-tokens), the rest follow their word
                decide = lambda p, s=starts: decoder.tokens(p, s)
            out.append(
                aggregate(
                    text,
                    probs,
                    offsets,
                    self.tagger.labels,
                    self.aggregation,
                    self.ignore_labels,
                    words,
                    decide,
                    joint=decoder.sequential,
                    skip_empty=self.tagger.config.table_view,
                )
            )
        return out[0] if single else out

    def probabilities(self, texts):
        """Per text: (tokens, labels) merged softmax probabilities, (tokens, 2) offsets, word ids (None
        unless an aggregation or the decoder needs them), word starts (`align.word_starts`)."""
        n_labels = len(self.tagger.labels)
        empty = (np.zeros((0, n_labels), np.float32), np.zeros((0, 2), np.int32), None, np.zeros(0, np.int8))
        results = [empty] * len(texts)
        kept = [n for n, t in enumerate(texts) if t.strip()]
        if not kept:
            return results
        corpus = Corpus([Document(text=texts[n]) for n in kept], "<texts>")
        view = self.tagger.config.table_view
        windows = align.encode(
            corpus, self.tagger.tokenizer, self.tagger.labels, self.max_length, self.stride, table_view=view
        )
        logits = self.tagger.predict_logits(windows, self.batch_size) if len(windows) else []
        merged = align.merge(windows, [softmax(l) for l in logits], fill=0.0)
        words = self.aggregation in ("first", "average", "max")
        for i, n in enumerate(kept):
            if windows.units[i]:
                word_ids = windows.word_ids[i] if words else None  # of the tokens read (the view's, if any)
                results[n] = (merged[i], windows.offsets[i], word_ids, windows.word_starts[i])
        return results
