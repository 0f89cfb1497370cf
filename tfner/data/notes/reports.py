"""Report and message families: lab report header, radiology report header, e-mail/message, prescription."""

from __future__ import annotations

from tfner.data.notes import clinicians as cl
from tfner.data.notes import distractors as dx
from tfner.data.notes import formats as fmt
from tfner.data.notes import measures as ms
from tfner.data.notes import phi
from tfner.data.notes.blocks import KV, ROLES, TEAMS, electronically, place, postal, signature, staff, unit
from tfner.data.notes.builder import Note
from tfner.data.notes.lang import doc_title, header


def _id_block(note: Note, ctx: phi.Ctx, p: phi.Person, kv: KV, two_per_line: bool) -> None:
    r = ctx.rng
    gap = r.choice(("   ", "    ", "\t", "  "))
    note.add(kv.key("name", pad=not two_per_line), phi.name(ctx, p, r.choice(("F,g", "f,g", "gf", "Fg", "F,gm"))))
    note.add(gap if two_per_line else "\n", kv.key("dob", pad=not two_per_line), fmt.date_v(ctx, p.dob))
    if r.random() < 0.5:
        note.add(gap, kv.key("sex", pad=False), phi.sex(ctx, p))
    note.add("\n")
    if r.random() < 0.8:
        note.add(kv.key("mrn", pad=not two_per_line), phi.mrn(ctx))
        if r.random() < 0.4:
            note.add(gap if two_per_line else "\n", kv.key("natid", pad=not two_per_line), phi.natid(ctx, p))
        note.add("\n")
    if r.random() < 0.3:
        note.line(place(ctx, p, kv))
    if r.random() < 0.6:  # "Ward: 7   Bed: 22", "WEIGHT : 67"
        note.line(ms.items(ctx, ms.WARD + ("weight", "height", "bmi"), r.randint(1, 3), gap))


def lab_report(note: Note, ctx: phi.Ctx) -> None:
    r = ctx.rng
    p = phi.person(ctx)
    kv = KV(ctx, plain_sep=True)
    start = note.mark()
    note.line(
        doc_title(
            r, "lab", ctx.lang, ("LABORATORY REPORT", "Clinical Chemistry", "Lab results", "HAEMATOLOGY / BIOCHEMISTRY")
        )
    )
    if r.random() < 0.5:
        note.line(unit(ctx, r.choice(("Clinical Chemistry", "Laboratory Medicine", "Microbiology"))))
    _id_block(note, ctx, p, kv, r.random() < 0.5)
    sample = phi.mrn(ctx)
    note.line(r.choice(("Sample ID: ", "Specimen no. ", "Lab no.: ", "Accession #")), sample)
    collected = ctx.days_ago(0, 3)
    note.line(
        r.choice(("Collected: ", "Sampled: ", "Collection date: ")),
        fmt.date_v(ctx, collected),
        " ",
        dx.time(r),
        r.choice(("   Received: ", "  Rec. ", "\nReceived: ")),
        fmt.date_v(ctx, collected),
        " ",
        dx.time(r),
    )
    note.line(
        r.choice(("Requested by: ", "Requester: ", "Ordered by: ")),
        staff(ctx, r.choice(TEAMS)) if r.random() < 0.6 else r.choice(TEAMS),
    )
    if r.random() < 0.3:
        note.upper(start)
    note.line(r.choice(("", "-" * 40)))
    rows = [dx.lab_row(r) for _ in range(r.randint(3, 9))]
    head = ("Test", "Result", "Unit", "Reference")
    widths = [max(len(row[i]) for row in rows + [head]) + 2 for i in range(4)]
    for row in [head] + rows:
        flag = " H" if row is not head and r.random() < 0.15 else ""
        note.line("".join(c.ljust(w) for c, w in zip(row, widths)).rstrip(), flag)
    x = r.random()
    if x < 0.3:
        note.line("Comment: Critical value phoned to ", r.choice(TEAMS), " at ", dx.time(r), ".")
    elif x < 0.5:
        note.line(
            "Comment: ",
            r.choice(
                (
                    "Haemolysed sample, K may be falsely elevated.",
                    "Sample repeated.",
                    "Lipaemic sample.",
                    "Results verified.",
                )
            ),
        )
    if ctx.extended and r.random() < 0.5:
        note.line("Validated by: ", staff(ctx))
    if r.random() < 0.5:
        note.line(ms.footer(ctx))
    note.wrap = False
    note.aligned = r.random() < 0.7


_EXAMS = (
    "CT thorax with contrast",
    "MRI brain",
    "X-ray chest PA",
    "Ultrasound abdomen",
    "CT head without contrast",
    "CT pulmonary angiography",
    "X-ray right hip",
    "MRI lumbar spine",
    "CT abdomen/pelvis",
    "Mammography",
)


def radiology_report(note: Note, ctx: phi.Ctx) -> None:
    r = ctx.rng
    p = phi.person(ctx)
    kv = KV(ctx, plain_sep=True)
    exam = r.choice(_EXAMS)
    note.line(doc_title(r, "radiology", ctx.lang, ("RADIOLOGY REPORT", "Radiology", "Imaging report", exam.upper())))
    if ctx.extended and r.random() < 0.5:
        note.line(cl.hospital_v(ctx), " - Department of Radiology")
    _id_block(note, ctx, p, kv, r.random() < 0.5)
    note.line(
        r.choice(("Accession no.: ", "Acc#: ", "Exam ID ", "Order no. ")),
        phi.mrn(ctx),
        r.choice(("   ", "\n")),
        r.choice(("Exam date: ", "Date of exam: ", "Performed: ")),
        fmt.date_v(ctx, ctx.today),
        *([" ", dx.time(r)] if r.random() < 0.5 else []),
    )
    note.line(r.choice(("Examination: ", "Exam: ", "Procedure: ")), exam)
    note.line(
        r.choice(("Clinical information: ", "Indication: ", "History: ")),
        phi.age_any(ctx, p, form=True),
        " ",
        phi.man(ctx, p),
        " with ",
        dx.complaint(r),
        r.choice((". ? ", ". Query ", ". R/o ")),
        dx.icd(r),
        ".",
    )
    if r.random() < 0.5:
        note.line(
            "Comparison: ",
            r.choice(("previous study of ", "CT from ", "X-ray dated ")),
            fmt.date_v(ctx, ctx.days_ago(40, 900)),
            ".",
        )
    else:
        note.line("Comparison: None.")
    if r.random() < 0.5:
        note.line(
            "Technique: ",
            r.choice(("Axial images with", "Standard protocol,", "Helical acquisition,")),
            " ",
            f"{r.choice((1, 1.25, 2.5, 5))} mm slices",
            r.choice((", 80 mL contrast i.v.", "", ", no contrast")),
            ".",
        )
    if r.random() < 0.4:
        note.line(ms.items(ctx, ("weight", "height", "bmi", "dose", "pulse", "bp")))
    note.line(r.choice(("Findings:", "FINDINGS:", "Description:")))
    for _ in range(r.randint(2, 4)):
        note.line(dx.finding(r))
    note.line(r.choice(("Impression:", "IMPRESSION:", "Conclusion:")), " ", dx.finding(r))
    if r.random() < 0.6:
        electronically(note, ctx)
    if r.random() < 0.3:
        note.line(ms.footer(ctx))


def message(note: Note, ctx: phi.Ctx) -> None:
    """An e-mail or internal message: From/To/Sent/Subject headers and a short body."""
    r = ctx.rng
    p = phi.person(ctx)
    if ctx.extended:
        sender, to = cl.doctor(ctx), cl.doctor(ctx)
        x = r.random()
        if x < 0.4:
            note.line("From: ", phi.name(ctx, sender, "gf"), " <", cl.email_v(ctx, sender, staff=True), ">")
        elif x < 0.7:
            note.line("From: ", cl.email_v(ctx, sender, staff=True))
        else:
            note.line("From: ", cl.email_v(ctx, p), r.choice((" (patient portal)", "")))
        note.line(
            "To: ",
            cl.email_v(ctx, to, staff=True),
            *(["; ", cl.email_v(ctx, cl.doctor(ctx), staff=True)] if r.random() < 0.3 else []),
        )
    else:
        note.line(header(r, "from", ctx.lang), r.choice(TEAMS + ("Patient portal",)))
        note.line(header(r, "to", ctx.lang), r.choice(TEAMS + ("Ward secretary",)))
    note.line(
        r.choice(("Sent: ", "Date: ", "Received: ")),
        fmt.date_v(ctx, ctx.today, r.choice(("words_weekday", None))),
        " ",
        dx.time(r),
        r.choice(("", "", " +0100", " CET", " (UTC)")),
    )
    note.line(
        "Subject: ",
        r.choice(("", "Re: ", "Fwd: ", "RE: ")),
        *r.choice(
            (
                [phi.name(ctx, p), " - ", dx.complaint(r)],
                ["Patient ", phi.name(ctx, p), ", DOB ", fmt.date_v(ctx, p.dob)],
                [r.choice(("Follow-up", "Lab results", "Question about medication", "Appointment"))],
            )
        ),
    )
    note.add("\n")
    note.line(header(r, "greeting", ctx.lang))
    note.line(
        phi.ref(ctx, p),
        " (",
        r.choice(("DOB ", "born ", "b. ")),
        fmt.date_v(ctx, p.dob),
        ") ",
        r.choice(("called today", "wrote via the portal", "came by the desk")),
        r.choice((" from ", " on ")),
        fmt.phone_v(ctx, p),
        " about ",
        dx.complaint(r),
        ".",
    )
    x = r.random()
    if x < 0.4:
        note.line("Could you book a follow-up on ", fmt.date_v(ctx, ctx.days_ago(-40, -3)), "? ", dx.plan(r))
    elif x < 0.7:
        note.line("The record number is ", phi.mrn(ctx), ". ", dx.labs(r), ".")
    else:
        note.line(dx.history(r, p.male), " ", dx.plan(r))
    if r.random() < 0.7:  # "Obs: Bp 174/77, pulse 51", "Rm: 292; Bed: 4"
        note.line(ms.obs(ctx) if r.random() < 0.5 else ms.items(ctx, k=r.randint(1, 3)))
    if ctx.extended:
        note.line(r.choice(("Thanks,", "Regards,", "Best,", "Mvh")))
        note.line(phi.name(ctx, cl.doctor(ctx), r.choice(("gf", "g", "i.f"))))
    else:
        note.line(r.choice(("Thanks,", "Regards,", "Best,")), "\n", r.choice(ROLES), ", ", r.choice(TEAMS))


def prescription(note: Note, ctx: phi.Ctx) -> None:
    r = ctx.rng
    p = phi.person(ctx)
    kv = KV(ctx, plain_sep=True)
    note.line(doc_title(r, "prescription", ctx.lang, ("Rx", "PRESCRIPTION", "Prescription")))
    if r.random() < 0.5:
        note.line(unit(ctx, r.choice(("General Practice", "Outpatient Medicine", "Internal Medicine"))))
    kv.line(note, "name", phi.name(ctx, p))
    if r.random() < 0.5:
        kv.line(note, "dob", fmt.date_v(ctx, p.dob))
    else:
        kv.line(note, "age", phi.age_any(ctx, p, form=True))
    if r.random() < 0.6:
        kv.line(note, "address", phi.address(ctx, p))
    elif r.random() < 0.6:
        note.line(place(ctx, p, kv))
    if r.random() < 0.4:
        kv.line(note, "phone", fmt.phone_v(ctx, p))
    if r.random() < 0.6:  # weight-based dosing, quantities
        note.line(ms.items(ctx, ("weight", "height", "bmi", "qty", "dose", "ward", "bed")))
    if r.random() < 0.5:
        kv.line(note, "natid", phi.natid(ctx, p))
    note.line(r.choice(("Rp.", "Rx:", "Medication:", "")))
    for i in range(r.randint(1, 4)):
        qty = r.choice(
            (
                f"Qty: {r.randint(10, 100)} tablets",
                f"Disp: #{r.choice((14, 28, 30, 60, 90))}",
                f"{r.randint(1, 3)} packs",
                f"Refills: {r.randint(0, 5)}",
                f"Sig: {r.randint(1, 2)} tab PO bid",
            )
        )
        note.line(r.choice((f"{i + 1}. ", "- ", "")), dx.med(r, cap=True), r.choice((" - ", ", ", "\n   ")), qty)
    note.line(r.choice(("Date: ", "Issued: ", "")), fmt.date_v(ctx, ctx.today))
    if r.random() < 0.3:
        note.line(r.choice(("Valid ", "Treatment period: ", "Course: ")), fmt.range_v(ctx, *ctx.period(-1, 0, 90)))
    if ctx.extended and r.random() < 0.7:
        note.line(r.choice(("Prescriber: ", "Signed: ", "")), staff(ctx))
    else:
        note.line(r.choice(("Signature: ________", "Prescriber signature:", "(signed)")))
    if r.random() < 0.2:
        signature(note, ctx, closing=False)
    postal(note, ctx, p, 0.25)
    if r.random() < 0.3:
        note.line(ms.page(ctx))
    note.wrap = r.random() < 0.3
