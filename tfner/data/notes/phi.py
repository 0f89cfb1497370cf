"""Surface forms of each PHI type, drawn from a seeded Faker per locale.

Every function takes the note's `Ctx` (its `random.Random`, its seeded Faker, locale and label set)
and returns a `V` (a labelled value) or a list of plain strings and `V`s (a value with its context,
as "Mr. " + V("Furu") or V("41") + " years").
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from datetime import date, timedelta

from tfner.data.notes.builder import V
from tfner.data.notes.lang import AGE_UNITS, LOCALE_INFO, MONTHS, SEX, TITLES, WEEKDAYS


class Ctx:
    """What one note draws from: random stream, seeded Faker, locale, label set and 'today'."""

    def __init__(self, rng, fake, locale: str, extended: bool):
        self.rng = rng
        self.fake = fake
        self.locale = locale
        self.lang, self.cc, self.trunk, self.country = LOCALE_INFO[locale]
        self.extended = extended
        self.today = date(rng.randint(2012, 2025), rng.randint(1, 12), rng.randint(1, 28))

    def chance(self, p: float) -> bool:
        return self.rng.random() < p

    def days_ago(self, lo: int, hi: int) -> date:
        return self.today - timedelta(days=self.rng.randint(lo, hi))


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


def _age_on(dob: date, day: date) -> int:
    return day.year - dob.year - ((day.month, day.day) < (dob.month, dob.day))


def person(ctx: Ctx, label: str = "PATIENT", age: int | None = None) -> Person:
    f, r = ctx.fake, ctx.rng
    male = r.random() < 0.5
    first = f.first_name_male if male else f.first_name_female
    given, middle, family = first(), (first() if r.random() < 0.2 else ""), f.last_name()
    x = r.random()
    if ctx.lang in ("es", "pt") and x < 0.5:
        family = f"{family} {f.last_name()}"
    elif x < 0.12:
        family = f"{family}-{f.last_name()}"
    if age is None:
        age = r.randint(18, 96) if r.random() < 0.9 else r.randint(0, 17)
    dob = ctx.today - timedelta(days=int(365.25 * age) + r.randint(1, 360))
    region = f.state_abbr() if ctx.locale == "en_US" else ""
    street = ", ".join(s.strip() for s in f.street_address().splitlines() if s.strip())
    return Person(male, given, middle, family, dob, _age_on(dob, ctx.today), f.city(), street,
                  f.postcode(), region, phone(ctx), label)


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
        "gf": f"{g} {fam}", "gmf": f"{gm} {fam}", "f,g": f"{fam}, {g}", "F,g": f"{fam.upper()}, {g}",
        "Fg": f"{fam.upper()} {g}", "fg": f"{fam} {g}", "i.f": f"{initials(gm, ctx.chance(0.5))} {fam}",
        "f,i": f"{fam}, {initials(gm)}", "F,gm": f"{fam.upper()}, {gm}", "g": g, "f": fam,
    }[form]
    return V(text, p.label)


def title(ctx: Ctx, p: Person) -> str:
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


def age_any(ctx: Ctx, p: Person) -> list:
    x = ctx.rng.random()
    if x < 0.3:
        return [age(p)]
    if x < 0.75:
        return age_unit(ctx, p)
    if x < 0.9:
        return [ctx.rng.choice(("aged ", "age ", "Age ")), age(p)]
    return [age(p), "-year-old"]


def a_age(p: Person) -> str:
    """The article before '<age>-year-old': 'an 81-year-old', 'a 41-year-old'."""
    return "an " if p.age in (8, 11, 18) or 80 <= p.age <= 89 else "a "


# --------------------------------------------------------------------------------------------- dates

DATE_STYLES = ("iso", "dotted", "dotted_short", "dotted_yy", "dmy", "dmy_short", "mdy", "mdy_short", "dashed",
               "words", "words_abbr", "words_weekday", "local", "local_weekday")


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


def _th(d: int) -> str:
    return "th" if 10 <= d % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(d % 10, "th")


def date_v(ctx: Ctx, d: date, style: str | None = None) -> V:
    return V(date_text(ctx, d, style), "DATE")


# -------------------------------------------------------------------------------------------- phones


def _groups(r, digits: str) -> list[str]:
    sizes, rest = [], len(digits)
    while rest > 4:
        s = r.choice((2, 3, 3, 4))
        s = min(s, rest - 2)
        sizes.append(s)
        rest -= s
    sizes.append(rest)
    out, i = [], 0
    for s in sizes:
        out.append(digits[i:i + s])
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
            digits = digits[len(ctx.cc):]
        digits = digits.lstrip("0")
        if not 6 <= len(digits) <= 11:
            digits = str(r.randint(10**8, 10**9 - 1))
        sep = r.choice((" ", " ", "-", ".", ""))
        if ctx.cc == "1" and len(digits) == 10 and r.random() < 0.6:
            a, b, c = digits[:3], digits[3:6], digits[6:]
            text = r.choice((f"({a}) {b}-{c}", f"{a}-{b}-{c}", f"{a}.{b}.{c}", f"+1 {a} {b} {c}", f"1-{a}-{b}-{c}"))
        elif x < 0.65:
            national = ctx.trunk + digits
            groups = _groups(r, national)
            text = (f"({groups[0]}) " + sep.join(groups[1:])) if r.random() < 0.15 else sep.join(groups)
        else:
            prefix = r.choice(("+", "+", "00"))
            text = f"{prefix}{ctx.cc} " + (sep or " ").join(_groups(r, digits))
            if r.random() < 0.15:
                text = f"{prefix}{ctx.cc}{digits}"
    if r.random() < 0.1:
        text += r.choice((" ext. ", " ext ", " x", " Ext. ")) + str(r.randint(10, 9999))
    return text


def phone_v(ctx: Ctx, p: Person | None = None) -> V:
    return V(p.phone if p else phone(ctx), "PHONE")


# ----------------------------------------------------------------------------------------------- ids


def natid(ctx: Ctx, p: Person) -> V:
    """A national-number shape for the locale (Faker's ssn where it has one)."""
    f, r, loc = ctx.fake, ctx.rng, ctx.locale
    if loc == "da_DK":
        text = f"{p.dob:%d%m%y}" + r.choice(("-", "", " ")) + f"{r.randint(0, 9999):04d}"
    elif loc == "de_DE":
        text = f.rvnr() if r.random() < 0.5 else r.choice("ABCDEFGHKLMNRSTUWX") + str(r.randint(10**8, 10**9 - 1))
    elif loc == "es_ES":
        text = r.choice((f.nif, f.nie, f.nuss))()
    elif loc == "en_IN":
        text = f.aadhaar_id()
        text = " ".join((text[:4], text[4:8], text[8:])) if r.random() < 0.5 else text
    elif loc == "pt_BR":
        text = f.cpf() if r.random() < 0.6 else re.sub(r"\D", "", f.cpf())
    elif loc == "en_GB" and r.random() < 0.5:
        text = f"{r.randint(100, 999)} {r.randint(100, 999)} {r.randint(1000, 9999)}"  # NHS number
    else:
        text = f.ssn()
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
        text = r.choice(("-", " ", ".")).join(_groups(r, digits))
    elif x < 0.8:
        text = r.choice(("PT", "H", "MR", "A", "K", "JN", "P", "HN", "E")) + r.choice(("", "-", "", " ")) + digits
    else:
        y = ctx.today.year
        text = r.choice((f"{y}-{digits[:5]}", f"{y % 100:02d}/{digits[:5]}", f"C-{y}-{digits[:4]}",
                         f"{r.choice('KLRS')}{y % 100:02d}-{digits[:6]}"))
    return V(text, "ID")


# ----------------------------------------------------------------------------------------- locations


def city_v(ctx: Ctx, p: Person | None = None) -> V:
    return V(p.city if p else ctx.fake.city(), "LOC")


def street_v(p: Person) -> V:
    return V(p.street, "LOC")


def postcity_v(ctx: Ctx, p: Person) -> V:
    """Postcode and city in the locale's order ('0150 Oslo', 'Leeds LS1 4AP', 'Austin, TX 73301')."""
    if ctx.locale == "en_US":
        text = f"{p.city}, {p.region} {p.postcode}"
    elif ctx.locale == "en_GB":
        text = f"{p.city} {p.postcode}"
    elif ctx.locale in ("en_IN", "pt_BR") and ctx.chance(0.5):
        text = f"{p.city} - {p.postcode}"
    else:
        text = f"{p.postcode} {p.city}"
    return V(text, "LOC")


def address(ctx: Ctx, p: Person, sep: str = ", ") -> list:
    return [street_v(p), sep, postcity_v(ctx, p)]


def country_v(ctx: Ctx) -> V:
    return V(ctx.country, "LOC")


# ------------------------------------------------------------------- staff, hospitals, e-mail (extended)

_HOSPITALS = {
    "en": ("{city} General Hospital", "{city} Medical Center", "St. {saint}'s Hospital", "{last} Memorial Hospital",
           "University Hospital {city}", "{city} Royal Infirmary"),
    "de": ("Klinikum {city}", "Universitätsklinikum {city}", "Krankenhaus {city}", "St.-{saint}-Hospital"),
    "fr": ("CHU de {city}", "Hôpital {last}", "Centre hospitalier de {city}", "Clinique {saint}"),
    "no": ("Sykehuset {city}", "{city} sykehus", "{city} legevakt", "Helse {city}"),
    "sv": ("{city} sjukhus", "{city} lasarett", "Universitetssjukhuset i {city}"),
    "da": ("{city} Sygehus", "Regionshospitalet {city}", "Hospitalsenheden {city}"),
    "nl": ("Ziekenhuis {city}", "{city} Medisch Centrum", "Sint {saint} Ziekenhuis", "Ziekenhuis {last}"),
    "es": ("Hospital {last}", "Hospital Universitario de {city}", "Clínica {saint}", "Hospital General de {city}"),
    "it": ("Ospedale di {city}", "Policlinico {last}", "Ospedale San {saint}", "Azienda Ospedaliera di {city}"),
    "pl": ("Szpital Powiatowy {city}", "Szpital Specjalistyczny im. {saint} {last}", "Szpital Wojewódzki {city}"),
    "pt": ("Hospital {last}", "Hospital das Clínicas de {city}", "Santa Casa de {city}", "Hospital São {saint}"),
    "fi": ("Sairaala {city}", "{last} sairaala", "Keskussairaala {city}"),
}


def hospital_v(ctx: Ctx) -> V:
    f = ctx.fake
    pattern = ctx.rng.choice(_HOSPITALS[ctx.lang])
    return V(pattern.format(city=f.city(), last=f.last_name(), saint=f.first_name_male()), "HOSPITAL")


def doctor(ctx: Ctx) -> Person:
    return person(ctx, label="DOCTOR", age=ctx.rng.randint(28, 67))


def doctor_ref(ctx: Ctx, d: Person) -> list:
    """'Dr. Anna Berg', 'Dr Berg', 'Anna Berg, MD', 'A. Berg', 'BERG, Anna' (the title stays outside)."""
    r = ctx.rng
    x = r.random()
    if x < 0.4:
        return [r.choice(("Dr. ", "Dr ", "Dr. med. ", "Prof. Dr. ")), name(ctx, d, r.choice(("gf", "f", "i.f")))]
    if x < 0.6:
        return [name(ctx, d, "gf"), r.choice((", MD", " MD", ", M.D.", ", consultant", " (LIS1)"))]
    return [name(ctx, d, r.choice(("gf", "i.f", "f,g", "F,g", "gmf")))]


_FOLD = str.maketrans({"ø": "o", "Ø": "O", "æ": "ae", "Æ": "AE", "ß": "ss", "ł": "l", "Ł": "L", "œ": "oe"})


def slug(text: str) -> str:
    text = unicodedata.normalize("NFKD", text.translate(_FOLD))
    return re.sub(r"[^a-z0-9]+", "", text.encode("ascii", "ignore").decode().lower())


def email_v(ctx: Ctx, p: Person, staff: bool = False) -> V:
    r, f = ctx.rng, ctx.fake
    g, fam = slug(p.given) or "x", slug(p.family) or "y"
    user = r.choice((f"{g}.{fam}", f"{g[0]}{fam}", f"{g}_{fam}{r.randint(1, 99)}", f"{g}.{fam[0]}", f"{fam}{g[0]}"))
    if staff:
        tld = {"en_GB": "nhs.uk", "en_US": "org", "en_IN": "in", "pt_BR": "com.br"}.get(ctx.locale, ctx.locale[-2:].lower())
        domain = f"{slug(f.city()) or 'central'}{r.choice(('-hospital', 'hf', '-klinik', '', '-health'))}.{tld}"
    else:
        domain = f.free_email_domain()
    return V(f"{user}@{domain}", "EMAIL")
