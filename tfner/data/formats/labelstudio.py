"""Label Studio JSON exports of NER projects: a list of tasks, each with `data.text` and annotations whose
`result` holds `{"type": "labels", "value": {"start", "end", "text", "labels": [LABEL]}}` regions.

A task's first annotation that was not cancelled is read; further annotations (other annotators) and
result types other than `labels` (relations, choices, text areas) are not supported and are counted in
`Corpus.skipped`, as are tasks without any annotation. Offsets are characters, end exclusive, and are
checked against `value.text`; older Label Studio versions counted UTF-16 code units (an emoji counts
twice), so offsets that only match when read that way are converted.
"""

from __future__ import annotations

import json

from tfner.data.formats.base import (
    UNREADABLE,
    Corpus,
    DataError,
    Document,
    check_label,
    complain,
    count,
    finish_spans,
    is_offset,
    load_json,
    note,
    read_text,
    valid_text,
)

UNANNOTATED = "Label Studio task without annotations"
EXTRA = "Label Studio extra annotation of a task (only the first is read)"


def is_export(data):
    """True for what looks like a Label Studio export: a list of tasks with `data`."""
    return isinstance(data, list) and bool(data) and all(isinstance(t, dict) and "data" in t for t in data[:5])


def _utf16_to_index(text, offset):
    """The character index of a UTF-16 code-unit offset into `text` (None if it falls inside a pair)."""
    units = 0
    for i, ch in enumerate(text):
        if units == offset:
            return i
        units += 2 if ord(ch) > 0xFFFF else 1
    return len(text) if units == offset else None


def _span(region, text, where, problems):
    """(start, end, label) of one `labels` region, or None (reported) when it is not usable."""
    value = region.get("value")
    if not isinstance(value, dict):
        complain(problems, where, f'result {region.get("id", "")!r}: "value" must be an object')
        return None
    start, end, labels = value.get("start"), value.get("end"), value.get("labels")
    if not (is_offset(start) and is_offset(end)):
        complain(
            problems,
            where,
            f"result {region.get('id', '')!r}: value.start and value.end must be integers, got {start!r} and {end!r}",
        )
        return None
    if not isinstance(labels, list) or len(labels) != 1:
        complain(
            problems,
            where,
            f"result {region.get('id', '')!r}: value.labels must hold exactly one label, got {labels!r}",
        )
        return None
    if not check_label(labels[0], where, problems):
        return None
    shown = value.get("text")
    if isinstance(shown, str) and text[start:end] != shown:
        a, b = _utf16_to_index(text, start), _utf16_to_index(text, end)
        if a is not None and b is not None and text[a:b] == shown:
            start, end = a, b  # offsets in UTF-16 code units, as older Label Studio wrote them
        else:
            complain(
                problems,
                where,
                f"result {region.get('id', '')!r}: text[{start}:{end}] is "
                f"{text[start:end]!r} but value.text is {shown!r}",
            )
            return None
    return start, end, labels[0]


def _task(task, where, problems, skipped):
    """(text, spans) of one task, or None when it is skipped (counted) or unreadable (reported)."""
    data = task.get("data") if isinstance(task, dict) else None
    if not isinstance(data, dict) or not isinstance(data.get("text"), str):
        found = sorted(data) if isinstance(data, dict) else type(data).__name__
        complain(problems, where, f'expected a task with "data": {{"text": "..."}}; found {found}')
        count(skipped, UNREADABLE)
        return None
    text = data["text"]
    annotations = task.get("annotations", [])
    if not isinstance(annotations, list) or not all(isinstance(a, dict) for a in annotations):
        complain(problems, where, '"annotations" must be a list of objects')
        count(skipped, UNREADABLE)
        return None
    usable = [a for a in annotations if not a.get("was_cancelled")]
    if not usable:
        note(problems, where, "task has no annotation (skipped)", "unannotated")
        count(skipped, UNANNOTATED)
        return None
    count(skipped, EXTRA, len(usable) - 1)
    result = usable[0].get("result", [])
    if not isinstance(result, list):
        complain(problems, where, '"result" must be a list of regions')
    if not isinstance(result, list) or not valid_text(text, where, problems):
        count(skipped, UNREADABLE)
        return None
    spans = []
    for region in result:
        kind = region.get("type") if isinstance(region, dict) else None
        if kind != "labels":
            count(skipped, f"Label Studio {kind or 'untyped'} result (not supported)")
            continue
        span = _span(region, text, where, problems)
        if span is not None:
            spans.append(span)
    return text, finish_spans(text, spans, where, problems)


def read(path, problems=None) -> Corpus:
    """Read a Label Studio JSON export (strict by default; lenient with a `problems` list)."""
    source = str(path)
    data = load_json(read_text(path, problems), source)
    if not is_export(data) and data != []:
        raise DataError(
            f"{source}: expected a Label Studio export: a JSON list of tasks, each with "
            f'"data": {{"text": ...}} and "annotations"; got {type(data).__name__}'
        )
    documents, skipped = [], {}
    for n, task in enumerate(data, start=1):
        where = f"{source}:task {n}" + (f" (id {task['id']})" if isinstance(task, dict) and "id" in task else "")
        parsed = _task(task, where, problems, skipped)
        if parsed is None:
            continue
        text, spans = parsed
        if not text.strip():
            note(problems, where, "empty document (no text)", "empty-document")
            count(skipped, "empty document")
            continue
        documents.append(Document(text=text, spans=spans, origin=f"{source}:task {n}"))
    return Corpus(documents=documents, source=source, skipped=skipped)


def tasks(corpus):
    """Label Studio tasks (one annotation each) for span documents."""
    out = []
    for n, doc in enumerate(corpus.documents, start=1):
        result = [
            {
                "id": f"{n}-{k}",
                "type": "labels",
                "from_name": "label",
                "to_name": "text",
                "value": {"start": s, "end": e, "text": doc.text[s:e], "labels": [label]},
            }
            for k, (s, e, label) in enumerate(doc.spans or (), start=1)
        ]
        out.append({"id": n, "data": {"text": doc.text}, "annotations": [{"id": n, "result": result}]})
    return out


def write(corpus, path):
    """Write span documents as a Label Studio JSON export (importable as tasks with annotations)."""
    with open(path, "w", encoding="utf-8", newline="\n") as f:
        json.dump(tasks(corpus), f, ensure_ascii=False, indent=1)
        f.write("\n")
