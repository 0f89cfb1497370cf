"""tfner.serving.table_view: the graph's table view equals the Python one (`tfner.data.tables.TableView`),
view text and offset map, on generated notes of every family, random tables and random texts."""

import sys

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tfner.data.notes import FAMILIES, generate_notes
from tfner.data.tables import TableView

tf = pytest.importorskip("tensorflow")

from tfner.serving import table_view as graph  # noqa: E402


@tf.function(input_signature=[tf.TensorSpec([None], tf.string), tf.RaggedTensorSpec([None, None], tf.int64)])
def view_and_map(texts, offsets):
    view, where = graph.table_view(texts)
    return view, where.to_original(offsets)


def check(texts):
    """The graph's views and offset maps (every offset of each view, its end included) equal Python's."""
    views = [TableView(t) for t in texts]
    offsets = tf.ragged.constant([list(range(len(v.text) + 1)) for v in views], dtype=tf.int64)
    got, back = view_and_map(tf.constant(texts), offsets)
    for n, view in enumerate(views):
        assert got[n].numpy().decode() == view.text, texts[n]
        np.testing.assert_array_equal(back[n].numpy(), view.to_original(np.arange(len(view.text) + 1)))
    return views


def test_every_family_of_generated_notes_reads_the_same():
    texts = [r["text"] for r in generate_notes(len(FAMILIES) * 12, seed=3)]
    views = check(texts)
    assert sum(bool(v) for v in views) >= 12  # tables, lab reports and HL7 exports among them


def test_tables_hl7_and_edge_cases():
    texts = [
        "",
        "\n\n",
        "Lab results\nPatient\tAge\tCity\nMüller, Hans\t41\tBern\n\nRossi Anna\t7\tTorino\nEnd of list.",
        "| Name | DOB | Phone |\n|---|---|---|\n| Ann Lee | 1970-01-02 | 555 1234 |",
        "Name;Ort;Tel\nAnn Lee;Bern;031 1\n",
        "Name        Age   Ward\nAnn Lee     41    B2",
        "mrn,name,dob,city\n12345,Ann Lee,1970-01-02,Bern",
        "MSH|^~\\&|LAB|HOSP|||20200101120000||ADT^A01|MSG0001\nPID|1||4711^^^HOSP^MR||Müller^Hans||19720614|M",
        "Name\tAge\tWard\nPID|1||4711||Lee^Ann\tx\ty",  # an HL7 segment that is also a row
        "Name\u3000\u3000Age\u2003\u2003Ward\nÅsa Öberg\u3000\u300041\u2003\u2003B²\n",  # wide spaces, a superscript
        "Nom\tÂge\tService\n\tpremier\t\n",  # empty cells get no header
    ]
    views = check(texts)
    assert sum(bool(v) for v in views) >= 8


def test_space_is_str_isspace():
    chars = [chr(c) for c in range(sys.maxunicode + 1) if not 0xD800 <= c <= 0xDFFF]
    got = tf.strings.regex_full_match(tf.constant([c.encode() for c in chars]), graph.SPACE).numpy()
    assert [c for c, g in zip(chars, got) if g != c.isspace()] == []


CELL = st.text(alphabet="abAB 19,.:-é²\u00a0|\t", min_size=0, max_size=8)


@settings(max_examples=100, deadline=None)
@given(
    rows=st.lists(st.lists(CELL, min_size=3, max_size=5), min_size=1, max_size=4),
    sep=st.sampled_from(["\t", "|", ";", "  ", ","]),
    blank=st.sampled_from(["", "\n", "\n|---|---|---|\n", "\n \t\n"]),
)
def test_random_tables_read_the_same(rows, sep, blank):
    header = sep.join(["Name", "Age", "Ward", "City", "Zip"][: len(rows[0])])
    check([header + blank + "\n".join(sep.join(r) for r in rows)])


@settings(max_examples=100, deadline=None)
@given(st.lists(st.sampled_from(list("aZé1٣ \t\n|;,:.-^&\u2003") + ["MSH|", "\nPID|", "\nPV1|", "Name"])))
def test_random_texts_read_the_same(pieces):
    check(["".join(pieces)])
