"""tfner.deid without a model: a regex detector stands in for it."""

import datetime
import hashlib
import json
import re

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tfner.deid import audit, cli, io, run
from tfner.deid.operators import MODES, deidentify_text, merge_entities
from tfner.deid.surrogates import Surrogates, kind_of

NOTE = (
    "Patient John Smith (MRN 4471902), 45-year-old, seen on 2021-03-04 by Dr. Mary Jones. "
    "Mr. Smith will call 617-555-0134 before March 18, 2021. SMITH, John lives in Boston."
)
DETECTOR = run.RegexDetector(
    {
        "PATIENT": r"John Smith|Mr\. Smith|SMITH, John",
        "DOCTOR": r"Mary Jones",
        "ID": r"(?<=MRN )\d+",
        "AGE": r"\d+(?=-year-old)",
        "DATE": r"\d{4}-\d{2}-\d{2}|March 18, 2021",
        "PHONE": r"\d{3}-\d{3}-\d{4}",
        "LOC": r"Boston",
    }
)


def entities_of(text, detector=DETECTOR):
    return detector([text])[0]


def values_of(text, detector=DETECTOR):
    return [text[e["start"] : e["end"]] for e in entities_of(text, detector)]


# operators -----------------------------------------------------------------------------------------


def test_redact_and_mask():
    ents = entities_of(NOTE)
    red = deidentify_text(NOTE, ents, "redact")
    assert red.startswith("Patient [PATIENT] (MRN [ID]), [AGE]-year-old, seen on [DATE] by Dr. [DOCTOR].")
    masked = deidentify_text(NOTE, ents, "mask")
    assert len(masked) == len(NOTE)
    for e in ents:
        assert masked[e["start"] : e["end"]] == "*" * (e["end"] - e["start"])
    assert [i for i, c in enumerate(NOTE) if masked[i] != c] == sorted(
        i for e in merge_entities(NOTE, ents) for i in range(e["start"], e["end"])
    )
    assert MODES == ("redact", "mask", "surrogate")


def test_overlaps_merge_to_the_higher_score_and_touching_labels_stay_apart():
    text = "Seen 03/04 /2021 by Anna Lee"
    ents = [
        {"label": "DATE", "start": 5, "end": 10, "score": 0.9},
        {"label": "DATE", "start": 10, "end": 16, "score": 0.6},  # touches, same label: merged
        {"label": "NAME", "start": 20, "end": 28, "score": 0.7},
        {"label": "LOC", "start": 20, "end": 24, "score": 0.95},
    ]  # overlaps, scores higher
    merged = merge_entities(text, ents)
    assert [(e["label"], e["start"], e["end"], e["score"]) for e in merged] == [
        ("DATE", 5, 16, 0.9),
        ("LOC", 20, 28, 0.95),
    ]
    assert deidentify_text(text, ents, "redact") == "Seen [DATE] by [LOC]"
    touching = [{"label": "NAME", "start": 20, "end": 24, "score": 1}, {"label": "LOC", "start": 24, "end": 28}]
    assert deidentify_text(text, touching, "redact") == "Seen 03/04 /2021 by [NAME][LOC]"


@pytest.mark.parametrize(
    "bad",
    [
        {"label": "NAME", "start": 3, "end": 3},
        {"label": "NAME", "start": -1, "end": 2},
        {"label": "NAME", "start": 0, "end": 99},
        {"label": "", "start": 0, "end": 2},
        {"label": "NAME", "start": "0", "end": 2},
    ],
)
def test_invalid_entities_are_errors_naming_the_entity(bad):
    with pytest.raises(ValueError, match=r"entity 1 \(label="):
        deidentify_text("Anna Lee", [{"label": "NAME", "start": 0, "end": 4}, bad], "redact")
    with pytest.raises(ValueError, match="mode must be one of"):
        deidentify_text("Anna", [], "blank")
    with pytest.raises(ValueError, match="needs a Surrogates"):
        deidentify_text("Anna", [{"label": "NAME", "start": 0, "end": 4}], "surrogate")


# surrogates: names ---------------------------------------------------------------------------------


def test_names_are_consistent_and_parts_reuse_them():
    s = Surrogates("key", "doc-1")
    first, last = s.surrogate("PATIENT", "John Smith").split()
    assert (first, last) != ("John", "Smith")
    assert s.surrogate("PATIENT", "Smith") == last
    assert s.surrogate("PATIENT", "Mr. Smith") == f"Mr. {last}"
    assert s.surrogate("DOCTOR", "SMITH, John") == f"{last.upper()}, {first}"
    assert s.surrogate("PATIENT", "smith, john") == f"{last.lower()}, {first.lower()}"
    assert s.surrogate("NAME", "J. Smith") == f"{first[0]}. {last}"
    assert s.surrogate("PATIENT", "john  smith") == f"{first.lower()}  {last.lower()}"
    assert s.surrogate("PATIENT", "Dr. John Smith, MD") == f"Dr. {first} {last}, MD"


def test_name_parts_are_consistent_whatever_the_order_in_the_text():
    text = "Smith was seen. J. Smith signed. John Smith left."
    ents = [
        {"label": "PATIENT", "start": m.start(), "end": m.end()}
        for m in re.finditer(r"J\. Smith|John Smith|Smith(?= was)", text)
    ]
    out = deidentify_text(text, ents, "surrogate", Surrogates("k", "doc"))
    m = re.fullmatch(r"(\w+) was seen\. (\w)\. (\w+) signed\. (\w+) (\w+) left\.", out)
    assert m, out
    assert m[1] == m[3] == m[5] and m[2] == m[4][0]


def test_gendered_given_names_and_different_names_get_different_surrogates():
    s = Surrogates("k", "doc")
    subs = {s.surrogate("NAME", v) for v in ("Anna", "Maria", "Peter", "Paul", "Berg", "Smith")}
    assert len(subs) == 6


# surrogates: dates ---------------------------------------------------------------------------------


def shifted(s, value):
    return s.surrogate("DATE", value)


@pytest.mark.parametrize(
    "value, pattern",
    [
        ("2021-03-04", r"\d{4}-\d{2}-\d{2}"),
        ("04.03.2021", r"\d{2}\.\d{2}\.\d{4}"),
        ("4/3/21", r"\d{1,2}/\d{1,2}/\d{2}"),
        ("03/04/2021", r"\d{2}/\d{2}/\d{4}"),
        ("March 4, 2021", r"[A-Z][a-z]+ \d{1,2}, \d{4}"),
        ("4 March 2021", r"\d{1,2} [A-Z][a-z]+ \d{4}"),
        ("4 Mar 2021", r"\d{1,2} [A-Z][a-z]{2} \d{4}"),
        ("Thursday, 4 March 2021", r"[A-Z][a-z]+day, \d{1,2} [A-Z][a-z]+ \d{4}"),
        ("2021", r"20(20|22)"),
        ("March 2021", r"[A-Z][a-z]+ \d{4}"),
        ("04-MAR-21", r"\d{2}-[A-Z]{3}-\d{2}"),
        ("4th of March", r"\d{1,2}(st|nd|rd|th) of [A-Z][a-z]+"),
        ("14/11/2021 10:30", r"\d{2}/\d{2}/\d{4} 10:30"),
        ("31/02/2021", r"\d{2}/\d{2}/\d{4}"),
    ],
)
def test_dates_keep_their_format(value, pattern):
    s = Surrogates("key", "doc-7")
    out = shifted(s, value)
    assert re.fullmatch(pattern, out) and out != value, out


def test_one_offset_per_document_weekday_recomputed_and_day_month_order():
    s = Surrogates("key", "doc-7")
    assert 32 <= abs(s.date_offset) <= 365
    new = datetime.date(2021, 3, 4) + datetime.timedelta(days=s.date_offset)
    assert shifted(s, "2021-03-04") == new.isoformat()
    assert shifted(s, "Thursday, 4 March 2021") == new.strftime("%A, ") + f"{new.day} " + new.strftime("%B %Y")
    assert shifted(s, "03/04/2021") == new.strftime("%m/%d/%Y")  # en_US: month first
    assert shifted(s, "04.03.2021") == new.strftime("%d.%m.%Y")  # dots: day first
    assert Surrogates("key", "doc-7", "en_GB").surrogate("DATE", "04/03/2021") == new.strftime("%d/%m/%Y")
    assert shifted(s, "13/03/2021") == (datetime.date(2021, 3, 13) + (new - datetime.date(2021, 3, 4))).strftime(
        "%d/%m/%Y"
    )  # only valid day first
    assert Surrogates("key", "doc-8").date_offset != s.date_offset or Surrogates("k2", "doc-7").date_offset


FORMATS = [
    "%Y-%m-%d",
    "%d.%m.%Y",
    "%m/%d/%Y",
    "%m/%d/%y",
    "%B %d, %Y",
    "%d %B %Y",
    "%d %b %Y",
    "%b %d, %Y",
    "%A, %d %B %Y",
    "%a %d %b %Y",
    "%d-%b-%y",
    "%Y/%m/%d",
    "%B %Y",
    "%m/%Y",
]


def render(date, fmt, padded):
    return date.strftime(fmt if padded else fmt.replace("%d", str(date.day)).replace("%m", str(date.month)))


def parses(text, fmt):
    try:
        return bool(datetime.datetime.strptime(text, fmt))
    except ValueError:
        return False


@settings(max_examples=60, deadline=None, derandomize=True, database=None)
@given(
    st.lists(
        st.tuples(
            st.dates(datetime.date(1975, 1, 1), datetime.date(2035, 12, 31)), st.sampled_from(FORMATS), st.booleans()
        ),
        min_size=1,
        max_size=5,
    ),
    st.text("abcdef", min_size=1, max_size=6),
)
def test_date_shift_keeps_intervals_and_formats(items, doc):
    s = Surrogates("secret", doc)
    pieces = [render(d, fmt, padded) for d, fmt, padded in items]
    text = " ; ".join(pieces)
    ents, pos = [], 0
    for piece in pieces:
        ents.append({"label": "DATE", "start": pos, "end": pos + len(piece)})
        pos += len(piece) + 3
    out = deidentify_text(text, ents, "surrogate", s).split(" ; ")
    delta = datetime.timedelta(days=s.date_offset)
    for (date, fmt, padded), old, new in zip(items, pieces, out):
        assert new != old
        if re.search(r"\bMay\b", old):  # "May" alone does not say whether month names are abbreviated
            fmt = next(f for f in (fmt, fmt.replace("%b", "%B"), fmt.replace("%B", "%b")) if parses(new, f))
        parsed = datetime.datetime.strptime(new, fmt).date()
        if "%d" in fmt:
            assert parsed == date + delta, (old, new)  # so every interval between dates is kept
            if "%a" in fmt.lower():
                assert new.split()[0].rstrip(",") == parsed.strftime(fmt.split()[0].rstrip(","))
        else:
            expected = (date.replace(day=15) + delta).replace(day=1)
            assert parsed == expected, (old, new)
        if padded and "%d" in fmt and ("%m" in fmt or date.day < 10):  # zero padding seen: kept
            assert new == parsed.strftime(fmt), (old, new)


# surrogates: numbers, ages, places, others ---------------------------------------------------------


@settings(max_examples=80, deadline=None, derandomize=True, database=None)
@given(
    st.from_regex(r"[A-Za-z0-9()\-./ +#]{1,20}", fullmatch=True).filter(lambda v: any(c.isalnum() for c in v)),
    st.sampled_from(["PHONE", "ID", "MRN", "FAX", "ACCOUNT"]),
)
def test_numbers_are_replaced_character_for_character(value, label):
    new = Surrogates("k", "doc").surrogate(label, value)
    assert len(new) == len(value) and new != value
    for a, b in zip(value, new):
        assert (a.isdigit() and b.isdigit()) or (a.isupper() and b.isupper()) or (a.islower() and b.islower()) or a == b


def test_ages_keep_their_shape_and_ages_over_89_stay_in_the_90_or_older_category():
    s = Surrogates("k", "doc")
    young = s.surrogate("AGE", "45-year-old")
    assert re.fullmatch(r"\d{2}-year-old", young) and young != "45-year-old" and int(young[:2]) <= 89
    assert re.fullmatch(r"\d y\.o\.", s.surrogate("AGE", "7 y.o."))
    for old in ("93", "102 years"):
        new = s.surrogate("AGE", old)
        number = int(re.match(r"\d+", new).group())
        assert 90 <= number <= 99 and not new.startswith(old.split()[0])


def test_places_keep_house_numbers_postcodes_and_casing():
    s = Surrogates("k", "doc")
    out = s.surrogate("LOC", "12 Main Street, Boston, MA 02114")
    m = re.fullmatch(r"(\d{2}) (.+) Street, (.+), ([A-Z]{2}) (\d{5})", out)
    assert m and "Main" not in out and "Boston" not in out, out
    assert s.surrogate("CITY", "Boston") == m[3] and s.surrogate("LOC", "BOSTON") == m[3].upper()
    assert re.fullmatch(r"\d{5} .+", s.surrogate("LOC", "10115 Berlin"))
    assert s.surrogate("HOSPITAL", "Massachusetts General Hospital").endswith(" General Hospital")
    assert "@" in s.surrogate("EMAIL", "john.smith@mgh.org")
    assert kind_of("B-PER") == "name" and kind_of("LOCATION-OTHER") == "place" and kind_of("WHATEVER") == "other"
    other = s.surrogate("PROFESSION", "Nurse")
    assert len(other) == 5 and other != "Nurse" and other[0].isupper()


@settings(max_examples=150, deadline=None, derandomize=True, database=None)
@given(
    st.sampled_from(["PATIENT", "DATE", "AGE", "PHONE", "LOC", "STREET", "HOSPITAL", "EMAIL", "STATE", "XYZ"]),
    st.one_of(st.text(min_size=1, max_size=25), st.from_regex(r"[A-Za-z0-9 ,.'/-]{1,25}", fullmatch=True)),
)
def test_a_surrogate_never_contains_its_original(label, value):
    new = Surrogates("k", "doc").surrogate(label, value)
    assert not value.strip() or value.strip().lower() not in new.lower()


def test_same_key_same_output_other_key_other_output():
    ents = entities_of(NOTE)
    a = deidentify_text(NOTE, ents, "surrogate", Surrogates("key-1", "notes.jsonl:1"))
    b = deidentify_text(NOTE, ents, "surrogate", Surrogates("key-1", "notes.jsonl:1"))
    c = deidentify_text(NOTE, ents, "surrogate", Surrogates("key-2", "notes.jsonl:1"))
    assert a == b and a != c


# the property: no detected PHI survives ------------------------------------------------------------

CONSONANTS = "bdfgjkmpqvwxz"
NAME = st.text(CONSONANTS, min_size=5, max_size=8).map(str.capitalize)
PHI = st.one_of(
    st.tuples(st.just("PATIENT"), st.one_of(NAME, st.builds(lambda a, b: f"{a} {b}", NAME, NAME))),
    st.tuples(st.just("ID"), st.from_regex(r"[A-Z]{2}\d{6,9}", fullmatch=True)),
    st.tuples(st.just("PHONE"), st.from_regex(r"\(\d{3}\) \d{3}-\d{4}", fullmatch=True)),
    st.tuples(
        st.just("DATE"),
        st.builds(lambda d, f: d.strftime(f), st.dates(datetime.date(1980, 1, 1)), st.sampled_from(FORMATS[:-2])),
    ),
)
FILLER = st.sampled_from(["the", "patient", "was", "seen", "on", "and", "at", "call", "in", "by", ",", "."])


@settings(max_examples=60, deadline=None, derandomize=True, database=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.one_of(PHI, FILLER), min_size=1, max_size=14), st.sampled_from(MODES))
def test_no_detected_phi_survives(pieces, mode):
    text = " ".join(p[1] if isinstance(p, tuple) else p for p in pieces)
    values = {p for p in pieces if isinstance(p, tuple)}
    ents = [
        {"label": label, "start": m.start(), "end": m.end(), "score": 0.9}
        for label, value in values
        for m in re.finditer(re.escape(value), text)
    ]
    out = deidentify_text(text, ents, mode, Surrogates("k", "doc") if mode == "surrogate" else None)
    for _, value in values:
        assert value not in out, (value, text, out)
    if mode == "mask":
        assert len(out) == len(text)


# io ------------------------------------------------------------------------------------------------


def write_bytes(path, lines):
    path.write_bytes(b"\n".join(lines) + b"\n")
    return path


def jsonl_input(tmp_path):
    return write_bytes(
        tmp_path / "notes.jsonl",
        [
            json.dumps({"id": 1, "text": NOTE, "site": "A"}).encode(),
            b'{"id": 2, "text": "broken',
            json.dumps({"id": 3, "text": "Caf\u00e9 John Smith"}, ensure_ascii=False)
            .encode()
            .replace(b"Caf\xc3\xa9", b"Caf\xe9"),
            json.dumps({"id": 4, "body": "no text"}).encode(),
            b"",
            json.dumps({"id": 6, "text": ""}).encode(),
            json.dumps([1, 2]).encode(),
            json.dumps({"id": 8, "text": 42}).encode(),
            json.dumps({"id": 9, "text": "Seen on 2021-03-04."}).encode(),
        ],
    )


def test_jsonl_records_keep_everything_and_report_bad_lines(tmp_path):
    records = list(io.read_records(jsonl_input(tmp_path)))
    assert [r.index for r in records] == list(range(9))
    assert [r.location for r in records][:2] == ["notes.jsonl:1", "notes.jsonl:2"]
    errors = {r.index + 1: r.error for r in records if r.error}
    assert errors[2].startswith("line 2: invalid JSON")
    assert errors[3] == "line 3: not valid UTF-8 at byte 22"
    assert errors[4] == "line 4: no 'text' field" and errors[5].startswith("line 5: empty line")
    assert errors[7] == "line 7: expected a JSON object, got list"
    assert errors[8] == "line 8: field 'text' is int, not a string"
    assert records[5].text == "" and records[5].error is None and records[0].extra == {"id": 1, "site": "A"}

    out = tmp_path / "out.jsonl"
    results = list(run.deidentify_records(records, DETECTOR, "redact", "k", batch_size=2))
    with io.open_writer("jsonl", out) as w:
        for record, text, ents in results:
            w.write(record, text, ents)
    rows = [json.loads(line) for line in out.read_text().splitlines()]
    assert len(rows) == 9 and [r.get("id") for r in rows] == [1, None, None, 4, None, 6, None, 8, 9]
    assert rows[0]["site"] == "A" and "[PATIENT]" in rows[0]["text"] and "John" not in out.read_text()
    assert rows[0]["entities"][0] == {"label": "PATIENT", "start": 8, "end": 18, "score": 1.0}
    assert rows[1]["text"] is None and rows[1]["error"].startswith("line 2:")
    assert rows[5] == {"id": 6, "text": "", "entities": []}
    assert run.summary(results) == {
        "records": 9,
        "errors": 6,
        "empty": 1,
        "entities": 11,
        "labels": {"AGE": 1, "DATE": 3, "DOCTOR": 1, "ID": 1, "LOC": 1, "PATIENT": 3, "PHONE": 1},
    }


def test_text_lines_one_output_line_per_input_line(tmp_path):
    src = write_bytes(tmp_path / "notes.txt", [b"John Smith on 2021-03-04", b"", b"bad \xff John Smith", b"ok\r"])
    records = list(io.read_records(src))
    assert [r.text for r in records] == ["John Smith on 2021-03-04", "", None, "ok"]
    assert records[2].error == "line 3: not valid UTF-8 at byte 4"
    out = tmp_path / "out.txt"
    with io.open_writer(io.check_paths(src, out)[1], out) as w:
        for r, text, ents in run.deidentify_records(records, DETECTOR, "mask", "k"):
            w.write(r, text, ents)
    assert out.read_text().split("\n") == ["********** on **********", "", "", "ok", ""]


def test_directory_input_is_mirrored(tmp_path):
    src = tmp_path / "in"
    (src / "a" / "b").mkdir(parents=True)
    (src / "top.txt").write_text("John Smith\nline two 2021-03-04\n")
    (src / "a" / "b" / "deep.txt").write_text("Seen by Mary Jones")
    (src / "a" / "bad.txt").write_bytes(b"\xc3(")
    (src / "a" / "skip.csv").write_text("John Smith")
    records = list(io.read_records(src))
    assert [r.location for r in records] == ["a/b/deep.txt", "a/bad.txt", "top.txt"]
    assert records[1].error == "a/bad.txt: not valid UTF-8 at byte 0"
    out = tmp_path / "out"
    with io.open_writer(io.check_paths(src, out)[1], out) as w:
        for r, text, ents in run.deidentify_records(records, DETECTOR, "redact", "k"):
            w.write(r, text, ents)
    assert (out / "top.txt").read_text() == "[PATIENT]\nline two [DATE]\n"
    assert (out / "a" / "b" / "deep.txt").read_text() == "Seen by [DOCTOR]"
    assert not (out / "a" / "bad.txt").exists() and not (out / "a" / "skip.csv").exists()


def test_paths_that_would_lose_data_are_refused(tmp_path):
    src = jsonl_input(tmp_path)
    folder = tmp_path / "folder"
    folder.mkdir()
    cases = [
        (tmp_path / "missing.jsonl", tmp_path / "o.jsonl", "input not found"),
        (src, src, "is the input"),
        (src, folder, "is a directory"),
        (src, tmp_path / "o.txt", "is a text file"),
        (folder, src, "is a file"),
        (folder, folder / "out", "must not contain each other"),
    ]
    for inp, out, message in cases:
        with pytest.raises(io.PathError, match=message):
            io.check_paths(inp, out)
    with pytest.raises(io.PathError, match="audit .* is the input"):
        io.check_paths(src, tmp_path / "o.jsonl", src)
    assert io.check_paths(src, tmp_path / "o.jsonl") == ("jsonl", "jsonl")


# run, audit ----------------------------------------------------------------------------------------


def test_batches_skip_failed_and_empty_records_and_bad_detector_output_fails_the_record():
    calls = []

    def detector(texts):
        calls.append(list(texts))
        return [[{"label": "X", "start": 0, "end": 99 if t == "boom" else 1, "score": 0.5}] for t in texts]

    records = [
        io.Record(i, "s", f"s:{i}", t, {}, "err" if t is None else None)
        for i, t in enumerate(["a", None, "", "b", "boom", "c"])
    ]
    out = list(run.deidentify_records(records, detector, "redact", "k", batch_size=2))
    assert calls == [["a", "b"], ["boom", "c"]]
    assert [text for _, text, _ in out] == ["[X]", None, "", "[X]", None, "[X]"]
    assert "s:4: invalid detector output: entity 0" in out[4][0].error


def test_audit_has_no_phi_and_hashes_the_weights(tmp_path):
    record = io.Record(3, "/data/notes.jsonl", "notes.jsonl:4", NOTE)
    ents = merge_entities(NOTE, entities_of(NOTE))
    line = audit.audit_line(record, ents, {"*": 0.5}, "abc", "0.1.0", "surrogate")
    dumped = audit.dumps(line)
    for value in values_of(NOTE):
        assert value not in dumped
    assert line["labels"]["PATIENT"] == 3 and line["entities"] == len(ents) and line["location"] == "notes.jsonl:4"
    (tmp_path / "weights.h5").write_bytes(b"weights")
    (tmp_path / "labels.json").write_text("[]")
    assert audit.weights_hash(tmp_path) == hashlib.sha256(b"weights").hexdigest()
    (tmp_path / "weights.h5").unlink()
    assert audit.weights_hash(tmp_path) == hashlib.sha256(b"labels.json\0[]").hexdigest()


def test_detector_from_model_maps_the_pipeline_entity_groups(monkeypatch):
    import tfner
    import tfner.serving.pipeline as pipeline

    class FakePipeline:
        def __init__(self, tagger, aggregation):
            assert tagger == "tagger of /m" and aggregation == "simple"  # the model's decoder decides

        def __call__(self, texts):
            return [
                [
                    {"entity_group": "DATE", "score": 0.4, "word": t[:2], "start": 0, "end": 2},
                    {"entity_group": "NAME", "score": 0.9, "word": t[3:5], "start": 3, "end": 5},
                ]
                for t in texts
            ]

    class FakeTagger:
        thresholds = {"DATE": 0.05}

        def __eq__(self, other):
            return other == "tagger of /m"

    monkeypatch.setattr(tfner, "load", lambda model_dir: FakeTagger() if model_dir == "/m" else None)
    monkeypatch.setattr(pipeline, "NERPipeline", FakePipeline)
    detect = run.detector_from_model("/m")
    assert (
        detect(["ab cd", "ef gh"])
        == [
            [
                {"label": "DATE", "start": 0, "end": 2, "score": 0.4},
                {"label": "NAME", "start": 3, "end": 5, "score": 0.9},
            ]
        ]
        * 2
    )
    assert detect.thresholds == {"DATE": 0.05}  # the model's own, for the audit
    assert detect([]) == []


# cli -----------------------------------------------------------------------------------------------


@pytest.fixture
def model_dir(tmp_path, monkeypatch):
    folder = tmp_path / "model"
    folder.mkdir()
    (folder / "weights.h5").write_bytes(b"w")
    (folder / "labels.json").write_text('["O", "B-NAME", "I-NAME"]')
    monkeypatch.setattr(cli, "detector_from_model", lambda model_dir: DETECTOR)
    return folder


def test_cli_usage_and_data_errors_exit_2(tmp_path, model_dir, capsys):
    src = jsonl_input(tmp_path)
    base = ["--model", str(model_dir), "--mode", "redact"]
    for argv in (
        base + ["--input", str(tmp_path / "nope.jsonl"), "--output", str(tmp_path / "o.jsonl")],
        ["deid", "--model", str(model_dir), "--mode", "blank", "--input", str(src), "--output", "o.jsonl"],
        base + ["--input", str(src), "--output", str(src)],
        ["--model", str(tmp_path / "none"), "--mode", "mask", "--input", str(src), "--output", "o.jsonl"],
        base + ["--input", str(src), "--output", str(tmp_path / "o.jsonl"), "--locale", "xx_YY"],
        base + ["--input", str(src), "--output", str(tmp_path / "o.jsonl"), "--unknown"],
    ):
        assert cli.main(argv) == 2
        err = capsys.readouterr().err
        assert err.startswith("error: ") and err.count("\n") == 1, err
    assert not (tmp_path / "o.jsonl").exists()


def test_cli_runs_and_prints_a_summary_without_phi(tmp_path, model_dir, capsys):
    src, out, log = jsonl_input(tmp_path), tmp_path / "o.jsonl", tmp_path / "audit.jsonl"
    argv = [
        "deid",
        "--model",
        str(model_dir),
        "--input",
        str(src),
        "--output",
        str(out),
        "--mode",
        "surrogate",
        "--seed",
        "7",
        "--audit",
        str(log),
        "--batch-size",
        "3",
    ]
    assert cli.main(argv) == 0
    captured = capsys.readouterr()
    assert "records: 9  errors: 6  empty: 1  entities: 11" in captured.out
    assert "notes.jsonl:2: line 2: invalid JSON" in captured.err
    first = out.read_text()
    audit_lines = [json.loads(line) for line in log.read_text().splitlines()]
    assert len(audit_lines) == 10 and audit_lines[-1]["summary"]["records"] == 9
    assert audit_lines[0]["model_hash"] == hashlib.sha256(b"w").hexdigest()
    texts = " ".join(json.loads(line)["text"] or "" for line in first.splitlines())
    for value in values_of(NOTE):
        assert value not in texts
        if len(value) > 3:  # short ones ("45") may occur in temporary paths and hashes
            assert value not in captured.out + captured.err + log.read_text()
    assert cli.main(argv) == 0 and out.read_text() == first  # same seed, same output

    def broken(model_dir):
        return lambda texts: 1 / 0

    cli.detector_from_model = broken
    assert cli.main(argv) == 1 and "error: run failed" in capsys.readouterr().err
