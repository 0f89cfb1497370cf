"""Date surrogates: find the dates in a text, shift each by a number of days and write it back in its format.

A shifted date must read like the original (same separators, month names, year width, ordinals,
weekday) so that a de-identified note stays natural and its intervals stay true, whichever of the many
ways clinicians write dates it uses. Plain functions of the text, the offset and the day/month order, so
`surrogates.Surrogates` keeps the per-document state (the secret offset, the random fallback) and this
module none.
"""

import datetime
import re

MONTHS = "january february march april may june july august september october november december".split()
WEEKDAYS = "monday tuesday wednesday thursday friday saturday sunday".split()
_MONTH3 = [m[:3] for m in MONTHS]


def _alternation(names, extra=()):
    tokens = set(names) | {n[:3] for n in names} | set(extra)
    return "|".join(sorted(tokens, key=len, reverse=True))


_L, _R = r"(?<![^\W\d_])", r"(?![^\W\d_])"
_MON = rf"{_L}(?P<mon>{_alternation(MONTHS, ['sept'])}){_R}\.?"
_WD = rf"(?:{_L}(?P<wd>{_alternation(WEEKDAYS, ['tues', 'thur', 'thurs'])}){_R}\.?,?\s+)?"
_DAY = r"(?P<d>\d{1,2})(?P<ord>st|nd|rd|th)?(?!\d)"
_YEAR = r"(?P<y>\d{4}|\d{2})(?![\d:])"
_DATES = [
    (kind, re.compile(rx, re.IGNORECASE))
    for kind, rx in [
        ("ymd", rf"(?<!\d){_WD}(?P<y>\d{{4}})(?P<s>[-/.])(?P<m>\d{{1,2}})(?P=s)(?P<d>\d{{1,2}})(?!\d)"),
        ("num", rf"(?<!\d){_WD}(?P<a>\d{{1,2}})(?P<s>[-/.])(?P<b>\d{{1,2}})(?P=s)(?P<y>\d{{4}}|\d{{2}})(?!\d)"),
        ("dmy", rf"{_WD}(?:the\s+)?{_DAY}(?:\s+of\s+|\s*[-/ ]\s*){_MON}(?:,?[\s/-]+{_YEAR})?"),
        ("mdy", rf"{_WD}{_MON}[\s/-]*{_DAY}(?:,?[\s/-]+{_YEAR})?"),
        ("my", rf"{_MON},?[\s/-]*(?P<y>\d{{4}})(?!\d)"),
        ("nmy", r"(?<![\d/.-])(?P<m>\d{1,2})(?P<s>[-/.])(?P<y>\d{4})(?!\d)"),
    ]
]


def case_like(original, new):
    """`new` in the casing of `original` (all capitals, all lower case or capitalised)."""
    if original.isupper() and sum(c.isalpha() for c in original) > 1:
        return new.upper()
    if original.islower():
        return new.lower()
    return new[:1].upper() + new[1:] if original[:1].isupper() else new


def splice(text, edits, start=0, end=None):
    """text[start:end] with the (a, b, new) edits (absolute, sorted, not overlapping) applied."""
    out, pos = [], start
    for a, b, new in edits:
        out += [text[pos:a], new]
        pos = b
    return "".join(out) + text[pos:end]


def _ordinal(day):
    return "th" if 10 <= day % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(day % 10, "th")


def full_month_names(values):
    """Whether an ambiguous "May" is a full month name, judged from the other month names of `values`
    (the dates of one document): the first one that is either full or abbreviated decides, else True."""
    months = [m.lower() for v in values for m in re.findall(r"[^\W\d_]+", v)]
    months = [m for m in months if m != "may" and m[:3] in _MONTH3]
    return next((m in MONTHS for m in months if m in MONTHS or len(m) <= 4), True)


def shift_date(value, offset_days, day_first, *, full_months=True, scramble):
    """`value` with every date in it moved by `offset_days` and re-rendered in its format, or None when
    it holds no date at all. day_first: bool, the order of numeric dates valid both ways ("." is always
    day-first, year-first always Y-M-D; with "/" or "-" a date valid only one way is read that way);
    full_months: whether "May" counts as a full month name (`full_month_names`); scramble(text) -> str:
    the replacement of a date-shaped text that is no valid date ("31/02/2020").

    Kept: separators, month names (full/abbreviated, casing), 2- or 4-digit years, ordinals, weekdays
    (recomputed; without a year moved with the offset), zero padding (kept if a field has a leading zero,
    dropped if one has 1 digit, else kept for numeric dates). Two-digit years: 69-99 -> 19xx, else 20xx
    (as strptime). A month-year moves with the offset from mid-month; a year alone (1000..2999) one year
    in the offset's direction.
    """
    spans = []
    for kind, rx in _DATES:
        for m in rx.finditer(value):
            if all(m.end() <= a or m.start() >= b for a, b, _ in spans):
                spans.append((m.start(), m.end(), _shift(kind, m, offset_days, day_first, full_months, scramble)))
    if spans:
        return splice(value, sorted(spans))
    y = re.fullmatch(r"\s*(\d{4})\s*", value)
    if y and 1000 <= int(y.group(1)) <= 2999:  # a year alone: one year in the offset's direction
        return splice(value, [(y.start(1), y.end(1), str(int(y.group(1)) + (1 if offset_days > 0 else -1)))])
    return None


def _shift(kind, m, offset_days, day_first, full_months, scramble):
    """The date matched by `m` (a match of the `kind` pattern of `_DATES`), shifted and re-rendered."""
    g = {k: v for k, v in m.groupdict().items() if v is not None}
    names = {"d": "d", "m": "m"}
    if kind == "num":
        first = g["s"] == "." or int(g["a"]) > 12 or (int(g["b"]) <= 12 and day_first)
        names = {"d": "a", "m": "b"} if first else {"d": "b", "m": "a"}
    f = {k: g[n] for k, n in names.items() if n in g}
    y, t, w = g.get("y"), g.get("mon", "").lower(), g.get("wd", "").lower()
    try:
        month = int(f["m"]) if "m" in f else next(i for i, n in enumerate(MONTHS, 1) if n.startswith(t))
        year = 2000 if y is None else int(y) if len(y) == 4 else int(y) + (1900 if int(y) >= 69 else 2000)
        new = datetime.date(year, month, int(f.get("d", 15))) + datetime.timedelta(days=offset_days)
    except (ValueError, StopIteration):  # 2000 above: a leap year for dates without year
        return scramble(m.group())
    pad = (
        2
        if any(len(v) == 2 and v[0] == "0" for v in f.values())
        or (kind in ("ymd", "num", "nmy") and all(len(v) == 2 for v in f.values()))
        else 1
    )
    month_name = MONTHS[new.month - 1]
    full = t in MONTHS and (t != "may" or full_months)
    weekday = (
        new.weekday()
        if y is not None
        else (  # no year: the weekday moves with the offset
            next((i for i, n in enumerate(WEEKDAYS) if n.startswith(w)), 0) + offset_days
        )
        % 7
    )
    repl = {
        names["d"]: f"{new.day:0{pad}d}",
        names["m"]: f"{new.month:0{pad}d}",
        "y": str(new.year).zfill(4) if len(y or "") == 4 else f"{new.year % 100:02d}",
        "ord": case_like(g.get("ord", ""), _ordinal(new.day)),
        "mon": case_like(
            g.get("mon", ""), month_name if full else "sept" if len(t) == 4 and new.month == 9 else month_name[:3]
        ),
        "wd": case_like(g.get("wd", ""), WEEKDAYS[weekday] if w in WEEKDAYS else WEEKDAYS[weekday][:3]),
    }
    edits = sorted((m.start(k), m.end(k), v) for k, v in repl.items() if k in g)
    return splice(m.string, edits, m.start(), m.end())
