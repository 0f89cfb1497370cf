"""Label alignment: documents -> windows of token ids and labels, and window predictions -> documents.

A document is scored on its *units*: the words of word-level data (CoNLL, `datasets`) or the tokens of
span data (raw text with character spans). Alignment follows the Hugging Face recipes:

- word-level data, via `word_ids()`: a word's first sub-token gets its label and the rest -100, or, with
  `label_all_tokens`, the I- form of it (a continuation never starts an entity);
- span data, via `offset_mapping`: the first token inside a span gets B-LABEL, the following ones
  I-LABEL, every other token O. A span that does not start and end on token boundaries is reported,
  never shifted or dropped silently. Each token is a unit, and the tokens that begin a tokenizer word
  are kept (`Windows.word_starts`, from `word_starts`), so that predictions are decoded per word, as the
  pipeline does; a word after a line break, a tab or a run of spaces is marked `BREAK`: the tokenizer
  drops that whitespace, so models see it only as token type 1 on those words (`Windows.line_starts`),
  and the decoders let no entity run across it (`tfner.model.decoding`). Words joined by a hyphen,
  apostrophe, period or slash ("Briggs-Hart", "23/12/24") count as one, so no entity starts or ends
  inside them.

Documents longer than `max_length` become overlapping windows (`stride` tokens shared by neighbours), so
every token is trained on and predicted. At inference each unit takes the prediction of the window in
which it sits farthest from a cut (`merge`).
"""

import re
import unicodedata
from dataclasses import dataclass, field

import numpy as np

from tfner.data import tags as tag_schemes
from tfner.data.readers import DataError
from tfner.data.tables import TableView

IGNORE = -100
# `word_starts` values: inside a word, a word's first token, a word's first token after a break
INSIDE, WORD, BREAK = 0, 1, 2
# a break in the whitespace between two words: one of these characters, or two spaces in a row (table
# columns, form fields)
BREAK_CHARS = "\n\r\t\v\f"
_BREAK = re.compile(f"[{re.escape(BREAK_CHARS)}]| {{2}}")
# a joiner: one of these characters alone as a token, touching a letter on both sides or a digit on both
# sides, joins its neighbours into one word ("Briggs-Hart", "O'Brien", "Sig.ra", "23/12/24"; not
# "41-year-old")
JOINERS = "-'’./"


@dataclass
class Windows:
    """A corpus encoded for the model, plus what maps window predictions back onto its documents."""

    input_ids: list  # per window: int32 ids, special tokens included
    labels: list  # per window: int32 label ids, IGNORE where nothing is trained
    unit_index: list  # per window: the unit each position scores, -1 for none
    doc_index: np.ndarray  # per window: its document
    cut: np.ndarray  # per window: (content start, content end, document length) in tokens
    prefix: int  # special tokens before the content in every window
    units: list  # per document: number of units
    gold: list  # per document: gold tags per unit (None when unlabelled)
    offsets: list  # per document: (units, 2) character offsets (span data), else None
    documents: list  # the documents kept, in order
    skipped: dict = field(default_factory=dict)
    # per document (span data): per unit (token), `WORD` or `BREAK` where a tokenizer word begins, else
    # `INSIDE` (`word_starts`); None for word-level data, whose units are words. Sequences are decoded
    # over words (`Tagger.tags`).
    word_starts: list = field(default_factory=list)
    # per document (span data): the tokenizer's word of each token (int32, -1 for none), for the pipeline's
    # word aggregations; None for word-level data
    word_ids: list = field(default_factory=list)

    def __len__(self):
        return len(self.input_ids)

    def line_starts(self):
        """Per window: int32, 1 at the first token of each word after a break (a line, table cell or
        form field begins: `BREAK`), 0 elsewhere and everywhere for word-level data. Models that see
        layout take it as their token type ids (`tfner.model.tagger.build_model`)."""
        out = []
        for units, doc in zip(self.unit_index, self.doc_index):
            units = np.asarray(units)
            flags = np.zeros(len(units), np.int32)
            starts = self.word_starts[doc] if self.word_starts else None
            if starts is not None:
                scored = units >= 0
                flags[scored] = starts[units[scored]] == BREAK
            out.append(flags)
        return out


def _special_tokens(tokenizer):
    sentinel = -7  # any id: build_inputs_with_special_tokens only concatenates
    full = tokenizer.build_inputs_with_special_tokens([sentinel])
    at = full.index(sentinel)
    return np.array(full[:at], np.int32), np.array(full[at + 1 :], np.int32)


def _i_form(labels):
    """For each label id, the id of its I- form (O stays O), for continuation sub-tokens."""
    index = {label: i for i, label in enumerate(labels)}
    return np.array([index.get(tag_schemes.inside_form(l), i) for i, l in enumerate(labels)], np.int32)


def char_class(ch):
    """1 for an ASCII digit, 2 for a letter (Unicode category L*, RE2's \\p{L}), 0 otherwise."""
    return 1 if "0" <= ch <= "9" else 2 if unicodedata.category(ch).startswith("L") else 0


def word_starts(text, offsets, word_ids):
    """Per token of `text`: `WORD` at the first token of each word, `BREAK` instead where the text
    between the previous token's end and this token's start holds a break (`BREAK_CHARS` or two spaces),
    `INSIDE` elsewhere. int8 (tokens,). Words are the tokenizer's (`word_ids`, -1 for none: a token of no
    word is a word of its own), except that a joiner (`JOINERS`) and the word after it continue the word
    before it. `tfner.serving.signatures` does the same in graph ops."""
    words = np.asarray(word_ids)
    starts = np.where((words < 0) | np.concatenate([[True], words[1:] != words[:-1]])[: len(words)], WORD, INSIDE)
    starts = starts.astype(np.int8)
    offsets = np.asarray(offsets).reshape(-1, 2)
    if len(starts) > 2:
        a, b = offsets[:, 0], offsets[:, 1]
        # one character, touching a non-empty token on each side
        touching = (b[1:-1] - a[1:-1] == 1) & (b[:-2] == a[1:-1]) & (a[2:] == b[1:-1]) & (a[:-2] < b[:-2])
        for i in np.nonzero(touching & (b[2:] > a[2:]))[0] + 1:
            if text[a[i]] in JOINERS and char_class(text[a[i] - 1]) == char_class(text[b[i]]) > 0:
                starts[i] = starts[i + 1] = INSIDE
    if len(starts) > 1:
        gaps = [m.span() for m in _BREAK.finditer(text)]
        if gaps:
            gap_start, gap_end = np.array(gaps).T
            previous_end = offsets[:-1, 1]
            # the first break at or after the previous token's end must end before this token starts
            first = np.searchsorted(gap_start, previous_end)
            found = first < len(gaps)
            broken = found & (gap_end[np.minimum(first, len(gaps) - 1)] <= offsets[1:, 0])
            starts[1:][broken & (starts[1:] == WORD)] = BREAK
    return starts


def _span_tags(doc, offsets, misaligned, view=None):
    """Token-level IOB2 tags for a span document; a message if a span is not on token boundaries.
    view: the document's `TableView` when the tokens (`offsets`) are of it; messages give original offsets."""
    text, spans = (view.text, view.spans(doc.spans or ())) if view else (doc.text, doc.spans or ())
    where = view.to_original if view else (lambda x: x)
    starts, ends = offsets[:, 0], offsets[:, 1]
    tags = np.full(len(offsets), "O", dtype=object)
    for (start, end, label), given in zip(spans, doc.spans or ()):
        inside = np.nonzero((starts < end) & (ends > start))[0]
        problem = None
        if len(inside) == 0:
            problem = "covers no token"
        elif starts[inside[0]] < start or ends[inside[-1]] > end:
            first, last = inside[0], inside[-1]
            bad = first if starts[first] < start else last
            problem = (
                f"does not fall on token boundaries: token "
                f"{text[starts[bad] : ends[bad]]!r} is at [{where(starts[bad])}, {where(ends[bad])})"
            )
        if problem:
            message = (
                f"{doc.origin}: span [{given[0]}, {given[1]}) {label} {doc.text[given[0] : given[1]]!r} {problem}; "
                "fix the span or use --misaligned-spans skip to skip such documents"
            )
            if misaligned == "error":
                raise DataError(message)
            return None
        tags[inside[0]] = f"B-{label}"
        tags[inside[1:]] = f"I-{label}"
    return list(tags)


def encode(
    corpus, tokenizer, labels, max_length=128, stride=32, label_all_tokens=False, misaligned="error", table_view=False
):
    """Tokenize, align and window every document of `corpus` (see the module docstring).

    table_view: read span documents through `tfner.data.tables.TableView` (headers before table cells and HL7
    fields); `Windows.offsets` and `Windows.documents` still refer to the original texts, a token of an
    inserted header having the empty offset at the start of its cell."""
    label_id = {label: i for i, label in enumerate(labels)}
    prefix, suffix = _special_tokens(tokenizer)
    width = max_length - len(prefix) - len(suffix)
    if stride >= width:
        raise ValueError(f"stride {stride} must be smaller than the {width} content tokens of a window")
    docs = corpus.documents
    word_docs = [d for d in docs if not d.is_spans]
    if word_docs and len(word_docs) != len(docs):
        raise DataError(f"{corpus.source}: mixes word-level and span documents")
    spans = bool(docs) and not word_docs
    views = [TableView(d.text, d.spans or ()) if table_view else None for d in docs] if spans else []
    if spans:
        texts = [v.text if v else d.text for d, v in zip(docs, views)]
        enc = tokenizer(texts, add_special_tokens=False, return_offsets_mapping=True)
    else:
        enc = tokenizer([d.tokens for d in docs], is_split_into_words=True, add_special_tokens=False)
    i_form = _i_form(labels)
    out = Windows([], [], [], [], [], len(prefix), [], [], [], [], dict(corpus.skipped))
    doc_index, cuts, unscored = [], [], 0
    for n, doc in enumerate(docs):
        ids = np.asarray(enc["input_ids"][n], np.int32)
        if spans:
            offsets = np.asarray(enc["offset_mapping"][n], np.int32).reshape(-1, 2)
            gold = _span_tags(doc, offsets, misaligned, views[n]) if doc.spans is not None else None
            if doc.spans is not None and gold is None:
                out.skipped["documents with a span off token boundaries"] = (
                    out.skipped.get("documents with a span off token boundaries", 0) + 1
                )
                continue
            unit_index = np.arange(len(ids), dtype=np.int32)
            first = np.ones(len(ids), bool)
            word = unit_index
            n_units = len(ids)
            words = np.array([-1 if w is None else w for w in enc.word_ids(n)], np.int64)
            begins_word = word_starts(texts[n], offsets, words)
            if views[n]:
                offsets = views[n].to_original(offsets).astype(np.int32)
        else:
            offsets, gold = None, doc.tags
            word = np.array([-1 if w is None else w for w in enc.word_ids(n)], np.int32)
            first = (word >= 0) & np.concatenate([[True], word[1:] != word[:-1]])
            unit_index = np.where(first, word, -1).astype(np.int32)
            n_units = len(doc.tokens)
            unscored += n_units - int(first.sum())
        if gold is not None:
            unit_labels = np.array([label_id[t] for t in gold], np.int32)
            token_labels = np.full(len(ids), IGNORE, np.int32)
            token_labels[first] = unit_labels[word[first]]
            if label_all_tokens and not spans:
                rest = (word >= 0) & ~first
                token_labels[rest] = i_form[unit_labels[word[rest]]]
        else:
            token_labels = np.full(len(ids), IGNORE, np.int32)
        kept = len(out.units)
        starts = list(range(0, max(len(ids) - width, 0) + 1, width - stride))
        if starts[-1] + width < len(ids):
            starts.append(len(ids) - width)
        for s in starts:
            e = min(s + width, len(ids))
            out.input_ids.append(np.concatenate([prefix, ids[s:e], suffix]))
            out.labels.append(
                np.concatenate(
                    [np.full(len(prefix), IGNORE, np.int32), token_labels[s:e], np.full(len(suffix), IGNORE, np.int32)]
                )
            )
            out.unit_index.append(
                np.concatenate(
                    [np.full(len(prefix), -1, np.int32), unit_index[s:e], np.full(len(suffix), -1, np.int32)]
                )
            )
            doc_index.append(kept)
            cuts.append((s, e, len(ids)))
        out.units.append(n_units)
        out.gold.append(list(gold) if gold is not None else None)
        out.offsets.append(offsets)
        out.documents.append(doc)
        out.word_starts.append(begins_word if spans else None)
        out.word_ids.append(words.astype(np.int32) if spans else None)
    if unscored:
        out.skipped["words with no sub-tokens (predicted O)"] = unscored
    out.doc_index = np.array(doc_index, np.int32)
    out.cut = np.array(cuts, np.int32).reshape(-1, 3)
    return out


def merge(windows, window_values, fill):
    """Per-document arrays of per-unit values from per-window, per-position values.

    `window_values[w]` has one row per position of window `w` (e.g. logits or predicted ids); each
    unit takes the row of the window where it is farthest from a cut. Units no window scores (words
    that tokenize to nothing) get `fill`.
    """
    first = np.asarray(window_values[0]) if len(window_values) else np.zeros(0)
    results = [np.empty((n,) + first.shape[1:], first.dtype) for n in windows.units]
    for r in results:
        r[...] = fill
    best = [np.full(n, -np.inf) for n in windows.units]
    for w, values in enumerate(window_values):
        d = windows.doc_index[w]
        start, end, length = windows.cut[w]
        positions = np.nonzero(windows.unit_index[w] >= 0)[0]
        units = windows.unit_index[w][positions]
        token = positions - windows.prefix + start  # position in the document
        left = np.where(start > 0, token - start, np.inf)
        right = np.where(end < length, end - 1 - token, np.inf)
        centrality = np.minimum(left, right)
        better = centrality > best[d][units]
        best[d][units[better]] = centrality[better]
        results[d][units[better]] = np.asarray(values)[positions[better]]
    return results
