"""The in-memory form every reader produces (`Document`, `Corpus`), its error (`DataError`), and what the
format readers share: reading a file as text, strict or lenient reporting, and checking spans.

These types live here, below `tfner.data.readers` (which re-exports them), so that the format modules
can build them while `readers.read_data` dispatches to the formats: the import runs one way only.

Every format reader takes `problems`: None (strict, the default) raises `DataError` at the first
problem, naming file and line or record; a list (lenient, for `tfner check`) collects `Problem`s and
reads on, skipping what cannot be read and keeping what a strict reader refuses but can still be
represented (overlapping spans, scheme violations), so that the checker can report all of it.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field


class DataError(ValueError):
    """Bad input data; the message names the file and line (or record number) and what was expected."""


@dataclass
class Document:
    """One sentence/document: word-level (tokens+tags) or span-level (text+spans)."""

    tokens: list[str] | None = None  # word-level
    tags: list[str] | None = None  # IOB2 tags, same length as tokens
    text: str | None = None  # span-level raw text
    spans: list[tuple[int, int, str]] | None = None  # (start, end, label), end exclusive, sorted by start
    origin: str = ""  # "data/train.txt:120", "notes.jsonl:record 7", "conll2003/train:example 3" (1-based)

    @property
    def is_spans(self) -> bool:
        """True for a span-level document (raw text + character spans)."""
        return self.text is not None


@dataclass
class Corpus:
    """The documents read from one source, and what was changed or dropped on the way."""

    documents: list[Document]
    source: str  # file path or dataset name/split
    skipped: dict[str, int] = field(default_factory=dict)  # reason -> count, e.g. {"empty document": 3}
    converted_iob1: int = 0  # number of tags rewritten I-X -> B-X (IOB1 -> IOB2)


@dataclass(frozen=True)
class Problem:
    """What a lenient reader found: where (file:line or file:record N), what, and its kind for `tfner check`."""

    where: str
    message: str
    kind: str = "unreadable"

    def __str__(self):
        return f"{self.where}: {self.message}"


def complain(problems, where, message, kind="unreadable"):
    """Raise `DataError` (strict: `problems` is None) or note a `Problem` and let the reader go on."""
    if problems is None:
        raise DataError(f"{where}: {message}")
    problems.append(Problem(where, message, kind))


def note(problems, where, message, kind):
    """Note something a strict reader accepts (an empty document...) for `tfner check`; nothing when strict."""
    if problems is not None:
        problems.append(Problem(where, message, kind))


def read_text(path, problems=None, strip_bom=True) -> str:
    """The file's content as text, a leading UTF-8 byte-order mark removed (unless `strip_bom` is False:
    brat counts it in its offsets). DataError for a missing file; bytes that are not UTF-8 are an error
    (strict) or replaced by U+FFFD and reported (lenient). Line ends are kept as they are."""
    try:
        with open(path, "rb") as f:
            data = f.read()
    except FileNotFoundError:
        raise DataError(f"{path}: no such file") from None
    except IsADirectoryError:
        raise DataError(f"{path}: is a directory, expected a data file") from None
    except OSError as e:
        raise DataError(f"{path}: cannot read file ({e.strerror or e})") from None
    if strip_bom and data.startswith(b"\xef\xbb\xbf"):  # a UTF-8 byte-order mark, as some editors write
        data = data[3:]
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as e:
        line = data.count(b"\n", 0, e.start) + 1
        bad = data[e.start : e.start + 1].hex()
        complain(
            problems, f"{path}:{line}", f"file is not UTF-8 (byte 0x{bad} at offset {e.start}); re-save it as UTF-8"
        )
        return data.decode("utf-8", errors="replace")


def lines(text: str) -> list[str]:
    """Lines split on "\\n" only (str.splitlines would also break on U+2028 or \\x1c, which may sit inside
    a token or a note), a trailing "\\r" removed."""
    return [line.rstrip("\r") for line in text.split("\n")]


def load_json(text, where):
    """Decoded JSON, or DataError naming `where` (deep nesting included, which json reports as RecursionError)."""
    try:
        return json.loads(text)
    except json.JSONDecodeError as e:
        raise DataError(f"{where}: invalid JSON ({e.msg} at line {e.lineno} column {e.colno})") from None
    except RecursionError:
        raise DataError(f"{where}: invalid JSON (nested too deeply)") from None


def valid_text(text, where, problems):
    """True when `text` can be written back as UTF-8 (no lone surrogate from a JSON escape)."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError as e:
        complain(
            problems, where, f"text holds a lone surrogate {text[e.start]!r} at offset {e.start}: not valid Unicode"
        )
        return False
    return True


def check_label(label, where, problems, item=None):
    """True for a usable entity type: a non-empty string without whitespace, not an IOB tag."""
    what = f"span {item!r}: " if item is not None else ""
    if not isinstance(label, str) or not label.strip() or len(label.split()) != 1 or label != label.strip():
        complain(problems, where, f"{what}label {label!r} must be a non-empty string without whitespace")
        return False
    if label.startswith(("B-", "I-")):
        complain(
            problems, where, f"{what}label {label!r} looks like an IOB tag; give the bare entity type ({label[2:]!r})"
        )
        return False
    return True


def is_offset(value):
    """An integer offset (bool is an int subclass; true/false in JSON is a mistake, not an offset)."""
    return isinstance(value, int) and not isinstance(value, bool)


def finish_spans(text, spans, where, problems):
    """`spans` ((start, end, label)) checked against `text` and sorted. Spans that do not fit are an error
    (dropped when lenient); overlapping spans are an error when strict and kept when lenient, for
    `tfner check` to report as overlapping or nested."""
    kept = []
    for start, end, label in spans:
        if not 0 <= start < end <= len(text):
            complain(
                problems,
                where,
                f"span [{start}, {end}, {label!r}] does not fit the text "
                f"(length {len(text)}; need 0 <= start < end <= length)",
            )
            continue
        kept.append((start, end, label))
    kept.sort(key=lambda s: (s[0], s[1], s[2]))
    if problems is None:
        for a, b in zip(kept, kept[1:]):
            if b[0] < a[1]:
                raise DataError(
                    f"{where}: overlapping spans [{a[0]}, {a[1]}, {a[2]!r}] {text[a[0] : a[1]]!r} "
                    f"and [{b[0]}, {b[1]}, {b[2]!r}] {text[b[0] : b[1]]!r}"
                )
    return kept


def count(skipped, reason, n=1):
    """Add `n` to `skipped[reason]` (what a reader left out, shown by `summarize`)."""
    if n:
        skipped[reason] = skipped.get(reason, 0) + n


UNREADABLE = "unreadable record (reported)"


def jsonl_records(path, problems=None, skipped=None):
    """(where, origin, object) for each non-blank line of a JSONL file, records numbered from 1 over the
    non-blank lines: where = "path:record N (line L)", origin = "path:record N". A line that is not JSON
    is an error (when lenient: reported, and counted in `skipped` as unreadable)."""
    source = str(path)
    record = 0
    for lineno, line in enumerate(lines(read_text(path, problems)), start=1):
        if not line.strip():
            continue
        record += 1
        where = f"{source}:record {record} (line {lineno})"
        try:
            obj = load_json(line, where)
        except DataError as e:
            complain(problems, where, str(e)[len(where) + 2 :])
            count(skipped if skipped is not None else {}, UNREADABLE)
            continue
        yield where, f"{source}:record {record}", obj


def write_jsonl(records, path):
    """Write dicts as UTF-8 JSON lines (non-ASCII kept as is)."""
    with open(path, "w", encoding="utf-8", newline="\n") as f:
        for record in records:
            f.write(json.dumps(record, ensure_ascii=False) + "\n")
