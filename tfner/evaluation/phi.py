"""De-identification metrics: what the field reports next to entity F1 (USERS.md, "recall first").

- token level, binary: every word (or token, for span data) that is part of any PHI entity is PHI; recall
  and precision of "PHI vs not PHI", whatever the type (the headline figure of de-identification papers);
- token level per type: recall and precision of each type's units (what `tfner calibrate` tunes);
- entity level through `nervaluate` (the i2b2 2014 / SemEval 2013 schemes, computed in
  `tfner.evaluation.errors`): `strict` (same boundaries, same type), `exact` (same boundaries), `partial`
  (overlap counted half), and `ent_type` (any overlap, same type: the i2b2 "relaxed" match);
- leaks: every gold entity with at least one unit predicted as not PHI, with its document, position and
  offsets (and its text only when asked), since a partly kept name still identifies a patient.
"""

import numpy as np

from tfner.data import tags as tag_schemes
from tfner.evaluation.errors import SCHEMES, entity_schemes  # nervaluate's schemes, shared with error analysis


def _is_phi(tags):
    return np.array([t != tag_schemes.OUTSIDE for t in tags], bool)


def token_scores(gold, pred):
    """Binary PHI recall/precision/F1 over all units, and recall/precision per entity type."""
    g = np.concatenate([_is_phi(t) for t in gold]) if gold else np.zeros(0, bool)
    p = np.concatenate([_is_phi(t) for t in pred]) if pred else np.zeros(0, bool)
    tp = int((g & p).sum())
    out = {
        "phi_tokens": int(g.sum()),
        "predicted_phi_tokens": int(p.sum()),
        "recall": float(tp / g.sum()) if g.sum() else float("nan"),
        "precision": float(tp / p.sum()) if p.sum() else float("nan"),
    }
    out["f1"] = _f1(out["precision"], out["recall"])
    gold_types = [tag_schemes.entity_type(t) for doc in gold for t in doc]
    pred_types = [tag_schemes.entity_type(t) for doc in pred for t in doc]
    out["per_type"] = {}
    for kind in sorted({t for t in gold_types + pred_types if t is not None}):
        gk = np.array([t == kind for t in gold_types])
        pk = np.array([t == kind for t in pred_types])
        hit = int((gk & pk).sum())
        out["per_type"][kind] = {
            "recall": float(hit / gk.sum()) if gk.sum() else float("nan"),
            "precision": float(hit / pk.sum()) if pk.sum() else float("nan"),
            "support": int(gk.sum()),
        }
    return out


def _f1(p, r):
    if not (p == p and r == r) or p + r == 0:
        return float("nan") if not (p == p and r == r) else 0.0
    return 2 * p * r / (p + r)


def leaks(windows, pred):
    """Gold entities with at least one unit predicted O: a list of dicts with the document index, the
    entity type, its unit range, its character offsets when the data has them, and how many of its
    units were missed. No text (see `leak_text`)."""
    out = []
    for d, (gold, tags) in enumerate(zip(windows.gold, pred)):
        if gold is None:
            continue
        offsets = windows.offsets[d]
        for kind, start, end in tag_schemes.entities(gold):
            missed = sum(t == tag_schemes.OUTSIDE for t in tags[start:end])
            if not missed:
                continue
            leak = {
                "document": d,
                "label": kind,
                "units": [start, end],
                "missed_units": missed,
                "units_in_entity": end - start,
            }
            if offsets is not None and len(offsets) >= end:
                leak["start"], leak["end"] = int(offsets[start][0]), int(offsets[end - 1][1])
            out.append(leak)
    return out


def leak_text(windows, leak):
    """The text of a leaked entity (for `--show-text` only: it is PHI)."""
    doc = windows.documents[leak["document"]]
    if "start" in leak and doc.text is not None:
        return doc.text[leak["start"] : leak["end"]]
    start, end = leak["units"]
    return " ".join(doc.tokens[start:end]) if doc.tokens else ""


def format_phi(report):
    t = report["token"]
    lines = [
        f"PHI tokens (any type vs not PHI): recall {t['recall']:.4f}  precision {t['precision']:.4f}  "
        f"F1 {t['f1']:.4f}  ({t['phi_tokens']} gold PHI tokens)"
    ]
    overall = report["entity"]["overall"]
    if overall:
        lines.append(f"{'entities':<14}" + "".join(f"{s:>22}" for s in SCHEMES))
        lines.append(
            f"{'  P / R / F1':<14}"
            + "".join(
                f"{overall[s]['precision']:>8.3f}{overall[s]['recall']:>7.3f}{overall[s]['f1']:>7.3f}" for s in SCHEMES
            )
        )
    lines.append(f"leaked gold entities (a unit predicted O): {report['leaked_entities']}")
    return "\n".join(lines)


def phi_report(windows, pred):
    """Token-level PHI figures, nervaluate's schemes and the leak count of `pred` against `windows.gold`."""
    gold = [g for g in windows.gold if g is not None]
    predicted = [p for g, p in zip(windows.gold, pred) if g is not None]
    found = leaks(windows, pred)
    return {
        "token": token_scores(gold, predicted),
        "entity": entity_schemes(gold, predicted),
        "leaked_entities": len(found),
        "gold_entities": sum(len(tag_schemes.entities(g)) for g in gold),
    }
