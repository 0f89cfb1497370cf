"""Prose families: admission note, discharge letter, referral letter, progress/nursing note, telephone
consultation and mixed free text. Each writes one note into a `Note` from the note's `Ctx`."""

from __future__ import annotations

from tfner.data.notes import blocks, phi
from tfner.data.notes import clinicians as cl
from tfner.data.notes import distractors as dx
from tfner.data.notes import formats as fmt
from tfner.data.notes import measures as ms
from tfner.data.notes.blocks import KV, TEAMS, contact, electronically, intro, numbers, place, signature, staff, unit
from tfner.data.notes.builder import Note
from tfner.data.notes.lang import doc_title

_ADMISSION = "ADMISSION NOTE|Admission note|Admission note - {}|Emergency department note|ED admission|H&P".split("|")


def _sections(note: Note, ctx: phi.Ctx, p: phi.Person, kinds) -> None:
    r = ctx.rng
    inline = r.random() < 0.4
    for kind in kinds:
        head = dx.heading(r, kind)
        if kind == "history":
            body = dx.several(r, dx.history, r.randint(1, 2), p.male)
        elif kind == "pmh":
            body = ", ".join(dx.icd(r) for _ in range(r.randint(1, 3))) + "."
        elif kind == "meds":
            meds = [dx.med(r, cap=True) for _ in range(r.randint(1, 4))]
            body = "; ".join(meds) + "." if inline else "\n".join(r.choice(("- ", "", "* ")) + m for m in meds)
        elif kind == "vitals":
            body = (dx.vitals(r) if r.random() < 0.5 else ms.obs(ctx, head=False)) + "."
        elif kind == "exam":
            body = dx.several(r, dx.exam, r.randint(1, 3))
        elif kind == "labs":
            body = dx.labs(r) + "."
        elif kind == "assessment":
            body = dx.assessment(r)
        else:
            body = dx.several(r, dx.plan, r.randint(1, 3))
        note.line(head, " " if inline or kind != "meds" else "\n", body)
        if r.random() < 0.2:
            note.add("\n")


def admission_note(note: Note, ctx: phi.Ctx) -> None:
    r = ctx.rng
    p = phi.person(ctx)
    dept = dx.dept(r)
    note.line(doc_title(r, "admission", ctx.lang, tuple(t.format(dept) for t in _ADMISSION)))
    if r.random() < 0.5:
        note.line(r.choice(("Date: ", "Admitted: ", "")), fmt.date_v(ctx, ctx.today), " ", dx.time(r))
    note.line(intro(ctx, p, ctx.today))
    if r.random() < 0.3:
        stay = fmt.range_v(ctx, *ctx.period(60, 900, 20))
        note.line(r.choice(("Previous admission ", "Last stay: ", "Prior stay ")), stay, ", ", dx.complaint(r))
    numbers(note, ctx, 0.4)
    kinds = ["history", "pmh", "meds", "vitals", "exam", "labs", "assessment", "plan"]
    kinds = [k for k in kinds if r.random() < 0.75] or ["plan"]
    _sections(note, ctx, p, kinds)
    if r.random() < 0.6:
        note.line(contact(ctx, p))
    if r.random() < 0.7:
        signature(note, ctx, closing=False)


def discharge_letter(note: Note, ctx: phi.Ctx) -> None:
    r = ctx.rng
    p = phi.person(ctx)
    admitted = ctx.days_ago(2, 25)
    note.line(unit(ctx))
    if r.random() < 0.4:
        note.line("To: ", staff(ctx, "The general practitioner") if r.random() < 0.7 else "The general practitioner")
    if r.random() < 0.4:  # "Oslo, 04.03.2021"
        note.line(phi.city_v(ctx), ", ", fmt.date_v(ctx, ctx.today))
    else:
        note.line(r.choice(("", "Date: ")), fmt.date_v(ctx, ctx.today))
    note.line(doc_title(r, "discharge", ctx.lang, ("DISCHARGE SUMMARY", "Discharge letter", "Discharge summary")))
    kv = KV(ctx, plain_sep=True)
    note.add(
        r.choice(("Re: ", "Patient: ", "Concerning: ")),
        phi.name(ctx, p),
        r.choice((", born ", ", DOB ", " - ")),
        fmt.date_v(ctx, p.dob),
    )
    if r.random() < 0.5:
        note.add(", ", kv.key("natid"), phi.natid(ctx, p))
    note.add("\n")
    if r.random() < 0.4:
        note.line(phi.address(ctx, p, r.choice((", ", "\n"))))
    if ctx.extended and r.random() < 0.5:
        note.line("Dear Dr. ", phi.name(ctx, cl.doctor(ctx), "f"), ",")
    else:
        note.line(r.choice(("Dear colleague,", "Dear Sir/Madam,", "To whom it may concern,", "Dear GP,")))
    opening = r.choice(
        (("Your patient ", ") was admitted"), ("We saw your patient ", "), who was admitted"), ("", ") was admitted"))
    )
    note.line(
        opening[0],
        phi.ref(ctx, p),
        " (",
        phi.age_any(ctx, p),
        opening[1],
        " to our department from ",
        fmt.date_v(ctx, admitted),
        " to ",
        fmt.date_v(ctx, ctx.today),
        " with ",
        dx.complaint(r),
        ".",
    )
    note.line(r.choice(("Diagnoses:", "Diagnosis:", "DIAGNOSES")))
    for _ in range(r.randint(1, 3)):
        note.line(r.choice(("- ", "* ", "")), dx.icd(r))
    note.line(
        r.choice(("Course:", "Hospital course:", "Summary:")), " ", dx.several(r, dx.course, r.randint(2, 4), p.male)
    )
    numbers(note, ctx, 0.4)
    note.line(r.choice(("Discharge medication:", "Medication on discharge:", "Medications:")))
    for _ in range(r.randint(1, 4)):
        note.line(r.choice(("- ", "", "• ")), dx.med(r, cap=True))
    note.line(
        r.choice(("Follow-up: ", "Plan: ")),
        dx.plan(r),
        " An appointment has been booked for ",
        fmt.date_v(ctx, ctx.days_ago(-60, -7)),
        " at ",
        dx.time(r),
        ".",
    )
    signature(note, ctx)
    blocks.postal(note, ctx, p, 0.35)


def referral_letter(note: Note, ctx: phi.Ctx) -> None:
    r = ctx.rng
    p = phi.person(ctx)
    kv = KV(ctx, plain_sep=True)
    note.line(doc_title(r, "referral", ctx.lang, ("REFERRAL", "Referral letter", "Request for specialist opinion")))
    note.line("To: ", unit(ctx))
    note.line("From: ", staff(ctx, r.choice(("General practitioner", "GP practice", "Out-of-hours service"))))
    kv.line(note, "visit", fmt.date_v(ctx, ctx.today))
    note.add(kv.key("name"), phi.name(ctx, p))
    if r.random() < 0.6:
        note.add(r.choice(("   ", ", ", "\n")), kv.key("natid"), phi.natid(ctx, p))
    note.add("\n")
    if r.random() < 0.7:
        kv.line(note, "address", phi.address(ctx, p))
    else:
        note.line(place(ctx, p, kv))
    if r.random() < 0.7:
        kv.line(note, "phone", fmt.phone_v(ctx, p))
    if ctx.extended and r.random() < 0.3:
        kv.line(note, "email", cl.email_v(ctx, p))
    note.line(
        r.choice(("Reason for referral: ", "Question: ", "Reason: ")),
        "Please assess ",
        phi.ref(ctx, p),
        ", ",
        phi.a_age(p),
        phi.age(p),
        "-year-old ",
        phi.man(ctx, p),
        ", with ",
        dx.complaint(r),
        ".",
    )
    note.line(dx.history(r, p.male), " ", dx.exam(r))
    if r.random() < 0.3:
        stay = fmt.range_v(ctx, *ctx.period(20, 400, 30))
        note.line(r.choice(("Treated here from ", "Inpatient stay ", "Sick leave ")), stay, ".")
    numbers(note, ctx)
    note.line(r.choice(("Current medication: ", "Medication: ")), "; ".join(dx.med(r) for _ in range(r.randint(1, 3))))
    note.line(r.choice(("Recent labs: ", "Labs: ")), dx.labs(r), " (", fmt.date_v(ctx, ctx.days_ago(1, 20)), ").")
    note.line(r.choice(("Urgency: routine", "Urgency: urgent", "Priority: within 2 weeks", "Semi-urgent.")))
    signature(note, ctx)
    blocks.postal(note, ctx, p, 0.35)


def progress_note(note: Note, ctx: phi.Ctx) -> None:
    r = ctx.rng
    p = phi.person(ctx)
    if r.random() < 0.5:  # SOAP progress note
        note.line(
            r.choice(("Progress note", "PROGRESS NOTE", "Daily note", "Ward round")),
            " ",
            fmt.date_v(ctx, ctx.today),
            r.choice(("", f", day {r.randint(2, 9)}", f" {dx.time(r)}")),
        )
        note.line(
            "S: ",
            phi.ref(ctx, p),
            r.choice((" reports ", " says ")),
            r.choice(("feeling better", "less pain", "poor sleep", "ongoing nausea", "no new complaints")),
            ". ",
            dx.history(r, p.male),
        )
        note.line(
            "O: ", dx.vitals(r) if r.random() < 0.5 else ms.obs(ctx, False), ". ", dx.exam(r), " ", dx.labs(r, 2), "."
        )
        note.line("A: ", dx.assessment(r))
        note.line("P: ", dx.several(r, dx.plan, r.randint(1, 3)))
        if r.random() < 0.4:
            note.line(
                r.choice(("Spoke with ", "Updated ")),
                r.choice(("daughter", "son", "wife", "husband")),
                " by phone (",
                fmt.phone_v(ctx),
                ").",
            )
        if r.random() < 0.5:
            electronically(note, ctx)
        return
    note.line(
        doc_title(r, "nursing", ctx.lang, ("Nursing notes", "NURSING NOTE", "Nursing report")),
        " - ",
        phi.name(ctx, p),
        " (",
        phi.age_unit(ctx, p),
        "), ",
        dx.room(r),
    )
    note.line(fmt.date_v(ctx, ctx.today))
    for _ in range(r.randint(2, 6)):
        x = r.random()
        note.add(dx.time(r), r.choice((" ", " - ", ": ")))
        if x < 0.15:
            note.line(
                r.choice(("Daughter", "Son", "Wife", "Husband", "Neighbour")),
                " phoned from ",
                phi.city_v(ctx),
                r.choice((" and was updated.", ", will visit tomorrow.")),
            )
        elif x < 0.25:
            note.line("Next of kin asks to be called on ", fmt.phone_v(ctx), ".")
        elif x < 0.35:
            note.line(
                phi.ref(ctx, p),
                " ",
                r.choice(
                    ("slept well.", "was confused during the night.", "asked for the doctor.", "is mobilising well.")
                ),
            )
        else:
            note.line(dx.nursing(r, p.male) if r.random() < 0.75 else ms.obs(ctx))
    if r.random() < 0.5:
        note.line(
            r.choice(("Next day: ", "Continued ")),
            fmt.date_v(ctx, ctx.days_ago(-1, -1)),
            " ",
            dx.time(r),
            " ",
            dx.nursing(r, p.male),
        )


def phone_consult(note: Note, ctx: phi.Ctx) -> None:
    r = ctx.rng
    p = phi.person(ctx)
    note.line(
        doc_title(r, "phone", ctx.lang, ("Telephone consultation", "Phone call", "TELEPHONE NOTE")),
        " ",
        fmt.date_v(ctx, ctx.today),
        " ",
        dx.time(r),
    )
    if r.random() < 0.5:
        note.line("Called ", phi.ref(ctx, p), " on ", fmt.phone_v(ctx, p), ".")
    else:
        note.line(
            phi.name(ctx, p),
            " called ",
            r.choice(("from ", "on ")),
            fmt.phone_v(ctx, p),
            r.choice((".", " (mobile).", ", number confirmed.")),
        )
    note.line(
        "Identity confirmed with ",
        r.choice(("DOB ", "date of birth ")),
        fmt.date_v(ctx, p.dob),
        r.choice(("", " and address")),
        ".",
    )
    note.line(dx.history(r, p.male))
    numbers(note, ctx, 0.6)
    note.line(
        r.choice(("Advice: ", "Advised ", "Plan: ")),
        dx.plan(r),
        " ",
        r.choice(("Call back if worse.", "Safety-netting given.", "Patient agrees with the plan.", "")),
    )
    if r.random() < 0.6:
        note.line(r.choice(("Next contact: ", "Review on ", "Follow-up call ")), fmt.date_v(ctx, ctx.days_ago(-30, -2)))
    if r.random() < 0.4:
        electronically(note, ctx)


def mixed_text(note: Note, ctx: phi.Ctx) -> None:
    """A few key-value lines (often in the locale's language), free text and telegraphic notes."""
    r = ctx.rng
    p = phi.person(ctx)
    kv = KV(ctx)
    fields = r.sample(("name", "dob", "phone", "natid", "city", "mrn", "age", "birthplace"), r.randint(2, 4))
    values = {
        "name": lambda: phi.name(ctx, p),
        "dob": lambda: fmt.date_v(ctx, p.dob),
        "phone": lambda: fmt.phone_v(ctx, p),
        "natid": lambda: phi.natid(ctx, p),
        "city": lambda: phi.city_v(ctx, p),
        "mrn": lambda: phi.mrn(ctx),
        "age": lambda: phi.age_any(ctx, p, form=True),
        "birthplace": lambda: phi.city_v(ctx),
    }
    for field in fields:
        kv.line(note, field, values[field]())
    numbers(note, ctx, 0.6)
    note.add(r.choice(("\n", "", "\n\n")))
    x = r.random()
    if x < 0.35:
        note.line(
            "pt ",
            phi.age(p),
            r.choice((" yo ", " y ", " y/o ")),
            phi.sex(ctx, p),
            ", lives in ",
            phi.city_v(ctx, p),
            ", tel ",
            fmt.phone_v(ctx, p),
            " - ",
            dx.complaint(r),
            ", ",
            dx.vitals(r),
        )
    elif x < 0.7:
        note.line(intro(ctx, p, ctx.today))
    else:
        note.line(
            phi.ref(ctx, p),
            " was seen in ",
            r.choice(TEAMS),
            " on ",
            fmt.date_v(ctx, ctx.today),
            ". ",
            dx.history(r, p.male),
        )
    for _ in range(r.randint(1, 4)):
        note.line(r.choice((dx.plan, dx.exam, dx.assessment))(r) if r.random() < 0.7 else dx.course(r, p.male))
    if r.random() < 0.5:
        note.line(contact(ctx, p))
