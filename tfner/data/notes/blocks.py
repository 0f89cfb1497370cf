"""Building blocks shared by the layout families: key-value styles, staff mentions, letter parts.

Staff names, hospital names and e-mail addresses are written only when the note's label set is the
extended one (where they are labelled DOCTOR, HOSPITAL and EMAIL); with the default label set the
same places hold roles and departments ("Attending physician", "Department of Cardiology").
"""

from __future__ import annotations

from tfner.data.notes import clinicians as cl
from tfner.data.notes import distractors as dx
from tfner.data.notes import formats as fmt
from tfner.data.notes import lang, phi
from tfner.data.notes import measures as ms
from tfner.data.notes.builder import Note

ROLES = (
    "Attending physician",
    "Consultant",
    "Resident",
    "On-call physician",
    "Ward physician",
    "Registrar",
    "Specialist nurse",
    "Duty doctor",
    "Senior consultant",
    "Physician in charge",
)
CLOSINGS = {
    "en": ("Kind regards,", "Best regards,", "Yours sincerely,", "Regards,", "With thanks,"),
    "de": ("Mit freundlichen Grüßen",),
    "fr": ("Cordialement,", "Bien confraternellement,"),
    "no": ("Med vennlig hilsen", "Mvh"),
    "sv": ("Med vänlig hälsning",),
    "da": ("Med venlig hilsen",),
    "nl": ("Met vriendelijke groet,",),
    "es": ("Atentamente,", "Un saludo,"),
    "it": ("Cordiali saluti,",),
    "pl": ("Z poważaniem,",),
    "pt": ("Atenciosamente,",),
    "fi": ("Ystävällisin terveisin",),
}
TEAMS = (
    "Ward 4B",
    "Medical ward 7",
    "Cardiology outpatient clinic",
    "Emergency department",
    "GP practice",
    "Surgical ward 2",
    "Geriatric day unit",
    "Acute medical unit",
    "Dialysis unit",
    "Stroke unit",
)


class KV:
    """A key-value style drawn once per form: separator, key casing, padding."""

    def __init__(self, ctx: phi.Ctx, plain_sep: bool = False):
        r = ctx.rng
        self.ctx = ctx
        self.sep = r.choice((": ", ": ", ": ", ":", " : ", " - ", " = ", ":\t", ".: ", ": "))
        if plain_sep:
            self.sep = r.choice((": ", ": ", " : ", ":"))
        self.case = r.choice(("keep", "keep", "keep", "upper", "lower", "title"))
        self.pad = r.choice((0, 0, 0, 14, 18, 24))
        self.fill = r.choice((" ", " ", "."))

    def key(self, field: str, text: str | None = None, pad: bool = True) -> str:
        k = text or lang.key(self.ctx.rng, field, self.ctx.lang)
        k = {"keep": k, "upper": k.upper(), "lower": k.lower(), "title": k.title()}[self.case]
        if pad and self.pad and len(k) < self.pad:
            k = k + (" " if self.fill == "." else "") + self.fill * (self.pad - len(k) - 1)
        return k + (self.sep[1:] if k.endswith(".") and self.sep.startswith(".") else self.sep)

    def line(self, note: Note, field: str, *value, key: str | None = None) -> None:
        note.line(self.key(field, key), *value)


def place(ctx: phi.Ctx, p: phi.Person, kv: KV | None = None) -> list:
    """A lone city after a key ('Born in: X', 'Wohnort: X', 'Bosted - X', 'Domicilio: X', 'From: X'): LOC."""
    r = ctx.rng
    field = r.choice(("city", "city", "birthplace"))
    if kv is not None and r.random() < 0.5:
        head = kv.key(field, pad=False)
    else:
        head = lang.key(r, field, ctx.lang) + r.choice((": ", ": ", " - ", " : ", ":\t", " "))
    return [head, phi.city_v(ctx, p if field == "city" else None)]


def postal(note: Note, ctx: phi.Ctx, p: phi.Person, chance: float = 1.0) -> None:
    """With probability `chance`, the patient's postal address as a letter's window block or copy line:
    the name alone on its line (PATIENT), then street and postcode + city on lines of their own (two LOC
    spans)."""
    r = ctx.rng
    if r.random() >= chance:
        return
    if r.random() < 0.4:
        note.line(r.choice(("cc:", "Copy to:", "Copy to patient:", "To the patient:")))
    title = [phi.title(ctx, p), " "] if r.random() < 0.3 else []
    note.line(*title, phi.name(ctx, p, r.choice(("gf", "gf", "gmf", "i.f", "Fg", "f,g"))))
    note.line(phi.address(ctx, p, "\n"))


def numbers(note: Note, ctx: phi.Ctx, chance: float = 0.5) -> None:
    """Now and then a vitals line ('Obs: Bp 174/77, pulse 51, wt 67 kg') or ward and vitals key-value items
    ('Room : 292   Bed : 4'), unlabelled numbers shaped like ages and IDs."""
    r = ctx.rng
    if r.random() < chance:
        note.line(ms.obs(ctx) if r.random() < 0.6 else ms.items(ctx, ms.WARD + ms.VITALS))


def staff(ctx: phi.Ctx, role: str | None = None) -> list:
    """A staff member: a DOCTOR name in the extended label set, a role otherwise."""
    if ctx.extended:
        return cl.doctor_ref(ctx, cl.doctor(ctx))
    return [role or ctx.rng.choice(ROLES)]


def unit(ctx: phi.Ctx, dept: str | None = None) -> list:
    """Where a note comes from: hospital (extended) and/or department."""
    r = ctx.rng
    dept = dept or dx.dept(r)
    if ctx.extended and r.random() < 0.8:
        return [cl.hospital_v(ctx), r.choice((", Department of ", " - ", "\nDepartment of ", ", Dept. of ")), dept]
    return [r.choice(("Department of ", "Dept. of ", "Clinic of ", "")), dept]


def signature(note: Note, ctx: phi.Ctx, closing: bool = True) -> None:
    r = ctx.rng
    if closing:
        lng = ctx.lang if r.random() < 0.4 else "en"
        note.line(r.choice(CLOSINGS[lng]))
    if ctx.extended:
        d = cl.doctor(ctx)
        note.line(cl.doctor_ref(ctx, d))
        if r.random() < 0.5:
            note.line(r.choice(ROLES), ", ", dx.dept(r))
        if r.random() < 0.4:
            note.line(r.choice(("", "E-mail: ", "Email: ", "Contact: ")), cl.email_v(ctx, d, staff=True))
    else:
        note.line(r.choice(ROLES), r.choice((", ", " - ", "\n")), r.choice(("Department of ", "")), dx.dept(r))


def electronically(note: Note, ctx: phi.Ctx) -> None:
    """'Electronically signed by ... on <date> 14:05' (no name in the default label set)."""
    r = ctx.rng
    who = staff(ctx) if ctx.extended else [r.choice(ROLES).lower()]
    note.line(
        r.choice(("Electronically signed by ", "Signed: ", "Approved by ")),
        who,
        " on ",
        fmt.date_v(ctx, ctx.today),
        " ",
        dx.time(r),
    )


def intro(ctx: phi.Ctx, p: phi.Person, when) -> list:
    """An opening sentence with the patient's name, age, place and date, in one of several forms."""
    r = ctx.rng
    c = dx.complaint(r)
    d = fmt.date_v(ctx, when)
    x = r.randint(0, 7)
    if x == 0:
        return [
            phi.ref(ctx, p),
            ", ",
            phi.a_age(p),
            phi.age(p),
            "-year-old ",
            phi.man(ctx, p),
            " from ",
            phi.city_v(ctx, p),
            ", was admitted on ",
            d,
            " with ",
            c,
            ".",
        ]
    if x == 1:
        return [
            phi.name(ctx, p),
            " (",
            phi.age_unit(ctx, p),
            ", ",
            phi.sex(ctx, p),
            ") presented to the emergency department on ",
            d,
            " with ",
            c,
            ".",
        ]
    if x == 2:
        return [
            "Pt is ",
            phi.a_age(p),
            phi.age(p),
            r.choice((" yo ", " y/o ", " y.o. ")),
            phi.man(ctx, p),
            ", MRN ",
            phi.mrn(ctx),
            ", admitted ",
            d,
            " via ",
            r.choice(("GP", "ambulance", "the ED")),
            ".",
        ]
    if x == 3:
        return [
            "This ",
            phi.age(p),
            "-year-old ",
            phi.man(ctx, p),
            " (",
            phi.name(ctx, p),
            ", born ",
            fmt.date_v(ctx, p.dob),
            ") was referred by the GP on ",
            d,
            " because of ",
            c,
            ".",
        ]
    if x == 4:
        return [
            phi.ref(ctx, p),
            ", aged ",
            phi.age(p),
            ", living in ",
            phi.city_v(ctx, p),
            ", is admitted today (",
            d,
            ") with ",
            c,
            ".",
        ]
    if x == 5:
        return [
            phi.name(ctx, p, "f,g"),
            " - ",
            phi.age_unit(ctx, p),
            " - ",
            phi.city_v(ctx, p),
            "\n",
            "Seen on ",
            d,
            " for ",
            c,
            ".",
        ]
    if x == 6:
        return [
            "On ",
            d,
            ", ",
            phi.ref(ctx, p),
            " (",
            phi.age_any(ctx, p),
            ") was brought in by ambulance from ",
            r.choice(("home", "a nursing home", "work")),
            " in ",
            phi.city_v(ctx, p),
            " with ",
            c,
            ".",
        ]
    return [
        phi.title(ctx, p),
        " ",
        phi.name(ctx, p, "f"),
        " is ",
        phi.age(p),
        " years old and lives ",
        r.choice(("alone", "with family", "in a care home")),
        " in ",
        phi.city_v(ctx, p),
        ". Admitted ",
        d,
        " with ",
        c,
        ".",
    ]


def contact(ctx: phi.Ctx, p: phi.Person) -> list:
    """A sentence or line with the patient's phone or address."""
    r = ctx.rng
    x = r.randint(0, 5)
    if x == 0:
        return [r.choice(("Contact: ", "Tel: ", "Phone ")), fmt.phone_v(ctx, p)]
    if x == 5:
        return [
            "Moved here from ",
            phi.city_v(ctx),
            ", ",
            phi.country_v(ctx),
            r.choice((", lives with family.", " some years ago.", "; needs an interpreter.")),
        ]
    if x == 1:
        return [
            "Next of kin (",
            r.choice(("daughter", "son", "wife", "husband", "partner")),
            ") can be reached on ",
            fmt.phone_v(ctx),
            ".",
        ]
    if x == 2:
        return [r.choice(("Lives at ", "Address: ", "Home address ")), phi.address(ctx, p), "."]
    if x == 3:
        return ["The patient can be reached at ", fmt.phone_v(ctx, p), " (", r.choice(("mobile", "home", "work")), ")."]
    return [
        "Lives in ",
        phi.city_v(ctx, p),
        r.choice(
            (", independent in daily activities.", " with family.", ", home care twice daily.", " alone, no support.")
        ),
    ]
