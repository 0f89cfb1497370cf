"""The layout families: name -> function writing one note of that layout into a `Note`."""

from __future__ import annotations

from tfner.data.notes import forms, narrative, reports

BUILDERS = {
    "admission_note": narrative.admission_note,
    "discharge_letter": narrative.discharge_letter,
    "referral_letter": narrative.referral_letter,
    "progress_note": narrative.progress_note,
    "phone_consult": narrative.phone_consult,
    "mixed_text": narrative.mixed_text,
    "kv_form": forms.kv_form,
    "table": forms.table,
    "bullet_summary": forms.bullet_summary,
    "record_export": forms.record_export,
    "lab_report": reports.lab_report,
    "radiology_report": reports.radiology_report,
    "message": reports.message,
    "prescription": reports.prescription,
}
