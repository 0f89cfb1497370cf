"""Noise on the plain (non-PHI) text of a note: typos, extra spaces and blank lines, hard line wraps.

Only pieces without a label are changed, and only in ways that keep word boundaries (a typo swaps,
drops or doubles a letter inside a word of five or more letters; whitespace stays whitespace), so no
span moves into or out of a word. ALL-CAPS forms are the families' business (`Note.upper`).
"""

from __future__ import annotations

import re

_WORD = re.compile(r"[^\W\d_]{5,}")


def _typo(r, word: str) -> str:
    i = r.randint(1, len(word) - 3)
    op = r.random()
    if op < 0.4:
        return word[:i] + word[i + 1] + word[i] + word[i + 2 :]
    if op < 0.7:
        return word[:i] + word[i + 1 :]
    return word[:i] + word[i] + word[i:]


def typos(note, r, k: int) -> None:
    for _ in range(k):
        plain = [p for p in note.pieces if p[1] is None and _WORD.search(p[0])]
        if not plain:
            return
        piece = r.choice(plain)
        matches = list(_WORD.finditer(piece[0]))
        m = r.choice(matches)
        piece[0] = piece[0][: m.start()] + _typo(r, m.group()) + piece[0][m.end() :]


def _replace_some(r, text: str, old: str, new: str, p: float) -> str:
    parts = text.split(old)
    out = [parts[0]]
    for part in parts[1:]:
        out.append(new if r.random() < p else old)
        out.append(part)
    return "".join(out)


def spacing(note, r) -> None:
    """Double spaces, trailing spaces and extra blank lines, here and there."""
    p_space, p_line = r.choice((0.0, 0.03, 0.1)), r.choice((0.0, 0.05, 0.15))
    for piece in note.pieces:
        if piece[1] is None:
            text = _replace_some(r, piece[0], " ", "  ", p_space) if p_space else piece[0]
            if p_line:
                text = _replace_some(r, text, "\n", r.choice(("\n\n", "\n\n", " \n", "\n\n\n", "\n \n")), p_line)
            piece[0] = text


def wrap(note, r, width: int) -> None:
    """Hard-wrap at `width` columns by turning spaces of plain text into line breaks (as in faxed or
    copied notes), so sentences break across lines; values are never split."""
    col = 0
    for piece in note.pieces:
        text = piece[0]
        if piece[1] is not None:
            col += len(text)
            continue
        chars = list(text)
        for i, ch in enumerate(chars):
            if ch == "\n":
                col = 0
            elif ch == " " and col >= width:
                chars[i] = "\n"
                col = 0
            else:
                col += 1
        piece[0] = "".join(chars)


def break_sentence(note, r) -> None:
    """One line break in the middle of a sentence."""
    plain = [p for p in note.pieces if p[1] is None and len(p[0]) > 30 and " " in p[0].strip()]
    if plain:
        piece = r.choice(plain)
        spaces = [i for i, ch in enumerate(piece[0]) if ch == " " and 0 < i < len(piece[0]) - 1]
        i = r.choice(spaces)
        piece[0] = piece[0][:i] + "\n" + piece[0][i + 1 :]


def apply(note, r) -> None:
    if note.aligned:
        return
    if r.random() < 0.3:
        typos(note, r, r.randint(1, 3))
    if r.random() < 0.4:
        spacing(note, r)
    if note.wrap and r.random() < 0.15:
        wrap(note, r, r.randint(55, 95))
    elif note.wrap and r.random() < 0.3:
        break_sentence(note, r)
