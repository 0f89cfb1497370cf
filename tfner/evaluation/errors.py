"""Entity-level error analysis of predicted tags against gold ones, per sentence (document), for
`tfner evaluate`: nervaluate's schemes, a table of error kinds per entity type, and examples of each kind.

Entities are read with `tfner.data.tags.entities`, so any tag scheme tfner supports (IOB1, IOB2, IOBES,
BILOU) works, leniently as conlleval reads (an `I-X` after `O` starts an entity). Two entities *overlap*
when they share at least one unit (word, or token for span data); the entities of one side never overlap
each other.

**nervaluate** (`entity_schemes`, the i2b2 2014 / SemEval 2013 schemes): `strict` (same boundaries and
type), `exact` (same boundaries), `partial` (overlap counted half) and `ent_type` (overlap and same type).

**Error kinds** (`error_kinds`). Every gold entity gets exactly one kind, from the predicted entities that
overlap it, taking the first rule that holds:

1. `correct`: one of them has its boundaries and its type;
2. `wrong_type`: one of them has its boundaries, with another type (it is then the only one);
3. `wrong_boundary`: one of them has its type, with other boundaries;
4. `both_wrong`: there are some, all of other types and other boundaries;
5. `missed`: there is none.

Every predicted entity gets exactly one kind by the same rules with the sides swapped, `spurious` (no gold
entity overlaps it) in place of `missed`. So, per type and overall,

    gold entities      = correct + wrong_type + wrong_boundary + both_wrong + missed
    predicted entities = correct + wrong_type + wrong_boundary + both_wrong + spurious

`correct` and, overall, `wrong_type` pair one gold entity with one predicted entity and so count the same on
both sides; `wrong_boundary` and `both_wrong` may not (a predicted PATIENT over two gold PATIENT names is
one predicted and two gold `wrong_boundary` entities), and a `wrong_type` pair counts under the gold type
on the gold side and under the predicted type on the other. nervaluate's `strict` correct is `correct`, and
its `exact` correct is `correct` + `wrong_type`.

**Examples** (`examples`): for each kind but `correct`, the first `limit` errors in document order, each one
entity of that kind with the entities of the other side that overlap it, shown in `context` units either
side. `format_examples` writes them with positions only, or also with the words, gold and predicted
entities marked `[words]TYPE`, when given the text (PHI: `tfner evaluate` does so only with `--show-text`).
"""

from tfner.data import tags as tag_schemes

SCHEMES = ("strict", "exact", "partial", "ent_type")
KINDS = ("correct", "wrong_type", "wrong_boundary", "both_wrong", "missed", "spurious")
ERRORS = KINDS[1:]  # the kinds examples are shown for
GOLD_KINDS = KINDS[:5]  # a gold entity is never spurious
PRED_KINDS = KINDS[:4] + ("spurious",)  # a predicted one never missed
CONTEXT = 8  # units shown either side of an example
_COUNTS = ("precision", "recall", "f1", "correct", "incorrect", "partial", "missed", "spurious", "possible", "actual")


def spans(sequences, scheme="IOB2"):
    """`(type, start, end)` entities (end exclusive) of each tag sequence."""
    return [tag_schemes.entities(list(tags), scheme) for tags in sequences]


def entity_schemes(gold, pred, scheme="IOB2"):
    """nervaluate's strict/exact/partial/ent_type precision, recall and F1 and its counts, overall and per
    type, of tag sequences `pred` against `gold` (entities read in `scheme`)."""
    from nervaluate import Evaluator

    gold_spans, pred_spans = spans(gold, scheme), spans(pred, scheme)
    types = sorted({kind for doc in gold_spans + pred_spans for kind, _, _ in doc})
    if not types:
        return {"overall": {}, "per_type": {}}
    # nervaluate's own tag loader knows B- and I- only; its dict loader takes spans, end inclusive
    as_dicts = lambda docs: [[{"label": k, "start": s, "end": e - 1} for k, s, e in doc] for doc in docs]
    results = Evaluator(as_dicts(gold_spans), as_dicts(pred_spans), tags=types, loader="dict").evaluate()
    row = lambda r: {
        k: float(getattr(r, k)) if k in ("precision", "recall", "f1") else int(getattr(r, k)) for k in _COUNTS
    }
    return {
        "overall": {s: row(results["overall"][s]) for s in SCHEMES},
        "per_type": {t: {s: row(results["entities"][t][s]) for s in SCHEMES} for t in types},
    }


def _overlaps(a, b):
    return a[1] < b[2] and b[1] < a[2]


def judge(entity, others, unmatched):
    """The kind of `entity` `(type, start, end)` given the entities of the other side (see the module
    docstring); `unmatched` is the kind when none overlaps it (`missed` or `spurious`)."""
    hits = [o for o in others if _overlaps(entity, o)]
    if not hits:
        return unmatched
    same_span = [o for o in hits if o[1:] == entity[1:]]
    if same_span:
        return "correct" if same_span[0][0] == entity[0] else "wrong_type"
    return "wrong_boundary" if any(o[0] == entity[0] for o in hits) else "both_wrong"


def sentence_kinds(gold_entities, pred_entities):
    """(kind of each gold entity, kind of each predicted entity) of one sentence."""
    return (
        [judge(g, pred_entities, "missed") for g in gold_entities],
        [judge(p, gold_entities, "spurious") for p in pred_entities],
    )


def _side(kinds):
    return {"entities": 0, **{k: 0 for k in kinds}}


def error_kinds(gold, pred, scheme="IOB2"):
    """Counts of each error kind, of gold and of predicted entities, per type and overall, and the
    type confusions of `wrong_type` pairs (`"PATIENT -> LOC": n`, gold type first)."""
    per_type, confusions = {}, {}
    overall = {"gold": _side(GOLD_KINDS), "predicted": _side(PRED_KINDS)}
    for gold_entities, pred_entities in zip(spans(gold, scheme), spans(pred, scheme)):
        gold_kinds, pred_kinds = sentence_kinds(gold_entities, pred_entities)
        for side, entities, kinds in (("gold", gold_entities, gold_kinds), ("predicted", pred_entities, pred_kinds)):
            for entity, kind in zip(entities, kinds):
                row = per_type.setdefault(entity[0], {"gold": _side(GOLD_KINDS), "predicted": _side(PRED_KINDS)})
                for counts in (row[side], overall[side]):
                    counts["entities"] += 1
                    counts[kind] += 1
        for g, kind in zip(gold_entities, gold_kinds):
            if kind == "wrong_type":
                p = next(p for p in pred_entities if p[1:] == g[1:])
                key = f"{g[0]} -> {p[0]}"
                confusions[key] = confusions.get(key, 0) + 1
    return {
        "per_type": dict(sorted(per_type.items())),
        "overall": overall,
        "wrong_type_pairs": dict(sorted(confusions.items(), key=lambda kv: (-kv[1], kv[0]))),
    }


def _within(entities, start, end):
    return [list(e) for e in entities if e[1] < end and start < e[2]]


def examples(gold, pred, limit=20, scheme="IOB2", context=CONTEXT):
    """Up to `limit` examples per error kind, in order: dicts with the `document` (sentence) index, the
    `anchor` (the entity of that kind, on side `side`), and the window of units `units` [start, end) shown,
    with its `gold` and `predicted` entities."""
    out = {k: [] for k in ERRORS}
    if limit <= 0:
        return out
    for n, (gold_entities, pred_entities) in enumerate(zip(spans(gold, scheme), spans(pred, scheme))):
        length = len(gold[n])
        gold_kinds, pred_kinds = sentence_kinds(gold_entities, pred_entities)
        found = [(g, k, "gold", pred_entities) for g, k in zip(gold_entities, gold_kinds)]
        found += [(p, k, "predicted", gold_entities) for p, k in zip(pred_entities, pred_kinds)]
        for entity, kind, side, others in sorted(found, key=lambda f: (f[0][1], f[2] != "gold")):
            if kind == "correct" or len(out[kind]) >= limit:
                continue
            cluster = [entity] + [o for o in others if _overlaps(entity, o)]
            start = max(0, min(e[1] for e in cluster) - context)
            end = min(length, max(e[2] for e in cluster) + context)
            while True:  # widen the window until it cuts no entity
                cut = _within(gold_entities + pred_entities, start, end)
                wider = min([start] + [e[1] for e in cut]), max([end] + [e[2] for e in cut])
                if wider == (start, end):
                    break
                start, end = wider
            if any(x["document"] == n and x["units"] == [start, end] for x in out[kind]):
                continue  # the same error seen from the other side
            out[kind].append(
                {
                    "document": n,
                    "side": side,
                    "anchor": list(entity),
                    "units": [start, end],
                    "gold": _within(gold_entities, start, end),
                    "predicted": _within(pred_entities, start, end),
                }
            )
    return out


def marked(text, starts, ends, entities, window):
    """The text of the units `window` [start, end), each entity (clipped to the window) marked
    `[words]TYPE`, on one line, with `…` where the sentence goes on."""
    first, last = window
    inserts = []
    for kind, a, b in entities:
        a, b = max(a, first), min(b, last)
        if a < b:
            inserts += [(starts[a], 1, "["), (ends[b - 1], 0, f"]{kind}")]
    out, position = [], starts[first]
    for at, _, mark in sorted(inserts):
        out += [text[position:at], mark]
        position = at
    out.append(text[position : ends[last - 1]])
    line = " ".join("".join(out).split())
    return ("… " if first > 0 else "") + line + (" …" if last < len(starts) else "")


def _entity(e):
    return f"{e[0]} [{e[1]}, {e[2]})"


def format_examples(found, counts=None, source=None, offsets=None, text=None):
    """`examples` as text, grouped by kind. `source(n)`: where document n is from; `offsets(n)`: its units'
    character offsets, or None (word documents), to give each window's characters too; `text(n)`:
    `(text, unit starts, unit ends)` in characters, to show the words (no `text`: positions only).
    `counts`: the `error_kinds` result, for each kind's totals."""
    lines = []
    for kind in ERRORS:
        total = ""
        if counts is not None:
            sides = [s for s in ("gold", "predicted") if kind in counts["overall"][s]]
            total = ", ".join(f"{counts['overall'][s][kind]} {s}" for s in sides) + "; "
        lines.append(f"== {kind.replace('_', ' ')} ({total}{len(found[kind])} shown) ==")
        for x in found[kind]:
            n = x["document"]
            where = f"document {n}" + (f" ({source(n)})" if source and source(n) else "")
            gold = "; ".join(_entity(e) for e in x["gold"]) or "none"
            pred = "; ".join(_entity(e) for e in x["predicted"]) or "none"
            start, end = x["units"]
            chars = offsets(n) if offsets else None
            window = f"units [{start}, {end})" + (
                f" (characters [{chars[start][0]}, {chars[end - 1][1]}))" if chars is not None else ""
            )
            lines.append(f"{where}: {x['side']} {_entity(x['anchor'])}; {window}: gold {gold} | predicted {pred}")
            if text is not None:
                words, starts, ends = text(n)
                lines.append("  gold: " + marked(words, starts, ends, x["gold"], x["units"]))
                lines.append("  pred: " + marked(words, starts, ends, x["predicted"], x["units"]))
        lines.append("")
    return "\n".join(lines)


def format_errors(kinds, schemes=None):
    """The error kinds per type (gold | predicted entities) and, given `entity_schemes`' result, its F1 per
    type and scheme, as text tables."""
    lines = []
    if schemes and schemes.get("per_type"):
        lines.append(f"{'nervaluate F1':<14}" + "".join(f"{s:>10}" for s in SCHEMES))
        for name, row in schemes["per_type"].items():
            lines.append(f"{name:<14}" + "".join(f"{row[s]['f1']:>10.4f}" for s in SCHEMES))
    gold_heads = ("gold", "correct", "type", "bound", "both", "missed")
    lines.append(
        f"{'error kinds':<14}"
        + "".join(f"{h:>8}" for h in gold_heads)
        + "  |"
        + "".join(f"{h:>8}" for h in ("pred", "type", "bound", "both", "spur"))
    )
    for name, row in list(kinds["per_type"].items()) + [("overall", kinds["overall"])]:
        g, p = row["gold"], row["predicted"]
        cells = [g[k] for k in ("entities",) + GOLD_KINDS], [p[k] for k in ("entities",) + PRED_KINDS[1:]]
        lines.append(
            f"{name:<14}" + "".join(f"{c:>8}" for c in cells[0]) + "  |" + "".join(f"{c:>8}" for c in cells[1])
        )
    lines.append(
        "  (type: same span, other type; bound: same type, other boundaries; both: overlap, other type and "
        "boundaries; missed/spur: no overlap)"
    )
    if kinds["wrong_type_pairs"]:
        lines.append(
            "wrong type (gold -> predicted): " + ", ".join(f"{k} {v}" for k, v in kinds["wrong_type_pairs"].items())
        )
    return "\n".join(lines)


def unit_text(document, offsets):
    """`(text, unit starts, unit ends)` of a document in characters: span documents' own text and token
    offsets, word documents' words joined by spaces."""
    if document.is_spans:
        return document.text, [int(o[0]) for o in offsets], [int(o[1]) for o in offsets]
    starts, ends, position = [], [], 0
    for token in document.tokens:
        starts.append(position)
        ends.append(position + len(token))
        position += len(token) + 1
    return " ".join(document.tokens), starts, ends


def error_report(windows, pred, limit=20):
    """`error_kinds` of `pred` against the labelled documents of encoded `windows` (`tfner.data.align`),
    and `examples` of each kind, their `document` its index in `windows`."""
    labelled = [d for d, g in enumerate(windows.gold) if g is not None]
    gold = [windows.gold[d] for d in labelled]
    predicted = [pred[d] for d in labelled]
    found = examples(gold, predicted, limit)
    for kind in found.values():
        for x in kind:
            x["document"] = labelled[x["document"]]
    return error_kinds(gold, predicted), found
