"""A note under construction: plain text and labelled values, turned into text + exact spans at the end.

Families append pieces (`Note.add`); a labelled value is a `V`. Offsets are computed once, in
`Note.finish`, after noise has been applied to the plain pieces, so every span covers exactly the
inserted value. `finish` also enforces BERT word boundaries around each value: where the text before
a value ends, or the text after it starts, with a letter or digit, a space is put in between.
"""

from __future__ import annotations

import unicodedata


class V:
    """A labelled value (a PHI mention) to be inserted into a note."""

    __slots__ = ("text", "label")

    def __init__(self, text: str, label: str):
        self.text = " ".join(text.split())
        self.label = label

    def __repr__(self) -> str:
        return f"V({self.text!r}, {self.label!r})"


def is_punct(ch: str) -> bool:
    """BERT's punctuation test: ASCII non-alphanumeric printable characters and Unicode P* categories."""
    cp = ord(ch)
    if 33 <= cp <= 47 or 58 <= cp <= 64 or 91 <= cp <= 96 or 123 <= cp <= 126:
        return True
    return unicodedata.category(ch).startswith("P")


def is_space(ch: str) -> bool:
    return ch in " \t\n\r" or unicodedata.category(ch) == "Zs"


def is_break(ch: str) -> bool:
    """True where BERT's basic tokenizer splits: whitespace and punctuation."""
    return is_space(ch) or is_punct(ch)


def _trim(text: str) -> tuple[str, str, str]:
    """Split a value into (leading punctuation, core, trailing punctuation); the core is the span.

    A span starts with a letter or digit ('+' and '(' are allowed for phone numbers) and ends with a
    letter or digit, so sentence punctuation or an initial's dot never ends up inside a span.
    """
    text = " ".join(text.split())
    i, j = 0, len(text)
    while i < j and not (text[i].isalnum() or text[i] == "+" or (text[i] == "(" and ")" in text[i:j])):
        i += 1
    while j > i and not text[j - 1].isalnum():
        j -= 1
    return text[:i], text[i:j], text[j:]


class Note:
    """Pieces of a note: [text, label] with label None for plain text."""

    def __init__(self, labels):
        self.labels = frozenset(labels)
        self.pieces: list[list] = []
        self.wrap = True  # forms turn off hard wrapping (noise.py)
        self.aligned = False  # tables with aligned columns get no noise at all

    def add(self, *parts) -> Note:
        """Append plain strings and `V` values, in order; lists and tuples of them are flattened."""
        for p in parts:
            if isinstance(p, V):
                self._ent(p.text, p.label)
            elif isinstance(p, (list, tuple)):
                self.add(*p)
            elif p:
                self.pieces.append([p, None])
        return self

    def line(self, *parts) -> Note:
        return self.add(*parts, "\n")

    def _ent(self, text: str, label: str) -> None:
        if label not in self.labels:
            raise ValueError(f"label {label!r} is not in this note's label set {sorted(self.labels)}")
        lead, core, trail = _trim(text)
        self.add(lead)
        if core:
            self.pieces.append([core, label])
        self.add(trail)

    def mark(self) -> int:
        return len(self.pieces)

    def upper(self, start: int = 0, end: int | None = None) -> None:
        """ALL-CAPS the pieces from `start` (a `mark()`), values included (as in exported forms)."""
        for p in self.pieces[start:end]:
            p[0] = p[0].upper()

    def finish(self) -> tuple[str, list[list], list[tuple[str, str]]]:
        """(text, spans, inserted values): spans sorted, non-overlapping and on word boundaries."""
        out: list[str] = []
        spans: list[list] = []
        values: list[tuple[str, str]] = []
        length = 0
        after_value = False
        for text, label in self.pieces:
            if not text:
                continue
            if label is not None:
                glue = bool(out) and not is_break(out[-1][-1])
            else:
                glue = after_value and not is_break(text[0])
            if glue:
                out.append(" ")
                length += 1
            if label is not None:
                spans.append([length, length + len(text), label])
                values.append((text, label))
            out.append(text)
            length += len(text)
            after_value = label is not None
        return "".join(out).rstrip(), spans, values
