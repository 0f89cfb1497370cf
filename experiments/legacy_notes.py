"""The embedded default dataset: synthetic clinical notes with personal data marked.

`generate_notes(n, seed)` writes notes such as

    givenName: Marlon familyName: Furu age: 41 phoneNumber: 004777116631
    city: Tveitsund birthDate: January 01. 1982 socialSecurityNumber: 98430148234

or "Mr. Furu, a 41-year-old man from Tveitsund, was admitted on 03/12/2021 ..."
in the span form read by `tfner.data.read_span_jsonl`, with the labels in
`LABELS`. Layouts (one-line and multi-line key-value records, prose, both
mixed), key names, and date, phone and ID formats vary, and clinical
distractors ("5 mg", "10:30", "BP 130/85") make sure not every number is an
entity. Every span starts and ends on a word/punctuation boundary, so it maps
exactly onto BERT WordPiece tokens.

Everything comes from one seeded `random.Random`: the same seed gives the same
notes, and nothing is read from disk.
"""

from __future__ import annotations

import json
import os
import random
import string
from dataclasses import dataclass

from tfner.data.readers import Corpus, Document

__all__ = ["LABELS", "generate_notes", "clinical_notes", "write_jsonl"]

LABELS = ("AGE", "DATE", "ID", "LOC", "PATIENT", "PHONE")

# --------------------------------------------------------------------------
# Name and place pools: a few hundred parts, so that a test set drawn with
# another seed holds many names the training set never saw.

MALE_NAMES = (
    "Marlon", "Ola", "Jakob", "Lukas", "Henrik", "Eirik", "Magnus", "Aksel", "Filip", "Oskar",
    "Torbjørn", "Bjørn", "Håkon", "Øystein", "Gunnar", "Halvor", "Kristian", "Mathias", "Sander",
    "Jonas", "Emil", "William", "Noah", "Liam", "Lucas", "Omar", "Yusuf", "Mohammed", "Ahmed",
    "Hassan", "Ravi", "Arjun", "Wei", "Hiroshi", "Kenji", "Carlos", "José", "Diego", "Mateo",
    "Pierre", "Louis", "Hans", "Klaus", "Piotr", "Tomasz", "Ivan", "Dmitri", "Sean", "Patrick",
    "James", "John", "Robert", "Michael", "David", "Daniel", "Peter", "Thomas", "George", "Arne",
    "Knut", "Leif", "Svein", "Trond", "Vidar", "Yngve", "Øyvind", "Terje", "Petter", "Jan-Erik",
    "Sigurd", "Ivar", "Rolf", "Geir", "Stig", "Odd", "Tor", "Einar", "Kjell", "Per",
)
FEMALE_NAMES = (
    "Ingrid", "Kari", "Nora", "Emma", "Sofie", "Astrid", "Sigrid", "Tuva", "Maja", "Ingeborg",
    "Liv", "Solveig", "Åse", "Ragnhild", "Vilde", "Thea", "Hedda", "Linnea", "Selma", "Ida",
    "Frida", "Olivia", "Amelia", "Mia", "Ella", "Leah", "Aisha", "Fatima", "Layla", "Zainab",
    "Priya", "Anika", "Mei", "Yuki", "Sakura", "Maria", "Lucia", "Sofia", "Valentina", "Camille",
    "Chloé", "Greta", "Anna", "Agnieszka", "Olga", "Natalia", "Elena", "Siobhan", "Aoife", "Mary",
    "Linda", "Susan", "Karen", "Sarah", "Laura", "Helen", "Grace", "Alice", "Berit", "Gro",
    "Jorunn", "Randi", "Unni", "Wenche", "Marit", "Siri", "Synnøve", "Anne-Lise", "Mari-Ann",
    "Hilde", "Tone", "Eva", "Heidi", "Bente", "Turid", "Gunhild", "Oda", "Marte", "June",
)
FAMILY_NAMES = (
    "Furu", "Hansen", "Johansen", "Olsen", "Larsen", "Andersen", "Pedersen", "Nilsen",
    "Kristiansen", "Jensen", "Karlsen", "Johnsen", "Pettersen", "Eriksen", "Berg", "Haugen",
    "Hagen", "Johannessen", "Andreassen", "Jacobsen", "Dahl", "Jørgensen", "Halvorsen",
    "Henriksen", "Lund", "Sørensen", "Moen", "Gundersen", "Iversen", "Strand", "Solberg",
    "Svendsen", "Eide", "Knutsen", "Martinsen", "Paulsen", "Bakken", "Kristoffersen", "Mathisen",
    "Lie", "Amundsen", "Rasmussen", "Lunde", "Solheim", "Berge", "Moe", "Nygård", "Bakke",
    "Fredriksen", "Holm", "Lien", "Hauge", "Christensen", "Nielsen", "Knudsen", "Evensen",
    "Sæther", "Aas", "Myhre", "Haugland", "Thomassen", "Sivertsen", "Simonsen", "Danielsen",
    "Berntsen", "Sandvik", "Rønning", "Arnesen", "Antonsen", "Næss", "Vik", "Haug", "Ellingsen",
    "Thorsen", "Birkeland", "Isaksen", "Gulbrandsen", "Ruud", "Aasen", "Strøm", "Myklebust",
    "Tangen", "Ødegård", "Eliassen", "Helland", "Bøe", "Aune", "Mikkelsen", "Tveit", "Brekke",
    "Abrahamsen", "Madsen", "Smith", "Johnson", "Williams", "Brown", "Jones", "Garcia", "Miller",
    "Davis", "Rodriguez", "Martinez", "Hernandez", "Lopez", "Gonzalez", "Wilson", "Taylor",
    "Moore", "Jackson", "Martin", "Lee", "Perez", "Thompson", "White", "Harris", "Clark",
    "Lewis", "Robinson", "Walker", "Young", "Allen", "King", "Wright", "Scott", "Torres", "Hill",
    "Müller", "Schmidt", "Schneider", "Fischer", "Weber", "Kowalski", "Nowak", "Ivanova",
    "Petrov", "Kim", "Park", "Chen", "Wang", "Zhang", "Tanaka", "Suzuki", "Sato", "Singh",
    "Patel", "Kumar", "Khan", "Hussain", "Nguyen", "Ali", "O'Brien", "McCarthy", "Dubois",
    "Laurent", "Rossi", "Russo", "Bianchi", "van Dijk", "de Jong", "Lindqvist", "Bergström",
)
PLACES = (
    "Tveitsund", "Nord Fron", "Oslo", "Bergen", "Trondheim", "Stavanger", "Tromsø", "Bodø",
    "Ålesund", "Kristiansand", "Drammen", "Fredrikstad", "Sandnes", "Sarpsborg", "Skien", "Hamar",
    "Lillehammer", "Molde", "Harstad", "Narvik", "Alta", "Hammerfest", "Kirkenes", "Vadsø",
    "Gjøvik", "Kongsberg", "Larvik", "Tønsberg", "Sandefjord", "Arendal", "Grimstad", "Mandal",
    "Flekkefjord", "Egersund", "Haugesund", "Stord", "Odda", "Voss", "Førde", "Florø", "Sogndal",
    "Lærdal", "Ørsta", "Volda", "Kristiansund", "Sunndalsøra", "Steinkjer", "Namsos", "Levanger",
    "Stjørdal", "Røros", "Oppdal", "Elverum", "Kongsvinger", "Jessheim", "Lillestrøm", "Moss",
    "Halden", "Hønefoss", "Notodden", "Rjukan", "Kragerø", "Risør", "Mo i Rana", "Mosjøen",
    "Sandnessjøen", "Brønnøysund", "Svolvær", "Leknes", "Sortland", "Finnsnes", "Lakselv",
    "Karasjok", "Kautokeino", "Nord Aurdal", "Sør Fron", "Øvre Eiker", "Nedre Eiker",
    "Vestre Toten", "Østre Toten", "Vågå", "Dombås", "Otta", "Fagernes", "Geilo", "Nesbyen",
    "Stockholm", "Gothenburg", "Malmö", "Uppsala", "Copenhagen", "Aarhus", "Odense", "Helsinki",
    "Tampere", "Turku", "Reykjavik", "Hamburg", "Berlin", "Munich", "Cologne", "Amsterdam",
    "Rotterdam", "Utrecht", "Brussels", "Antwerp", "Paris", "Lyon", "Marseille", "Madrid",
    "Barcelona", "Seville", "Lisbon", "Porto", "Rome", "Milan", "Naples", "Vienna", "Zurich",
    "Geneva", "Prague", "Warsaw", "Krakow", "Budapest", "Dublin", "Cork", "London", "Manchester",
    "Leeds", "Glasgow", "Edinburgh", "Cardiff", "New York", "Boston", "Chicago", "San Diego",
    "Los Angeles", "Seattle", "Denver", "Austin", "Toronto", "Vancouver", "Sydney", "Melbourne",
    "Auckland", "Cape Town", "Nairobi", "Lagos", "Cairo", "Mumbai", "Delhi", "Karachi", "Dhaka",
    "Manila", "Hanoi", "Bangkok", "Seoul", "Tokyo", "Osaka",
)

MONTHS = (
    "January", "February", "March", "April", "May", "June", "July", "August", "September",
    "October", "November", "December",
)
DEPARTMENTS = (
    "Cardiology", "Neurology", "Orthopedics", "Gastroenterology", "Oncology", "Pulmonology",
    "Endocrinology", "Nephrology", "Geriatrics", "Internal Medicine", "Emergency Medicine",
    "Rheumatology", "Dermatology", "Urology",
)
COMPLAINTS = (
    "chest pain", "shortness of breath", "abdominal pain", "fever and cough", "dizziness",
    "a fall at home", "back pain", "palpitations", "headache and nausea", "a swollen left knee",
    "reduced appetite", "confusion", "a productive cough", "syncope",
)
DRUGS = (
    "metoprolol", "paracetamol", "ibuprofen", "amoxicillin", "metformin", "atorvastatin",
    "furosemide", "apixaban", "omeprazole", "prednisolone", "salbutamol", "lisinopril",
)
UNITS = ("mg", "mg", "mg", "g", "mcg")
HEADERS = (
    "PATIENT RECORD", "Discharge summary", "Admission note", "Referral", "Outpatient visit",
    "Emergency department note", "Progress note", "Clinical summary",
)

# Key names per field, as found in exported records and hand-written notes.
KEYS = {
    "given": ("givenName", "First name", "Given name", "Forename"),
    "family": ("familyName", "Last name", "Surname", "Family name"),
    "full": ("Name", "Patient", "Patient name", "Full name"),
    "age": ("age", "Age", "Age (years)", "Alder"),
    "phone": ("phoneNumber", "Tel.", "Phone", "Mobile", "Contact no."),
    "city": ("city", "City", "Residence", "Hometown", "Municipality"),
    "dob": ("birthDate", "DOB", "Date of birth", "Born"),
    "visit": ("Admitted", "Admission date", "Date of visit", "Visit date", "Seen"),
    "ssn": ("socialSecurityNumber", "SSN", "National ID", "Personal number"),
    "mrn": ("MRN", "Medical record no.", "Patient ID", "Record ID"),
}
SEPARATORS = (": ", ": ", ": ", " : ", " = ", " - ")


# --------------------------------------------------------------------------
# Value formats


def _date(rng: random.Random, year: int, month: int, day: int) -> str:
    m = MONTHS[month - 1]
    return rng.choice(
        (
            f"{m} {day:02d}. {year}",
            f"{year}-{month:02d}-{day:02d}",
            f"{day:02d}/{month:02d}/{year}",
            f"{day} {m} {year}",
            f"{day:02d}.{month:02d}.{year}",
            f"{m} {day}, {year}",
            f"{day} {m[:3]} {year}",
        )
    )


def _phone(rng: random.Random) -> str:
    d = lambda k: "".join(rng.choice(string.digits) for _ in range(k))  # noqa: E731
    mobile = rng.choice("49") + d(7)
    return rng.choice(
        (
            f"0047{mobile}",
            f"+47 {mobile[:3]} {mobile[3:5]} {mobile[5:]}",
            f"+47 {mobile}",
            f"{mobile[:3]} {mobile[3:5]} {mobile[5:]}",
            f"({rng.randint(201, 989)}) {d(3)}-{d(4)}",
            f"{rng.randint(201, 989)}-{d(3)}-{d(4)}",
            f"+1 {rng.randint(201, 989)} {d(3)} {d(4)}",
        )
    )


def _ssn(rng: random.Random) -> str:
    return "".join(rng.choice(string.digits) for _ in range(11))


def _mrn(rng: random.Random) -> str:
    if rng.random() < 0.35:
        letters = "".join(rng.choice(string.ascii_uppercase) for _ in range(2))
        return f"{letters}-{rng.randint(10000, 99999)}"
    return str(rng.randint(10**5, 10**8 - 1))


def _time(rng: random.Random) -> str:
    return f"{rng.randint(0, 23):02d}:{rng.randint(0, 11) * 5:02d}"


def _bp(rng: random.Random) -> tuple[str, None]:
    systolic = rng.randint(95, 175)
    return f"{systolic}/{rng.randint(55, min(105, systolic - 25))}", None


def _dose(rng: random.Random) -> str:
    unit = rng.choice(UNITS)
    amount = rng.choice((1, 2, 5, 10, 20, 25, 40, 50, 100, 250, 500)) if unit != "g" else rng.choice((1, 2))
    return f"{rng.choice(DRUGS)} {amount} {unit}"


# --------------------------------------------------------------------------
# Building notes with their spans


class _Note:
    """Text under construction; entity pieces record their spans as they are added."""

    def __init__(self):
        self.parts: list[str] = []
        self.spans: list[list] = []
        self.length = 0

    def add(self, s: str) -> None:
        self.parts.append(s)
        self.length += len(s)

    def ent(self, s: str, label: str) -> None:
        self.spans.append([self.length, self.length + len(s), label])
        self.add(s)

    def record(self) -> dict:
        return {"text": "".join(self.parts), "ner_tags": self.spans}


@dataclass
class _Patient:
    """One made-up person; each mention in a note is formatted anew from these facts."""

    male: bool
    given: str
    family: str
    age: int
    city: str
    birth: tuple[int, int, int]
    visit: tuple[int, int, int]
    phone: str
    ssn: str
    mrn: str

    @property
    def full(self) -> str:
        return f"{self.given} {self.family}"


def _patient(rng: random.Random) -> _Patient:
    male = rng.random() < 0.5
    age = rng.randint(1, 99)
    visit = (rng.randint(2015, 2024), rng.randint(1, 12), rng.randint(1, 28))
    birth = (visit[0] - age, rng.randint(1, 12), rng.randint(1, 28))
    return _Patient(
        male=male,
        given=rng.choice(MALE_NAMES if male else FEMALE_NAMES),
        family=rng.choice(FAMILY_NAMES),
        age=age,
        city=rng.choice(PLACES),
        birth=birth,
        visit=visit,
        phone=_phone(rng),
        ssn=_ssn(rng),
        mrn=_mrn(rng),
    )


def _slots(rng: random.Random, p: _Patient) -> dict:
    """Slot name -> function giving (text, label or None) for one mention."""
    m = p.male
    return {
        "given": lambda: (p.given, "PATIENT"),
        "family": lambda: (p.family, "PATIENT"),
        "full": lambda: (p.full, "PATIENT"),
        "age": lambda: (str(p.age), "AGE"),
        "city": lambda: (p.city, "LOC"),
        "city2": lambda: (rng.choice(PLACES), "LOC"),
        "dob": lambda: (_date(rng, *p.birth), "DATE"),
        "visit": lambda: (_date(rng, *p.visit), "DATE"),
        "phone": lambda: (p.phone, "PHONE"),
        "ssn": lambda: (p.ssn, "ID"),
        "mrn": lambda: (p.mrn, "ID"),
        "title": lambda: (rng.choice(("Mr.", "Mr")) if m else rng.choice(("Mrs.", "Ms.", "Ms")), None),
        "man": lambda: (rng.choice(("man", "male")) if m else rng.choice(("woman", "female")), None),
        "He": lambda: ("He" if m else "She", None),
        "he": lambda: ("he" if m else "she", None),
        "His": lambda: ("His" if m else "Her", None),
        "his": lambda: ("his" if m else "her", None),
        "complaint": lambda: (rng.choice(COMPLAINTS), None),
        "dept": lambda: (rng.choice(DEPARTMENTS), None),
        "dose": lambda: (_dose(rng), None),
        "Dose": lambda: (_dose(rng).capitalize(), None),
        "time": lambda: (_time(rng), None),
        "n": lambda: (str(rng.randint(2, 14)), None),
        "bp": lambda: _bp(rng),
        "pulse": lambda: (str(rng.randint(48, 130)), None),
        "temp": lambda: (f"{rng.randint(36, 39)}.{rng.randint(0, 9)}", None),
        "hb": lambda: (f"{rng.randint(8, 17)}.{rng.randint(0, 9)}", None),
        "room": lambda: (str(rng.randint(100, 450)), None),
    }


# Prose sentences; {slot} fields are filled from `_slots`. Sentences that
# mention personal data:
PHI_SENTENCES = (
    "{title} {family}, a {age}-year-old {man} from {city}, was admitted on {visit} with {complaint}.",
    "{full} ({age} years) was seen in the {dept} outpatient clinic on {visit}.",
    "Patient {full}, born {dob}, lives in {city}.",
    "Contact the patient at {phone}.",
    "{He} can be reached on {phone} or through {his} daughter.",
    "{His} national ID number is {ssn}.",
    "MRN {mrn}.",
    "The patient, {given}, reports {complaint} since {visit}.",
    "{title} {family} is {age} years old and lives alone in {city}.",
    "Referred from {city2} on {visit} for further workup.",
    "{given} {family} was transferred to {city2} on {visit}.",
    "This {age}-year-old {man} presented to the emergency department in {city} with {complaint}.",
    "{title} {family} was born on {dob} and is followed at the {dept} clinic.",
    "Next of kin can be contacted at {phone}.",
    "Record {mrn} was updated on {visit}.",
    "{given} is a {age} y.o. {man} with a history of {complaint}.",
    "On {visit}, {title} {family} was discharged home to {city}.",
)
# ... and distractors, with numbers that are not entities.
OTHER_SENTENCES = (
    "Blood pressure was {bp} and pulse {pulse}.",
    "{He} was given {dose} at {time}.",
    "{Dose} twice daily was started.",
    "Follow-up in the {dept} clinic in {n} weeks.",
    "ECG at {time} showed sinus rhythm at {pulse} bpm.",
    "Temperature {temp} on arrival.",
    "CT of the head at {time} was normal.",
    "Transferred to room {room} at {time}.",
    "Continue {dose} for {n} days.",
    "No known drug allergies.",
    "{He} denies smoking and drinks alcohol occasionally.",
    "Discharged in stable condition.",
    "Lab results: CRP {n} mg/L, hemoglobin {hb} g/dL.",
)

_FORMATTER = string.Formatter()


def _render(note: _Note, template: str, slots: dict) -> None:
    for literal, name, _, _ in _FORMATTER.parse(template):
        note.add(literal)
        if name is not None:
            text, label = slots[name]()
            if label:
                note.ent(text, label)
            else:
                note.add(text)


# Key-value fields; the value slot of each field.
KV_FIELDS = ("age", "phone", "city", "dob", "ssn", "mrn", "visit")
OTHER_FIELDS = (
    ("Department", "{dept}"),
    ("Ward", "{n}B"),
    ("Medication", "{dose}"),
    ("Time", "{time}"),
    ("BP", "{bp}"),
    ("Pulse", "{pulse}"),
    ("Temp.", "{temp}"),
    ("Room", "{room}"),
    ("Complaint", "{complaint}"),
    ("Allergies", "none"),
)


def _key_values(rng: random.Random, p: _Patient, slots: dict) -> list[str]:
    """Templates for "key: value" fields about `p`, in a random order and selection."""
    sep = rng.choice(SEPARATORS)
    fields = []
    if rng.random() < 0.5:
        fields.append(f"{rng.choice(KEYS['given'])}{sep}{{given}}")
        fields.append(f"{rng.choice(KEYS['family'])}{sep}{{family}}")
    else:
        fields.append(f"{rng.choice(KEYS['full'])}{sep}{{full}}")
    chosen = rng.sample(KV_FIELDS, rng.randint(4, len(KV_FIELDS)))
    fields += [f"{rng.choice(KEYS[f])}{sep}{{{f}}}" for f in chosen]
    for key, value in rng.sample(OTHER_FIELDS, rng.randint(1, 4)):
        fields.append(f"{key}{sep}{value}")
    if rng.random() < 0.6:  # a record in export order keeps the name first
        head, rest = fields[:1], fields[1:]
        rng.shuffle(rest)
        fields = head + rest
    else:
        rng.shuffle(fields)
    return fields


def _prose(rng: random.Random, n_phi: int, n_other: int) -> list[str]:
    sentences = rng.sample(PHI_SENTENCES, n_phi) + rng.sample(OTHER_SENTENCES, n_other)
    first, rest = sentences[0], sentences[1:]  # open with personal data, as notes usually do
    rng.shuffle(rest)
    return [first] + rest


def _one_note(rng: random.Random) -> dict:
    p = _patient(rng)
    slots = _slots(rng, p)
    note = _Note()
    layout = rng.choice(("kv_line", "kv_lines", "prose", "mixed"))
    if layout == "kv_line":
        joiner = rng.choice((" ", " ", " | ", "; ", ", "))
        _render(note, joiner.join(_key_values(rng, p, slots)), slots)
    elif layout == "kv_lines":
        header = rng.choice(HEADERS) + "\n" if rng.random() < 0.6 else ""
        body = "\n".join(_key_values(rng, p, slots))
        tail = "\n" + rng.choice(OTHER_SENTENCES) if rng.random() < 0.4 else ""
        _render(note, header + body + tail, slots)
    elif layout == "prose":
        _render(note, " ".join(_prose(rng, rng.randint(2, 4), rng.randint(1, 3))), slots)
    else:
        fields = _key_values(rng, p, slots)[: rng.randint(2, 4)]
        prose = " ".join(_prose(rng, rng.randint(1, 3), rng.randint(1, 2)))
        _render(note, "\n".join(fields) + rng.choice(("\n\n", "\n")) + prose, slots)
    return note.record()


# --------------------------------------------------------------------------
# Public API


def generate_notes(n: int, seed: int = 0) -> list[dict]:
    """`n` synthetic notes as JSON-ready {"text": str, "ner_tags": [[start, end, label], ...]}.

    Deterministic: the same (n, seed) always gives the same notes, and the
    first k notes for a seed do not depend on n.
    """
    rng = random.Random(seed)
    return [_one_note(rng) for _ in range(n)]


def _corpus(records: list[dict], split: str, seed: int) -> Corpus:
    docs = [
        Document(
            text=r["text"],
            spans=[(s, e, label) for s, e, label in r["ner_tags"]],
            origin=f"synthetic:{split}:record {i}",
        )
        for i, r in enumerate(records, start=1)
    ]
    return Corpus(documents=docs, source=f"synthetic clinical notes ({split}, seed {seed})")


def clinical_notes(n_train: int = 1000, n_test: int = 100, seed: int = 0) -> tuple[Corpus, Corpus]:
    """Train and test corpora of synthetic notes, drawn with different seeds.

    Train uses seed 2*seed and test 2*seed+1, so no two `seed` values share a
    stream; test notes whose text also occurs in train are dropped and
    replaced, so the two are disjoint record-wise.
    """
    train = generate_notes(n_train, seed=2 * seed)
    seen = {r["text"] for r in train}
    rng = random.Random(2 * seed + 1)
    test: list[dict] = []
    while len(test) < n_test:
        r = _one_note(rng)
        if r["text"] not in seen:
            seen.add(r["text"])
            test.append(r)
    return _corpus(train, "train", seed), _corpus(test, "test", seed)


def write_jsonl(records, path) -> None:
    """Write records (dicts as from `generate_notes`) as UTF-8 JSONL, one per line."""
    parent = os.path.dirname(os.fspath(path))
    if parent:
        os.makedirs(parent, exist_ok=True)
    with open(path, "w", encoding="utf-8") as f:
        for r in records:
            f.write(json.dumps(r, ensure_ascii=False) + "\n")
