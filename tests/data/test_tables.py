"""tfner.data.tables: which tables and HL7 segments the view finds, what it inserts, and offsets that map
both ways without ever cutting a span (property tests over generated notes and random texts)."""

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from tfner.data.notes import generate_notes
from tfner.data.tables import TableView

TSV = "Lab results\nPatient\tAge\tCity\nMüller, Hans\t41\tBern\n\nRossi Anna\t7\tTorino\nEnd of list."


def test_a_tab_table_gets_its_headers_before_every_cell():
    view = TableView(TSV)
    assert view.text == (
        "Lab results\nPatient\tAge\tCity\nPatient: Müller, Hans\tAge: 41\tCity: Bern\n\n"
        "Patient: Rossi Anna\tAge: 7\tCity: Torino\nEnd of list."
    )
    assert bool(view) and view.original == TSV


def test_pipe_semicolon_aligned_and_csv_tables():
    markdown = "| Name | DOB | Phone |\n|---|---|---|\n| Ann Lee | 1970-01-02 | 555 1234 |"
    assert "| Name: Ann Lee | DOB: 1970-01-02 | Phone: 555 1234 |" in TableView(markdown).text
    assert "Name: Ann Lee;Ort: Bern;Tel: 031 1" in TableView("Name;Ort;Tel\nAnn Lee;Bern;031 1").text
    aligned = "Name        Age   Ward\nAnn Lee     41    B2"
    assert TableView(aligned).text.endswith("Name: Ann Lee     Age: 41    Ward: B2")
    csv = "mrn,name,dob,city\n12345,Ann Lee,1970-01-02,Bern"
    assert TableView(csv).text.endswith("mrn: 12345,name: Ann Lee,dob: 1970-01-02,city: Bern")


def test_text_that_is_no_table_is_its_own_view():
    for text in (
        "Seen by Dr. Smith on 3/4/2021. BP 120/80, HR 72.",
        "Name: Ann Lee\tDOB: 1970-01-02\tPhone: 555",  # key-value fields: colons in the 'header'
        "He lives in Bern, works in Basel, visits Paris, and likes Rome.\nIt was fine, then, not, so.",
        "a\tb\tc",  # a header line with no rows under it
        "",
    ):
        view = TableView(text)
        assert view.text == text and not view
        assert view.spans([(0, len(text), "X")]) == [(0, len(text), "X")]


def test_hl7_fields_get_their_names():
    text = "MSH|^~\\&|LAB|H|||20240101||ORU^R01|MSG1\nPID|1||4711||Müller^Hans||19720614|M"
    view = TableView(text)
    assert "MSH-7 Date/Time of Message: 20240101" in view.text
    assert "MSH-10 Message Control ID: MSG1" in view.text
    assert "PID-3 Patient Identifier List: 4711|" in view.text
    assert "PID-5 Patient Name: Müller^Hans|" in view.text
    assert "PID-7 Date/Time of Birth: 19720614|PID-8 Administrative Sex: M" in view.text


def test_spans_move_with_the_headers_and_map_back():
    start = TSV.index("Müller")
    spans = [(start, start + len("Müller, Hans"), "PATIENT"), (TSV.index("41"), TSV.index("41") + 2, "AGE")]
    view = TableView(TSV, spans)
    moved = view.spans(spans)
    assert [view.text[s:e] for s, e, _ in moved] == ["Müller, Hans", "41"]
    assert view.to_original([s for s, _, _ in moved]).tolist() == [s for s, _, _ in spans]
    # every character of an inserted header maps to the start of its cell
    header = view.text.index("Age: 41")
    assert set(view.to_original(np.arange(header, header + 6)).tolist()) == {TSV.index("41")}


def test_no_header_is_inserted_inside_a_gold_span():
    text = "Name;Ort;Tel\nAnn Lee;Bern;031 1"
    whole_row = [(text.index("Ann"), len(text), "PATIENT")]  # a span across the cells: it stays whole
    view = TableView(text, whole_row)
    ((s, e, _),) = view.spans(whole_row)
    assert view.text[s:e] == "Ann Lee;Bern;031 1"
    assert view.text.startswith("Name;Ort;Tel\nName: Ann Lee")


def _check_round_trip(text, spans):
    view = TableView(text, spans)
    n = len(text)
    moved = view.to_view(np.arange(n + 1))
    assert view.to_original(moved).tolist() == list(range(n + 1))  # original -> view -> original
    kept = np.ones(len(view.text), bool)
    kept[moved[:-1]] = False
    assert "".join(c for c, k in zip(view.text, kept) if not k) == text  # the original's characters, in order
    assert view.to_original(np.arange(len(view.text) + 1)).max(initial=0) <= n
    for (s, e, label), (s2, e2, label2) in zip(spans, view.spans(spans)):
        assert view.text[s2:e2] == text[s:e] and label2 == label


@settings(max_examples=60, deadline=None)
@given(seed=st.integers(0, 10_000))
def test_generated_notes_round_trip_and_keep_every_span(seed):
    (record,) = generate_notes(1, seed=seed)
    _check_round_trip(record["text"], [tuple(s) for s in record["ner_tags"]])


CELL = st.text(alphabet="abAB 19,.:-é", min_size=0, max_size=8)


@settings(max_examples=200, deadline=None)
@given(
    rows=st.lists(st.lists(CELL, min_size=3, max_size=5), min_size=1, max_size=4),
    sep=st.sampled_from(["\t", "|", ";", "  ", ","]),
    data=st.data(),
)
def test_random_tables_round_trip_and_keep_random_spans(rows, sep, data):
    text = "\n".join([sep.join(["Name", "Age", "Ward", "City", "Zip"][: len(rows[0])])] + [sep.join(r) for r in rows])
    bounds = sorted(data.draw(st.lists(st.integers(0, len(text)), max_size=6, unique=True)))
    spans = [(a, b, "X") for a, b in zip(bounds[::2], bounds[1::2]) if b > a]
    _check_round_trip(text, spans)
