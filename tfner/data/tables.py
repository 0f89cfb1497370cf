"""The table view: every table cell is read after its column header, every HL7 v2 field after its name.

In a table the type of a cell is told by its column header ("41" under "Age", a name under "Patient"),
which may be many lines, or a window, away from the cell; an HL7 segment says nothing but its position
("PID|1||4711||Müller^Hans||19720614"). A model that reads

    Age\tPatient             ->   Age\tPatient
    41\tMüller, Hans         ->   Age: 41\tPatient: Müller, Hans
    PID|1||4711||Müller^Hans ->   PID|1||PID-3 Patient Identifier List: 4711||PID-5 Patient Name: Müller^Hans

sees every cell as a key-value field, a layout it trains on in every family of notes. On the de-identification
protocol (experiments/leave_families_out.py --table-view) it lifted entity F1 on unseen notes from 0.774 to
0.899 on the split that holds tables out of training, and from 0.803 to 0.846 on the mean of three splits.

`TableView(text)` finds the tables and segments and inserts the headers; `ModelConfig.table_view` makes a
model read its span data this way (`tfner.data.align.encode` applies it, training and inference alike) and
maps every token back onto the original text: a token of an inserted header gets the empty offset at the
start of its cell, so entities (`NERPipeline`, `tfner deid`) always refer to the text that was given.
Nothing else changes: text without tables or segments is its own view. `tfner.serving.table_view` builds the
same view in TensorFlow ops for the SavedModel's `predict_text` (tested equal to this one).

A table: a header line of at least 3 cells (separated by tabs, pipes, semicolons, runs of 2+ spaces, or
4+ commas), each cell with a letter, at most one digit, no colon, at most 3 words and 30 characters (with
commas: no cell ending in a full stop, which is a sentence), then the lines with as many cells under the
same separator (blank lines and rules `|---|` passed over). HL7 v2: the segments MSH, PID, NK1, PV1 and
OBX, their fields that can hold PHI, named as in HL7 v2.5.
"""

import bisect
import re

import numpy as np

ON_BY_DEFAULT = True  # `ModelConfig.table_view`'s default (here so that `tfner check` need not load TensorFlow)
RULE = re.compile(r"^[\s|:+=-]*$")
ALIGNED = re.compile(r"\S+(?: \S+)*")  # a cell of a column-aligned table: words apart by single spaces
SEPARATORS = ("\t", "|", ";", "aligned", ",")
MIN_COLUMNS = 3

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
DIGIT = re.compile(r"\d")  # Unicode decimal digits, as the graph's \p{Nd} (str.isdigit takes superscripts too)


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
        and len(DIGIT.findall(w)) <= 1
        and ":" not in w
        and len(w.split()) <= 3
        for w in words
    )


def _header(line):
    """(separator, cells) if `line` reads as a table's header line, else None."""
    for sep in SEPARATORS:
        cells = _cells(line, sep)
        if len(cells) >= MIN_COLUMNS + (sep == ",") and _header_like(line, cells, sep):
            return sep, cells
    return None


def table_insertions(text):
    """[(position, inserted text)]: 'Header: ' before every non-empty data cell of every table found."""
    lines, starts, at = text.split("\n"), [], 0
    for line in lines:
        starts.append(at)
        at += len(line) + 1
    insertions, i = [], 0
    while i < len(lines):
        found = _header(lines[i])
        if not found:
            i += 1
            continue
        sep, header = found
        names = [lines[i][s:e] for s, e in header]
        rows, j = [], i + 1
        while j < len(lines):
            if not lines[j].strip() or RULE.match(lines[j]):
                j += 1
                continue
            cells = _cells(lines[j], sep)
            if len(cells) != len(header):
                break
            rows.append((j, cells))
            j += 1
        if not rows:
            i += 1
            continue
        insertions += [
            (starts[row] + s, f"{name}: ") for row, cells in rows for name, (s, e) in zip(names, cells) if e > s
        ]
        i = j
    return insertions


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


class TableView:
    """`text` with its tables' headers and HL7 field names inserted, and the offset maps both ways.

    text: str. The original text.
    spans: (start, end, label) spans of `text` that must stay whole: no header is inserted strictly inside
        one (gold spans of training data; a cell boundary inside a gold span is the span's, not the table's).

    Attributes: `text` (the view), `original` (the text given), `insertions` [(position in the original,
    inserted text)], sorted, one per position.
    """

    def __init__(self, text, spans=()):
        inside = sorted((s, e) for s, e, *_ in spans)
        merged = {}
        # by position; at one position the HL7 name comes before a table header (as the graph orders them)
        for pos, add in sorted(hl7_insertions(text) + table_insertions(text), key=lambda x: x[0]):
            k = bisect.bisect_left(inside, (pos,))  # spans starting at or after pos cannot hold it
            if any(s < pos < e for s, e in inside[:k]):
                continue
            merged[pos] = merged.get(pos, "") + add
        self.original = text
        self.insertions = sorted(merged.items())
        self._positions = np.array([p for p, _ in self.insertions], np.int64)
        lengths = np.array([len(a) for _, a in self.insertions], np.int64)
        self._before = np.concatenate([[0], np.cumsum(lengths)])  # inserted characters before insertion k
        parts, at = [], 0
        for pos, add in self.insertions:
            parts += [text[at:pos], add]
            at = pos
        parts.append(text[at:])
        self.text = "".join(parts)

    def __bool__(self):
        """True when the view differs from the original (a table or an HL7 segment was found)."""
        return bool(self.insertions)

    def to_view(self, offsets, end=False):
        """Original offsets -> view offsets. A start (`end=False`) moves after a header inserted at it,
        an end before it, so a span keeps exactly its characters."""
        offsets = np.asarray(offsets, np.int64)
        k = np.searchsorted(self._positions, offsets, side="left" if end else "right")
        return offsets + self._before[k]

    def spans(self, spans):
        """(start, end, label) spans of the original -> the same characters' spans in the view."""
        return [(int(self.to_view(s)), int(self.to_view(e, end=True)), label, *rest) for s, e, label, *rest in spans]

    def to_original(self, offsets):
        """View offsets -> original offsets, element-wise (any shape). An offset inside an inserted header
        maps to the start of its cell, so a token of a header becomes the empty span there."""
        offsets = np.asarray(offsets, np.int64)
        starts = self._positions + self._before[:-1]  # where each insertion begins in the view
        k = np.searchsorted(starts, offsets, side="right")  # insertions beginning at or before the offset
        out = offsets - self._before[k]
        if len(starts):  # inside insertion k - 1: its cell's start
            out = np.where(k > 0, np.maximum(out, self._positions[np.maximum(k - 1, 0)]), out)
        return out
