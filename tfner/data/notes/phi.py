"""Surface forms of patient PHI: names, ages, national and record IDs, locations (dates and phones are
in `formats`, staff, hospitals and e-mail in `clinicians`), drawn from a seeded Faker per locale.

Every function takes the note's `Ctx` (its `random.Random`, its seeded Faker, locale and label set)
and returns a `V` (a labelled value) or a list of plain strings and `V`s (a value with its context,
as "Mr. " + V("Furu") or V("41") + " years").
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, timedelta

from tfner.data.notes.builder import V
from tfner.data.notes.context import Ctx
from tfner.data.notes.formats import groups, phone
from tfner.data.notes.lang import AGE_UNITS, ORIGIN_TITLES, ORIGINS, PLACE_ORIGINS, SEX, TITLES


@dataclass
class Person:
    male: bool
    given: str
    middle: str
    family: str
    dob: date
    age: int
    city: str
    street: str
    postcode: str
    region: str
    phone: str
    label: str = "PATIENT"
    origin: str = ""  # the ORIGINS locale the name comes from, if not the note's


def _age_on(dob: date, day: date) -> int:
    return day.year - dob.year - ((day.month, day.day) < (dob.month, dob.day))


def person(ctx: Ctx, label: str = "PATIENT", age: int | None = None) -> Person:
    f, r = ctx.fake, ctx.rng
    male = r.random() < 0.5
    origin = ctx.foreign_faker(ORIGINS)  # a share of patients have names from another country
    names = origin or f
    first = names.first_name_male if male else names.first_name_female
    given, middle, family = first(), (first() if r.random() < 0.2 else ""), names.last_name()
    x = r.random()
    if ctx.lang in ("es", "pt") and x < 0.5 and origin is None:
        family = f"{family} {f.last_name()}"
    elif x < 0.12:
        family = f"{family}-{names.last_name()}"
    if age is None:
        age = r.randint(18, 96) if r.random() < 0.9 else r.randint(1, 17)
    dob = ctx.today - timedelta(days=int(365.25 * age) + r.randint(1, 360))
    region = f.state_abbr() if ctx.locale == "en_US" else ""
    street = ", ".join(s.strip() for s in f.street_address().splitlines() if s.strip())
    if ctx.locale in _FLATS and r.random() < 0.25 and not _HAS_FLAT.search(street):
        street = r.choice(_FLATS[ctx.locale]).format(
            s=street, n=r.randint(1, 40), f=r.randint(1, 6), g=r.randint(1, 4), L=r.choice("ABCD")
        )
    return Person(
        male,
        given,
        middle,
        family,
        dob,
        _age_on(dob, ctx.today),
        f.city(),
        street,
        f.postcode(),
        region,
        phone(ctx),
        label,
        origin.locales[0] if origin else "",
    )


# --------------------------------------------------------------------------------------------- names


def initials(given: str, spaced: bool = False) -> str:
    parts = [p for p in re.split(r"[ -]", given) if p]
    return (" " if spaced else "").join(p[0] + "." for p in parts)


NAME_FORMS = ("gf", "gf", "gmf", "f,g", "f,g", "F,g", "Fg", "fg", "i.f", "f,i", "F,gm")


def name(ctx: Ctx, p: Person, form: str | None = None) -> V:
    """The full name in one of NAME_FORMS (given/family order, comma, middle names, initials, caps)."""
    g, m, fam = p.given, p.middle, p.family
    gm = f"{g} {m}" if m else g
    form = form or ctx.rng.choice(NAME_FORMS)
    text = {
        "gf": f"{g} {fam}",
        "gmf": f"{gm} {fam}",
        "f,g": f"{fam}, {g}",
        "F,g": f"{fam.upper()}, {g}",
        "Fg": f"{fam.upper()} {g}",
        "fg": f"{fam} {g}",
        "i.f": f"{initials(gm, ctx.chance(0.5))} {fam}",
        "f,i": f"{fam}, {initials(gm)}",
        "F,gm": f"{fam.upper()}, {gm}",
        "g": g,
        "f": fam,
    }[form]
    return V(text, p.label)


def title(ctx: Ctx, p: Person) -> str:
    if p.origin in ORIGIN_TITLES and ctx.chance(0.4):
        return ctx.rng.choice(ORIGIN_TITLES[p.origin][0 if p.male else 1])
    lang = ctx.lang if ctx.chance(0.5) else "en"
    return ctx.rng.choice(TITLES[lang][0 if p.male else 1])


def ref(ctx: Ctx, p: Person) -> list:
    """How prose refers to a patient: 'Mr. Furu', 'Fru Furu', 'Marlon Furu', 'Marlon', 'M. Furu'."""
    x = ctx.rng.random()
    if x < 0.45:
        return [title(ctx, p) + " ", V(p.family, p.label)]
    if x < 0.75:
        return [name(ctx, p, "gf")]
    if x < 0.9:
        return [name(ctx, p, "g")]
    return [name(ctx, p, ctx.rng.choice(("i.f", "gmf")))]


def sex(ctx: Ctx, p: Person) -> str:
    lang = ctx.lang if ctx.chance(0.6) else "en"
    return ctx.rng.choice(SEX[lang][0 if p.male else 1])


def man(ctx: Ctx, p: Person) -> str:
    if p.age < 18:
        return "boy" if p.male else "girl"
    return ctx.rng.choice(("man", "male", "gentleman") if p.male else ("woman", "female", "lady"))


# ---------------------------------------------------------------------------------------------- ages


def age(p: Person) -> V:
    return V(str(p.age), "AGE")


def age_unit(ctx: Ctx, p: Person) -> list:
    """'41 years', '41 y', '41 yo', '41 år', '41 Jahre', ... (the number is the span)."""
    lang = ctx.lang if ctx.chance(0.3) else "en"
    return [age(p), " " + ctx.rng.choice(AGE_UNITS[lang])]


def age_any(ctx: Ctx, p: Person, form: bool = False) -> list:
    """Any age form; `form=True` (a form field) gives only '41' or '41 <unit>'."""
    x = ctx.rng.random()
    if x < 0.35:
        return [age(p)]
    if x < 0.75 or form:
        return age_unit(ctx, p)
    if x < 0.9:
        return [ctx.rng.choice(("aged ", "age ", "Age ")), age(p)]
    return [age(p), "-year-old"]


def a_age(p: Person) -> str:
    """The article before '<age>-year-old': 'an 81-year-old', 'a 41-year-old'."""
    return "an " if p.age in (8, 11, 18) or 80 <= p.age <= 89 else "a "


# ----------------------------------------------------------------------------------------------- ids


def _luhn(digits: str) -> int:
    """The Luhn check digit of `digits` (Swedish personnummer)."""
    total = 0
    for i, d in enumerate(reversed(digits)):
        n = int(d) * (2 if i % 2 == 0 else 1)
        total += n - 9 if n > 9 else n
    return (10 - total % 10) % 10


def _pesel(dob: date, male: bool, r) -> str:
    """A Polish PESEL for `dob`: YYMMDD (the century in the month), serial, sex digit, check digit."""
    month = dob.month + {1800: 80, 1900: 0, 2000: 20, 2100: 40, 2200: 60}[dob.year // 100 * 100]
    body = (
        f"{dob.year % 100:02d}{month:02d}{dob.day:02d}{r.randint(0, 999):03d}{r.choice('13579' if male else '02468')}"
    )
    weights = (1, 3, 7, 9, 1, 3, 7, 9, 1, 3)
    return body + str((10 - sum(int(d) * w for d, w in zip(body, weights)) % 10) % 10)


def _hetu(dob: date, male: bool, r) -> str:
    """A Finnish henkilötunnus for `dob`: DDMMYY, century sign, serial (odd for men), check character."""
    serial = r.randrange(3 if male else 2, 899, 2)
    digits = f"{dob:%d%m}{dob.year % 100:02d}{serial:03d}"
    century = {1800: "+", 1900: "-", 2000: "A"}[dob.year // 100 * 100]
    return f"{digits[:6]}{century}{digits[6:]}" + "0123456789ABCDEFHJKLMNPRSTUVWXY"[int(digits) % 31]


def natid(ctx: Ctx, p: Person) -> V:
    """A national-number shape for the locale (Faker's ssn where it has one). Numbers that encode a birth
    date encode the patient's: Faker would take one counted back from today's date, and the same seed
    would give other notes on another day."""
    f, r, loc = ctx.fake, ctx.rng, ctx.locale
    if loc == "da_DK":
        text = f"{p.dob:%d%m%y}" + r.choice(("-", "", " ")) + f"{r.randint(0, 9999):04d}"
    elif loc == "de_DE":
        text = f.rvnr(p.dob) if r.random() < 0.5 else r.choice("ABCDEFGHKLMNRSTUWX") + str(r.randint(10**8, 10**9 - 1))
    elif loc == "es_ES":
        text = r.choice((f.nif, f.nie, f.nuss))()
    elif loc == "en_IN":
        text = f.aadhaar_id()
        text = " ".join((text[:4], text[4:8], text[8:])) if r.random() < 0.5 else text
    elif loc == "pt_BR":
        text = f.cpf() if r.random() < 0.6 else re.sub(r"\D", "", f.cpf())
    elif loc == "en_GB" and r.random() < 0.5:
        text = f"{r.randint(100, 999)} {r.randint(100, 999)} {r.randint(1000, 9999)}"  # NHS number
    elif loc == "sv_SE":
        digits = f"{p.dob:%y%m%d}{r.randint(0, 999):03d}"
        text = f"{digits[:6]}-{digits[6:]}{_luhn(digits)}"
    elif loc == "fi_FI":
        text = _hetu(p.dob, p.male, r)
    elif loc == "pl_PL":
        text = _pesel(p.dob, p.male, r)
    else:
        text = f.ssn(dob=f"{p.dob:%Y%m%d}", gender="M" if p.male else "F") if loc == "no_NO" else f.ssn()
        if loc == "no_NO" and r.random() < 0.3:
            text = f"{text[:6]} {text[6:]}"
    return V(text, "ID")


def mrn(ctx: Ctx) -> V:
    """Record, case and sample numbers: digits, grouped, zero-padded, letter prefixes, year-based."""
    r = ctx.rng
    n = r.randint(5, 10)
    digits = str(r.randint(10 ** (n - 1), 10**n - 1))
    x = r.random()
    if x < 0.35:
        text = digits
    elif x < 0.45:
        text = "00" + digits[:6]
    elif x < 0.6:
        text = r.choice(("-", " ", ".")).join(groups(r, digits))
    elif x < 0.8:
        prefix = r.choice(("PT", "H", "MR", "A", "K", "JN", "P", "HN", "E"))
        text = prefix + r.choice(("", "-", "", " ") if len(prefix) > 1 else ("", "-")) + digits
    else:
        y = ctx.today.year
        text = r.choice(
            (
                f"{y}-{digits[:5]}",
                f"{y % 100:02d}/{digits[:5]}",
                f"C-{y}-{digits[:4]}",
                f"{r.choice('KLRS')}{y % 100:02d}-{digits[:6]}",
            )
        )
    return V(text, "ID")


# ----------------------------------------------------------------------------------------- locations

# Flat and apartment numbers, inside the street's span ({s}: street, {n}: flat, {f}: floor, {g}: door, {L}: letter)
# fmt: off
_FLATS = {
    "en_US": ("{s}, Apt {n}{L}", "{s} Apt. {n}", "{s}, Unit {n}", "{s}, Apt {f}{L}"),
    "en_GB": ("Flat {n}, {s}", "Flat {f}{L}, {s}", "Apartment {n}, {s}"),
    "en_IN": ("Flat {f}0{g}, {s}", "Flat No. {n}, {s}"),
    "de_DE": ("{s}, Whg. {n}", "{s}, App. {n}", "{s}, {f}. OG"),
    "fr_FR": ("{s}, appt {n}", "{s}, Bât. {L}, appt {n}", "{s}, {f}e étage"),
    "no_NO": ("{s}, H0{f}0{g}", "{s} H0{f}0{g}", "{s}, leil. {n}"),
    "sv_SE": ("{s} lgh 1{f}0{g}", "{s}, lgh 1{f}0{g}", "{s}, {f} tr"),
    "da_DK": ("{s}, {f}. tv", "{s}, {f}. th", "{s}, st. tv", "{s} {f} mf"),
    "nl_NL": ("{s}{L}", "{s}-{f}", "{s} hs", "{s}-{L}"),
    "es_ES": ("{s}, {f}º {L}", "{s}, {f}º izda", "{s}, {f}.º dcha", "{s}, piso {f}, puerta {g}"),
    "it_IT": ("{s}, int. {n}", "{s}, scala {L}, int. {n}", "{s}, piano {f}"),
    "pl_PL": ("{s} m. {n}", "{s}, lok. {n}", "{s}, m. {n}"),
    "pt_BR": ("{s}, apto {f}0{g}", "{s}, Bloco {L}, apto {f}0{g}", "{s}, casa {g}"),
    "fi_FI": ("{s} {L} {n}", "{s} as. {n}", "{s} {L}"),
}
# fmt: on
_HAS_FLAT = re.compile(
    r"(?i)\b(apt|suite|flat|studio|unit|apartment|appartamento|piano|piso|puerta)\b"
)  # Faker wrote one already


def city_v(ctx: Ctx, p: Person | None = None) -> V:
    """The patient's city, or (no `p`: a birthplace, a sender's town) any city, a share from abroad."""
    if p is not None:
        return V(p.city, "LOC")
    return V((ctx.foreign_faker(PLACE_ORIGINS) or ctx.fake).city(), "LOC")


def street_v(p: Person) -> V:
    return V(p.street, "LOC")


def postcity(ctx: Ctx, p: Person) -> str:
    """Postcode and city in the locale's order ('0150 Oslo', 'Leeds LS1 4AP', 'Austin, TX 73301')."""
    if ctx.locale == "en_US":
        return f"{p.city}, {p.region} {p.postcode}"
    if ctx.locale == "en_GB":
        return f"{p.city} {p.postcode}"
    if ctx.locale in ("en_IN", "pt_BR") and ctx.chance(0.5):
        return f"{p.city} - {p.postcode}"
    return f"{p.postcode} {p.city}"


def postcity_v(ctx: Ctx, p: Person) -> V:
    return V(postcity(ctx, p), "LOC")


def address(ctx: Ctx, p: Person, sep: str = ", ") -> list:
    """Street, `sep` and postcode + city (or the city alone, now and then). On one line it is ONE LOC span,
    separator inside ('Storgata 5, 0155 Oslo', as a reader marks it); a `sep` with a line break gives two
    spans, street and city on lines of their own (as do separate fields and HL7 components)."""
    if "\n" in sep:
        return [street_v(p), sep, postcity_v(ctx, p)]
    return [V(p.street + sep + (postcity(ctx, p) if ctx.chance(0.85) else p.city), "LOC")]


def country_v(ctx: Ctx) -> V:
    return V(ctx.country, "LOC")
