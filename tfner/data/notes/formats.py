"""Surface forms of dates and phone numbers (DATE and PHONE values) for a note's locale."""

from __future__ import annotations

import re
from datetime import date

from tfner.data.notes.builder import V
from tfner.data.notes.context import Ctx
from tfner.data.notes.lang import DATE_ORIGINS, MONTHS, WEEKDAYS

# --------------------------------------------------------------------------------------------- dates

DATE_STYLES = (
    "iso",
    "dotted",
    "dotted_short",
    "dotted_yy",
    "dmy",
    "dmy_short",
    "mdy",
    "mdy_short",
    "dashed",
    "words",
    "words_abbr",
    "words_weekday",
    "local",
    "local_weekday",
)


def date_text(ctx: Ctx, d: date, style: str | None = None) -> str:
    r = ctx.rng
    if style is None:
        if ctx.locale == "en_US" and r.random() < 0.4:
            style = r.choice(("mdy", "mdy_short", "words"))
        elif ctx.lang != "en" and r.random() < 0.35:
            style = r.choice(("dotted", "local", "local_weekday", "iso"))
        else:
            style = r.choice(DATE_STYLES)
    y, m, dd = d.year, d.month, d.day
    en_m = MONTHS["en"][m - 1]
    en_w = WEEKDAYS["en"][d.weekday()]
    if style == "iso":
        return f"{y}-{m:02d}-{dd:02d}"
    if style == "dotted":
        return f"{dd:02d}.{m:02d}.{y}"
    if style == "dotted_short":
        return f"{dd}.{m}.{y}"
    if style == "dotted_yy":
        return f"{dd:02d}.{m:02d}.{y % 100:02d}"
    if style == "dmy":
        return f"{dd:02d}/{m:02d}/{y}"
    if style == "dmy_short":
        return f"{dd}/{m}/{y % 100:02d}"
    if style == "mdy":
        return f"{m:02d}/{dd:02d}/{y}"
    if style == "mdy_short":
        return f"{m}/{dd}/{y}"
    if style == "dashed":
        return f"{dd:02d}-{m:02d}-{y}"
    if style == "words":
        return r.choice((f"{en_m} {dd}, {y}", f"{dd} {en_m} {y}", f"{en_m} {dd} {y}", f"{dd}{_th(dd)} {en_m} {y}"))
    if style == "words_abbr":
        return r.choice((f"{dd} {en_m[:3]} {y}", f"{en_m[:3]} {dd}, {y}", f"{dd}-{en_m[:3]}-{y}"))
    if style == "words_weekday":
        return r.choice((f"{en_w}, {en_m} {dd}, {y}", f"{en_w[:3]}, {dd} {en_m[:3]} {y}", f"{en_w} {dd} {en_m} {y}"))
    lang = ctx.lang
    mon, wd = MONTHS[lang][m - 1], WEEKDAYS[lang][d.weekday()]
    origin = ctx.foreign_faker(DATE_ORIGINS)  # month and weekday names of a language the locales lack
    if origin is not None:
        mon, wd = _names_of(origin, d)
        text = r.choice((f"{dd}. {mon} {y}", f"{dd} {mon} {y}"))
        return f"{wd}, {text}" if style == "local_weekday" else text
    if lang in ("es", "pt"):
        text = f"{dd} de {mon} de {y}"
    elif lang in ("de", "no", "da", "fi"):
        text = f"{dd}. {mon} {y}"
    elif lang == "en":
        text = f"{dd} {mon} {y}"
    else:
        text = f"{dd} {mon} {y}"
    if style == "local_weekday":
        text = f"{wd}, {text}" if lang in ("de", "es", "en", "pt") else f"{wd} {text}"
    return text


def _names_of(fake, d: date) -> tuple[str, str]:
    """Month and weekday name of `d` in the language of a Faker locale (its date_time provider's tables)."""
    for provider in fake.providers:
        if type(provider).__module__.startswith("faker.providers.date_time.") and hasattr(provider, "MONTH_NAMES"):
            return provider.MONTH_NAMES[f"{d.month:02d}"], provider.DAY_NAMES[str((d.weekday() + 1) % 7)]
    raise ValueError(f"Faker locale {fake.locales} has no month names")


def _th(d: int) -> str:
    return "th" if 10 <= d % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(d % 10, "th")


def date_v(ctx: Ctx, d: date, style: str | None = None) -> V:
    return V(date_text(ctx, d, style), "DATE")


_UNTIL = {"de": " bis ", "fr": " au ", "es": " al ", "it": " al ", "pt": " a ", "nl": " tot ", "no": " til ",
          "da": " til ", "sv": " till ", "pl": " do "}  # fmt: skip


def range_v(ctx: Ctx, start: date, end: date) -> list:
    """A period: two DATE spans and what joins them ('3/4/21 to 9/4/21', '04.03.2021 - 12.03.2021'), each
    date written whole, in one style for both most of the time."""
    r = ctx.rng
    style = r.choice(DATE_STYLES) if r.random() < 0.6 else None
    join = r.choice((" to ", " - ", " – ", " until ", "–", " through "))
    if ctx.lang in _UNTIL and r.random() < 0.4:
        join = _UNTIL[ctx.lang]
    return [date_v(ctx, start, style), join, date_v(ctx, end, style)]


# -------------------------------------------------------------------------------------------- phones


def groups(r, digits: str) -> list[str]:
    sizes, rest = [], len(digits)
    while rest > 4:
        s = r.choice((2, 3, 3, 4))
        s = min(s, rest - 2)
        sizes.append(s)
        rest -= s
    sizes.append(rest)
    out, i = [], 0
    for s in sizes:
        out.append(digits[i : i + s])
        i += s
    return out


def phone(ctx: Ctx) -> str:
    """Faker's number for the locale, as written by Faker or regrouped: national or +CC, spaced, dashed,
    dotted, with an extension now and then."""
    r = ctx.rng
    raw = ctx.fake.phone_number()
    base = re.split(r"(?i)\s*(?:x|ext)", raw)[0].strip()
    x = r.random()
    if x < 0.3:
        text = base if r.random() < 0.7 else raw
    else:
        digits = re.sub(r"\D", "", base)
        if base.startswith("00"):
            digits = digits[2:]
        if base.startswith(("+", "00")) and digits.startswith(ctx.cc):
            digits = digits[len(ctx.cc) :]
        digits = digits.lstrip("0")
        if not 6 <= len(digits) <= 11:
            digits = str(r.randint(10**8, 10**9 - 1))
        sep = r.choice((" ", " ", "-", ".", ""))
        if ctx.cc == "1" and len(digits) == 10 and r.random() < 0.6:
            a, b, c = digits[:3], digits[3:6], digits[6:]
            text = r.choice((f"({a}) {b}-{c}", f"{a}-{b}-{c}", f"{a}.{b}.{c}", f"+1 {a} {b} {c}", f"1-{a}-{b}-{c}"))
        elif x < 0.65:
            national = ctx.trunk + digits
            parts = groups(r, national)
            text = (f"({parts[0]}) " + sep.join(parts[1:])) if r.random() < 0.15 else sep.join(parts)
        else:
            prefix = r.choice(("+", "+", "00"))
            text = f"{prefix}{ctx.cc} " + (sep or " ").join(groups(r, digits))
            if r.random() < 0.15:
                text = f"{prefix}{ctx.cc}{digits}"
    if r.random() < 0.1 and not re.search(r"(?i)x|ext", text):
        text += r.choice((" ext. ", " ext ", " x", " Ext. ")) + str(r.randint(10, 9999))
    return text


def phone_v(ctx: Ctx, p=None) -> V:
    return V(p.phone if p else phone(ctx), "PHONE")
