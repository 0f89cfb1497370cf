"""Replace the entities of a text: `redact` ("[LABEL]"), `mask` ("*" per character) or `surrogate`.

Entities are dicts {"label": str, "start": int, "end": int, "score": float} with character offsets into
the text (`score` defaults to 1.0). An entity with start >= end, offsets outside the text or no string
label is a ValueError naming the entity (its label and offsets, never its text).

Overlaps (`merge_entities`): entities sharing at least one character become one span covering all of
them, labelled with the highest-scoring one (ties: the longer, then the earlier); its score is the highest
score. Touching entities (one ends where the next starts) are merged only when they have the same label
(a date split in two pieces by the model is one date), else each is replaced on its own. So every
character that any entity covered is replaced, exactly once.
"""

from numbers import Integral, Real

MODES = ("redact", "mask", "surrogate")


def _describe(n, entity):
    if not isinstance(entity, dict):
        return f"entity {n} ({type(entity).__name__}, not a dict)"
    return f"entity {n} (label={entity.get('label')!r}, start={entity.get('start')!r}, end={entity.get('end')!r})"


def validate_entities(text, entities):
    """The entities as clean dicts (int offsets, float score), or ValueError naming the first bad one."""
    clean = []
    for n, e in enumerate(entities):
        what = _describe(n, e)
        if not isinstance(e, dict) or not isinstance(e.get("label"), str) or not e["label"]:
            raise ValueError(f"{what}: needs a non-empty string label")
        start, end, score = e.get("start"), e.get("end"), e.get("score", 1.0)
        if not all(isinstance(v, Integral) and not isinstance(v, bool) for v in (start, end)):
            raise ValueError(f"{what}: start and end must be integers")
        if not isinstance(score, Real):
            raise ValueError(f"{what}: score must be a number")
        if not 0 <= start < end <= len(text):
            raise ValueError(f"{what}: needs 0 <= start < end <= {len(text)} (the text's length)")
        clean.append({"label": e["label"], "start": int(start), "end": int(end), "score": float(score)})
    return clean


def merge_entities(text, entities):
    """Validated, sorted entities with overlaps merged (see the module docstring)."""
    merged = []
    for e in sorted(validate_entities(text, entities), key=lambda e: (e["start"], e["end"])):
        last = merged[-1] if merged else None
        if last and (e["start"] < last["end"] or (e["start"] == last["end"] and e["label"] == last["label"])):
            wins = (e["score"], e["end"] - e["start"]) > (last["score"], last["_length"])
            if wins:
                last["label"], last["_length"] = e["label"], e["end"] - e["start"]
            last["score"] = max(last["score"], e["score"])
            last["end"] = max(last["end"], e["end"])
        else:
            merged.append(dict(e, _length=e["end"] - e["start"]))
    for e in merged:
        del e["_length"]
    return merged


def deidentify_text(text, entities, mode, surrogates=None):
    """`text` with every entity replaced according to `mode` (one of MODES).

    redact: each (merged) entity -> "[LABEL]"; mask: each character of an entity -> "*" (length and the
    offsets of everything else kept); surrogate: each entity -> `surrogates.surrogate(label, value)`, a
    `Surrogates` made for this document.
    """
    if mode not in MODES:
        raise ValueError(f"mode must be one of {', '.join(MODES)}, got {mode!r}")
    if not isinstance(text, str):
        raise TypeError(f"text must be a str, got {type(text).__name__}")
    spans = merge_entities(text, entities)
    if mode == "surrogate":
        if surrogates is None:
            raise ValueError("mode 'surrogate' needs a Surrogates object (surrogates=Surrogates(key, document_id))")
        surrogates.prepare([(e["label"], text[e["start"] : e["end"]]) for e in spans])
    out, pos = [], 0
    for e in spans:
        value = text[e["start"] : e["end"]]
        if mode == "redact":
            new = f"[{e['label']}]"
        elif mode == "mask":
            new = "*" * len(value)
        else:
            new = surrogates.surrogate(e["label"], value)
        out += [text[pos : e["start"]], new]
        pos = e["end"]
    out.append(text[pos:])
    return "".join(out)
