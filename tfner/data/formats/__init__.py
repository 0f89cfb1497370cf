"""File formats of annotation tools and corpora, read into tfner's `Corpus` and written back.

    conll        CoNLL columns, tags in IOB1, IOB2, IOBES or BILOU (`conll`)
    jsonl        tfner's span JSONL, {"text", "ner_tags": [[start, end, label]]} (`spans`)
    brat         brat standoff directories of .txt + .ann (`brat`)
    labelstudio  Label Studio JSON exports of NER tasks (`labelstudio`)
    doccano      doccano JSONL, {"text", "label": [[start, end, label]]} (`doccano`)

`read(path, fmt=None, ...)` reads any of them (the format detected from the path when not given,
`detect.detect_format`); with a `problems` list it is lenient, as `tfner check` needs. `write` writes
one. The strict reading of `tfner.data.readers.read_data` dispatches here for brat, Label Studio and
doccano, and goes through `conll` for CoNLL files.
"""

from tfner.data.formats import brat, conll, doccano, labelstudio, spans
from tfner.data.formats.base import Corpus, DataError, Document, Problem  # noqa: F401
from tfner.data.formats.detect import detect_format

FORMATS = ("conll", "jsonl", "brat", "labelstudio", "doccano")
SPAN_FORMATS = ("jsonl", "brat", "labelstudio", "doccano")
SPAN_READERS = {"jsonl": spans.read, "brat": brat.read, "labelstudio": labelstudio.read, "doccano": doccano.read}
SPAN_WRITERS = {"jsonl": spans.write, "brat": brat.write, "labelstudio": labelstudio.write, "doccano": doccano.write}


def read(path, fmt=None, tag_scheme=None, problems=None):
    """A corpus from `path` in `fmt` (detected when None); strict unless `problems` is a list."""
    fmt = fmt or detect_format(path)
    if fmt == "conll":
        return conll.read(path, tag_scheme, problems)
    if fmt not in SPAN_READERS:
        raise DataError(f"{path}: cannot read format {fmt!r} here; expected one of {', '.join(FORMATS)}")
    return SPAN_READERS[fmt](path, problems)


def write(corpus, path, fmt, tag_scheme="IOB2"):
    """Write `corpus` to `path` in `fmt`: word documents as CoNLL, span documents in a span format."""
    if fmt == "conll":
        return conll.write(corpus, path, tag_scheme)
    if fmt not in SPAN_WRITERS:
        raise DataError(f"cannot write format {fmt!r}; expected one of {', '.join(FORMATS)}")
    word = [d for d in corpus.documents if not d.is_spans]
    if word:
        raise DataError(
            f"{word[0].origin}: word-level documents cannot be written as {fmt}; convert them to "
            "spans first (tfner.data.convert.to_spans)"
        )
    try:
        return SPAN_WRITERS[fmt](corpus, path)
    except UnicodeEncodeError as e:
        raise DataError(f"{path}: a text holds a character that UTF-8 cannot encode ({e.reason})") from None
