"""Synthetic clinical notes with personal data (PHI) marked, in many layouts, locales and surface forms.

`generate_notes(n, seed)` returns records

    {"text": str, "ner_tags": [[start, end, label], ...], "family": str, "locale": str}

with spans sorted and non-overlapping, each covering exactly the inserted value and starting and
ending on a BERT word boundary (the character before `start` and the character at `end`, if any, is
whitespace or punctuation), so every span maps exactly onto WordPiece tokens. Pure Python on top of
`faker`; nothing here imports TensorFlow.

Layout families (`FAMILIES`, 14):

- `admission_note`: narrative admission note with history, medication, vitals, exam, labs,
  assessment and plan sections (headings and order vary).
- `discharge_letter`: letter head, "Re: <name>, born <date>", salutation, diagnoses, course,
  discharge medication, follow-up, closing and signature.
- `referral_letter`: To/From/Date header, patient block, reason for referral, medication, labs.
- `progress_note`: SOAP progress note, or a timed nursing log ("14:30 Pain 3/10, given ...").
- `phone_consult`: telephone consultation: who called from which number, identity check, advice.
- `mixed_text`: a few key-value lines in the locale's language followed by free or telegraphic text.
- `kv_form`: key-value forms with varied key sets (in 12 languages: `Name:`, `PATIENT NAME -`,
  `Pt.`, `navn:`, `Nom :`, `Geb.`, `Fnr.`...), separators, casing, padded/dotted alignment, one or
  several fields per line; sometimes ALL CAPS.
- `table`: ward lists and schedules as aligned columns, pipe tables or tab-separated rows.
- `bullet_summary`: bulleted summaries and ISBAR handovers.
- `record_export`: one-line camelCase exports, JSON, CSV and HL7 v2 (PID/PV1/OBX) segments.
- `lab_report`: laboratory report header (patient, DOB, MRN, sample, collection times) and result table.
- `radiology_report`: radiology report header, indication, comparison, findings, impression.
- `message`: e-mail / internal message headers (From/To/Sent/Subject) and a short body.
- `prescription`: prescription with patient block, numbered drug lines, quantities and signature.

Locales (`LOCALES`, 14 Faker locales, each checked for name, city, street_address, postcode and
phone_number): en_US, en_GB, en_IN, de_DE, fr_FR, no_NO (Norwegian; Faker has no nb_NO), sv_SE,
da_DK, nl_NL, es_ES, it_IT, pl_PL, pt_BR, fi_FI. Prose is English; form keys, titles, month and
weekday names, sex and age words follow the locale's language part of the time.

Other origins (`ORIGINS`, 21 more Faker locales whose languages none of the 14 speaks: Czech, Hungarian,
Croatian, Romanian, Slovak, Slovene, Turkish, Azerbaijani, Indonesian, Vietnamese, Estonian,
Lithuanian, Latvian, Icelandic, Irish, Zulu, Yoruba, Igbo, Kenyan and Thai English, Swahili): a share
`foreign` (default 0.25) of patients' names, of birthplaces and of month-name dates comes from them,
as in any hospital's population, so that a model learns what a name, a place or a written date looks
like rather than the 14 locales' lists. `foreign=0` writes only the note's locale (what a test of
held-out locales needs: its names then come from no locale the model trained on).

Surface forms per label:

- PATIENT: "Given Family", "Given Middle Family", "Family, Given", "FAMILY, Given", "Family Given",
  initials ("A. B. Family", "Family, A."), titles outside the span ("Mr.", "Mrs.", "Herr", "Fru",
  "Mme", "Sr.", "Pan"..., and for patients from ORIGINS "Bay", "paní", "Ibu"...), hyphenated and
  double family names, non-ASCII names from Faker's locales, ALL CAPS in forms, HL7's "FAMILY^GIVEN"
  (one span, like "FAMILY, Given"); alone on its line above street and postcode + city in the postal
  block of discharge and referral letters and prescriptions ("cc:", "Copy to:" or none).
- AGE: "41", "41 y", "41 yrs", "41 yo", "41 y/o", "41 years", "41-year-old", "aged 41",
  "41 Jahre", "41 år", "41 ans"... (the span is the number).
- DATE: ISO (2021-03-04), 04.03.2021, 4.3.2021, 04.03.21, 04/03/2021, 4/3/21, 03/04/2021, 3/4/2021,
  04-03-2021, "March 4, 2021", "4 March 2021", "4th March 2021", "4 Mar 2021", "4-Mar-2021",
  "Thursday, March 4, 2021", localised month and weekday names ("4. März 2021", "jeudi 4 mars 2021",
  "4 de marzo de 2021", "4. maaliskuuta 2021"), HL7 compact dates (20210304); periods of two dates
  ("3/4/21 to 9/4/21", "04.03.2021 - 12.03.2021", "2. Mai 2021 bis 9. Mai 2021": two spans, each
  date whole) in admission notes, discharge and referral letters, summaries and prescriptions.
- PHONE: Faker's per-locale numbers as written, regrouped national numbers (spaced, dashed, dotted,
  "(0151) 4960812"), international "+47 ...", "0047...", US "(555) 123-4567", extensions "ext. 123".
- ID: national numbers (Faker's ssn where the locale has one: US SSN, UK NINO / NHS number,
  fødselsnummer, personnummer, CPR, BSN, NIR, codice fiscale, PESEL, CPF, henkilötunnus, DNI/NIE,
  Aadhaar, German RVNR/KVNR), record/case/sample numbers: plain, zero-padded, grouped, letter
  prefixes ("PT-4512345"), year-based ("2021-04512"), after keys like "MRN", "#", "Accession #".
- LOC: cities, street addresses (with flat or apartment numbers where the locale writes them: "Flat 3,
  12 High Street", "Storgatan 12 lgh 1102", "Apt 4B", "Havnegade 87, 2. tv"), postcode + city in the
  locale's order ("0150 Oslo", "Leeds LS1 4AP", "Austin, TX 73301"), the country now and then. An
  address on one line is ONE span, separator inside ("Storgata 5, 0155 Oslo", "12 Main St, Springfield,
  IL 62704"); street and city on lines of their own, in separate fields, HL7 components or table cells
  are separate spans. Lone cities after keys ("Born in: X", "Wohnort: X", "Bosted - X", "Domicilio: X",
  "From: X") in forms, reports, summaries, letters and mixed text.

Label sets: `label_set="default"` labels `LABELS`. In the default set no staff names, hospital names
or e-mail addresses are written at all (the places where they would be hold roles and departments:
"Attending physician, Department of Cardiology"), so no PHI-looking text is ever left unlabelled.
`label_set="extended"` (i2b2-2014 style) also writes and labels staff names (DOCTOR, titles such as
"Dr." and "MD" outside the span), hospital names (HOSPITAL) and e-mail addresses (EMAIL).

Not PHI, never labelled: doses ("5 mg", "0.5 mL", "Disp: #30"), lab values ("Hb 13.2 g/dL",
"CRP 45"), vitals ("BP 120/80", "HR 72", "SpO2 97 %", "Temp 37.8"), times ("10:30", "14.15"),
rooms and beds ("Room 12B", "bed 4"), ICD-10 codes ("I21.4", "E11.9"), drug names, scores
("Pain 3/10"), departments and repeated section headings ("Vitals:", "Plan:"). In every family
(`measures`): numeric key-value items whose numbers look like ages and IDs ("Room : 292", "WEIGHT - 67",
"bp=174/77", "MMSE 24/30", "Plt 245000", "Page 2 of 3"), keys in English or the note's language
("TA 118/72", "BT 130/80", "RR 130/80", "Seite 1 von 2"), in Title, UPPER or lower case, after ":",
" : ", " - ", "=", a tab or "."; in headers and footers of reports and tables, form fields, bullets,
message bodies, export keys ("weightKg=67") and vitals lines in prose ("Obs: Bp 174/77, pulse 51, wt 67 kg").

Noise: ALL-CAPS forms, extra spaces and blank lines, hard line wraps and breaks inside sentences, and
typos in non-PHI words (never inside a span).

Determinism: one `random.Random(seed)` per call draws a seed per note; each note has its own
`random.Random` and reseeds the (cached, per locale) Faker instance, so the same arguments give the
same notes, the first k notes do not depend on n, and results do not depend on call order.
"""

from __future__ import annotations

import random

from tfner.data.notes import noise
from tfner.data.notes.builder import Note
from tfner.data.notes.context import Ctx, faker
from tfner.data.notes.families import BUILDERS
from tfner.data.notes.lang import LOCALE_INFO, ORIGINS

__all__ = ["LABELS", "EXTENDED_LABELS", "FAMILIES", "LOCALES", "ORIGINS", "generate_notes"]

LABELS = ("AGE", "DATE", "ID", "LOC", "PATIENT", "PHONE")
EXTENDED_LABELS = LABELS + ("DOCTOR", "HOSPITAL", "EMAIL")
FAMILIES: tuple[str, ...] = tuple(BUILDERS)
LOCALES: tuple[str, ...] = tuple(LOCALE_INFO)
LABEL_SETS = {"default": LABELS, "extended": EXTENDED_LABELS}
FOREIGN = 0.25


def _subset(kind: str, chosen, known: tuple[str, ...]) -> tuple[str, ...]:
    if chosen is None:
        return known
    if isinstance(chosen, str):
        chosen = [chosen]
    chosen = list(chosen)
    for name in chosen:
        if name not in known:
            raise ValueError(f"unknown {kind} {name!r}; known: {', '.join(known)}")
    if not chosen:
        raise ValueError(f"no {kind} given; known: {', '.join(known)}")
    return tuple(k for k in known if k in chosen)  # canonical order: the draw does not depend on list order


def _note(note_seed: int, families, locales, label_set: str, foreign: float, debug: bool) -> dict:
    r = random.Random(note_seed)
    family, locale = r.choice(families), r.choice(locales)
    fake = faker(locale)
    fake.seed_instance(r.getrandbits(64))
    ctx = Ctx(r, fake, locale, extended=label_set == "extended", foreign=foreign)
    note = Note(LABEL_SETS[label_set])
    BUILDERS[family](note, ctx)
    noise.apply(note, r)
    text, spans, values = note.finish()
    record = {"text": text, "ner_tags": spans, "family": family, "locale": locale}
    if debug:
        record["_values"] = values
    return record


def _records(n: int, seed: int, families, locales, label_set: str, foreign: float, debug: bool) -> list[dict]:
    fams = _subset("family", families, FAMILIES)
    locs = _subset("locale", locales, LOCALES)
    if label_set not in LABEL_SETS:
        raise ValueError(f"unknown label_set {label_set!r}; known: {', '.join(LABEL_SETS)}")
    if not 0.0 <= foreign <= 1.0:
        raise ValueError(f"foreign must be a share between 0 and 1, got {foreign!r}")
    rng = random.Random(seed)
    return [_note(rng.getrandbits(64), fams, locs, label_set, foreign, debug) for _ in range(n)]


def generate_notes(
    n: int, seed: int = 0, families=None, locales=None, label_set: str = "default", foreign: float = FOREIGN
) -> list[dict]:
    """`n` synthetic notes {"text", "ner_tags": [[start, end, label], ...], "family", "locale"}.

    `families` / `locales`: names from `FAMILIES` / `LOCALES` to draw from (None: all); an unknown name
    raises ValueError. `label_set`: "default" (`LABELS`) or "extended" (`EXTENDED_LABELS`: also DOCTOR,
    HOSPITAL and EMAIL). `foreign`: the share of patient names, birthplaces and month-name dates drawn
    from `ORIGINS` (other countries than the note's locale; 0: only the note's locale, as a test set of
    held-out locales needs). Deterministic: the same arguments give the same notes, and the first k
    notes do not depend on n.
    """
    return _records(n, seed, families, locales, label_set, foreign, debug=False)
