"""Non-PHI clinical text: sentences built from varied parts, and the numbers that must stay unlabelled.

Doses ("5 mg", "0.5 mL"), lab values ("Hb 13.2 g/dL", "CRP 45"), vitals ("BP 120/80", "HR 72",
"SpO2 97 %", "Temp 37.8"), times ("10:30", "14.15"), rooms and beds ("Room 12B", "bed 4"), ICD-10
codes ("I21.4", "E11.9"), drug names, scores ("pain 3/10") and repeated section headings. Every
function returns plain text; none of it is ever labelled.
"""

from __future__ import annotations

# Word tables: kept dense, several entries a line.
# fmt: off
DRUGS = (
    "metoprolol", "paracetamol", "ibuprofen", "amoxicillin", "metformin", "atorvastatin", "furosemide", "apixaban",
    "omeprazole", "prednisolone", "salbutamol", "lisinopril", "ramipril", "amlodipine", "bisoprolol", "warfarin",
    "enoxaparin", "insulin glargine", "levothyroxine", "simvastatin", "ceftriaxone", "piperacillin/tazobactam",
    "morphine", "oxycodone", "ondansetron", "pantoprazole", "clopidogrel", "acetylsalicylic acid", "spironolactone",
    "losartan", "gabapentin", "sertraline", "zopiclone", "cefuroxime", "doxycycline", "allopurinol", "tramadol",
    "lactulose", "digoxin", "fentanyl",
)
_UNITS = {"insulin glargine": ("IU",), "levothyroxine": ("mcg",), "lactulose": ("mL",), "ceftriaxone": ("g",),
          "piperacillin/tazobactam": ("g",), "paracetamol": ("g", "mg"), "amoxicillin": ("g", "mg"),
          "morphine": ("mg", "mL"), "enoxaparin": ("mg", "mL"), "salbutamol": ("mg", "mL"), "digoxin": ("mcg", "mg"),
          "fentanyl": ("mcg",), "cefuroxime": ("g", "mg")}
_DOSES = {"mg": (1, 2.5, 5, 10, 20, 25, 40, 50, 75, 100, 200, 250, 500, 1000), "mcg": (25, 50, 75, 100, 200),
          "g": (1, 2, 4), "mL": (0.5, 1, 2, 5, 10), "IU": (8, 10, 12, 16, 20, 24)}
_FREQ = ("once daily", "twice daily", "bid", "tid", "x 2", "1x3", "1-0-1", "q8h", "q6h prn", "at night", "od",
         "as needed", "every morning", "three times daily")
_ROUTE = ("", "", "p.o. ", "i.v. ", "s.c. ", "orally ")
# (name, unit, low, high, decimals)
LABS = (
    ("Hb", "g/dL", 8, 17, 1), ("Hb", "g/L", 80, 170, 0), ("CRP", "mg/L", 1, 250, 0), ("CRP", "", 1, 250, 0),
    ("WBC", "x10^9/L", 3, 22, 1), ("Plt", "x10^9/L", 90, 450, 0), ("Na", "mmol/L", 128, 146, 0),
    ("K", "mmol/L", 3, 6, 1), ("Creatinine", "µmol/L", 50, 300, 0), ("eGFR", "mL/min", 15, 90, 0),
    ("HbA1c", "mmol/mol", 35, 95, 0), ("INR", "", 0.9, 3.5, 1), ("Troponin T", "ng/L", 3, 900, 0),
    ("Glucose", "mmol/L", 4, 18, 1), ("ALT", "U/L", 10, 200, 0), ("Lactate", "mmol/L", 0.5, 6, 1),
    ("D-dimer", "mg/L", 0.2, 4, 1), ("NT-proBNP", "ng/L", 50, 9000, 0), ("TSH", "mIU/L", 0.1, 9, 2),
)
ICD = (
    ("I21.4", "NSTEMI"), ("E11.9", "type 2 diabetes"), ("J18.9", "pneumonia"), ("N39.0", "urinary tract infection"),
    ("I48.0", "paroxysmal atrial fibrillation"), ("K35.8", "acute appendicitis"), ("I50.1", "left heart failure"),
    ("J44.1", "COPD exacerbation"), ("S72.0", "fracture of the femoral neck"), ("I63.9", "ischaemic stroke"),
    ("A41.9", "sepsis"), ("K85.9", "acute pancreatitis"), ("I26.9", "pulmonary embolism"), ("E87.1", "hyponatraemia"),
    ("R55", "syncope"), ("I10", "essential hypertension"), ("N17.9", "acute kidney injury"),
    ("F10.3", "alcohol withdrawal"),
)
COMPLAINTS = (
    "chest pain", "shortness of breath", "abdominal pain", "fever and cough", "dizziness", "a fall at home",
    "back pain", "palpitations", "headache and nausea", "a swollen left knee", "reduced appetite", "confusion",
    "a productive cough", "syncope", "vomiting", "leg swelling", "weakness in the right arm", "dysuria",
    "general deterioration", "haematemesis", "pain in the right hip", "fatigue and weight loss",
)
DEPARTMENTS = (
    "Cardiology", "Neurology", "Orthopaedics", "Gastroenterology", "Oncology", "Pulmonology", "Endocrinology",
    "Nephrology", "Geriatrics", "Internal Medicine", "Emergency Medicine", "Rheumatology", "Urology", "Surgery",
)
HEADINGS = {
    "history": ("History:", "HPI:", "History of present illness:", "Anamnesis:", "HISTORY"),
    "pmh": ("PMH:", "Past medical history:", "Previous history:"),
    "meds": ("Medications:", "Current medication:", "Meds:", "MEDICATIONS"),
    "vitals": ("Vitals:", "Vital signs:", "VITALS", "Obs:"),
    "exam": ("Examination:", "On examination:", "O/E:", "Clinical findings:"),
    "labs": ("Labs:", "Blood tests:", "Laboratory:", "LABS"),
    "assessment": ("Assessment:", "Impression:", "Diagnosis:", "A:"),
    "plan": ("Plan:", "PLAN:", "Plan -", "Management:", "P:"),
}


# fmt: on
def _num(r, lo, hi, decimals: int) -> str:
    value = r.uniform(lo, hi)
    return f"{value:.{decimals}f}" if decimals else str(int(round(value)))


def heading(r, kind: str) -> str:
    return r.choice(HEADINGS[kind])


def dose(r, drug: str) -> str:
    unit = r.choice(_UNITS.get(drug, ("mg",)))
    return f"{r.choice(_DOSES[unit]):g} {unit}"


def med(r, cap: bool = False) -> str:
    drug = r.choice(DRUGS)
    text = f"{drug} {r.choice(_ROUTE)}{dose(r, drug)} {r.choice(_FREQ)}"
    return text[:1].upper() + text[1:] if cap else text


def lab(r) -> str:
    name, unit, lo, hi, dec = r.choice(LABS)
    value = _num(r, lo, hi, dec)
    return f"{name} {value} {unit}".strip() if r.random() < 0.8 else f"{name}: {value}"


def labs(r, k: int | None = None) -> str:
    return ", ".join(lab(r) for _ in range(k or r.randint(2, 5)))


def lab_row(r) -> tuple[str, str, str, str]:
    name, unit, lo, hi, dec = r.choice(LABS)
    low, high = _num(r, lo, (lo + hi) / 2, dec), _num(r, (lo + hi) / 2, hi, dec)
    return name, _num(r, lo, hi, dec), unit or "-", f"{low}-{high}"


def bp(r) -> str:
    sys = r.randint(90, 185)
    return f"{sys}/{r.randint(50, min(110, sys - 25))}"


def vitals(r) -> str:
    parts = [
        f"BP {bp(r)}",
        f"HR {r.randint(45, 135)}",
        f"SpO2 {r.randint(86, 100)}{r.choice((' %', '%'))}",
        f"Temp {r.randint(35, 39)}.{r.randint(0, 9)}",
        f"RR {r.randint(10, 32)}",
        f"GCS {r.randint(9, 15)}",
        f"pulse {r.randint(45, 135)} bpm",
        f"NEWS {r.randint(0, 9)}",
        f"weight {r.randint(45, 130)} kg",
    ]
    chosen = r.sample(parts, r.randint(2, 5))
    return r.choice((", ", "; ", "  ", ", ")).join(chosen)


def time(r) -> str:
    h, m = r.randint(0, 23), r.randint(0, 11) * 5
    return r.choice((f"{h:02d}:{m:02d}", f"{h:02d}.{m:02d}", f"{h}:{m:02d}", f"{h:02d}{m:02d}"))


def room(r) -> str:
    return r.choice(
        (
            f"Room {r.randint(1, 40)}{r.choice(('', 'A', 'B', 'C'))}",
            f"bed {r.randint(1, 30)}",
            f"room {r.randint(100, 450)}, bed {r.randint(1, 4)}",
            f"Ward {r.randint(1, 12)}{r.choice('ABC')}",
            f"Bay {r.randint(1, 8)} bed {r.randint(1, 6)}",
        )
    )


def icd(r) -> str:
    code, text = r.choice(ICD)
    return r.choice((f"{text} ({code})", f"{code} {text}", f"{code} - {cap(text)}", text))


def complaint(r) -> str:
    return r.choice(COMPLAINTS)


def dept(r) -> str:
    return r.choice(DEPARTMENTS)


def _pick(r, *options) -> str:
    return r.choice(options)


def cap(text: str) -> str:
    return text[:1].upper() + text[1:]


def several(r, make, k: int, *args, sep: str = " ") -> str:
    """`k` sentences from `make(r, *args)`, no two opening with the same words."""
    out, seen = [], set()
    for _ in range(4 * k):
        s = make(r, *args)
        if s[:14] not in seen:
            seen.add(s[:14])
            out.append(s)
        if len(out) == k:
            break
    return sep.join(out)


def history(r, he: bool) -> str:
    s = "He" if he else "She"
    onset = _pick(
        r,
        f"for the past {r.randint(2, 14)} days",
        "since yesterday",
        f"for {r.randint(2, 6)} weeks",
        "since this morning",
        f"over the last {r.randint(2, 12)} hours",
        "for some time",
    )
    extra = _pick(
        r,
        "",
        " that worsens on exertion",
        ", associated with nausea",
        ", without fever",
        ", with no radiation",
        " and has not been eating well",
        ", partly relieved by rest",
    )
    first = _pick(
        r,
        f"{s} reports {complaint(r)} {onset}{extra}.",
        f"{s} describes {complaint(r)} {onset}{extra}.",
        f"Presents with {complaint(r)} {onset}{extra}.",
        f"Complains of {complaint(r)} {onset}{extra}.",
    )
    more = _pick(
        r,
        "",
        f" Known {icd(r)}.",
        f" Previously treated for {icd(r)}.",
        " No previous similar episodes.",
        f" Pain score {r.randint(1, 9)}/10.",
        f" {s} takes {med(r)}.",
        " Lives alone, independent in ADL.",
    )
    return first + more


def exam(r) -> str:
    return _pick(
        r,
        "Heart sounds regular, no murmurs.",
        "Chest clear on auscultation.",
        f"Crackles over the {r.choice(('right', 'left'))} base.",
        "Abdomen soft, non-tender.",
        "Alert and oriented, no focal deficits.",
        "Mild pitting oedema of both ankles.",
        f"Capillary refill {r.randint(1, 4)} s.",
        "Warm and well perfused.",
        "No neck stiffness.",
        f"Pupils equal, {r.randint(2, 5)} mm, reactive.",
    )


def assessment(r) -> str:
    return _pick(
        r,
        f"Probable {icd(r)}.",
        f"{cap(icd(r))}.",
        f"Most likely {icd(r)}, differential {icd(r)}.",
        f"Working diagnosis: {icd(r)}.",
        f"Known {icd(r)}, now stable.",
    )


def plan(r) -> str:
    lab_name, drug = r.choice(LABS)[0], r.choice(DRUGS)
    return _pick(
        r,
        f"Start {med(r)}.",
        f"Continue {med(r)}.",
        f"Stop {r.choice(DRUGS)}.",
        f"Repeat {lab_name} in {r.randint(1, 7)} days.",
        f"Follow-up in the {dept(r)} clinic in {r.randint(2, 12)} weeks.",
        f"Chest X-ray at {time(r)}.",
        "Mobilise with physiotherapy.",
        f"Fluid restriction {r.choice((1, 1.5, 2))} L/day.",
        f"Reassess at {time(r)}.",
        f"Increase {drug} to {dose(r, drug)} {r.choice(_FREQ)}.",
        "Discharge when stable.",
        f"Refer to {dept(r)}.",
        f"Target BP below {r.choice((130, 140))}/{r.choice((80, 90))}.",
    )


def course(r, he: bool) -> str:
    s = "He" if he else "She"
    return _pick(
        r,
        f"{s} was treated with {med(r)} with good effect.",
        f"{labs(r, 2)} on admission.",
        f"{s} improved gradually and was mobilised on day {r.randint(2, 5)}.",
        f"Transferred to {room(r)} on day {r.randint(1, 4)}.",
        f"CT at {time(r)} showed no acute changes.",
        f"ECG: sinus rhythm, rate {r.randint(50, 110)}.",
        f"The course was complicated by {icd(r)}.",
        f"Vitals on discharge: {vitals(r)}.",
        f"Antibiotics were switched to {med(r)} after {r.randint(2, 5)} days.",
    )


def nursing(r, he: bool) -> str:
    s = "he" if he else "she"
    return _pick(
        r,
        f"Slept well, no complaints. {vitals(r)}.",
        f"Pain {r.randint(0, 10)}/10, given {med(r)}.",
        f"Mobilised to chair with help of {r.randint(1, 2)}.",
        f"Moved to {room(r)}.",
        f"Eating and drinking, fluid balance +{r.randint(100, 900)} mL.",
        f"Says {s} feels better today. {vitals(r)}.",
        f"Wound dry and intact. Temp {r.randint(36, 38)}.{r.randint(0, 9)}.",
        f"BM {_num(r, 4, 16, 1)}, insulin given.",
        "Seen by physiotherapist.",
        f"Urine output {r.randint(20, 120)} mL/h.",
    )


def finding(r) -> str:
    side = r.choice(("right", "left"))
    return _pick(
        r,
        f"No pneumothorax. Small {side}-sided pleural effusion.",
        f"Consolidation in the {side} lower lobe.",
        "Heart size within normal limits.",
        f"A {r.randint(3, 40)} mm lesion in segment {r.randint(2, 8)} of the liver.",
        "No intracranial haemorrhage. No midline shift.",
        f"Degenerative changes at L{r.randint(2, 5)}-L{r.randint(3, 5)}.",
        "No free fluid or free air.",
        "Lungs are clear.",
        f"Fracture of the {side} femoral neck, Garden {r.choice(('I', 'II', 'III', 'IV'))}.",
        f"Compared with the previous study, the nodule measures {r.randint(4, 15)} mm (was {r.randint(3, 14)} mm).",
    )
