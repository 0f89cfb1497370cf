"""The faker-based clinical-note generator (tfner.data.notes): exact spans on word boundaries, variety of
layouts and surface forms, unlabelled distractors, determinism, filters and label sets."""

import ast
import datetime
import hashlib
import json
import os
import random
import re
import subprocess
import sys
import time
import unicodedata
from collections import Counter, defaultdict

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tfner.data import notes
from tfner.data.notes import EXTENDED_LABELS, FAMILIES, LABELS, LOCALES, ORIGINS, generate_notes, noise, phi
from tfner.data.notes import distractors as dx
from tfner.data.notes.builder import Note, V
from tfner.data.notes.context import Ctx, faker
from tfner.data.notes.lang import LOCALE_INFO, MONTHS, ORIGIN_TITLES

PACKAGE_DIR = os.path.dirname(notes.__file__)
ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def records(n, seed, families=None, locales=None, label_set="default", foreign=notes.FOREIGN):
    """Notes with the internal record of inserted values ("_values": [(value, label), ...])."""
    return notes._records(n, seed, families, locales, label_set, foreign, debug=True)


def bert_break(ch):
    """Written out independently of the package: BERT's basic tokenizer splits on these characters."""
    if ch in " \t\n\r" or unicodedata.category(ch) == "Zs":
        return True
    cp = ord(ch)
    if 33 <= cp <= 47 or 58 <= cp <= 64 or 91 <= cp <= 96 or 123 <= cp <= 126:
        return True
    return unicodedata.category(ch).startswith("P")


MONTH_WORD = r"[^\W\d_]{3,}(?:-[^\W\d_]+)?"
DATE_RE = re.compile(
    "|".join(
        (
            r"\d{4}-\d{2}-\d{2}",
            r"\d{1,2}\.\d{1,2}\.(\d{4}|\d{2})",
            r"\d{1,2}/\d{1,2}/(\d{4}|\d{2})",
            r"\d{2}-\d{2}-\d{4}",
            r"\d{8}",
            rf"({MONTH_WORD},? )?\d{{1,2}}(st|nd|rd|th|\.)? (de )?{MONTH_WORD}( de)? \d{{4}}",
            rf"({MONTH_WORD},? )?{MONTH_WORD} \d{{1,2}},? \d{{4}}",
            rf"\d{{1,2}}-{MONTH_WORD}-\d{{4}}",
        )
    ),
    re.I,
)
SHAPES = {
    "AGE": re.compile(r"\d{1,3}"),
    "DATE": DATE_RE,
    "PHONE": re.compile(r"[+(]{0,2}\d[\d ().\-+]{4,}\d( (ext\.?|Ext\.) \d+| x\d+|x\d+)?", re.I),
    "ID": re.compile(r"[A-Z0-9][A-Z0-9 ./\-]*[A-Z0-9]", re.I),
    "PATIENT": re.compile(r"[^\d@]+"),
    "DOCTOR": re.compile(r"[^\d@]+"),
    "HOSPITAL": re.compile(r"[^\d@]+"),
    "LOC": re.compile(r"[^@]+"),
    "EMAIL": re.compile(r"[a-z0-9._]+@[a-z0-9.\-]+\.[a-z]{2,}", re.I),
}


def check_record(r, labels):
    text, tags = r["text"], r["ner_tags"]
    assert set(r) >= {"text", "ner_tags", "family", "locale"}
    assert tags == sorted(tags)
    assert len(tags) == len(r["_values"])
    end, prev_label = 0, None
    for (s, e, label), (value, vlabel) in zip(tags, r["_values"]):
        span = text[s:e]
        assert label in labels and label == vlabel
        assert span == value, (span, value)  # exactly the inserted value
        assert s >= end, f"overlap at {s}: {text[max(0, s - 30) : e + 10]!r}"
        if prev_label == label:  # two values of one type are never joined by a single space only
            assert text[end:s] != " ", f"two values run together: {text[end - 20 : e]!r}"
        end, prev_label = e, label
        assert span and span == span.strip() and "\n" not in span
        assert s == 0 or bert_break(text[s - 1]), repr(text[max(0, s - 20) : e])
        assert e == len(text) or bert_break(text[e]), repr(text[s : e + 20])
        assert span[-1].isalnum() and (span[0].isalnum() or span[0] in "+("), span
        assert SHAPES[label].fullmatch(span), (label, span)
    assert tags, r["text"]  # every note has personal data


def min_lines(r):
    return 1 if r["family"] == "record_export" else 2  # a JSON or key-value export may be one line


# ------------------------------------------------------------------------------------------ API, shapes


def test_public_constants():
    assert LABELS == ("AGE", "DATE", "ID", "LOC", "PATIENT", "PHONE")
    assert EXTENDED_LABELS == LABELS + ("DOCTOR", "HOSPITAL", "EMAIL")
    assert len(FAMILIES) >= 12 and len(set(FAMILIES)) == len(FAMILIES)
    assert len(LOCALES) >= 10 and len(set(LOCALES)) == len(LOCALES)
    for name in FAMILIES + tuple(LOCALES):
        assert f"`{name}`" in notes.__doc__ or name in notes.__doc__


@pytest.mark.parametrize("family", FAMILIES)
def test_each_family_alone_has_exact_spans_on_word_boundaries(family):
    for label_set, labels, n in (("default", LABELS, 40), ("extended", EXTENDED_LABELS, 25)):
        for r in records(n, seed=5, families=[family], label_set=label_set):
            assert r["family"] == family
            check_record(r, labels)


@pytest.mark.parametrize("locale", LOCALES)
def test_each_locale_alone(locale):
    seen = Counter()
    for r in records(40, seed=6, locales=[locale], label_set="extended"):
        assert r["locale"] == locale
        check_record(r, EXTENDED_LABELS)
        seen.update(label for _, _, label in r["ner_tags"])
    assert {"PATIENT", "DATE", "PHONE", "LOC", "ID", "AGE"} <= set(seen)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    seed=st.integers(min_value=0, max_value=2**64),
    label_set=st.sampled_from(["default", "extended"]),
    n=st.integers(min_value=1, max_value=6),
)
def test_property_any_seed_gives_valid_records(seed, label_set, n):
    labels = LABELS if label_set == "default" else EXTENDED_LABELS
    for r in records(n, seed, label_set=label_set):
        check_record(r, labels)
        assert r["family"] in FAMILIES and r["locale"] in LOCALES
        assert min_lines(r) <= r["text"].count("\n") + 1 <= 45


# ------------------------------------------------------------------------------------------------ variety


@pytest.fixture(scope="module")
def corpus():
    return records(400, seed=11)


def spans_by_label(recs):
    out = defaultdict(list)
    for r in recs:
        for s, e, label in r["ner_tags"]:
            out[label].append((r["text"], s, e))
    return out


def test_every_phi_type_in_many_surface_forms(corpus):
    by = spans_by_label(corpus)
    text_of = {label: [t[s:e] for t, s, e in items] for label, items in by.items()}

    def count(label, pattern, where="span"):
        rx = re.compile(pattern)
        if where == "span":
            return sum(bool(rx.search(v)) for v in text_of[label])
        if where == "before":
            return sum(bool(rx.search(t[max(0, s - 12) : s])) for t, s, e in by[label])
        return sum(bool(rx.match(t[e : e + 12])) for t, s, e in by[label])

    dates = {
        "iso": r"^\d{4}-\d\d-\d\d$",
        "dotted": r"^\d{1,2}\.\d{1,2}\.\d{2,4}$",
        "slashed": r"^\d{1,2}/\d{1,2}/\d{2,4}$",
        "dashed": r"^\d\d-\d\d-\d{4}$",
        "month name": r"[A-Za-z]{3}",
        "localised month": r"(?i)(März|mars|mai|juni|"
        r"maaliskuuta|stycznia|lutego|de \w+ de|oktober|januar|augusti|maart|giugno|dicembre)",
        "weekday": r"(?i)(monday|tuesday|wednesday|thursday|friday|saturday|sunday|mon|tue|wed|thu|fri|sat|sun)\b",
        "two-digit year": r"^\d{1,2}[./]\d{1,2}[./]\d\d$",
        "compact": r"^\d{8}$",
    }
    for what, pattern in dates.items():
        assert count("DATE", pattern) >= 3, what
    assert count("AGE", r"^ (y|yo|y/o|yrs|years)\b", "after") >= 5
    assert count("AGE", r"^-year-old", "after") >= 5
    assert count("AGE", r"(aged|age|Age) $", "before") >= 5
    assert count("AGE", r"^ (år|Jahre|ans|años|anni|lat|anos|vuotta|jaar)\b", "after") >= 2
    assert count("AGE", r"^[^\w-]|^ [a-z]{4,}|^$", "after") >= 5  # bare numbers
    names = {
        "comma": r"^[^,]+, [^,]+$",
        "initials": r"\b[A-Z]\.",
        "non-ASCII": r"[^\x00-\x7f]",
        "hyphenated": r"\w-\w",
        "ALL CAPS family": r"^[A-ZÀ-Þ' -]{3,}(,| [A-Z][a-z])",
        "three parts": r"^\S+ \S+ \S+$",
        "single name": r"^\w+$",
        "HL7 FAMILY^GIVEN, one span": r"^[^\^\s]+( [^\^\s]+)*\^\S",
    }
    for what, pattern in names.items():
        assert count("PATIENT", pattern) >= 3, what
    assert count("PATIENT", r"(Mr\.?|Mrs\.?|Ms\.?|Herr|Fru|Frau|Mme|Sr\.|Sra\.|Pan|Pani|Dhr\.|Sig\.) $", "before") >= 5
    phones = {
        "international +": r"^\+\d",
        "00 prefix": r"^00\d",
        "extension": r"(?i)(ext|x)\.? ?\d+$",
        "spaced": r"^\+?\d+ \d+ \d+",
        "dashed": r"\d-\d",
        "dotted": r"\d\.\d",
        "parenthesised": r"\(\d+\)",
    }
    for what, pattern in phones.items():
        assert count("PHONE", pattern) >= 3, what
    ids = {"digits only": r"^\d+$", "letters": r"[A-Z]", "separators": r"\d[-/. ]\d", "year based": r"^(20\d\d)-\d+$"}
    for what, pattern in ids.items():
        assert count("ID", pattern) >= 3, what
    assert count("ID", r"(MRN|#) ?$", "before") >= 3
    assert count("LOC", r"^\D+$") >= 20  # cities
    assert count("LOC", r"\d") >= 20  # street addresses, postcode + city
    for label in LABELS:
        assert len(set(text_of[label])) >= 40, label


def test_layouts_are_varied_and_text_is_mostly_clinical(corpus):
    families = Counter(r["family"] for r in corpus)
    assert set(families) == set(FAMILIES)
    lines = Counter()
    phi_chars = total = 0
    for r in corpus:
        n_lines = r["text"].count("\n") + 1
        assert min_lines(r) <= n_lines <= 45, r["text"]
        lines.update(line.strip() for line in r["text"].splitlines() if len(line.strip()) > 60)
        phi_chars += sum(e - s for s, e, _ in r["ner_tags"])
        total += len(r["text"])
    assert phi_chars / total < 0.35
    assert sum(lines.values()) > 500
    assert len(lines) / sum(lines.values()) > 0.97  # long lines hardly ever repeat verbatim
    keys = Counter(m.group(1) for r in corpus for m in re.finditer(r"(?m)^([A-Za-zÀ-ÿ.\- ]{2,22}?) ?[:=-] ", r["text"]))
    assert len(keys) >= 80  # many key spellings, languages and casings
    assert any(k.isupper() for k in keys) and any(k.islower() for k in keys)
    assert sum(bool(re.search(r"(?m)^\|.*\|$", r["text"])) for r in corpus) >= 3  # pipe tables


def test_noise_caps_spaces_and_breaks(corpus):
    texts = [r["text"] for r in corpus]
    assert sum("  " in t for t in texts) >= 20
    assert sum("\n\n" in t for t in texts) >= 20
    caps = 0
    for r in corpus:
        for s, _, label in r["ner_tags"]:
            line = r["text"][r["text"].rfind("\n", 0, s) + 1 :]
            line = line.split("\n", 1)[0]
            caps += label == "PATIENT" and len(line) > 12 and line == line.upper() and any(c.isalpha() for c in line)
    assert caps >= 5
    # a sentence broken across lines: a line ending in a lowercase word, the next starting in lowercase
    assert sum(bool(re.search(r"[a-z,]\n[a-z]", t)) for t in texts) >= 10


def test_noise_never_touches_values_or_boundaries():
    for seed in range(300):
        r = random.Random(seed)
        note = Note(LABELS)
        note.add(
            "Patient information for the admission:",
            V("Mårten Ødegård-Lie", "PATIENT"),
            " was admitted on ",
            V("12.03.2021", "DATE"),
            " with persistent abdominal discomfort,\nnausea and vomiting. Contact ",
            V("+47 22 33 44 55", "PHONE"),
            " (mobile); lives in ",
            V("Lillehammer", "LOC"),
            ".",
        )
        before = [p[0] for p in note.pieces if p[1]]
        noise.typos(note, r, 5)
        noise.spacing(note, r)
        noise.wrap(note, r, r.randint(10, 40))
        noise.break_sentence(note, r)
        assert [p[0] for p in note.pieces if p[1]] == before
        text, spans, values = note.finish()
        for (s, e, _), (value, _) in zip(spans, values):
            assert text[s:e] == value
            assert s == 0 or bert_break(text[s - 1])
            assert e == len(text) or bert_break(text[e])


def test_typos_happen_only_outside_spans():
    r = random.Random(1)
    note = Note(LABELS)
    note.add("Discharge medication reviewed together with the patient ", V("Johansen", "PATIENT"))
    noise.typos(note, r, 3)
    assert note.pieces[0][0] != "Discharge medication reviewed together with the patient "
    assert note.pieces[-1] == ["Johansen", "PATIENT"]


DISTRACTORS = {
    "dose": r"\b\d+(\.\d+)? ?(mg|mcg|mL|IU|g/dL|mmol/L|µmol/L|ng/L)\b",
    "bp": r"\bBP:? \d{2,3}/\d{2,3}\b",
    "hr": r"\b(HR|pulse) \d{2,3}\b",
    "spo2": r"\bSpO2 \d{2,3} ?%",
    "temp": r"\bTemp\.? \d{2}\.\d\b",
    "time": r"(?<![\d.:/-])\d{1,2}:\d{2}(?![\d:])",
    "room": r"\b(Room|room|bed|Bed|Ward) \d+[A-C]?\b",
    "icd": r"\b(" + "|".join(re.escape(c) for c, _ in dx.ICD) + r")\b",
    "pain": r"(?<![\d/])\d{1,2}/10(?![/\d])",  # not the "3/10" of a date "6/3/10"
    "lab": r"\b(Hb|CRP|WBC|INR|Na|K) :?\d+(\.\d+)?\b",
    "disp": r"\bDisp: #\d{2}\b",  # not "Accession #81 65 319 58", where the ID starts after "#"
}


def test_distractors_are_present_and_never_labelled(corpus):
    found = Counter()
    for r in corpus + records(150, seed=12, label_set="extended"):
        text = r["text"]
        covered = set()
        for s, e, _ in r["ner_tags"]:
            covered.update(range(s, e))
            span = text[s:e]
            for name, pattern in DISTRACTORS.items():
                assert not re.fullmatch(pattern, span), (name, span)
            assert not re.fullmatch(r"\d{1,2}[:.]\d{2}", span), span  # a bare time
        for name, pattern in DISTRACTORS.items():
            for m in re.finditer(pattern, text):
                found[name] += 1
                assert not covered & set(range(m.start(), m.end())), (name, m.group(), text)
        for drug in dx.DRUGS:
            i = text.find(drug)
            if i >= 0:
                found["drug"] += 1
                assert not covered & set(range(i, i + len(drug)))
    for name in list(DISTRACTORS) + ["drug"]:
        assert found[name] >= 5, name


# ---------------------------------------------------------------- addresses, numeric key-values, lone places


def note_ctx(locale, seed):
    fake = faker(locale)
    fake.seed_instance(seed)
    return Ctx(random.Random(seed), fake, locale, extended=False)


@pytest.mark.parametrize("locale", LOCALES)
def test_one_line_address_is_one_loc_span_from_street_to_city(locale):
    postcodes = 0
    for seed in range(30):
        ctx = note_ctx(locale, seed)
        p = phi.person(ctx)
        for sep in (", ", "; "):
            note = Note(LABELS)
            note.add("Address: ", phi.address(ctx, p, sep), ".\nTel. ", V(p.phone, "PHONE"))
            text, spans, _ = note.finish()
            (s, e, label), phone = spans
            assert label == "LOC" and phone[2] == "PHONE"
            assert (s, text[e:].split("\n")[0]) == (len("Address: "), "."), text  # street .. city, nothing left out
            assert text[s:e].startswith(p.street + sep) and p.city in text[s + len(p.street) :], text
            postcodes += p.postcode in text[s + len(p.street) :]
        note = Note(LABELS).add(phi.address(ctx, p, "\n"))  # street and city on lines of their own: two spans
        text, spans, _ = note.finish()
        assert [text[s:e] for s, e, _ in spans][0] == p.street and len(spans) == 2
    assert postcodes >= 30


FLAT = re.compile(
    r"(?i)\b(flat|apt|apartment|unit|whg|app|appt|leil|lgh|tr|tv|th|mf|hs|int|lok|m|apto|as)\b\.? ?\w|H0\d{3}|º"
)


def test_addresses_in_families_are_single_spans_and_have_flats(corpus):
    one_line = flats = 0
    for r in corpus:
        text, tags = r["text"], r["ner_tags"]
        for (s1, e1, l1), (s2, e2, l2) in zip(tags, tags[1:]):
            if l1 == l2 == "LOC" and re.fullmatch(r"[,;]? ?", text[e1:s2]):  # "Storgata 5" ", " "0155 Oslo"
                assert not re.search(r"\d", text[s1:e1] + text[s2:e2]), text[s1:e2]
        for s, e, label in tags:
            span = text[s:e]
            if label == "LOC" and re.search(r"\d", span) and re.search(r"[,;] ", span) and "^" not in span:
                one_line += 1
                flats += bool(FLAT.search(span))
    assert one_line >= 40 and flats >= 8, (one_line, flats)


KEYS = (
    r"room|rm|room no|bed|bed no|ward|bay|cubicle|floor|level|weight|wt|body weight|height|ht|bmi|pulse|pulse rate"
    r"|heart rate|hr|bp|b/p|blood pressure|nibp|rr|resp|temp|temperature|t°|spo2|sao2|sats|o2 sat|gcs|pain score|pain"
    r"|vas|nrs|mmse|moca|news2?|mews|ews|dose|dosage|qty|quantity|tablets|packs|plt|platelets|wbc|urine output"
    r"|fluid balance|intake|output|uo|page|ta|bt|fc|pa|puls|pols|peso|vekt|vikt|vægt|gewicht|paino|zimmer|seite"
    r"|weightkg|heightcm|heartrate|roomnumber|bedno|painscore|newsscore|floorno"
)
NUM_KV = re.compile(
    rf"(?i)(?<![\w/])({KEYS})(?: \(\w+\))?( ?\.{{2,}}| {{2,}})?(: |:| : | - |=| = |\t|\. |\.: | |\": \"|\|\|)"
    r"(\d+(?:[./]\d+)?)\b"
)


def test_numeric_key_value_distractors_in_every_family_and_never_labelled():
    """ "Room : 292", "WEIGHT - 67", "Bp 174/77", "MMSE 24/30": numbers shaped like ages and IDs after keys that
    are not PHI keys, in most notes of every family, never inside a span."""
    values, seps, cases = Counter(), Counter(), Counter()
    for family in FAMILIES:
        recs = records(60, seed=13, families=[family])
        hits = 0
        for r in recs:
            text = r["text"]
            covered = {i for s, e, _ in r["ner_tags"] for i in range(s, e)}
            found = False
            for m in NUM_KV.finditer(text):
                if covered & set(range(m.start(1), m.end(1))):  # a key-like word inside a name ("Ward" as a surname)
                    continue
                assert not covered & set(range(m.start(4), m.end(4))), (m.group(), text)
                found = True
                values[len(m.group(4).split("/")[0].split(".")[0])] += 1
                seps[m.group(3)] += 1
                key = m.group(1)
                cases["upper" if key.isupper() and len(key) > 3 else "lower" if key.islower() else "other"] += 1
            hits += found
        assert hits >= 0.4 * len(recs), (family, hits)  # tables: about half their notes, the others nearly all
    assert values[2] >= 200 and values[3] + values[4] + values[5] + values[6] >= 100, values  # age- and ID-shaped
    for sep in (": ", " : ", " - ", "=", "\t", ". "):
        assert seps[sep] >= 10, (sep, seps)
    assert min(cases.values()) >= 20 and len(cases) == 3, cases


def test_vitals_keys_in_the_notes_language():
    texts = [r["text"] for r in generate_notes(400, seed=14, locales=["es_ES", "no_NO", "sv_SE", "de_DE"])]
    for key in ("TA", "BT", "RR"):  # blood pressure in es, no/sv, de ("TA 118/72", "BT: 130/80")
        assert sum(bool(re.search(rf"(?i)\b{key}\W{{0,3}}\d{{2,3}}/\d{{2,3}}\b", t)) for t in texts) >= 5, key
    assert sum(bool(re.search(r"(?i)\b(Puls|FC)\W{0,3}\d{2,3}\b", t)) for t in texts) >= 5


PLACE_KEY = re.compile(  # the whole line before the value: "Born in: ", "• Wohnort - ", "Bosted\t", "FROM : "
    r"(?i)[-*•· ]*(born in|place of birth|birthplace|town of birth|residence|from|lives in|domicilio|domicile|bosted|"
    r"wohnort|geburtsort|fødested|födelseort|ort|city|town|kotikunta|woonplaats|ciudad|città|miejscowość|residenza)"
    r"[ .]*[:\t-]? *"
)


def test_lone_city_after_a_key_is_loc_in_several_families():
    families = Counter()
    for r in records(700, seed=15):
        text = r["text"]
        for s, e, label in r["ner_tags"]:
            line_start = text.rfind("\n", 0, s) + 1
            line_end = text.find("\n", e) if "\n" in text[e:] else len(text)
            if PLACE_KEY.fullmatch(text[line_start:s]) and not text[e:line_end].strip():
                assert label == "LOC", (text[line_start:line_end], label)
                families[r["family"]] += 1
    assert len([f for f, n in families.items() if n >= 3]) >= 5, families


# -------------------------------------------------------------------------------- determinism, filters, sets


def test_same_seed_same_notes_and_prefix_stable():
    a = generate_notes(30, seed=3)
    assert a == generate_notes(30, seed=3)
    assert generate_notes(10, seed=3) == a[:10]
    assert generate_notes(30, seed=4) != a
    assert len({r["text"] for r in a}) == 30
    ext = generate_notes(10, seed=3, families=["table", "message"], locales=["de_DE"], label_set="extended")
    assert ext == generate_notes(10, seed=3, families=["message", "table"], locales="de_DE", label_set="extended")


def test_same_seed_same_notes_on_another_day(monkeypatch):
    """Faker counts birth dates back from today in some national numbers (sv_SE, no_NO, fi_FI, pl_PL, de_DE):
    the notes must not, or a seed gives other notes tomorrow. Faker's clocks moved 400 days on."""
    import datetime as real
    import types

    import faker.providers.date_time as faker_dates
    from faker.providers.ssn import fi_FI, no_NO, pl_PL, sv_SE

    locales = ["sv_SE", "no_NO", "fi_FI", "pl_PL", "de_DE"]
    today = generate_notes(60, seed=9, locales=locales)

    class Later(real.datetime):
        @classmethod
        def now(cls, tz=None):
            return real.datetime.now(tz) + real.timedelta(days=400)

    class LaterDate(real.date):
        @classmethod
        def today(cls):
            return real.date.today() + real.timedelta(days=400)

    clock = types.SimpleNamespace(datetime=Later, date=LaterDate, timedelta=real.timedelta)
    for module in (sv_SE, no_NO, fi_FI):
        monkeypatch.setattr(module, "datetime", clock)
    monkeypatch.setattr(pl_PL, "datetime", Later)
    monkeypatch.setattr(faker_dates, "datetime", Later)
    assert generate_notes(60, seed=9, locales=locales) == today
    ids = [r["text"][s:e] for r in today for s, e, label in r["ner_tags"] if label == "ID"]
    assert len(ids) >= 20


def test_results_do_not_depend_on_call_order():
    first = generate_notes(5, seed=8, locales=["fr_FR"])
    generate_notes(20, seed=1, locales=["fr_FR", "pl_PL"])  # moves the cached Faker's state
    assert generate_notes(5, seed=8, locales=["fr_FR"]) == first


def test_filters_are_honoured():
    recs = generate_notes(60, seed=2, families=["kv_form", "lab_report"], locales=["sv_SE", "en_IN"])
    assert {r["family"] for r in recs} == {"kv_form", "lab_report"}
    assert {r["locale"] for r in recs} == {"sv_SE", "en_IN"}
    assert {r["family"] for r in generate_notes(5, seed=2, families="table")} == {"table"}


@pytest.mark.parametrize(
    "kwargs, name",
    [
        ({"families": ["kv_form", "sonnet"]}, "sonnet"),
        ({"locales": ["nb_NO"]}, "nb_NO"),
        ({"label_set": "i2b2"}, "i2b2"),
    ],
)
def test_unknown_names_raise_value_error_naming_them(kwargs, name):
    with pytest.raises(ValueError) as err:
        generate_notes(3, **kwargs)
    assert repr(name) in str(err.value)
    known = FAMILIES if "families" in kwargs else LOCALES if "locales" in kwargs else ("default", "extended")
    assert all(k in str(err.value) for k in known)


def test_extended_label_set_labels_staff_hospitals_and_email_and_default_never_writes_them():
    ext = records(300, seed=21, label_set="extended")
    seen = Counter(label for r in ext for _, _, label in r["ner_tags"])
    for label in ("DOCTOR", "HOSPITAL", "EMAIL"):
        assert seen[label] >= 20, label
    for r in ext:
        check_record(r, EXTENDED_LABELS)
        for s, e, label in r["ner_tags"]:
            if label == "DOCTOR":
                assert not r["text"][s:e].startswith(("Dr", "MD")), r["text"][s:e]
    default = generate_notes(300, seed=21)
    for r in default:
        assert {label for _, _, label in r["ner_tags"]} <= set(LABELS)
        assert "@" not in r["text"]
        assert not re.search(r"\bDr\.? [A-Z]", r["text"]), r["text"]


def test_package_is_pure_python_and_fast():
    allowed = {"__future__", "random", "re", "unicodedata", "dataclasses", "datetime", "typing", "faker"}
    for name in os.listdir(PACKAGE_DIR):
        if name.endswith(".py"):
            source = open(os.path.join(PACKAGE_DIR, name), encoding="utf-8").read()
            assert len(source.splitlines()) <= 350, name
            for node in ast.walk(ast.parse(source)):
                if isinstance(node, ast.Import):
                    mods = [a.name for a in node.names]
                elif isinstance(node, ast.ImportFrom):
                    mods = [node.module]
                else:
                    continue
                for mod in mods:
                    assert mod.startswith("tfner.data.notes") or mod.split(".")[0] in allowed, (name, mod)
    start = time.perf_counter()
    generate_notes(1000, seed=0)
    assert time.perf_counter() - start < 10


def test_fresh_process_gives_the_same_notes_without_tensorflow():
    code = (
        "import hashlib, json, sys; from tfner.data.notes import generate_notes; "
        "r = generate_notes(40, seed=9, label_set='extended'); "
        "print(hashlib.sha256(json.dumps(r).encode()).hexdigest(), 'tensorflow' in sys.modules)"
    )
    env = {**os.environ, "PYTHONHASHSEED": "123", "PYTHONPATH": ROOT}
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=120, cwd=ROOT)
    assert out.returncode == 0, out.stderr
    digest, tf_loaded = out.stdout.split()
    here = hashlib.sha256(json.dumps(generate_notes(40, seed=9, label_set="extended")).encode()).hexdigest()
    assert digest == here
    assert tf_loaded == "False"


# ---------------------------------------------------------------- other origins, periods


def non_ascii_spans(recs, label):
    return sum(not r["text"][s:e].isascii() for r in recs for s, e, lab in r["ner_tags"] if lab == label)


def test_foreign_share_brings_names_places_and_months_of_other_origins():
    """en_US notes write ASCII names and cities and English months; with `foreign` a share of patients'
    names, of birthplaces and of month-name dates come from ORIGINS, and with foreign=0 none does."""
    from tfner.data.notes.formats import _names_of
    from tfner.data.notes.lang import DATE_ORIGINS

    months = set()
    for locale in DATE_ORIGINS:
        months |= {
            m.lower()
            for m in next(p for p in faker(locale).providers if hasattr(p, "MONTH_NAMES")).MONTH_NAMES.values()
        }
    months -= {m.lower() for names in MONTHS.values() for m in names}  # "August", "November"...

    def foreign_months(recs):
        words = (
            w.lower() for r in recs for s, e, lab in r["ner_tags"] if lab == "DATE" for w in r["text"][s:e].split()
        )
        return sum(w in months for w in words)

    local = records(200, seed=31, locales=["en_US"], foreign=0.0)
    mixed = records(200, seed=31, locales=["en_US"], foreign=1.0)
    assert non_ascii_spans(local, "PATIENT") == non_ascii_spans(local, "LOC") == foreign_months(local) == 0
    assert non_ascii_spans(mixed, "PATIENT") >= 40 and non_ascii_spans(mixed, "LOC") >= 10, "names and places"
    assert foreign_months(mixed) >= 5
    d = datetime.date(2021, 3, 4)
    assert _names_of(faker("cs_CZ"), d) == ("březen", "čtvrtek")  # Thursday
    default = records(300, seed=32, locales=["en_US"])
    assert 0 < non_ascii_spans(default, "PATIENT") < non_ascii_spans(mixed, "PATIENT")


def test_foreign_zero_draws_nothing_and_origins_are_other_locales():
    ctx = note_ctx("fi_FI", 3)
    state = ctx.rng.getstate()
    assert ctx.foreign_faker(ORIGINS) is None and ctx.rng.getstate() == state  # foreign=0: notes as before
    ctx.foreign = 1.0
    assert ctx.foreign_faker(ORIGINS).locales[0] in ORIGINS
    languages = {lang for lang, *_ in LOCALE_INFO.values()}
    assert not set(ORIGINS) & set(LOCALES)
    assert not {o.split("_")[0] for o in ORIGINS if not o.startswith("en_")} & languages
    with pytest.raises(ValueError, match="foreign"):
        generate_notes(2, foreign=1.5)


def test_periods_are_two_date_spans_with_the_joiner_outside():
    joined = Counter()
    for r in records(300, seed=33, families=["admission_note", "referral_letter", "bullet_summary", "prescription"]):
        text, spans = r["text"], r["ner_tags"]
        for (s1, e1, l1), (s2, e2, l2) in zip(spans, spans[1:]):
            between = text[e1:s2]
            if l1 == l2 == "DATE" and between.strip() in (
                "to",
                "-",
                "–",
                "until",
                "through",
                "bis",
                "au",
                "al",
                "a",
                "tot",
                "til",
                "till",
                "do",
            ):
                joined[r["family"]] += 1
                assert text[s1:e1].strip() == text[s1:e1] and text[s2:e2].strip() == text[s2:e2]
    assert len(joined) == 4 and min(joined.values()) >= 5, joined


def test_postal_block_is_a_name_line_then_street_and_city_lines():
    """Letters and prescriptions end now and then with the patient's postal block: a PATIENT span that is its
    line (after an optional title), then a street line and a postcode + city line, each one LOC span."""
    found = Counter()
    for r in records(300, seed=34, families=["discharge_letter", "referral_letter", "prescription"]):
        text, spans = r["text"], r["ner_tags"]
        for (s1, e1, l1), (s2, e2, l2), (s3, e3, l3) in zip(spans, spans[1:], spans[2:]):
            if (l1, l2, l3) == ("PATIENT", "LOC", "LOC") and text[e1:s2] == "\n" and text[e2:s3] == "\n":
                assert e3 == len(text) or text[e3] == "\n", text[s1:]
                found[r["family"]] += 1
    assert len(found) == 3 and min(found.values()) >= 10, found


def test_patients_from_elsewhere_sometimes_have_their_languages_titles_outside_the_span():
    titles = {t for pair in ORIGIN_TITLES.values() for side in pair for t in side}
    before = Counter()
    for r in records(300, seed=35, locales=["en_GB"], foreign=1.0):
        for s, e, label in r["ner_tags"]:
            if label == "PATIENT":
                word = r["text"][:s].rstrip(" ").rsplit(None, 1)[-1:]
                assert not any(r["text"][s:e].startswith(t + " ") for t in titles if len(t) > 3), r["text"][s:e]
                before.update(w for w in word if w in titles)
    assert len(before) >= 6, before
