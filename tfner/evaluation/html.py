"""Self-contained HTML views of entities, as displaCy shows them: for `tfner predict --html` the
entities of each text coloured by type with a legend and the score on hover, for `tfner evaluate --html`
gold and predicted entities side by side with every error marked by kind.

Error kinds, from matching each gold entity with the predicted ones it overlaps (and back):
- missed: a gold entity no prediction overlaps;
- spurious: a predicted entity no gold entity overlaps;
- wrong type: an overlapping entity of another type (same boundaries, or different ones too);
- wrong boundary: an overlapping entity of the same type with other boundaries.

One file each, CSS inline, no script and nothing fetched from the web, so it opens in any browser and
can be mailed. All text is escaped with `html.escape`: a `<script>` in a document is shown, not run.
"""

from __future__ import annotations

import html

from tfner.data import tags as tag_schemes

PALETTE = [
    "#ffd166",
    "#8ecae6",
    "#b5e48c",
    "#f4a3c0",
    "#cdb4db",
    "#ffb38a",
    "#a0e7e5",
    "#e9c46a",
    "#bde0fe",
    "#d8f3dc",
    "#fcd5ce",
    "#e2ece9",
]
KINDS = {"missed": "#d62828", "spurious": "#f77f00", "wrong type": "#7b2cbf", "wrong boundary": "#0077b6"}
CSS = """
body{font-family:system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;margin:2em auto;max-width:75em;
  padding:0 1em;color:#222;background:#fff}
h1{font-size:1.4em} h2{font-size:1em;margin:0;font-weight:600} .origin{color:#666;font-weight:normal}
.legend{margin:1em 0;line-height:2.2}
.legend span{padding:.2em .5em;margin-right:.4em;border-radius:.3em;white-space:nowrap}
.doc{border:1px solid #ddd;border-radius:.4em;margin:1em 0;padding:.6em 1em}
.text{white-space:pre-wrap;line-height:2.3;font-size:1.02em;overflow-wrap:anywhere}
mark{padding:.15em .3em;margin:0 .1em;border-radius:.3em;color:#111}
mark .lbl{font-size:.62em;font-weight:700;text-transform:uppercase;margin-left:.35em;opacity:.75;
  vertical-align:middle}
.cols{display:grid;grid-template-columns:1fr 1fr;gap:1.5em} .cols h3{font-size:.85em;color:#555;margin:.3em 0}
mark.err{outline:3px solid var(--k);outline-offset:1px;margin:0 .3em}
.kind{display:inline-block;width:.9em;height:.9em;border:3px solid var(--k);border-radius:.2em;
  vertical-align:middle;margin-right:.3em}
table{border-collapse:collapse;margin:.5em 0} td,th{border:1px solid #ddd;padding:.2em .6em;text-align:right}
th:first-child,td:first-child{text-align:left}
summary{cursor:pointer} .ok{color:#2b9348} .bad{color:#d62828} .hint{color:#666;font-size:.9em;margin:-.5em 0 1em}
"""


def colours(types):
    """A background colour per entity type, in sorted order, the palette repeating when needed."""
    return {t: PALETTE[i % len(PALETTE)] for i, t in enumerate(sorted(types))}


def _e(text):
    return html.escape(str(text), quote=True)


def page(title, body):
    """A complete HTML document with the inline stylesheet."""
    return (
        f'<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        f'<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{_e(title)}</title><style>{CSS}</style></head>\n<body>\n<h1>{_e(title)}</h1>\n{body}\n"
        "</body></html>\n"
    )


def mark_text(text, marks, palette):
    """`text` escaped, with each mark `(start, end, type, tooltip, error kind or None)` highlighted.
    Marks are drawn in order of their start; one overlapping an earlier mark is left out of the text."""
    out, position = [], 0
    for start, end, kind, tooltip, error in sorted(marks, key=lambda m: (m[0], -m[1])):
        if start < position or not 0 <= start < end <= len(text):
            continue
        style = f"background:{palette.get(kind, '#ddd')}" + (f";--k:{KINDS[error]}" if error else "")
        out.append(_e(text[position:start]))
        out.append(
            f'<mark class="ent{" err" if error else ""}" style="{style}" title="{_e(tooltip)}">'
            f'{_e(text[start:end])}<span class="lbl">{_e(kind)}</span></mark>'
        )
        position = end
    out.append(_e(text[position:]))
    return f'<div class="text">{"".join(out)}</div>'


def legend(palette, kinds=False):
    items = [f'<span style="background:{c}">{_e(t)}</span>' for t, c in palette.items()]
    if kinds:
        items += [f'<span><i class="kind" style="--k:{c}"></i>{_e(k)}</span>' for k, c in KINDS.items()]
    return f'<div class="legend">{"".join(items) or "(no entities)"}</div>'


def _count(n, noun):
    return f"{n} {noun}" if n == 1 else f"{n} {noun[:-1] + 'ies' if noun.endswith('y') else noun + 's'}"


def _entity_type(entity):
    return entity.get("entity_group") or tag_schemes.entity_type(entity.get("entity", "")) or "?"


def render_predictions(results, title="tfner predict"):
    """HTML of `results`: (text, entities) pairs, entities as `NERPipeline` returns them."""
    palette = colours({_entity_type(e) for _, ents in results for e in ents})
    docs = []
    for n, (text, ents) in enumerate(results, start=1):
        marks = [
            (e["start"], e["end"], _entity_type(e), f"{_entity_type(e)} · score {e.get('score', 0):.3f}", None)
            for e in ents
        ]
        docs.append(
            f'<section class="doc"><h2>text {n} <span class="origin">· {_count(len(ents), "entity")}'
            f"</span></h2>{mark_text(text, marks, palette)}</section>"
        )
    hint = '<p class="hint">Hover over an entity for its score.</p>'
    return page(title, legend(palette) + hint + "\n".join(docs))


def classify(gold, pred):
    """(gold marks, predicted marks, error counts) for gold and predicted `(start, end, type)` spans;
    a mark is `(start, end, type, tooltip, error kind or None)` (see the module docstring)."""
    counts = {k: 0 for k in KINDS}

    def judge(span, others, side):
        start, end, kind = span
        hits = [o for o in others if o[0] < end and o[1] > start]
        if not hits:
            error = "missed" if side == "gold" else "spurious"
            return error, f"{kind} · {error}"
        if any(o == span for o in hits):
            return None, f"{kind} · correct"
        same_type = [o for o in hits if o[2] == kind]
        other = ", ".join(f"{o[2]} {o[0]}-{o[1]}" for o in hits)
        side_other = "predicted" if side == "gold" else "gold"
        if same_type:
            return "wrong boundary", f"{kind} {start}-{end} · wrong boundary ({side_other}: {other})"
        return "wrong type", f"{kind} {start}-{end} · wrong type ({side_other}: {other})"

    marks = {}
    for side, spans, others in (("gold", gold, pred), ("pred", pred, gold)):
        marks[side] = []
        for span in spans:
            error, tooltip = judge(span, others, side)
            if error and (side == "pred" or error == "missed"):  # count each error once
                counts[error] += 1
            marks[side].append((span[0], span[1], span[2], tooltip, error))
    return marks["gold"], marks["pred"], counts


def render_evaluation(documents, title="tfner evaluate"):
    """HTML of `documents`: (origin, text, gold spans, predicted spans), spans `(start, end, type)`.
    Documents with errors come open, the others folded."""
    palette = colours({s[2] for _, _, g, p in documents for s in list(g) + list(p)})
    totals, sections = {k: 0 for k in KINDS}, []
    for origin, text, gold, pred in documents:
        gold_marks, pred_marks, counts = classify(gold, pred)
        for k, v in counts.items():
            totals[k] += v
        errors = sum(counts.values())
        status = (
            (
                f'<span class="bad">{_count(errors, "error")}: '
                + ", ".join(f"{v} {k}" for k, v in counts.items() if v)
                + "</span>"
            )
            if errors
            else '<span class="ok">no errors</span>'
        )
        sections.append(
            f'<details class="doc"{" open" if errors else ""}><summary><h2 style="display:inline">{_e(origin)} '
            f'<span class="origin">· {len(gold)} gold, {len(pred)} predicted · </span>{status}</h2></summary>'
            f'<div class="cols"><div><h3>gold</h3>{mark_text(text, gold_marks, palette)}</div>'
            f"<div><h3>predicted</h3>{mark_text(text, pred_marks, palette)}</div></div></details>"
        )
    summary = (
        "<table><tr><th>documents</th>" + "".join(f"<th>{_e(k)}</th>" for k in KINDS) + "</tr><tr>"
        f"<td>{len(documents)}</td>" + "".join(f"<td>{v}</td>" for v in totals.values()) + "</tr></table>"
    )
    return page(title, summary + legend(palette, kinds=True) + "\n".join(sections))


def _char_spans(tags, starts, ends):
    """(start, end, type) per entity of `tags`. A token with no character (a table view's inserted header,
    `tfner.data.tables`) never stretches a span, and a span of only such tokens is none, as the pipeline
    groups them (`group_entities(skip_empty=True)`)."""
    out = []
    for kind, a, b in tag_schemes.entities(tags):
        real = [ends[i] for i in range(a, b) if ends[i] > starts[i]]
        if real:
            out.append((int(starts[a]), int(max(real)), kind))
    return out


def evaluation_documents(windows, pred):
    """(origin, text, gold spans, predicted spans) per document of encoded `windows` (`tfner.data.align`)
    and predicted tags per unit, spans in characters of the text (word documents: words joined by spaces)."""
    out = []
    for doc, gold, tags, offsets in zip(windows.documents, windows.gold, pred, windows.offsets):
        if doc.is_spans:
            text, starts, ends = doc.text, [o[0] for o in offsets], [o[1] for o in offsets]
        else:
            text, starts, ends, position = " ".join(doc.tokens), [], [], 0
            for token in doc.tokens:
                starts.append(position)
                ends.append(position + len(token))
                position += len(token) + 1
        out.append((doc.origin, text, _char_spans(gold or [], starts, ends), _char_spans(tags, starts, ends)))
    return out


def write_html(path, content):
    with open(path, "w", encoding="utf-8") as f:
        f.write(content)
