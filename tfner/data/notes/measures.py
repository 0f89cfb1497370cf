"""Numeric key-value distractors for every family: rooms, beds, wards, vitals, body measures, scores, doses,
quantities, reference ranges and page numbers ("Room : 292", "WEIGHT - 67", "bp=174/77", "MMSE 24/30",
"TA 118/72", "Seite 2 von 3"), keys in English or the note's language, in varied casing and separators.

The values have the shapes of ages (two digits) and of record numbers (three to six digits) on purpose:
a model must learn from the key, not from the number, that they are not PHI. Plain text, never labelled;
phone extensions and ward phones are left out (they would be PHONE).
"""

from __future__ import annotations

import re

from tfner.data.notes.context import Ctx
from tfner.data.notes.distractors import bp


def _n(lo: int, hi: int, units=("",)):
    return lambda r: f"{r.randint(lo, hi)}{r.choice(units)}"


# field: (value maker, English keys, the key in de fr no sv da nl es it pl pt fi; "|" between, "" for none)
# Word tables: kept dense, several entries a line.
# fmt: off
_FIELDS = {
    "room": (lambda r: f"{r.randint(1, 999)}{r.choice(('', '', '', 'A', 'B'))}", "Room|Rm|Rm.|Room no.",
             "Zimmer|Chambre|Rom|Sal|Stue|Kamer|Habitación|Stanza|Sala|Quarto|Huone"),
    "bed": (_n(1, 40), "Bed|Bed no.|Bed nr", "Bett|Lit|Seng|Säng|Seng|Bed|Cama|Letto|Łóżko|Leito|Vuode"),
    "ward": (_n(1, 60), "Ward|Unit|Floor|Level",
             "Station|Unité|Post|Avd.|Afsnit|Afdeling|Planta|Reparto|Oddział|Ala|Osasto"),
    "bay": (_n(1, 12), "Bay|Cubicle|Bay no.", ""),
    "weight": (_n(38, 140, ("", "", " kg", "kg")), "Weight|Wt|Wt.|Body weight|Weight (kg)",
               "Gewicht|Poids|Vekt|Vikt|Vægt|Gewicht|Peso|Peso|Waga|Peso|Paino"),
    "height": (_n(148, 198, ("", " cm")), "Height|Ht|Ht.|Height (cm)",
               "Größe|Taille|Høyde|Längd|Højde|Lengte|Talla|Altezza|Wzrost|Altura|Pituus"),
    "bmi": (lambda r: f"{r.uniform(17, 41):.1f}", "BMI", "BMI|IMC|KMI|BMI|BMI|BMI|IMC|IMC|BMI|IMC|BMI"),
    "pulse": (_n(42, 135, ("", "", " bpm", "/min")), "Pulse|HR|Heart rate|Pulse rate",
              "Puls|FC|Puls|Puls|Puls|Pols|FC|FC|Tętno|FC|Syke"),
    "bp": (bp, "BP|Bp|B/P|Blood pressure|NIBP", "RR|TA|BT|BT|BT|RR|TA|PA|RR|PA|RR"),
    "rr": (_n(10, 34, ("", "", "/min")), "RR|Resp|Resp. rate", "AF|FR|RF|AF|RF|AF|FR|FR||FR|"),
    "temp": (lambda r: f"{r.randint(35, 39)}.{r.randint(0, 9)}", "Temp|Temp.|Temperature|T°",
             "Temp.|T°|Temp|Temp|Temp|Temp|Tª|TC|Temp.|Tax|Lämpö"),
    "spo2": (_n(84, 100, ("", "%", " %")), "SpO2|Sats|O2 sat|SaO2", "SpO2|SpO2|SpO2|SpO2|SpO2|SpO2|SatO2|SatO2|||"),
    "gcs": (lambda r: r.choice((str(r.randint(3, 15)), f"{r.randint(8, 15)}/15")), "GCS", ""),
    "pain": (lambda r: r.choice((f"{r.randint(0, 10)}/10", str(r.randint(0, 10)))), "Pain score|Pain|VAS|NRS",
             "Schmerz|Douleur|Smerte|Smärta|Smerte|Pijn|Dolor|Dolore|Ból|Dor|Kipu"),
    "mmse": (lambda r: f"{r.randint(10, 30)}/30", "MMSE|MoCA", "MMST|MMSE|MMSE|MMSE|MMSE|MMSE|MEC|MMSE|MMSE|MEEM|MMSE"),
    "news": (_n(0, 12), "NEWS|NEWS2|MEWS|EWS", ""),
    "dose": (lambda r: r.choice(("2.5", "5", "10", "20", "40", "100", "250", "500", "1000")) + r.choice(("", " mg")),
             "Dose|Dosage|Dose (mg)", "Dosis|Dose|Dose|Dos|Dosis|Dosis|Dosis|Dose|Dawka|Dose|Annos"),
    "qty": (_n(7, 120), "Qty|Quantity|Tablets|Packs",
            "Menge|Quantité|Antall|Antal|Antal|Aantal|Cantidad|Quantità|Ilość|Quantidade|Määrä"),
    "range": (lambda r: r.choice(("3.5-5.1", "135-145", "0-5", "4.0-10.0", "150-400", "60-100", "12-16")),
              "Ref range|Ref.|Normal range|Reference", ""),
    "fluid": (_n(150, 3500, ("", " mL", " ml")), "Urine output|Fluid balance|Intake|Output|Fluids in|UO", ""),
    "plt": (lambda r: str(r.randint(120, 450) * 1000), "Plt|Platelets|PLT", ""),
    "wbc": (lambda r: str(r.randint(30, 160) * 100), "WBC|Leukocytes|WBC count", ""),
}
_LANGS = ("de", "fr", "no", "sv", "da", "nl", "es", "it", "pl", "pt", "fi")
_PAGE = dict(zip(_LANGS, "Seite von|Page sur|Side av|Sida av|Side af|Pagina van|Página de|Pagina di|Strona z|Página de|"
                        "Sivu /".split("|")))
_OBS = ("Obs: ", "Obs ", "Vitals: ", "On arrival: ", "Observations: ", "Home readings: ", "Today: ", "")
_OBS_LOCAL = {"de": "Vitalwerte: ", "fr": "Constantes : ", "no": "Vitale parametre: ", "sv": "Vitalparametrar: ",
              "da": "Vitale værdier: ", "nl": "Vitale functies: ", "es": "Constantes: ", "it": "Parametri vitali: ",
              "pl": "Parametry życiowe: ", "pt": "Sinais vitais: ", "fi": "Vitaalielintoiminnot: "}
# fmt: on
FIELDS = tuple(_FIELDS)
VITALS = ("bp", "pulse", "weight", "temp", "spo2", "rr", "height", "bmi", "gcs", "pain", "news")
WARD = ("room", "bed", "ward", "bay")
SEPS = (": ", ": ", " : ", " - ", "=", " = ", "\t", ". ", ":", " ", " ")
CAMEL = {"roomNumber": "room", "bedNo": "bed", "weightKg": "weight", "heightCm": "height", "heartRate": "pulse",
         "painScore": "pain", "newsScore": "news", "spo2": "spo2", "bmi": "bmi", "floorNo": "ward"}  # fmt: skip


def key(ctx: Ctx, field: str, local: float = 0.5) -> str:
    """A key for `field`: the note's language `local` of the time (where it has a word), English otherwise."""
    r = ctx.rng
    words = dict(zip(_LANGS, _FIELDS[field][2].split("|"))).get(ctx.lang, "") if _FIELDS[field][2] else ""
    if words and r.random() < local:
        return words
    return r.choice(_FIELDS[field][1].split("|"))


def value(ctx: Ctx, field: str, bare: bool = False) -> str:
    v = _FIELDS[field][0](ctx.rng)
    return re.sub(r"[^\d./]+$", "", v) if bare else v


def _case(r, text: str, case: str) -> str:
    return {"keep": text, "upper": text.upper(), "lower": text.lower(), "title": text.title()}[case]


def items(ctx: Ctx, fields=FIELDS, k: int | None = None, joiner: str | None = None) -> str:
    """`k` distinct "key SEP value" items, one separator and casing for the group ("Room : 292   Bed : 4")."""
    r = ctx.rng
    sep, case = r.choice(SEPS), r.choice(("keep", "keep", "upper", "lower", "title"))
    joiner = joiner or r.choice(("   ", "  ", ", ", "; ", " | ", "\t"))
    chosen = r.sample(fields, min(len(fields), k or r.randint(1, 3)))
    out = []
    for field in chosen:
        kk = _case(r, key(ctx, field), case)
        out.append(kk + (sep[1:] if kk.endswith(".") and sep.startswith(".") else sep) + value(ctx, field))
    return joiner.join(out)


def obs(ctx: Ctx, head: bool = True) -> str:
    """A vitals line in prose: "Obs: Bp 174/77, pulse 51, wt 67 kg", "Constantes: TA 118/72, FC 80"."""
    r = ctx.rng
    local = ctx.lang != "en" and r.random() < 0.6
    start = "" if not head else _OBS_LOCAL[ctx.lang] if local else r.choice(_OBS)
    fields = r.sample(VITALS, r.randint(2, 5))
    if "bp" not in fields and r.random() < 0.5:
        fields.insert(0, "bp")
    parts = [
        f"{_case(r, key(ctx, f, 0.9 if local else 0.0), r.choice(('keep', 'lower')))} {value(ctx, f)}" for f in fields
    ]
    return start + r.choice((", ", ", ", "; ", "  ")).join(parts)


def page(ctx: Ctx) -> str:
    """'Page 2 of 3', 'Seite 1 von 2', 'Sivu 1/2', 'p. 2/3'."""
    r = ctx.rng
    n = r.randint(1, 4)
    i = r.randint(1, n)
    word, of = _PAGE[ctx.lang].split() if ctx.lang in _PAGE and r.random() < 0.5 else ("Page", "of")
    return r.choice((f"{word} {i} {of} {n}", f"{word} {i}/{n}", f"{word} {i} {of} {n}", f"p. {i}/{n}"))


def footer(ctx: Ctx) -> str:
    """A header or footer line: page number, ward items, or both."""
    r = ctx.rng
    x = r.random()
    if x < 0.3:
        return page(ctx)
    if x < 0.6:
        return items(ctx, WARD + ("news", "weight"), r.randint(1, 3))
    return items(ctx, k=r.randint(1, 2)) + r.choice(("   ", "  ", "\t")) + page(ctx)


def camel(ctx: Ctx, k: int) -> list[tuple[str, str]]:
    """`k` export keys with bare values ("weightKg", "67")."""
    return [(c, value(ctx, CAMEL[c], bare=True)) for c in ctx.rng.sample(sorted(CAMEL), k)]
