"""Form families: key-value forms, tables, bulleted summaries and structured record exports."""

from __future__ import annotations

from tfner.data.notes import clinicians as cl
from tfner.data.notes import distractors as dx
from tfner.data.notes import formats as fmt
from tfner.data.notes import lang, phi
from tfner.data.notes import measures as ms
from tfner.data.notes.blocks import KV, TEAMS, place, staff
from tfner.data.notes.builder import Note, V

_OTHER_FIELDS = (
    ("Ward", lambda r: f"{r.randint(1, 12)}{r.choice('ABCD')}"),
    ("Room", lambda r: f"{r.randint(1, 450)}"),
    ("Bed", lambda r: str(r.randint(1, 30))),
    ("Allergies", lambda r: r.choice(("none known", "penicillin", "NKDA"))),
    ("Diagnosis", dx.icd),
    ("BP", dx.bp),
    ("Pulse", lambda r: str(r.randint(45, 130))),
    ("Blood type", lambda r: r.choice(("A+", "0 Rh-", "B pos", "AB-"))),
    ("Medication", dx.med),
    ("Time", dx.time),
    ("Department", dx.dept),
    ("Weight", lambda r: f"{r.randint(40, 140)} kg"),
    ("Temp.", lambda r: f"{r.randint(36, 39)}.{r.randint(0, 9)}"),
    ("Reason for visit", dx.complaint),
)


def _width(parts) -> int:
    return sum(len(p.text) if isinstance(p, V) else len(p) for p in parts)


def kv_form(note: Note, ctx: phi.Ctx) -> None:
    r = ctx.rng
    p = phi.person(ctx)
    kv = KV(ctx)
    start = note.mark()
    layout = r.random()  # < 0.6: one field per line, < 0.85: two, else all on one line (under a title)
    if r.random() < 0.6 or layout >= 0.85:
        note.line(r.choice(lang.FORM_TITLES[ctx.lang if r.random() < 0.6 else "en"]))
        if r.random() < 0.3:
            note.line(r.choice(("=" * 20, "-" * 30, "")))
    fields: list[tuple[str, list]] = []
    if r.random() < 0.6:
        fields.append(("name", [phi.name(ctx, p)]))
    else:
        fields += [("family", [phi.name(ctx, p, "f")]), ("given", [phi.name(ctx, p, "g")])]
    pool = {
        "dob": lambda: [fmt.date_v(ctx, p.dob)],
        "age": lambda: phi.age_any(ctx, p, form=True),
        "sex": lambda: [phi.sex(ctx, p)],
        "address": lambda: phi.address(ctx, p, r.choice((", ", ", ", "; "))),
        "city": lambda: [phi.city_v(ctx, p)],
        "birthplace": lambda: [phi.city_v(ctx)],
        "phone": lambda: [fmt.phone_v(ctx, p)],
        "natid": lambda: [phi.natid(ctx, p)],
        "mrn": lambda: [phi.mrn(ctx)],
        "admitted": lambda: [fmt.date_v(ctx, ctx.today)],
        "visit": lambda: [fmt.date_v(ctx, ctx.today)],
    }
    if ctx.extended:
        pool.update(
            doctor=lambda: staff(ctx), hospital=lambda: [cl.hospital_v(ctx)], email=lambda: [cl.email_v(ctx, p)]
        )
    for f in r.sample(sorted(pool), r.randint(4, min(9, len(pool)))):
        fields.append((f, pool[f]()))
    others = [(k, [fn(r)]) for k, fn in r.sample(_OTHER_FIELDS, r.randint(1, 5))]
    others += [(ms.key(ctx, f), [ms.value(ctx, f)]) for f in r.sample(ms.FIELDS, r.randint(0, 3))]
    others = list(dict(others).items())  # one field per key
    rest = fields[1:] + others
    r.shuffle(rest)
    fields = fields[:1] + rest if r.random() < 0.7 else r.sample(fields + others, len(fields) + len(others))
    joiner = r.choice((" | ", "; ", "   ", "  ", ", "))
    known = {k for k, _ in others}
    per_line = 1 if layout < 0.6 else (2 if layout < 0.85 else len(fields))
    for i, (field, value) in enumerate(fields):
        key = kv.key(field, field if field in known else None, pad=per_line == 1)
        note.add(key, value)
        note.add("\n" if (i + 1) % per_line == 0 or i == len(fields) - 1 else joiner)
    if r.random() < 0.2:
        note.upper(start)
    if r.random() < 0.4:
        note.line(r.choice(("Comments: ", "Note: ", "Remarks: ", "")), dx.history(r, p.male))
    note.wrap = False


def table(note: Note, ctx: phi.Ctx) -> None:
    """A ward list or clinic schedule: aligned columns, a pipe table or tab-separated rows."""
    r = ctx.rng
    note.line(
        r.choice(
            (
                "Ward list",
                "Bed board",
                f"Patient list - {r.choice(TEAMS)}",
                "Outpatient schedule",
                "Handover list",
                "ON-CALL LIST",
                "Theatre list",
            )
        ),
        *([" ", fmt.date_v(ctx, ctx.today)] if r.random() < 0.6 else []),
    )
    cols = ["Name"] + r.sample(
        ("Age", "DOB", "MRN", "Room", "Bed", "Diagnosis", "Phone", "City", "Admitted", "Time", "NEWS")
        + ("Wt", "HR", "BP", "Temp", "SpO2", "GCS", "MMSE", "Pain"),
        r.randint(2, 6),
    )
    vitals = {"Wt": "weight", "HR": "pulse", "BP": "bp", "Temp": "temp", "SpO2": "spo2", "GCS": "gcs", "MMSE": "mmse"}
    if r.random() < 0.3:
        r.shuffle(cols)
    name_form = r.choice(phi.NAME_FORMS)
    rows = []
    for _ in range(r.randint(3, 7)):
        p = phi.person(ctx)
        cell = {
            "Name": [phi.name(ctx, p, name_form)],
            "Age": [phi.age(p)] if r.random() < 0.7 else phi.age_unit(ctx, p),
            "DOB": [fmt.date_v(ctx, p.dob, "dotted" if name_form == "fg" else None)],
            "MRN": [phi.mrn(ctx)],
            "Room": [str(r.randint(1, 40)) + r.choice(("", "A", "B"))],
            "Bed": [str(r.randint(1, 6))],
            "Diagnosis": [dx.icd(r)],
            "Phone": [fmt.phone_v(ctx, p)],
            "City": [phi.city_v(ctx, p)],
            "Admitted": [fmt.date_v(ctx, ctx.days_ago(0, 20))],
            "Time": [dx.time(r)],
            "NEWS": [str(r.randint(0, 9))],
            "Pain": [ms.value(ctx, "pain")],
            **{c: [ms.value(ctx, f, bare=True)] for c, f in vitals.items()},
        }
        rows.append([cell[c] for c in cols])
    header = [[c.upper() if r.random() < 0.3 else c] for c in cols]
    style = r.choice(("aligned", "pipe", "tabs"))
    widths = [max(_width(row[i]) for row in [header] + rows) for i in range(len(cols))]
    for n, row in enumerate([header] + rows):
        for i, cell in enumerate(row):
            last = i == len(cols) - 1
            if style == "pipe":
                note.add("| " if i == 0 else " | ", cell, " " * (widths[i] - _width(cell)), " |" if last else "")
            elif style == "tabs":
                note.add("" if i == 0 else "\t", cell)
            else:
                note.add(cell, "" if last else " " * (widths[i] - _width(cell) + 2))
        note.add("\n")
        if n == 0 and style == "pipe":
            note.line("|" + "|".join("-" * (w + 2) for w in widths) + "|")
    if r.random() < 0.4:
        note.line(r.choice(("Updated ", "Printed ")), dx.time(r), r.choice(("", " by night shift", " - ward clerk")))
    if r.random() < 0.75:
        note.line(ms.footer(ctx))
    note.wrap = False
    note.aligned = style != "tabs"


def bullet_summary(note: Note, ctx: phi.Ctx) -> None:
    r = ctx.rng
    p = phi.person(ctx)
    b = r.choice(("- ", "* ", "• ", "· ", "o ", "-"))
    if r.random() < 0.3:  # ISBAR handover
        note.line(r.choice(("ISBAR handover", "Handover (ISBAR)", "SBAR")))
        note.line(
            "I: ", phi.name(ctx, p), ", ", phi.age_any(ctx, p, form=True), ", ", phi.sex(ctx, p), ", ", dx.room(r)
        )
        note.line("S: ", dx.cap(dx.complaint(r)), ", ", dx.vitals(r))
        note.line("B: Admitted ", fmt.date_v(ctx, ctx.days_ago(0, 10)), " with ", dx.icd(r), ". ", dx.course(r, p.male))
        note.line("A: ", dx.assessment(r), " ", ms.items(ctx, ms.VITALS, r.randint(1, 3), ", "))
        note.line("R: ", dx.plan(r), " ", dx.plan(r))
        return
    note.line(r.choice(("Summary", "SUMMARY:", "Problem list", "Key points", "Clinical summary", "Handover")))
    lines = [
        [
            phi.name(ctx, p),
            ", ",
            phi.age_any(ctx, p, form=True),
            r.choice((" ", ", ")),
            phi.sex(ctx, p),
            *([", MRN ", phi.mrn(ctx)] if r.random() < 0.5 else []),
        ],
        ["Admitted ", fmt.date_v(ctx, ctx.days_ago(0, 12)), " with ", dx.complaint(r)],
        [r.choice(("Stay: ", "Previous admission ", "Off work ")), fmt.range_v(ctx, ctx.days_ago(30, 400), ctx.today)],
        [r.choice(("PMH: ", "Background: ")), ", ".join(dx.icd(r) for _ in range(r.randint(1, 3)))],
        [r.choice(("Meds: ", "Medication: ")), "; ".join(dx.med(r) for _ in range(r.randint(1, 3)))],
        ["Labs: ", dx.labs(r)],
        ["Obs: ", dx.vitals(r)],
        [r.choice(("Plan: ", "To do: ")), dx.plan(r)],
        [r.choice(("Contact: ", "NOK: ", "Next of kin ")), fmt.phone_v(ctx)],
        [r.choice(("Lives in ", "Home: ")), phi.city_v(ctx, p) if r.random() < 0.5 else phi.address(ctx, p)],
        place(ctx, p),
        [ms.items(ctx, ms.WARD + ms.VITALS)],
        [ms.obs(ctx)],
        [
            r.choice(("Dispo: ", "Discharge: ")),
            r.choice(("home ", "to rehab ", "care home ")),
            fmt.date_v(ctx, ctx.days_ago(-7, -1)),
        ],
    ]
    head, rest = lines[0], lines[1:]
    chosen = [head] + r.sample(rest, r.randint(3, len(rest)))
    for parts in chosen:
        note.line(b, parts)
    if r.random() < 0.3:
        note.line(dx.plan(r))


def record_export(note: Note, ctx: phi.Ctx) -> None:
    """Structured exports: one-line camelCase key-values, JSON, CSV, or HL7 v2 PID/PV1/OBX segments."""
    r = ctx.rng
    p = phi.person(ctx)
    x = r.random()
    if x < 0.3:
        sep, join = r.choice((": ", "=", ":")), r.choice((" ", " ", "; ", ", ", "\n", "\n"))
        if r.random() < 0.5:
            note.line(
                r.choice(("EXPORT", "Record export", "Patient record", "# export")),
                " ",
                fmt.date_v(ctx, ctx.today, "iso"),
                r.choice(("", " " + dx.time(r))),
            )
        items = [
            ("givenName", phi.name(ctx, p, "g")),
            ("familyName", phi.name(ctx, p, "f")),
            ("age", phi.age(p)),
            ("phoneNumber", fmt.phone_v(ctx, p)),
            ("city", phi.city_v(ctx, p)),
            ("birthDate", fmt.date_v(ctx, p.dob)),
            ("socialSecurityNumber", phi.natid(ctx, p)),
            ("patientId", phi.mrn(ctx)),
            ("ward", dx.room(r)),
            ("bloodPressure", dx.bp(r)),
        ]
        head, rest = items[:2], r.sample(items[2:], r.randint(3, len(items) - 2)) + ms.camel(ctx, r.randint(1, 2))
        r.shuffle(rest)
        for i, (k, v) in enumerate(head + rest):
            note.add(join if i else "", k, sep, v)
    elif x < 0.55:
        q = '"'
        ind = r.choice(("", "  ", "    "))
        nl = "\n" if ind else " "
        items = [
            ("name", phi.name(ctx, p, r.choice(("gf", "f,g")))),
            ("birthDate", fmt.date_v(ctx, p.dob, "iso")),
            ("phone", fmt.phone_v(ctx, p)),
            ("address", phi.street_v(p)),
            ("city", phi.city_v(ctx, p)),
            ("mrn", phi.mrn(ctx)),
            ("admitted", fmt.date_v(ctx, ctx.today, "iso")),
            ("diagnosis", dx.icd(r)),
            ("dose", dx.med(r)),
        ]
        items = items[:1] + r.sample(items[1:], r.randint(3, len(items) - 1)) + ms.camel(ctx, r.randint(0, 2))
        note.add("{", nl)
        for i, (k, v) in enumerate(items):
            note.add(ind, q, k, q, ": ", q, v, q, "," if i < len(items) - 1 else "", nl)
        note.add("}")
    elif x < 0.75:
        sep = r.choice((";", ",", "\t", "|"))
        extra = r.choice(("room", "bed", "weight", "bmi"))
        cols = ["name", "dob", "phone", "city", "mrn", "ward", extra]
        note.line(sep.join(c.upper() if r.random() < 0.3 else c for c in cols))
        for _ in range(r.randint(1, 4)):
            q = phi.person(ctx)
            note.line(
                phi.name(ctx, q, r.choice(("gf", "fg"))),
                sep,
                fmt.date_v(ctx, q.dob, "iso"),
                sep,
                fmt.phone_v(ctx, q),
                sep,
                phi.city_v(ctx, q),
                sep,
                phi.mrn(ctx),
                sep,
                str(r.randint(1, 12)),
                sep,
                ms.value(ctx, extra, bare=True),
            )
    else:
        d = ctx.today
        compact = V(f"{d:%Y%m%d}", "DATE")
        note.line(
            "MSH|^~\\&|EPIC|",
            r.choice(("ADT", "LAB", "RAD")),
            "|||",
            compact,
            "||ADT^A01|",
            str(r.randint(10**6, 10**7)),
            "|P|2.5",
        )
        sexcode = "M" if p.male else "F"
        note.line(
            "PID|1||",
            phi.mrn(ctx),
            "^^^HOSP^MR||",
            V(f"{p.family.upper()}^{p.given.upper()}", "PATIENT"),  # one name, as "FAMILY, Given" elsewhere
            "||",
            V(f"{p.dob:%Y%m%d}", "DATE"),
            "|",
            sexcode,
            "|||",
            phi.street_v(p),
            "^^",
            phi.city_v(ctx, p),
            "^^",
            V(p.postcode, "LOC"),
            "||",
            fmt.phone_v(ctx, p),
        )
        note.line(
            "PV1|1|I|",
            f"{r.randint(1, 9)}{r.choice('AB')}^{r.randint(100, 450)}^{r.randint(1, 4)}",
            "|||||",
            "||||||||||",
            V(str(r.randint(10**5, 10**6)), "ID"),
        )  # visit number
        for i in range(r.randint(1, 3)):
            name, value, unit_, ref = dx.lab_row(r)
            note.line(f"OBX|{i + 1}|NM|{name}||{value}|{unit_}|{ref}|N|||F")
        if r.random() < 0.8:
            field = r.choice(("weight", "height", "pulse", "temp", "spo2", "news"))
            note.line(f"OBX|{i + 2}|NM|{ms.key(ctx, field)}||{ms.value(ctx, field, bare=True)}||||||F")
    note.add("\n")
    note.wrap = False
