"""tfner.data.formats: brat, Label Studio, doccano, span JSONL and CoNLL in four tag schemes, read and written;
round trips between every pair of span formats; `read_data` dispatch; a property test per reader."""

import itertools
import json
import os

import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from tfner.data import formats
from tfner.data.formats import brat, conll, doccano, labelstudio, spans
from tfner.data.readers import Corpus, DataError, Document, read_conll, read_data, read_span_jsonl, summarize
from tfner.data.synthetic import clinical_notes

SUFFIX = {"jsonl": "notes.jsonl", "brat": "notes_brat", "labelstudio": "notes.json", "doccano": "notes.dcc.jsonl"}


def spans_of(text, *entities):
    """(text, spans) with each entity given as (substring, label), found left to right."""
    found, position = [], 0
    for part, label in entities:
        start = text.index(part, position)
        found.append((start, start + len(part), label))
        position = start + len(part)
    return text, found


# Unicode (combining marks, emoji, CJK, right-to-left), CRLF line ends, adjacent entities, a span over a line break.
HAND_MADE = [
    spans_of(
        "Kari Nordmann (f. 03.04.1981)\r\nBor i Tromsø 🏔️, tlf 004791234567.\r\n",
        ("Kari Nordmann", "PATIENT"),
        ("03.04.1981", "DATE"),
        ("Tromsø", "LOC"),
        ("004791234567", "PHONE"),
    ),
    spans_of("OsloBergen", ("Oslo", "LOC"), ("Bergen", "LOC")),
    spans_of(
        "José Álvarez\nvisited 東京 and القاهرة", ("José Álvarez", "PATIENT"), ("東京", "LOC"), ("القاهرة", "LOC")
    ),
    spans_of("Dr. A\r\nB Smith", ("A\r\nB Smith", "NAME")),
    spans_of("e\u0301 <script>alert(1)</script>", ("e\u0301", "X"), ("<script>", "TAG")),
]


def hand_made():
    return Corpus([Document(text=t, spans=s, origin=f"hand:{i}") for i, (t, s) in enumerate(HAND_MADE, 1)], "hand")


def same(a, b):
    return [(d.text, d.spans) for d in a.documents] == [(d.text, d.spans) for d in b.documents]


@pytest.mark.parametrize("source", ["synthetic", "hand-made"])
def test_round_trip_between_every_pair_of_span_formats(tmp_path, source):
    corpus = clinical_notes(20, 1)[0] if source == "synthetic" else hand_made()
    for first, second in itertools.product(formats.SPAN_FORMATS, repeat=2):
        folder = tmp_path / f"{first}-{second}"
        folder.mkdir()
        a, b = str(folder / ("a_" + SUFFIX[first])), str(folder / ("b_" + SUFFIX[second]))
        formats.write(corpus, a, first)
        read_a = read_data(a)
        assert formats.detect_format(a) == first and same(read_a, corpus), (first, second)
        formats.write(read_a, b, second)
        read_b = read_data(b)
        assert same(read_b, corpus), (first, second)
        assert read_b.skipped == {}


def test_brat_keeps_crlf_and_splits_spans_at_line_breaks(tmp_path):
    brat.write(hand_made(), str(tmp_path))
    assert (tmp_path / "doc00001.txt").read_bytes().count(b"\r\n") == 2
    ann = (tmp_path / "doc00004.ann").read_text(encoding="utf-8")
    assert ann == "T1\tNAME 4 5;7 14\tA B Smith\n"  # two fragments, joined again when read
    assert read_data(str(tmp_path)).documents[3].spans == [(4, 14, "NAME")]


def test_brat_unsupported_annotations_are_counted_not_dropped_silently(tmp_path):
    (tmp_path / "a.txt").write_text("Kari bor i Oslo og jobber i Bergen.", encoding="utf-8")
    (tmp_path / "a.ann").write_text(
        "T1\tPER 0 4\tKari\nT2\tLOC 11 15\tOslo\nT3\tLOC 0 4;28 34\tKari Bergen\nR1\tLives Arg1:T1 Arg2:T2\n"
        "T4\tMove 5 8\tbor\nE1\tMove:T4 Agent:T1\nA1\tNegated E1\n#1\tAnnotatorNotes T1\tcheck\n"
        "N1\tRef T2 geo:1\tOslo\n",
        encoding="utf-8",
    )
    (tmp_path / "b.txt").write_text("not annotated", encoding="utf-8")
    corpus = read_data(str(tmp_path))
    assert [d.spans for d in corpus.documents] == [[(0, 4, "PER"), (11, 15, "LOC")]]
    assert corpus.skipped == {
        "brat discontinuous entity (not supported)": 1,
        "brat relation (not supported)": 1,
        "brat event (not supported)": 1,
        "brat event trigger (not supported)": 1,
        "brat attribute (not supported)": 1,
        "brat note (not supported)": 1,
        "brat normalization (not supported)": 1,
        "brat text without .ann (not annotated)": 1,
    }
    assert "brat relation (not supported): 1" in summarize(corpus)


def test_brat_errors_name_the_ann_file_and_line(tmp_path):
    (tmp_path / "a.txt").write_text("Kari bor i Oslo", encoding="utf-8")
    (tmp_path / "a.ann").write_text("T1\tPER 0 4\tKari\nT2\tLOC 11 15\tBergen\n", encoding="utf-8")
    with pytest.raises(DataError, match=r"a\.ann:2: the text field 'Bergen' differs"):
        read_data(str(tmp_path))
    (tmp_path / "a.ann").write_text("T1\tPER 0 4\tKari\nT2\tPER 0 2\tKa\n", encoding="utf-8")
    with pytest.raises(DataError, match=r"a\.ann: overlapping spans"):
        read_data(str(tmp_path))
    (tmp_path / "c.ann").write_text("", encoding="utf-8")
    with pytest.raises(DataError, match=r"c\.ann: no c\.txt next to it"):
        brat.read(str(tmp_path))


def label_studio_task(text, regions, **extra):
    result = [
        {
            "id": f"r{i}",
            "type": "labels",
            "from_name": "label",
            "to_name": "text",
            "value": {"start": s, "end": e, "text": text[s:e], "labels": [label]},
        }
        for i, (s, e, label) in enumerate(regions)
    ]
    return {"id": 7, "data": {"text": text}, "annotations": [{"result": result}], **extra}


def test_label_studio_annotations_other_results_and_utf16_offsets(tmp_path):
    two = label_studio_task("Kari i Oslo", [(0, 4, "PER")])
    two["annotations"].append({"result": []})
    two["annotations"][0]["result"].append({"type": "relation", "from_id": "r0", "to_id": "r0"})
    cancelled = label_studio_task("Oslo", [(0, 4, "LOC")])
    cancelled["annotations"][0]["was_cancelled"] = True
    emoji = {
        "data": {"text": "😀 Oslo"},
        "annotations": [
            {"result": [{"type": "labels", "value": {"start": 3, "end": 7, "text": "Oslo", "labels": ["LOC"]}}]}
        ],
    }
    path = tmp_path / "export.json"
    path.write_text(json.dumps([two, cancelled, emoji, {"data": {"text": "x"}}]), encoding="utf-8")
    corpus = read_data(str(path))
    assert [(d.text, d.spans) for d in corpus.documents] == [
        ("Kari i Oslo", [(0, 4, "PER")]),
        ("😀 Oslo", [(2, 6, "LOC")]),
    ]
    assert corpus.skipped == {
        labelstudio.EXTRA: 1,
        "Label Studio relation result (not supported)": 1,
        labelstudio.UNANNOTATED: 2,
    }
    assert corpus.documents[1].origin == f"{path}:task 3"


def test_label_studio_errors_name_the_task(tmp_path):
    bad = label_studio_task("Kari", [(0, 4, "PER")])
    bad["annotations"][0]["result"][0]["value"]["text"] = "Per"
    path = tmp_path / "export.json"
    path.write_text(json.dumps([label_studio_task("Oslo", []), bad]), encoding="utf-8")
    with pytest.raises(DataError, match=r"export\.json:task 2 \(id 7\): result 'r0': text\[0:4\] is 'Kari' but"):
        read_data(str(path))
    path.write_text(json.dumps({"text": "not a list"}), encoding="utf-8")
    with pytest.raises(DataError, match="expected a Label Studio export"):
        labelstudio.read(str(path))


def test_doccano_label_and_entities_forms_and_relations(tmp_path):
    path = tmp_path / "d.jsonl"
    path.write_text(
        json.dumps({"id": 1, "text": "Kari i Oslo", "label": [[7, 11, "LOC"], [0, 4, "PER"]]})
        + "\n\n"
        + json.dumps(
            {
                "text": "Bergen",
                "entities": [{"id": 3, "start_offset": 0, "end_offset": 6, "label": "LOC"}],
                "relations": [{"id": 1}],
            }
        )
        + "\n",
        encoding="utf-8",
    )
    assert formats.detect_format(str(path)) == "doccano"
    corpus = read_data(str(path))
    assert [d.spans for d in corpus.documents] == [[(0, 4, "PER"), (7, 11, "LOC")], [(0, 6, "LOC")]]
    assert corpus.skipped == {doccano.RELATION: 1}
    assert corpus.documents[1].origin == f"{path}:record 2"
    path.write_text(json.dumps({"text": "good film", "label": ["positive"]}) + "\n", encoding="utf-8")
    with pytest.raises(DataError, match=r"d\.jsonl:record 1 \(line 1\): label 'positive' should be"):
        read_data(str(path))


WORDS = Corpus(
    [
        Document(tokens="Kari Nordmann bor i Oslo".split(), tags=["B-PER", "I-PER", "O", "O", "B-LOC"], origin="a"),
        Document(tokens="Oslo Bergen Ola".split(), tags=["B-LOC", "B-LOC", "B-PER"], origin="b"),
    ],
    "w",
)


@pytest.mark.parametrize(
    "scheme, expected",
    [
        ("IOBES", ["B-PER", "E-PER", "O", "O", "S-LOC"]),
        ("BILOU", ["B-PER", "L-PER", "O", "O", "U-LOC"]),
        ("IOB1", ["I-PER", "I-PER", "O", "O", "I-LOC"]),
        ("IOB2", ["B-PER", "I-PER", "O", "O", "B-LOC"]),
    ],
)
def test_conll_written_and_read_in_every_scheme(tmp_path, scheme, expected):
    path = str(tmp_path / "w.conll")
    conll.write(WORDS, path, scheme)
    lines = open(path, encoding="utf-8").read().split("\n")
    assert [line.split()[1] for line in lines[:5]] == expected
    for named in (None, scheme):
        corpus = read_conll(path, named)
        assert [d.tags for d in corpus.documents] == [d.tags for d in WORDS.documents]
        assert corpus.documents[1].origin == f"{path}:7"


def test_conll_scheme_violations_and_ambiguity_are_errors_with_their_line(tmp_path):
    path = tmp_path / "v.conll"
    path.write_text("Kari B-PER\nNordmann E-PER\n\nOslo B-LOC\nby O\n", encoding="utf-8")
    with pytest.raises(
        DataError,
        match=r"v\.conll:5: the LOC entity before position 1 has no E- end \(IOBES\) "
        r"\(the file was read as IOBES from its tags",
    ):
        read_conll(str(path))
    path.write_text("Kari S-PER\n\nOslo U-LOC\n", encoding="utf-8")
    with pytest.raises(DataError, match="both IOBES .* and BILOU .* prefixes"):
        read_conll(str(path))
    path.write_text("a O\nKari I-PER\n", encoding="utf-8")
    assert read_conll(str(path)).documents[0].tags == ["O", "B-PER"]  # detected: IOB1, repaired
    with pytest.raises(DataError, match=r"v\.conll:2: I-PER follows O: an entity must begin with B- \(IOB2\)"):
        read_conll(str(path), "iob2")
    with pytest.raises(DataError, match="unknown tag scheme"):
        read_conll(str(path), "IOX")


def test_conll_invisible_lines_read_as_blank_and_counted(tmp_path):
    path = tmp_path / "bom.conll"
    path.write_bytes("a O\nb B-LOC\n\ufeff\n\ufeffc O\n\u200b\u200b \nd O\n".encode())
    corpus = read_data(str(path))
    assert [d.tokens for d in corpus.documents] == [["a", "b"], ["c"], ["d"]]
    assert corpus.skipped == {conll.INVISIBLE_LINE: 2, conll.LEADING_BOM: 1}


def test_read_data_dispatch_by_path_and_content(tmp_path):
    corpus = hand_made()
    for fmt in formats.SPAN_FORMATS:
        formats.write(corpus, str(tmp_path / SUFFIX[fmt]), fmt)
        assert formats.detect_format(str(tmp_path / SUFFIX[fmt])) == fmt
    (tmp_path / "lines.json").write_text('{"text": "Oslo", "spans": [[0, 4, "LOC"]]}\n', encoding="utf-8")
    assert formats.detect_format(str(tmp_path / "lines.json")) == "jsonl"
    assert formats.detect_format(str(tmp_path / "x.conll")) == "conll"
    with pytest.raises(DataError, match="give the directory"):
        formats.detect_format(str(tmp_path / "notes_brat" / "doc00001.ann"))


def test_writers_refuse_what_they_cannot_write(tmp_path):
    with pytest.raises(DataError, match="word-level documents cannot be written as brat"):
        formats.write(WORDS, str(tmp_path / "b"), "brat")
    with pytest.raises(DataError, match="cannot be written as CoNLL"):
        formats.write(hand_made(), str(tmp_path / "c.conll"), "conll")
    bad = Corpus([Document(tokens=["a b"], tags=["O"], origin="x")], "x")
    with pytest.raises(DataError, match="cannot be written in a CoNLL column"):
        formats.write(bad, str(tmp_path / "c.conll"), "conll")


# --------------------------------------------------------------------------
# Property tests: arbitrary input parses or raises DataError naming file and record; nothing vanishes.

FUZZ = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
TAGS = st.sampled_from(["O", "B-PER", "I-PER", "E-PER", "S-LOC", "L-X", "U-X", "B-", "X-Y", "PER", "-DOCSTART-"])
TOKENS = st.sampled_from(["Kari", "Oslo", "\ufeff", "\u200b", "é", "a b", "", "-DOCSTART-", "🏔️", "\t"])
CONLL_LINE = st.one_of(st.builds(lambda t, g: f"{t} {g}", TOKENS, TAGS), st.just(""), TOKENS, st.text(max_size=12))
JSON = st.recursive(
    st.none() | st.booleans() | st.integers(-3, 40) | st.floats(allow_nan=False) | st.text(max_size=8),
    lambda c: st.lists(c, max_size=4) | st.dictionaries(st.text(max_size=6), c, max_size=4),
    max_leaves=12,
)
TEXT = st.text(alphabet="Kari Oslo\n\r😀é", min_size=0, max_size=20) | st.just("Kari i Oslo")
SPAN = st.one_of(
    st.tuples(st.integers(-1, 22), st.integers(-1, 22), st.sampled_from(["PER", "B-PER", "", 5, "A B"])),
    *[st.tuples(st.integers(0, 3), st.integers(4, 6), st.sampled_from(["PER", "LOC"]))] * 3,
)


def _raises_with_location(error, path, pattern):
    event("DataError")
    message = str(error)
    assert message.startswith(str(path)), message
    assert pattern in message[len(str(path)) : len(str(path)) + 40], message


@FUZZ
@given(lines=st.lists(CONLL_LINE, max_size=12), crlf=st.booleans(), raw=st.binary(max_size=30), use_raw=st.booleans())
def test_conll_reader_property(tmp_path, lines, crlf, raw, use_raw):
    path = tmp_path / "p.conll"
    data = raw if use_raw else ("\r\n" if crlf else "\n").join(lines).encode("utf-8", "surrogatepass")
    path.write_bytes(data)
    try:
        corpus = read_conll(str(path))
    except DataError as e:
        _raises_with_location(e, path, ":")
        return
    event("parsed")
    rows = [line.split() for line in data.decode("utf-8").lstrip("\ufeff").split("\n")]
    rows = [[c.lstrip("\ufeff") for c in r] for r in rows]
    tokens = [r for r in rows if len(r) >= 2 and "".join(r).strip(conll.INVISIBLE) and r[0] != "-DOCSTART-"]
    assert sum(len(d.tokens) for d in corpus.documents) == len(tokens)


def _jsonl(records):
    return "\n".join(r if isinstance(r, str) else json.dumps(r, ensure_ascii=False) for r in records)


@FUZZ
@given(
    records=st.lists(
        st.one_of(
            JSON,
            st.builds(lambda t, s: {"text": t, "ner_tags": s}, TEXT, st.lists(SPAN, max_size=3)),
            st.text(max_size=10),
        ),
        max_size=6,
    ),
    raw=st.binary(max_size=30),
    use_raw=st.booleans(),
)
def test_span_jsonl_readers_property(tmp_path, records, raw, use_raw):
    path = tmp_path / "p.jsonl"
    path.write_bytes(raw if use_raw else _jsonl(records).encode("utf-8", "surrogatepass"))
    for reader in (read_span_jsonl, spans.read):
        try:
            corpus = reader(str(path))
        except DataError as e:
            _raises_with_location(e, path, ":")
            continue
        event("parsed")
        lines = [line for line in path.read_bytes().decode("utf-8").lstrip("\ufeff").split("\n") if line.strip()]
        assert len(corpus.documents) + sum(corpus.skipped.values()) == len(lines)
    problems = []  # lenient: never raises, every record a document or counted, every problem located
    corpus = spans.read(str(path), problems)
    lines = [line for line in path.read_bytes().decode("utf-8", "replace").lstrip("\ufeff").split("\n") if line.strip()]
    assert len(corpus.documents) + sum(corpus.skipped.values()) == len(lines)
    assert all(p.where.startswith(f"{path}:") for p in problems)


@FUZZ
@given(
    records=st.lists(
        st.one_of(JSON, *[st.builds(lambda t, s: {"text": t, "label": s}, TEXT, st.lists(SPAN, max_size=2))] * 4),
        max_size=4,
    )
)
def test_doccano_reader_property(tmp_path, records):
    path = tmp_path / "p.jsonl"
    path.write_text(_jsonl(records), encoding="utf-8", errors="surrogatepass")
    try:
        corpus = doccano.read(str(path))
    except DataError as e:
        _raises_with_location(e, path, ":record ")
        return
    event("parsed")
    n = sum(1 for line in path.read_text(encoding="utf-8").split("\n") if line.strip())
    assert len(corpus.documents) + corpus.skipped.get("empty document", 0) == n


def _task(text, regions, cancelled):
    result = [{"type": "labels", "value": {"start": s, "end": e, "labels": [label]}} for s, e, label in regions]
    return {"data": {"text": text}, "annotations": [{"result": result, "was_cancelled": cancelled}]}


@FUZZ
@given(
    tasks=st.lists(st.one_of(JSON, st.builds(_task, TEXT, st.lists(SPAN, max_size=3), st.booleans())), max_size=5),
    as_dict=st.booleans(),
)
def test_label_studio_reader_property(tmp_path, tasks, as_dict):
    path = tmp_path / "p.json"
    path.write_text(json.dumps({"tasks": tasks} if as_dict else tasks), encoding="utf-8")
    try:
        corpus = labelstudio.read(str(path))
    except DataError as e:
        _raises_with_location(e, path, ":task " if not as_dict and tasks and labelstudio.is_export(tasks) else ":")
        return
    event("parsed")
    task_level = (labelstudio.UNANNOTATED, "empty document", "unreadable record (reported)")
    assert len(corpus.documents) + sum(corpus.skipped.get(k, 0) for k in task_level) == len(tasks)


ANN_LINE = st.one_of(
    st.builds(
        lambda i, label, s, e, t: f"T{i}\t{label} {s} {e}\t{t}",
        st.integers(1, 3),
        st.sampled_from(["PER", "B-PER", "L"]),
        st.integers(-1, 12),
        st.integers(-1, 12),
        TEXT,
    ),
    st.builds(lambda k: f"{k}1\tRel Arg1:T1 Arg2:T2", st.sampled_from("REAMN#*")),
    st.text(max_size=15),
)


@FUZZ
@given(text=TEXT, lines=st.lists(ANN_LINE, max_size=6))
def test_brat_reader_property(tmp_path, text, lines):
    folder = tmp_path / "brat"
    folder.mkdir(exist_ok=True)
    (folder / "a.txt").write_bytes(text.encode())
    (folder / "a.ann").write_bytes("\n".join(lines).encode("utf-8", "surrogatepass"))
    try:
        corpus = brat.read(str(folder))
    except DataError as e:
        _raises_with_location(e, folder, "a.ann")
        return
    annotations = [line for line in (folder / "a.ann").read_text(encoding="utf-8").split("\n") if line.strip()]
    event("parsed")
    counted = sum(v for k, v in corpus.skipped.items() if "not supported" in k)
    if corpus.documents:
        assert len(corpus.documents[0].spans) + counted == len(annotations)
    else:
        assert corpus.skipped["empty document"] == 1 and not text.strip()


def test_lenient_reading_reports_every_problem_and_goes_on(tmp_path):
    path = tmp_path / "l.jsonl"
    path.write_text(
        _jsonl(
            [
                '{"text": ',
                {"text": "Kari i Oslo", "ner_tags": [[0, 4, "PER"], [2, 6, "LOC"], [0, 99, "LOC"]]},
                {"text": "", "ner_tags": []},
                {"ner_tags": []},
            ]
        ),
        encoding="utf-8",
    )
    problems = []
    corpus = spans.read(str(path), problems)
    assert [(p.where, p.kind) for p in problems] == [
        (f"{path}:record 1 (line 1)", "unreadable"),
        (f"{path}:record 2 (line 2)", "unreadable"),
        (f"{path}:record 3 (line 3)", "empty-document"),
        (f"{path}:record 4 (line 4)", "unreadable"),
    ]
    assert corpus.documents[0].spans == [(0, 4, "PER"), (2, 6, "LOC")]  # the overlap kept, for tfner check
    assert corpus.skipped == {"unreadable record (reported)": 2, "empty document": 1}
    assert os.path.exists(path)


def test_scheme_names_descriptions_and_prefixes():
    from tfner.data.tags import describe, prefixes_used, scheme_name

    assert [scheme_name(n) for n in ("iob2", "BIO", "bioes", "BIOUL", "bilou", "IOB1")] == [
        "IOB2",
        "IOB2",
        "IOBES",
        "BILOU",
        "BILOU",
        "IOB1",
    ]
    with pytest.raises(ValueError, match="unknown tag scheme"):
        scheme_name("IOB")  # IOB1 or IOB2? ambiguous, so not an alias
    assert describe("IOBES") == "O, B-TYPE, I-TYPE, E-TYPE or S-TYPE" and describe("IOB1") == "O, B-TYPE or I-TYPE"
    assert prefixes_used([["O", "B-PER", "L-PER"], ["U-X", "junk"]]) == {"B", "L", "U"}
