"""`tfner.data.tables.TableView` in TensorFlow ops, so that `predict_text` reads text as a table-view model
was trained to read it (`ModelConfig.table_view`).

`table_view(text)` (string, batch) -> the views (string, batch) and a `ViewMap` whose `to_original` maps
character offsets of the views back onto the texts given, as `TableView.to_original` does. The rules are
the Python view's, rule for rule (tests/serving/test_table_view.py compares both on generated notes of every
family and on random tables): lines split at "\\n"; for every line, its cells under each separator (tabs,
pipes, semicolons, column alignment, commas) and whether it reads as a header; a scan over the lines that
keeps the header of the table it is in (the one sequential step: a header's table lasts while lines have
its number of cells, blank lines and rules passed over); then the inserted names and where they go, HL7
field names added the same way, and the view joined from the pieces. Positions are found in bytes and
turned into characters (Unicode code points) at the end, as the tokenizers' offsets are.

Whitespace is Python's (`str.isspace`, `SPACE`), digits are Unicode decimal digits (`\\d`) in both.
"""

import tensorflow as tf
import tensorflow_text as tf_text

from tfner.data import tables

# str.isspace() as an RE2 class (a test checks every code point)
SPACE = r"[ \t\n\x0b\x0c\r\x1c-\x1f\x{85}\x{a0}\x{1680}\x{2000}-\x{200a}\x{2028}\x{2029}\x{202f}\x{205f}\x{3000}]"
TEXT = SPACE.replace("[", "[^", 1)  # any character that is not whitespace
ALIGNED = rf"{TEXT}+(?: {TEXT}+)*"  # tables.ALIGNED
RULE = r"[" + SPACE[1:-1] + r"|:+=-]*"  # tables.RULE
HEADER_CELL = (  # tables._header_like for one stripped cell, but its length (measured apart)
    r"(?s)",
    r".*\p{L}.*",  # a letter
    r"[^\p{Nd}]*\p{Nd}?[^\p{Nd}]*",  # at most one digit
    r"[^:]*",  # no colon
    rf"{SPACE}*{TEXT}+(?:{SPACE}+{TEXT}+){{0,2}}{SPACE}*",  # at most three words
)
BYTE_ROW = 2**32  # positions are keyed row * BYTE_ROW + byte offset


def _length(strings, unit="BYTE"):
    return tf.cast(tf.strings.length(strings, unit=unit), tf.int64)


def _within_rows(values, row_splits):
    """Exclusive cumulative sums of `values` restarting at each row (flat, as `values`)."""
    total = tf.cumsum(values, exclusive=True)
    return total - tf.gather(total, tf.repeat(row_splits[:-1], row_splits[1:] - row_splits[:-1]))


def _strip(pieces, starts):
    """(start, end) byte offsets of `pieces` (flat strings at `starts`) without their leading and trailing
    whitespace; an all-space piece becomes the empty cell at its end, as `tables._cells` has it."""
    length = _length(pieces)
    lead = length - _length(tf.strings.regex_replace(pieces, f"^{SPACE}+", ""))
    trail = length - _length(tf.strings.regex_replace(pieces, f"{SPACE}+$", ""))
    start = starts + lead
    return start, tf.maximum(starts + length - trail, start)


def _cells(lines, sep):
    """Ragged (lines, cells) byte starts and ends of the stripped cells of each line under `sep`
    (`tables._cells`)."""
    if sep == "aligned":
        pieces, begin, end = tf_text.regex_split_with_offsets(lines, ALIGNED, ALIGNED)
        keep = tf.strings.regex_full_match(pieces.flat_values, ALIGNED)
        rows = tf.boolean_mask(pieces.value_rowids(), keep)
        nrows = tf.shape(lines, out_type=tf.int64)[0]
        make = lambda x: tf.RaggedTensor.from_value_rowids(tf.boolean_mask(x.flat_values, keep), rows, nrows)
        return make(begin), make(end)
    pieces = tf.strings.split(lines, sep)
    flat, splits = pieces.flat_values, pieces.row_splits
    start, end = _strip(flat, _within_rows(_length(flat) + 1, splits))
    if sep == "|":  # "| a | b |": drop the outer empties
        at = tf.range(tf.size(flat, out_type=tf.int64)) - tf.gather(splits, pieces.value_rowids())
        last = at + 1 == tf.gather(pieces.row_lengths(), pieces.value_rowids())
        framed = tf.gather(tf.strings.regex_full_match(lines, f"{SPACE}*\\|.*"), pieces.value_rowids())
        keep = ~(framed & ((at == 0) | (last & tf.equal(start, end))))
        rows, nrows = tf.boolean_mask(pieces.value_rowids(), keep), pieces.nrows()
        make = lambda x: tf.RaggedTensor.from_value_rowids(tf.boolean_mask(x, keep), rows, nrows)
        return make(start), make(end)
    return pieces.with_flat_values(start), pieces.with_flat_values(end)


def _header_like(lines, starts, ends, sep):
    """Per line: its cells under `sep` read as a table's header (`tables._header`, for one separator)."""
    rows = starts.value_rowids()
    words = tf.strings.substr(tf.gather(lines, rows), starts.flat_values, ends.flat_values - starts.flat_values)
    ok = tf.strings.length(words, unit="UTF8_CHAR") <= 30
    for pattern in HEADER_CELL[1:]:
        ok &= tf.strings.regex_full_match(words, HEADER_CELL[0] + pattern)
    if sep == ",":  # a sentence with commas, not a CSV header
        ok &= ~tf.strings.regex_full_match(words, r"(?s).*\.")
    bad = tf.math.unsorted_segment_sum(tf.cast(~ok, tf.int64), rows, tf.shape(lines, out_type=tf.int64)[0])
    return tf.equal(bad, 0) & (starts.row_lengths() >= tables.MIN_COLUMNS + (sep == ","))


def _rows_of_tables(header_sep, header_count, counts, skip, first):
    """Per line: the line of the header of the table it is a row of (-1 for none) and that table's
    separator. A scan over the flat lines of the batch (`first`: a text's first line resets it) with the
    state of `tables.table_insertions`' loop: the current table's separator, cell count and header line."""
    minus = tf.constant(-1, tf.int64)

    def step(state, line):
        sep, count, header, _ = state
        hsep, hcount, count_of, skip_it, first_of_text, index = line
        active = (sep >= 0) & ~first_of_text
        row = active & ~skip_it & tf.equal(tf.gather(count_of, tf.maximum(sep, 0)), count)
        stay = active & (skip_it | row)  # blank lines and rules pass; a line of other cells ends the table
        new = ~stay & (hsep >= 0)  # ... and may start the next one
        return (
            tf.where(stay, sep, tf.where(new, hsep, minus)),
            tf.where(new, hcount, count),
            tf.where(new, index, header),
            tf.where(row, header, minus),
        )

    index = tf.range(tf.size(header_sep, out_type=tf.int64))
    init = (minus, tf.constant(0, tf.int64), minus, minus)
    sep_of, _, _, header_of = tf.scan(step, (header_sep, header_count, counts, skip, first, index), init)
    return header_of, sep_of


def _table_insertions(lines, line_start, first):
    """(line, byte position in its text, inserted text) of `tables.table_insertions` over flat lines."""
    cells = [_cells(lines, sep) for sep in tables.SEPARATORS]
    is_header = tf.stack([_header_like(lines, s, e, sep) for (s, e), sep in zip(cells, tables.SEPARATORS)], 1)
    counts = tf.stack([s.row_lengths() for s, _ in cells], 1)
    header_sep = tf.where(tf.reduce_any(is_header, 1), tf.argmax(tf.cast(is_header, tf.int32), 1), -1)
    header_count = tf.gather(counts, tf.maximum(header_sep, 0), batch_dims=1)
    skip = tf.strings.regex_full_match(lines, RULE)  # blank lines and rules
    header_of, sep_of = _rows_of_tables(header_sep, header_count, counts, skip, first)
    rows = tf.where(header_of >= 0)[:, 0]
    n = tf.size(lines, out_type=tf.int64)
    starts, ends = tf.concat([s for s, _ in cells], 0), tf.concat([e for _, e in cells], 0)  # (separators * n, cells)
    in_row = tf.gather(sep_of, rows) * n + rows
    in_header = tf.gather(sep_of, rows) * n + tf.gather(header_of, rows)
    row_start, row_end = tf.gather(starts, in_row), tf.gather(ends, in_row)
    head_start = tf.gather(starts, in_header).flat_values
    head_end = tf.gather(ends, in_header).flat_values
    line = tf.gather(rows, row_start.value_rowids())
    names = tf.strings.substr(tf.gather(lines, tf.gather(header_of, line)), head_start, head_end - head_start)
    keep = row_end.flat_values > row_start.flat_values  # no header before an empty cell
    position = tf.gather(line_start, line) + row_start.flat_values
    return tf.boolean_mask(line, keep), tf.boolean_mask(position, keep), tf.boolean_mask(names + ": ", keep)


HL7_KEYS = [f"{seg}-{number}" for seg, fields in tables.HL7_FIELDS.items() for number in fields]
HL7_NAMES = [f"{seg}-{number} {name}: " for seg, fields in tables.HL7_FIELDS.items() for number, name in fields.items()]


def _hl7_insertions(lines, line_start):
    """(line, byte position in its text, inserted text) of `tables.hl7_insertions` over flat lines."""
    fields = tf.strings.split(lines, "|")
    line = fields.value_rowids()
    at = tf.range(tf.size(fields.flat_values, out_type=tf.int64)) - tf.gather(fields.row_splits, line)
    segment = tf.strings.substr(lines, 0, 3)
    is_segment = tf.strings.regex_full_match(lines, r"(?s)[A-Z][A-Z0-9]{2}\|.*")
    number = at + tf.cast(tf.gather(tf.equal(segment, "MSH"), line), tf.int64)  # MSH-1 is the separator itself
    key = tf.gather(segment, line) + "-" + tf.strings.as_string(number)
    known = tf.equal(key[:, None], tf.constant(HL7_KEYS)[None, :])
    length = _length(fields.flat_values)
    keep = tf.gather(is_segment, line) & (at > 0) & tf.reduce_any(known, 1) & (length > 0)
    name = tf.gather(tf.constant(HL7_NAMES), tf.argmax(tf.cast(known, tf.int32), 1))
    position = tf.gather(line_start, line) + _within_rows(length + 1, fields.row_splits)
    return tf.boolean_mask(line, keep), tf.boolean_mask(position, keep), tf.boolean_mask(name, keep)


class ViewMap:
    """Where the headers went into a batch of views, in characters; `to_original` maps offsets back."""

    def __init__(self, row_splits, positions, lengths):
        self.row_splits = row_splits  # insertions of text i: row_splits[i]:row_splits[i + 1]
        self.positions = positions  # in the original text, characters
        rows = tf.RaggedTensor.from_row_splits(positions, row_splits).value_rowids()
        before = _within_rows(lengths, row_splits)  # inserted characters before each insertion, in its text
        self.view_keys = rows * BYTE_ROW + positions + before  # where each insertion begins in the view
        self.inserted = tf.concat([[0], tf.cumsum(lengths)], 0)

    def to_original(self, offsets):
        """Ragged (texts, n) character offsets of the views -> of the original texts
        (`TableView.to_original`: an offset inside an inserted header maps to its cell's start)."""
        rows, values = offsets.value_rowids(), tf.cast(offsets.flat_values, tf.int64)
        found = tf.searchsorted(self.view_keys, rows * BYTE_ROW + values, side="right", out_type=tf.int64)
        first = tf.gather(self.row_splits, rows)
        out = values - (tf.gather(self.inserted, found) - tf.gather(self.inserted, first))
        cell = tf.gather(tf.concat([self.positions, [0]], 0), tf.maximum(found - 1, 0))
        out = tf.where(found > first, tf.maximum(out, cell), out)
        return offsets.with_flat_values(tf.cast(out, offsets.flat_values.dtype))


def table_view(text):
    """Texts (string, batch) -> (their views, `ViewMap`): `tables.TableView(text).text` for each."""
    split = tf.strings.split(text, "\n")
    lines, line_row = split.flat_values, split.value_rowids()
    line_start = _within_rows(_length(lines) + 1, split.row_splits)
    first = tf.equal(tf.range(tf.size(lines, out_type=tf.int64)), tf.gather(split.row_splits, line_row))
    hl7, table = _hl7_insertions(lines, line_start), _table_insertions(lines, line_start, first)
    line, position, add = (tf.concat([a, b], 0) for a, b in zip(hl7, table))  # HL7 names first at one place
    key = tf.gather(line_row, line) * BYTE_ROW + position
    order = tf.argsort(key, stable=True)
    keys, index = tf.unique(tf.gather(key, order), out_idx=tf.int64)  # sorted: one entry per place
    add = tf.strings.reduce_join(tf.RaggedTensor.from_value_rowids(tf.gather(add, order), index), axis=1)
    batch = tf.shape(text, out_type=tf.int64)[0]
    at = tf.RaggedTensor.from_value_rowids(keys % BYTE_ROW, keys // BYTE_ROW, batch)  # byte positions
    column = lambda x: tf.RaggedTensor.from_tensor(tf.reshape(x, [-1, 1]))
    begin = tf.concat([column(tf.zeros([batch], tf.int64)), at], 1)
    end = tf.concat([at, column(_length(text))], 1)
    rows = begin.value_rowids()
    pieces = tf.strings.substr(tf.gather(text, rows), begin.flat_values, end.flat_values - begin.flat_values)
    added = tf.concat([at.with_flat_values(add), column(tf.fill([batch], ""))], 1).flat_values
    joined = tf.reshape(tf.stack([pieces, added], 1), [-1])
    view = tf.strings.reduce_join(tf.RaggedTensor.from_row_splits(joined, begin.row_splits * 2), axis=1)
    before = tf.strings.substr(tf.gather(text, at.value_rowids()), tf.zeros_like(at.flat_values), at.flat_values)
    return view, ViewMap(at.row_splits, _length(before, "UTF8_CHAR"), _length(add, "UTF8_CHAR"))
