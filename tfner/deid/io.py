"""Read notes and write de-identified notes without losing a record.

Inputs (`input_kind`):

- `jsonl` (a file ending in .jsonl): one JSON object per line; the text is the string under `text_field`,
  the other fields are kept (`Record.extra`) and written back;
- `text` (any other file): one note per line (a trailing "\\r" is dropped; output lines end in "\\n");
- `dir` (a directory): every `.txt` file below it, recursively, in sorted order, is one note; other files
  are ignored.

Every input line (or file) gives exactly one `Record`, in order. One that cannot be read is yielded with
`text=None` and `error` saying where and why, never with its content: "line 7: not valid UTF-8 at byte
12" (byte offset in the line, from 0), "line 3: invalid JSON at column 5: Expecting value", "line 4:
expected a JSON object, got list", "line 5: no 'text' field", "line 6: field 'text' is int, not a string",
"line 8: empty line (expected a JSON object)", "a/b.txt: not valid UTF-8 at byte 40". Empty notes are
kept (text "").

`Record.location` ("notes.jsonl:7" for a line, the relative path "a/b.txt" for a file of a directory)
names the record without its text and does not depend on where the input lies; it is the document id of
the surrogates. Outputs (`open_writer`): `jsonl` (the input's other fields, the de-identified text under
the same field, "entities" with offsets into the ORIGINAL text, and "error" when there was one; a failed
record has text null), `text` (one line per input line; a failed line is written empty) or `dir` (the
relative paths mirrored; a failed file is not written). A text input may be written as JSONL (output
ending in .jsonl), a JSONL input only as JSONL (its other fields would be lost). Input fields named
"entities" or "error" are replaced by the run's.
"""

import dataclasses
import json
import os

KINDS = ("jsonl", "text", "dir")


class PathError(ValueError):
    """An input, output or audit path that cannot be used; the message names the path."""


@dataclasses.dataclass(frozen=True)
class Record:
    """One note: `index` (0-based position in the input), `source` (the file it came from), `location`
    (see the module docstring), `text` (None when it could not be read), `extra` (the other JSONL fields),
    `error` (why it could not be read, or None)."""

    index: int
    source: str
    location: str
    text: str | None
    extra: dict = dataclasses.field(default_factory=dict)
    error: str | None = None


def input_kind(path):
    """ "dir", "jsonl" or "text" for an existing input path; PathError if there is none."""
    path = os.fspath(path)
    if os.path.isdir(path):
        return "dir"
    if not os.path.isfile(path):
        raise PathError(f"input not found: {path}")
    return "jsonl" if path.lower().endswith(".jsonl") else "text"


def _inside(path, folder):
    path, folder = os.path.realpath(path), os.path.realpath(folder)
    return path == folder or path.startswith(folder.rstrip(os.sep) + os.sep)


def check_paths(input_path, output_path, audit_path=None):
    """(input kind, output kind) for a run, or PathError before anything is read or written: a missing
    input, an output that is the input (or inside/around an input directory), an output of the wrong
    kind (a file for a directory input, a directory for a file input, a text file for a JSONL input),
    an audit file that is the input or output or a directory."""
    kind = input_kind(input_path)
    output_path = os.fspath(output_path)
    if kind == "dir":
        if os.path.exists(output_path) and not os.path.isdir(output_path):
            raise PathError(
                f"output {output_path} is a file, but the input {input_path} is a directory: give an output directory"
            )
        if _inside(output_path, input_path) or _inside(input_path, output_path):
            raise PathError(f"output {output_path} and input directory {input_path} must not contain each other")
        out = "dir"
    else:
        if os.path.isdir(output_path):
            raise PathError(
                f"output {output_path} is a directory, but the input {input_path} is a file: give an output file"
            )
        if os.path.realpath(output_path) == os.path.realpath(input_path):
            raise PathError(f"output {output_path} is the input file; write to another file")
        out = "jsonl" if kind == "jsonl" or output_path.lower().endswith(".jsonl") else "text"
        if kind == "jsonl" and output_path.lower().endswith(".txt"):
            raise PathError(
                f"output {output_path} is a text file, but the input {input_path} is JSONL "
                "(its other fields would be lost): give a .jsonl output"
            )
    if audit_path is not None:
        audit_path = os.fspath(audit_path)
        if os.path.isdir(audit_path):
            raise PathError(f"audit {audit_path} is a directory; give a file")
        for other, name in ((input_path, "input"), (output_path, "output")):
            if os.path.realpath(audit_path) == os.path.realpath(other):
                raise PathError(f"audit {audit_path} is the {name}; write it to another file")
    return kind, out


def read_records(path, text_field="text"):
    """Yield one `Record` per line of a JSONL or text file, or per .txt file of a directory (see above)."""
    kind = input_kind(path)
    path = os.fspath(path)
    if kind == "dir":
        for index, rel in enumerate(list_text_files(path)):
            yield read_text_file(path, rel, index)
        return
    name = os.path.basename(path)
    with open(path, "rb") as f:
        for index, raw in enumerate(f):
            yield parse_line(raw, index, path, name, kind, text_field)


def list_text_files(folder):
    """The .txt files below `folder`, as sorted relative POSIX paths."""
    found = []
    for root, dirs, files in os.walk(folder):
        dirs.sort()
        found += [
            os.path.relpath(os.path.join(root, f), folder).replace(os.sep, "/")
            for f in files
            if f.lower().endswith(".txt")
        ]
    return sorted(found)


def read_text_file(folder, rel, index):
    """The `Record` of one file of a directory input."""
    source = os.path.join(folder, *rel.split("/"))
    with open(source, "rb") as f:
        data = f.read()
    try:
        return Record(index, source, rel, data.decode("utf-8"))
    except UnicodeDecodeError as e:
        return Record(index, source, rel, None, error=f"{rel}: not valid UTF-8 at byte {e.start}")


def parse_line(raw, index, source, name, kind="jsonl", text_field="text"):
    """The `Record` of line `index` (from 0) of a JSONL or text file, from its bytes."""
    n, location = index + 1, f"{name}:{index + 1}"
    raw = raw[:-1] if raw.endswith(b"\n") else raw
    raw = raw[:-1] if raw.endswith(b"\r") else raw
    if index == 0 and raw.startswith(b"\xef\xbb\xbf"):
        raw = raw[3:]
    try:
        line = raw.decode("utf-8")
    except UnicodeDecodeError as e:
        return Record(index, source, location, None, error=f"line {n}: not valid UTF-8 at byte {e.start}")
    if kind == "text":
        return Record(index, source, location, line)

    def failed(why, extra=None):
        return Record(index, source, location, None, extra or {}, f"line {n}: {why}")

    if not line.strip():
        return failed("empty line (expected a JSON object)")
    try:
        obj = json.loads(line)
    except json.JSONDecodeError as e:
        return failed(f"invalid JSON at column {e.colno}: {e.msg}")
    if not isinstance(obj, dict):
        return failed(f"expected a JSON object, got {type(obj).__name__}")
    extra = {k: v for k, v in obj.items() if k != text_field}
    if text_field not in obj:
        return failed(f"no {text_field!r} field", extra)
    if not isinstance(obj[text_field], str):
        return failed(f"field {text_field!r} is {type(obj[text_field]).__name__}, not a string", extra)
    return Record(index, source, location, obj[text_field], extra)


def output_record(record, text, entities, text_field="text"):
    """The JSONL output object of a record: its other fields, the de-identified text (None for a failed
    record), "entities" (label, start, end, score; offsets into the original text), "error" if any."""
    obj = dict(record.extra)
    obj[text_field] = None if record.error else text
    obj["entities"] = [
        {"label": e["label"], "start": e["start"], "end": e["end"], "score": e["score"]} for e in (entities or [])
    ]
    if record.error:
        obj["error"] = record.error
    return obj


class Writer:
    """Writes the outputs of one run in input order (`write(record, text, entities)`); a context manager."""

    def __init__(self, kind, path, text_field="text"):
        if kind not in KINDS:
            raise ValueError(f"output kind must be one of {', '.join(KINDS)}, got {kind!r}")
        self.kind, self.path, self.text_field = kind, os.fspath(path), text_field
        self._file = None
        if kind == "dir":
            os.makedirs(self.path, exist_ok=True)
        else:
            parent = os.path.dirname(os.path.abspath(self.path))
            os.makedirs(parent, exist_ok=True)
            self._file = open(self.path, "w", encoding="utf-8", newline="")

    def write(self, record, text, entities):
        if self.kind == "jsonl":
            obj = output_record(record, text, entities, self.text_field)
            self._file.write(json.dumps(obj, ensure_ascii=False) + "\n")
        elif self.kind == "text":
            self._file.write(("" if record.error else text) + "\n")
        elif not record.error:
            target = os.path.join(self.path, *record.location.split("/"))
            os.makedirs(os.path.dirname(target), exist_ok=True)
            with open(target, "w", encoding="utf-8", newline="") as f:
                f.write(text)

    def close(self):
        if self._file is not None:
            self._file.close()
            self._file = None

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


def open_writer(kind, path, text_field="text"):
    """A `Writer` for output kind "jsonl", "text" or "dir"."""
    return Writer(kind, path, text_field)
