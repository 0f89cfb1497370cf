"""Staff names, hospital names and e-mail addresses: written only with the extended label set."""

from __future__ import annotations

import re
import unicodedata

from tfner.data.notes.builder import V
from tfner.data.notes.context import Ctx
from tfner.data.notes.phi import Person, name, person

_HOSPITALS = {
    "en": (
        "{city} General Hospital",
        "{city} Medical Center",
        "St. {saint}'s Hospital",
        "{last} Memorial Hospital",
        "University Hospital {city}",
        "{city} Royal Infirmary",
    ),
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
        tlds = {"en_GB": "nhs.uk", "en_US": "org", "en_IN": "in", "pt_BR": "com.br"}
        tld = tlds.get(ctx.locale, ctx.locale[-2:].lower())
        domain = f"{slug(f.city()) or 'central'}{r.choice(('-hospital', 'hf', '-klinik', '', '-health'))}.{tld}"
    else:
        domain = f.free_email_domain()
    return V(f"{user}@{domain}", "EMAIL")
