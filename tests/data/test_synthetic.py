"""tfner.data.synthetic: the embedded notes as corpora (the generator itself: test_notes.py)."""

import pytest

from tfner.data.readers import read_span_jsonl
from tfner.data.synthetic import LABELS, clinical_notes, generate_notes, synthetic_scope, write_jsonl


@pytest.fixture(scope="module")
def records():
    return generate_notes(300, seed=0)


def test_records_are_json_ready_and_well_formed(records):
    assert len(records) == 300
    for r in records:
        assert set(r) == {"text", "ner_tags", "family", "locale"}
        prev_end = 0
        for start, end, label in r["ner_tags"]:
            assert type(start) is int and type(end) is int and label in LABELS
            assert prev_end <= start < end <= len(r["text"])  # sorted, non-overlapping
            prev_end = end


def test_clinical_notes_corpora():
    train, test = clinical_notes(n_train=120, n_test=30, seed=1)
    assert len(train.documents) == 120 and len(test.documents) == 30
    assert train.source == "synthetic clinical notes (train, seed 1)"
    assert test.source == "synthetic clinical notes (test, seed 1)"
    assert train.documents[0].origin == "synthetic clinical notes (train, seed 1):record 1"
    assert all(d.is_spans for d in train.documents + test.documents)
    assert not {d.text for d in train.documents} & {d.text for d in test.documents}
    assert [d.text for d in train.documents] == [r["text"] for r in generate_notes(120, seed=2)]
    assert train.documents[0].spans == [tuple(s) for s in generate_notes(1, seed=2)[0]["ner_tags"]]
    assert clinical_notes(5, 5, seed=2)[0].documents[0].text != train.documents[0].text


def test_families_locales_and_label_set_narrow_the_draw():
    train, test = clinical_notes(20, 10, seed=3, families=["kv_form"], locales=["de_DE"], label_set="extended")
    assert "some families/locales" in train.source
    expected = generate_notes(20, seed=6, families=["kv_form"], locales=["de_DE"], label_set="extended")
    assert [d.text for d in train.documents] == [r["text"] for r in expected]
    assert synthetic_scope({"synthetic_families": [], "synthetic_locales": ["fr_FR"]}) == {
        "families": None,
        "locales": ["fr_FR"],
        "label_set": "default",
    }
    with pytest.raises(ValueError, match="unknown family 'nope'"):
        clinical_notes(2, 2, families=["nope"])


def test_write_jsonl_round_trip(tmp_path, records):
    path = tmp_path / "sub" / "notes.jsonl"
    write_jsonl(records[:50], path)
    corpus = read_span_jsonl(path)
    assert corpus.skipped == {}
    assert [d.text for d in corpus.documents] == [r["text"] for r in records[:50]]
    assert [d.spans for d in corpus.documents] == [[tuple(s) for s in r["ner_tags"]] for r in records[:50]]
    assert corpus.documents[4].origin == f"{path}:record 5"


def test_spans_align_with_bert_wordpiece_tokens(records, tokenizer):
    enc = tokenizer([r["text"] for r in records], return_offsets_mapping=True, add_special_tokens=False)
    for r, offsets in zip(records, enc["offset_mapping"]):
        starts, ends = {s for s, e in offsets}, {e for s, e in offsets}
        for start, end, label in r["ner_tags"]:
            assert start in starts and end in ends, (r["text"][start:end], label, r["family"], r["locale"])
