"""Conversions between word-level documents (CoNLL) and span documents (JSONL, brat, Label Studio, doccano).

Between the span formats nothing changes: text and spans are carried as they are, so a round trip
through any of them gives the same documents. Words -> spans is lossless too: the tokens are joined
with single spaces and each entity becomes the span of its words (`to_spans`).

Spans -> words (`to_words`) can lose information, and every loss is reported with its document
(`Problem`s with a kind): the words are those of the encoder's pre-tokenizer (its fast tokenizer's
`pre_tokenizer`, with the character offsets it gives; a regular expression without a tokenizer), split
further at whitespace, so the spacing between words is gone ("spacing"); a span that cuts a word is
widened to whole words ("cut-word"); a span that then overlaps another one, or covers no word, is
dropped ("dropped-span"); a text without any word is dropped ("dropped-document").
"""

from __future__ import annotations

import re

from tfner.data import tags as tag_schemes
from tfner.data.formats.base import Corpus, Document, Problem
from tfner.data.formats.conll import INVISIBLE

_FALLBACK_WORD = re.compile(r"\w+|[^\w\s]")
_NON_SPACE = re.compile(r"\S+")


def word_offsets(text, tokenizer=None):
    """[(start, end), ...] of the words of `text`: the tokenizer's pre-tokenizer split further at
    whitespace, pieces of only invisible characters left out (a CoNLL line cannot hold them)."""
    pre = getattr(getattr(tokenizer, "backend_tokenizer", None), "pre_tokenizer", None)
    if pre is not None:
        pieces = [offsets for _, offsets in pre.pre_tokenize_str(text)]
    else:
        pieces = [m.span() for m in _FALLBACK_WORD.finditer(text)]
    words = []
    for start, end in pieces:
        for m in _NON_SPACE.finditer(text, start, end):
            if m.group().strip(INVISIBLE):
                words.append(m.span())
    return words


def _describe(doc, start, end, label):
    return f"span [{start}, {end}) {label} {doc.text[start:end]!r}"


def document_to_words(doc, tokenizer=None):
    """(word document or None, [Problem, ...]) for one span document."""
    words = word_offsets(doc.text, tokenizer)
    losses = []
    if not words:
        return None, [Problem(doc.origin, "no words in the text: document dropped", "dropped-document")]
    starts = [s for s, _ in words]
    ends = [e for _, e in words]
    tokens = [doc.text[s:e] for s, e in words]
    if " ".join(tokens) != doc.text:
        losses.append(Problem(doc.origin, "spacing between words not kept (CoNLL holds tokens only)", "spacing"))
    entities, taken = [], set()
    for start, end, label in doc.spans or ():
        inside = [i for i, (s, e) in enumerate(words) if s < end and e > start]
        if not inside:
            losses.append(
                Problem(doc.origin, f"{_describe(doc, start, end, label)} covers no word: dropped", "dropped-span")
            )
            continue
        first, last = inside[0], inside[-1] + 1
        if starts[first] != start or ends[last - 1] != end:
            losses.append(
                Problem(
                    doc.origin,
                    f"{_describe(doc, start, end, label)} cuts a word: widened to "
                    f"[{starts[first]}, {ends[last - 1]}) {doc.text[starts[first] : ends[last - 1]]!r}",
                    "cut-word",
                )
            )
        if taken & set(range(first, last)):
            losses.append(
                Problem(
                    doc.origin,
                    f"{_describe(doc, start, end, label)} shares a word with another "
                    "span once widened to whole words: dropped",
                    "dropped-span",
                )
            )
            continue
        taken.update(range(first, last))
        entities.append((label, first, last))
    tags = tag_schemes.to_tags(entities, len(tokens), "IOB2")
    return Document(tokens=tokens, tags=tags, origin=doc.origin), losses


def to_words(corpus, tokenizer=None):
    """(word-level corpus, [Problem, ...]): span documents split into words (see the module docstring);
    word documents are kept as they are."""
    documents, losses = [], []
    for doc in corpus.documents:
        if not doc.is_spans:
            documents.append(doc)
            continue
        converted, lost = document_to_words(doc, tokenizer)
        losses += lost
        if converted is not None:
            documents.append(converted)
    skipped = dict(corpus.skipped)
    dropped = sum(p.kind == "dropped-document" for p in losses)
    if dropped:
        skipped["document without words (dropped in conversion)"] = dropped
    return Corpus(documents, corpus.source, skipped, corpus.converted_iob1), losses


def document_to_spans(doc):
    """A span document for one word document: tokens joined with single spaces, entities as spans."""
    if doc.is_spans:
        return doc
    starts, position = [], 0
    for token in doc.tokens:
        starts.append(position)
        position += len(token) + 1
    spans = [
        (starts[a], starts[b - 1] + len(doc.tokens[b - 1]), kind)
        for kind, a, b in tag_schemes.entities(doc.tags or ["O"] * len(doc.tokens))
    ]
    return Document(text=" ".join(doc.tokens), spans=spans, origin=doc.origin)


def to_spans(corpus):
    """A span corpus: word documents joined (`document_to_spans`), span documents unchanged. Lossless."""
    return Corpus(
        [document_to_spans(d) for d in corpus.documents], corpus.source, dict(corpus.skipped), corpus.converted_iob1
    )


def convert(corpus, to, tokenizer=None):
    """(corpus ready to write as format `to`, [Problem, ...] lost on the way)."""
    if to == "conll":
        return to_words(corpus, tokenizer)
    return to_spans(corpus), []


def summarize_losses(losses):
    """{kind: count} of conversion losses."""
    counts = {}
    for p in losses:
        counts[p.kind] = counts.get(p.kind, 0) + 1
    return counts
