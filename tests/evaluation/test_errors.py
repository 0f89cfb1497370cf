"""Entity error analysis (tfner.evaluation.errors): error kinds, nervaluate's schemes, examples, and their
place in `tfner evaluate`."""

import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tfner.data import tags as tag_schemes
from tfner.data.readers import Document
from tfner.evaluation.errors import (
    ERRORS,
    GOLD_KINDS,
    PRED_KINDS,
    entity_schemes,
    error_kinds,
    examples,
    format_errors,
    format_examples,
    marked,
    unit_text,
)


def _nonzero(side):
    return {k: v for k, v in side.items() if v and k != "entities"}


# (gold tags, predicted tags, non-zero gold kinds, non-zero predicted kinds): one sentence each
CASES = {
    "correct": (["B-PER", "I-PER", "O"], ["B-PER", "I-PER", "O"], {"correct": 1}, {"correct": 1}),
    "wrong type": (["B-PER", "I-PER", "O"], ["B-LOC", "I-LOC", "O"], {"wrong_type": 1}, {"wrong_type": 1}),
    "wrong boundary": (["B-PER", "I-PER", "O"], ["B-PER", "O", "O"], {"wrong_boundary": 1}, {"wrong_boundary": 1}),
    "both wrong": (["B-PER", "I-PER", "O"], ["O", "B-LOC", "I-LOC"], {"both_wrong": 1}, {"both_wrong": 1}),
    "missed": (["O", "B-DATE", "O"], ["O", "O", "O"], {"missed": 1}, {}),
    "spurious": (["O", "O", "O"], ["O", "B-ID", "O"], {}, {"spurious": 1}),
    # one predicted entity over two gold ones: two gold errors, one predicted
    "one over two": (["B-PER", "B-PER", "O"], ["B-PER", "I-PER", "O"], {"wrong_boundary": 2}, {"wrong_boundary": 1}),
    # a same-type overlap wins over an other-type one; the LOC prediction only overlaps a PER
    "same type first": (
        ["B-PER", "I-PER", "I-PER"],
        ["B-PER", "B-LOC", "I-LOC"],
        {"wrong_boundary": 1},
        {"wrong_boundary": 1, "both_wrong": 1},
    ),
    # an entity that overlaps nothing is missed even when its neighbour is wrong
    "mixed": (
        ["B-PER", "O", "B-DATE", "I-DATE", "O", "B-AGE"],
        ["B-LOC", "O", "B-DATE", "O", "B-ID", "O"],
        {"wrong_type": 1, "wrong_boundary": 1, "missed": 1},
        {"wrong_type": 1, "wrong_boundary": 1, "spurious": 1},
    ),
}


@pytest.mark.parametrize("case", CASES)
def test_each_entity_gets_the_kind_its_overlaps_give(case):
    gold, pred, gold_kinds, pred_kinds = CASES[case]
    overall = error_kinds([gold], [pred])["overall"]
    assert _nonzero(overall["gold"]) == gold_kinds
    assert _nonzero(overall["predicted"]) == pred_kinds
    assert overall["gold"]["entities"] == len(tag_schemes.entities(gold))
    assert overall["predicted"]["entities"] == len(tag_schemes.entities(pred))


def test_per_type_rows_count_each_side_under_its_own_type():
    gold, pred = [["B-PER", "I-PER", "O", "B-DATE"]], [["B-LOC", "I-LOC", "O", "O"]]
    kinds = error_kinds(gold, pred)
    assert _nonzero(kinds["per_type"]["PER"]["gold"]) == {"wrong_type": 1}
    assert kinds["per_type"]["PER"]["predicted"]["entities"] == 0
    assert _nonzero(kinds["per_type"]["LOC"]["predicted"]) == {"wrong_type": 1}
    assert _nonzero(kinds["per_type"]["DATE"]["gold"]) == {"missed": 1}
    assert kinds["wrong_type_pairs"] == {"PER -> LOC": 1}
    table = format_errors(kinds)
    assert "PER" in table and "overall" in table and "PER -> LOC 1" in table


@pytest.mark.parametrize("scheme", tag_schemes.SCHEMES)
def test_every_tag_scheme_gives_the_same_analysis(scheme):
    gold, pred, _, _ = CASES["mixed"]
    as_scheme = lambda tags: tag_schemes.convert(tags, "IOB2", scheme)
    assert error_kinds([as_scheme(gold)], [as_scheme(pred)], scheme) == error_kinds([gold], [pred])
    assert entity_schemes([as_scheme(gold)], [as_scheme(pred)], scheme) == entity_schemes([gold], [pred])


def test_nervaluate_figures_of_a_hand_computed_case():
    # gold PER 0-1, LOC 3, DATE 5; predicted PER 0 (type right, boundary wrong), PER 3 (boundaries right,
    # type wrong), DATE 5 (right)
    gold = [["B-PER", "I-PER", "O", "B-LOC", "O", "B-DATE"]]
    pred = [["B-PER", "O", "O", "B-PER", "O", "B-DATE"]]
    result = entity_schemes(gold, pred)
    counts = lambda r: (r["correct"], r["incorrect"], r["partial"], r["missed"], r["spurious"])
    overall = result["overall"]
    assert counts(overall["strict"]) == (1, 2, 0, 0, 0) and overall["strict"]["f1"] == pytest.approx(1 / 3)
    assert counts(overall["exact"]) == (2, 1, 0, 0, 0) and overall["exact"]["f1"] == pytest.approx(2 / 3)
    assert counts(overall["partial"]) == (2, 0, 1, 0, 0)
    assert overall["partial"]["precision"] == pytest.approx(2.5 / 3) and overall["partial"]["recall"] == pytest.approx(
        2.5 / 3
    )
    assert counts(overall["ent_type"]) == (2, 1, 0, 0, 0) and overall["ent_type"]["recall"] == pytest.approx(2 / 3)
    # per type, nervaluate compares the entities of that type only
    per = result["per_type"]
    assert counts(per["PER"]["strict"]) == (0, 1, 0, 0, 1) and per["PER"]["strict"]["f1"] == 0
    assert counts(per["PER"]["ent_type"]) == (1, 0, 0, 0, 1)
    assert per["PER"]["ent_type"]["precision"] == 0.5 and per["PER"]["ent_type"]["recall"] == 1
    assert counts(per["LOC"]["strict"]) == (0, 0, 0, 1, 0) and counts(per["DATE"]["strict"]) == (1, 0, 0, 0, 0)
    assert entity_schemes([["O"]], [["O"]]) == {"overall": {}, "per_type": {}}


def test_iob2_schemes_are_nervaluates_own_list_loader():
    """phi.py's figures, which used nervaluate's tag loader, are unchanged by reading the spans ourselves."""
    from nervaluate import Evaluator

    gold = [["O", "I-PER", "I-PER", "B-PER", "O", "B-LOC", "I-DATE"], ["B-AGE"]]
    pred = [["B-PER", "I-PER", "O", "I-LOC", "I-LOC", "I-LOC", "O"], ["O"]]
    ours = entity_schemes(gold, pred)
    theirs = Evaluator(gold, pred, tags=sorted(ours["per_type"]), loader="list").evaluate()
    for scheme, row in ours["overall"].items():
        assert row["f1"] == pytest.approx(theirs["overall"][scheme].f1)
        assert row["correct"] == theirs["overall"][scheme].correct
        assert row["spurious"] == theirs["overall"][scheme].spurious


PREFIXES = {"IOB1": "BI", "IOB2": "BI", "IOBES": "BIES", "BILOU": "BILU"}


@st.composite
def tagged_pairs(draw):
    scheme = draw(st.sampled_from(tag_schemes.SCHEMES))
    alphabet = ["O", "O"] + [f"{p}-{t}" for p in PREFIXES[scheme] for t in ("A", "B", "C")]
    lengths = draw(st.lists(st.integers(0, 12), min_size=1, max_size=4))
    gold = [draw(st.lists(st.sampled_from(alphabet), min_size=n, max_size=n)) for n in lengths]
    pred = [draw(st.lists(st.sampled_from(alphabet), min_size=n, max_size=n)) for n in lengths]
    return scheme, gold, pred


@settings(max_examples=150, deadline=None)
@given(tagged_pairs())
def test_every_gold_and_every_predicted_entity_has_exactly_one_kind(case):
    scheme, gold, pred = case
    kinds = error_kinds(gold, pred, scheme)
    rows = list(kinds["per_type"].values()) + [kinds["overall"]]
    for row in rows:
        g, p = row["gold"], row["predicted"]
        assert g["entities"] == g["correct"] + g["wrong_type"] + g["wrong_boundary"] + g["both_wrong"] + g["missed"]
        assert p["entities"] == p["correct"] + p["wrong_type"] + p["wrong_boundary"] + p["both_wrong"] + p["spurious"]
        assert g["correct"] == p["correct"]  # a correct pair has one type
    overall = kinds["overall"]
    assert overall["gold"]["entities"] == sum(len(tag_schemes.entities(t, scheme)) for t in gold)
    assert overall["predicted"]["entities"] == sum(len(tag_schemes.entities(t, scheme)) for t in pred)
    assert (
        overall["gold"]["wrong_type"] == overall["predicted"]["wrong_type"] == sum(kinds["wrong_type_pairs"].values())
    )
    schemes = entity_schemes(gold, pred, scheme)["overall"]
    if schemes:  # nervaluate agrees on what it can see
        assert schemes["strict"]["correct"] == overall["gold"]["correct"]
        assert schemes["exact"]["correct"] == overall["gold"]["correct"] + overall["gold"]["wrong_type"]
    found = examples(gold, pred, limit=3, scheme=scheme)
    for kind in ERRORS:
        total = max(overall["gold"].get(kind, 0), overall["predicted"].get(kind, 0))
        assert (
            min(1, total)
            <= len(found[kind])
            <= min(3, overall["gold"].get(kind, 0) + overall["predicted"].get(kind, 0))
        )
        for x in found[kind]:
            start, end = x["units"]
            assert start <= x["anchor"][1] < x["anchor"][2] <= end <= len(gold[x["document"]])
            assert all(start <= e[1] and e[2] <= end for e in x["gold"] + x["predicted"])  # nothing cut


def test_examples_show_positions_and_with_the_text_the_marked_words():
    words = "Seen John Smith in New York on Monday".split()
    doc = Document(tokens=words, tags=["O"] * len(words), origin="notes.txt:3")
    gold = [["O", "B-PER", "I-PER", "O", "B-LOC", "I-LOC", "O", "B-DATE"]]
    pred = [["O", "B-PER", "O", "O", "B-PER", "I-PER", "O", "O"]]
    kinds = error_kinds(gold, pred)
    found = examples(gold, pred, limit=5, context=2)
    assert [len(found[k]) for k in ERRORS] == [1, 1, 0, 1, 0]  # wrong type seen from both sides: shown once
    assert found["missed"][0]["anchor"] == ["DATE", 7, 8] and found["missed"][0]["units"] == [4, 8]
    positions = format_examples(found, kinds, source=lambda n: doc.origin)
    assert "notes.txt:3" in positions and "Smith" not in positions and "gold: " not in positions
    assert "== missed (1 gold; 1 shown) ==" in positions
    text = format_examples(found, kinds, text=lambda n: unit_text(doc, None))
    assert "  gold: … [New York]LOC on [Monday]DATE" in text
    assert "  pred: … [New York]PER on Monday" in text
    assert "  gold: Seen [John Smith]PER in [New York]LOC …" in text  # widened so that no entity is cut


def test_span_documents_are_marked_in_their_own_text():
    doc = Document(text="Pt  Jo Li,\nseen 3/4.", spans=[])
    offsets = [(0, 2), (4, 6), (7, 9), (9, 10), (11, 15), (16, 19), (19, 20)]
    text, starts, ends = unit_text(doc, offsets)
    line = marked(text, starts, ends, [("PER", 1, 3), ("DATE", 5, 6)], (1, 6))
    assert line == "… [Jo Li]PER, seen [3/4]DATE …"  # whitespace and newlines shown as one space


def test_gold_and_predicted_kinds_are_the_documented_ones():
    assert GOLD_KINDS[-1] == "missed" and PRED_KINDS[-1] == "spurious" and GOLD_KINDS[:4] == PRED_KINDS[:4]


def test_evaluate_writes_the_error_analysis(tiny_tagger, tmp_path, capsys):
    from tfner.data.synthetic import generate_notes, write_jsonl
    from tfner.evaluation.evaluate import main

    tiny_tagger.save(str(tmp_path / "model"))
    records = generate_notes(6, seed=5)
    write_jsonl(records, tmp_path / "notes.jsonl")
    args = ["--model", str(tmp_path / "model"), "--data", str(tmp_path / "notes.jsonl")]
    names = {r["text"][s:e] for r in records for s, e, _ in r["ner_tags"]}

    assert main(args + ["--output-dir", str(tmp_path / "plain")]) == 0  # default: positions, no text
    assert "error kinds" in capsys.readouterr().out
    report = json.loads((tmp_path / "plain" / "metrics.json").read_text())
    overall = report["errors"]["overall"]
    assert overall["gold"]["entities"] == sum(len(r["ner_tags"]) for r in records)
    assert overall["gold"]["entities"] == sum(overall["gold"][k] for k in GOLD_KINDS)
    assert overall["predicted"]["entities"] == sum(overall["predicted"][k] for k in PRED_KINDS)
    plain = (tmp_path / "plain" / "errors_examples.txt").read_text(encoding="utf-8")
    assert all(f"== {k.replace('_', ' ')} (" in plain for k in ERRORS)
    assert "characters [" in plain  # span data: where in the text, without the text
    assert "gold: " not in plain and not any(name in plain for name in names if len(name) > 3)

    assert main(args + ["--output-dir", str(tmp_path / "text"), "--show-text", "--error-examples", "2"]) == 0
    shown = (tmp_path / "text" / "errors_examples.txt").read_text(encoding="utf-8")
    assert "  gold: " in shown and "  pred: " in shown and shown.count("  gold: ") <= 2 * len(ERRORS)

    assert main(args + ["--output-dir", str(tmp_path / "text"), "--error-examples", "0"]) == 0
    assert not (tmp_path / "text" / "errors_examples.txt").exists()  # the earlier one, with text, is gone
    assert "errors" in json.loads((tmp_path / "text" / "metrics.json").read_text())
    assert main(args + ["--error-examples", "-1"]) == 2
