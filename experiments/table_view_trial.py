"""A trial: does the model hold on unseen tables when every table cell is written after its column header?

    python experiments/table_view_trial.py --only-splits 1 --no-legacy --name leave_families_out_table_view
    python experiments/table_view_trial.py --score-kept runs/lfo --only-splits 1 --view none   # a kept model, as is

In a table the type of a cell is told by its column header ("41" under "Age", a name under "Patient"), which
may be many lines, or a window, away; the leave-families-out errors (experiments/lfo_errors.py) are mostly
there: split 1's tables 0.615, split 0's record exports (HL7, CSV) 0.524. The table-aware view puts the
header before every data cell ("Age: 41", "Patient: Müller, Hans"), so a cell reads like a key-value field,
a layout every split trains on; HL7 v2 segments get their standard field names ("PID-7 Date/Time of
Birth: 19720614"). Spans move with the insertions; no span is ever cut (checked for every note).

A table: a header line of at least 3 cells (tabs, pipes, semicolons, runs of 2+ spaces, or 4+ commas),
each cell with a letter, at most 1 digit, no colon, at most 3 words (with commas: no cell ending in a
full stop, which is a sentence), then the lines with as many cells under the same separator (blank and
rule lines `|---|` passed over). Everything else is experiments/leave_families_out.py (same splits,
seeds, recipe and report; its arguments): with `--view tables` (the default) every note it generates,
for training, validation and test, is seen through the view. It also scores the kept model on 10
hand-written tabular notes (experiments/data/handwritten_tables.txt: layouts, headers and languages the
generator does not write; exact character spans, `tfner.serving.pipeline.NERPipeline`).

A measurement, not a feature: `tfner deid`, the exported models and the in-graph tokenizers know nothing
of the view.
"""

import argparse
import bisect
import collections
import os
import re
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
import tfner  # noqa: E402,F401
from experiments.leave_families_out import unmark  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
HANDWRITTEN_TABLES = os.path.join(HERE, "data", "handwritten_tables.txt")
RULE = re.compile(r"^[\s|:+=-]*$")
ALIGNED = re.compile(r"\S+(?: \S+)*")


def _cells(line, sep):
    """[(start, end)] of the stripped cells of `line` split by `sep` ("aligned": runs of 2+ spaces)."""
    if sep == "aligned":
        return [(m.start(), m.end()) for m in ALIGNED.finditer(line)]
    pieces, at = [], 0
    for part in line.split(sep):
        start, end = at, at + len(part)
        while start < end and line[start].isspace():
            start += 1
        while end > start and line[end - 1].isspace():
            end -= 1
        pieces.append((start, end))
        at += len(part) + 1
    if sep == "|" and line.lstrip().startswith("|"):  # "| a | b |": drop the outer empties
        pieces = pieces[1:]
        if pieces and pieces[-1][0] == pieces[-1][1]:
            pieces = pieces[:-1]
    return pieces


def _header_like(line, cells, sep):
    words = [line[s:e] for s, e in cells]
    if sep == "," and any(w.endswith(".") for w in words):  # a sentence with commas, not a CSV header
        return False
    return all(
        any(c.isalpha() for c in w)
        and len(w) <= 30
        and sum(c.isdigit() for c in w) <= 1
        and ":" not in w
        and len(w.split()) <= 3
        for w in words
    )


HL7_FIELDS = {  # HL7 v2.5 field names (segment -> {field number: name}) of the fields that can hold PHI
    "MSH": {7: "Date/Time of Message", 10: "Message Control ID"},
    "PID": {
        2: "Patient ID",
        3: "Patient Identifier List",
        5: "Patient Name",
        6: "Mother's Maiden Name",
        7: "Date/Time of Birth",
        8: "Administrative Sex",
        11: "Patient Address",
        13: "Phone Number - Home",
        14: "Phone Number - Business",
        18: "Patient Account Number",
        19: "SSN Number",
    },
    "NK1": {2: "Name", 3: "Relationship", 4: "Address", 5: "Phone Number"},
    "PV1": {
        3: "Assigned Patient Location",
        7: "Attending Doctor",
        8: "Referring Doctor",
        19: "Visit Number",
        44: "Admit Date/Time",
        45: "Discharge Date/Time",
    },
    "OBX": {
        3: "Observation Identifier",
        5: "Observation Value",
        6: "Units",
        7: "References Range",
        14: "Date/Time of the Observation",
    },
}
HL7_SEGMENT = re.compile(r"^([A-Z][A-Z0-9]{2})\|")


def hl7_insertions(text):
    """[(position, inserted text)]: the field's HL7 name before every non-empty known field of a segment."""
    insertions, at = [], 0
    for line in text.split("\n"):
        m = HL7_SEGMENT.match(line)
        if m and m.group(1) in HL7_FIELDS:
            names = HL7_FIELDS[m.group(1)]
            shift = 1 if m.group(1) == "MSH" else 0  # MSH-1 is the field separator itself
            pos = 0
            for i, field in enumerate(line.split("|")):
                name = names.get(i + shift) if i else None
                if name and field:
                    insertions.append((at + pos, f"{m.group(1)}-{i + shift} {name}: "))
                pos += len(field) + 1
        at += len(line) + 1
    return insertions


def table_insertions(text, min_columns=3):
    """[(position, inserted text)]: 'Header: ' before every non-empty data cell of every table found."""
    lines, starts, at = text.split("\n"), [], 0
    for line in lines:
        starts.append(at)
        at += len(line) + 1
    insertions, i = [], 0
    while i < len(lines):
        found = None
        for sep in ("\t", "|", ";", "aligned", ","):
            cells = _cells(lines[i], sep)
            if len(cells) >= min_columns + (sep == ",") and _header_like(lines[i], cells, sep):
                found = sep, cells
                break
        if not found:
            i += 1
            continue
        sep, header = found
        names = [lines[i][s:e] for s, e in header]
        rows, j = [], i + 1
        while j < len(lines):
            line = lines[j]
            if not line.strip() or RULE.match(line):
                j += 1
                continue
            cells = _cells(line, sep)
            if len(cells) != len(header):
                break
            rows.append((j, cells))
            j += 1
        if not rows:
            i += 1
            continue
        for row, cells in rows:
            for name, (s, e) in zip(names, cells):
                if e > s:
                    insertions.append((starts[row] + s, f"{name}: "))
        i = j
    return insertions


def linearize(text, spans):
    """(text with headers before cells, spans moved onto it, new offset -> old offset map)."""
    insertions = sorted(table_insertions(text) + hl7_insertions(text))
    if not insertions:
        return text, [list(s) for s in spans]
    parts, at = [], 0
    for pos, add in insertions:
        parts += [text[at:pos], add]
        at = pos
    parts.append(text[at:])
    positions = [p for p, _ in insertions]
    cumulative = [0]
    for _, add in insertions:
        cumulative.append(cumulative[-1] + len(add))

    def moved(offset, end):
        k = bisect.bisect_left(positions, offset) if end else bisect.bisect_right(positions, offset)
        return offset + cumulative[k]

    out = [[moved(s, False), moved(e, True), label] for s, e, label in spans]
    return "".join(parts), out


def viewed(record):
    """A span record in the table-aware view (every span's text checked to be the same)."""
    text, spans = linearize(record["text"], record["ner_tags"])
    for (s, e, _), (s2, e2, _) in zip(record["ner_tags"], spans):
        if record["text"][s:e] != text[s2:e2]:
            raise AssertionError(f"the view cut a span: {record['text'][s:e]!r}")
    return dict(record, text=text, ner_tags=spans)


def read_tables(path=HANDWRITTEN_TABLES):
    """Notes separated by a line `===`, PHI marked inline as `[[LABEL:text]]` -> span records."""
    with open(path, encoding="utf-8") as f:
        return [unmark(block.strip("\n")) for block in f.read().split("\n===\n")]


def score_tables(tagger, view):
    """Exact character-span precision, recall and F1 of the tagger on the hand-written tabular notes."""
    from tfner.serving.pipeline import NERPipeline

    records = read_tables()
    if view == "tables":
        records = [viewed(r) for r in records]
    found = NERPipeline(tagger, aggregation="simple")([r["text"] for r in records])
    counts, missed = collections.Counter(), collections.Counter()
    for r, entities in zip(records, found):
        gold = {tuple(s) for s in r["ner_tags"]}
        predicted = {(e["start"], e["end"], e["entity_group"]) for e in entities}
        counts.update(tp=len(gold & predicted), fp=len(predicted - gold), fn=len(gold - predicted))
        missed.update(label for _, _, label in gold - predicted)
    p = counts["tp"] / max(counts["tp"] + counts["fp"], 1)
    r = counts["tp"] / max(counts["tp"] + counts["fn"], 1)
    return {
        "gold": counts["tp"] + counts["fn"],
        "precision": p,
        "recall": r,
        "f1": 2 * p * r / (p + r) if p + r else 0.0,
        "not_found_by_type": dict(missed),
    }


def main():
    from experiments import leave_families_out as lfo

    parser = argparse.ArgumentParser(add_help=False)
    parser.add_argument("--view", choices=("tables", "none"), default="tables")
    parser.add_argument("--score-kept", metavar="DIR", help="only score the models kept in DIR (--models of a run)")
    args, rest = parser.parse_known_args()
    if args.score_kept:
        from tfner.model.tagger import Tagger

        scored = argparse.ArgumentParser(prog="table_view_trial.py --score-kept DIR")
        scored.add_argument("--only-splits", type=int, nargs="+", default=[0, 1, 2], metavar="K")
        splits = scored.parse_args(rest).only_splits
        for k in splits:
            path = lfo.kept_model(args.score_kept, k)
            if not os.path.isdir(path):
                sys.exit(f"no kept model in {path}: run leave_families_out.py (or this trial) with --models first")
            print(
                f"split {k} ({path}), view {args.view}: hand-written tables", score_tables(Tagger.load(path), args.view)
            )
        return
    sys.argv = [sys.argv[0]] + rest
    if args.view == "tables":
        plain = lfo.generate_notes
        lfo.generate_notes = lambda *a, **k: [viewed(r) for r in plain(*a, **k)]
    run, table = lfo.run, lfo.table

    def run_and_score_tables(run_args, records, name, folder, tests):
        tagger, out = run(run_args, records, name, folder, tests)
        out["handwritten_tables"] = score_tables(tagger, args.view)
        return tagger, out

    def table_with_tables(rows, run_args):
        lines = [table(rows, run_args), "", f"## Hand-written tabular notes (view: {args.view})", ""]
        lines += [
            "| split | gold entities | precision | recall | F1 | not found, by type |",
            "|---|---|---|---|---|---|",
        ]
        for row in rows:
            t = row["after"]["handwritten_tables"]
            lines.append(
                f"| {row['split']} | {t['gold']} | {t['precision']:.3f} | {t['recall']:.3f} | {t['f1']:.3f} "
                f"| {t['not_found_by_type']} |"
            )
        return "\n".join(lines)

    lfo.run, lfo.table = run_and_score_tables, table_with_tables
    lfo.main()


if __name__ == "__main__":
    main()
