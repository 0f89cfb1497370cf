"""tfner.evaluation.html and the --html options of `tfner predict` and `tfner evaluate`: well-formed, self-contained
pages; text escaped (a `<script>` in a document stays text); each error kind marked."""

import json
from html.parser import HTMLParser

import numpy as np
import pytest

from tfner.data.align import encode
from tfner.data.readers import Corpus, Document
from tfner.data.synthetic import clinical_notes, write_jsonl
from tfner.evaluation.html import KINDS, classify, evaluation_documents, render_evaluation, render_predictions

VOID = {"meta", "br", "hr", "img", "input", "link"}
EVIL = 'Seen by <script>alert("x")</script> & "Dr. Ola" at 3<4'


class Structure(HTMLParser):
    """Checks that every element is closed in order and collects tags, attributes and text."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.stack, self.tags, self.marks, self.text, self.errors = [], [], [], [], []

    def handle_starttag(self, tag, attrs):
        self.tags.append(tag)
        if tag == "mark":
            self.marks.append(dict(attrs))
        if tag not in VOID:
            self.stack.append((tag, dict(attrs).get("class")))

    def handle_endtag(self, tag):
        if not self.stack or self.stack.pop()[0] != tag:
            self.errors.append(tag)

    def handle_data(self, data):
        if self.stack and self.stack[-1][1] in ("text", "ent", "ent err"):
            self.text.append(data)  # the document text: what a reader sees, entity labels left out


def parse(page):
    parser = Structure()
    parser.feed(page)
    parser.close()
    assert parser.errors == [] and parser.stack == [], (parser.errors, parser.stack)
    return parser


def self_contained(page):
    assert page.startswith("<!DOCTYPE html>") and '<meta charset="utf-8">' in page and "<style>" in page
    assert "http://" not in page and "https://" not in page and "src=" not in page and "<link" not in page


def test_predictions_page_colours_types_with_a_legend_and_scores_on_hover():
    results = [
        (
            EVIL,
            [
                {"entity_group": "NAME", "score": 0.9312, "word": "Dr. Ola", "start": 39, "end": 46},
                {"entity_group": "DATE", "score": 0.5, "word": "3<4", "start": 51, "end": 54},
            ],
        ),
        ("no entities here", []),
    ]
    assert EVIL[39:46] == "Dr. Ola" and EVIL[51:54] == "3<4"
    page = render_predictions(results)
    self_contained(page)
    tree = parse(page)
    assert "script" not in tree.tags  # the text's <script> is text, not an element
    assert "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;" in page and "3&lt;4" in page
    assert "".join(tree.text) == EVIL + "no entities here"  # the whole text is there, as it was
    assert [m["title"] for m in tree.marks] == ["NAME · score 0.931", "DATE · score 0.500"]
    assert tree.marks[0]["style"] != tree.marks[1]["style"]  # one colour per type
    assert page.count('<div class="legend">') == 1 and ">DATE</span><span" in page


def test_aggregation_none_entities_are_shown_by_type():
    page = render_predictions([("Ola", [{"entity": "B-NAME", "score": 0.7, "start": 0, "end": 3}])])
    assert parse(page).marks[0]["title"] == "NAME · score 0.700"


def test_classify_marks_each_error_kind():
    gold = [(0, 4, "PER"), (10, 14, "LOC"), (20, 25, "ORG"), (30, 35, "DATE")]
    pred = [(0, 4, "PER"), (10, 14, "ORG"), (20, 23, "ORG"), (40, 44, "LOC")]
    gold_marks, pred_marks, counts = classify(gold, pred)
    assert [m[4] for m in gold_marks] == [None, "wrong type", "wrong boundary", "missed"]
    assert [m[4] for m in pred_marks] == [None, "wrong type", "wrong boundary", "spurious"]
    assert counts == {"missed": 1, "spurious": 1, "wrong type": 1, "wrong boundary": 1}
    assert "gold: ORG 20-25" in pred_marks[2][3]


def test_evaluation_page_side_by_side(tokenizer):
    labels = ["O", "B-LOC", "I-LOC", "B-PER", "I-PER"]
    corpus = Corpus(
        [
            Document(text=EVIL, spans=[(39, 46, "PER")], origin="e.jsonl:record 1"),
            Document(text="Oslo og Bergen", spans=[(0, 4, "LOC"), (8, 14, "LOC")], origin="e.jsonl:record 2"),
        ],
        "e.jsonl",
    )
    windows = encode(corpus, tokenizer, labels, max_length=64, stride=8)
    pred = [["O"] * n for n in windows.units]
    pred[1][0] = "B-PER"  # Oslo as PER: wrong type; Bergen missed
    documents = evaluation_documents(windows, pred)
    assert documents[0][1] == EVIL and documents[0][2] == [(39, 46, "PER")] and documents[0][3] == []
    assert documents[1][2:] == ([(0, 4, "LOC"), (8, 14, "LOC")], [(0, 4, "PER")])
    page = render_evaluation(documents, "eval <b>")
    self_contained(page)
    tree = parse(page)
    assert "script" not in tree.tags and "b" not in tree.tags and "<title>eval &lt;b&gt;</title>" in page
    assert tree.tags.count("details") == 2 and page.count('<details class="doc" open>') == 2
    assert "<td>2</td><td>2</td><td>0</td><td>1</td><td>0</td>" in page  # documents, missed, spurious, type, boundary
    for kind, colour in KINDS.items():
        assert f"--k:{colour}" in page, kind


def test_word_documents_are_joined_with_spaces(tokenizer):
    labels = ["O", "B-LOC", "I-LOC"]
    corpus = Corpus([Document(tokens=["i", "New", "York"], tags=["O", "B-LOC", "I-LOC"], origin="w:1")], "w")
    windows = encode(corpus, tokenizer, labels, max_length=32, stride=4)
    assert evaluation_documents(windows, [["O", "B-LOC", "O"]]) == [
        ("w:1", "i New York", [(2, 10, "LOC")], [(2, 5, "LOC")])
    ]


def test_table_view_headers_make_no_spans(tokenizer):
    """With the table view a header's tokens are empty spans at their cell: tagged alone they are no
    predicted span, and they never stretch one."""
    labels = ["O", "B-AGE", "I-AGE"]
    text = "Name\tAge\tWard\nAnn\t41\tB2"
    corpus = Corpus([Document(text=text, spans=[(text.index("41"), text.index("41") + 2, "AGE")], origin="t")], "t")
    windows = encode(corpus, tokenizer, labels, max_length=64, stride=8, table_view=True)
    empty = [n for n, (a, b) in enumerate(windows.offsets[0]) if a == b]
    age = int(np.argmax([a == text.index("41") < b for a, b in windows.offsets[0]]))
    pred = ["O"] * windows.units[0]
    assert {age - 2, age - 1, age + 1, age + 2} <= set(empty)  # "Age: " before 41, "Ward: " after it
    pred[empty[0]] = "B-AGE"  # the first header of the row alone
    pred[age - 2 : age + 3] = ["B-AGE"] + ["I-AGE"] * 4  # "Age: 41 Ward:" read as one entity
    assert evaluation_documents(windows, [pred])[0][3] == [(text.index("41"), text.index("41") + 2, "AGE")]


@pytest.fixture(scope="module")
def saved_model(tiny_tagger, tmp_path_factory):
    path = tmp_path_factory.mktemp("html") / "model"
    tiny_tagger.save(str(path))
    return str(path)


def test_predict_and_evaluate_write_html(saved_model, tmp_path, capsys):
    from tfner.evaluation.evaluate import main as evaluate_main
    from tfner.serving.predict import main as predict_main

    page = tmp_path / "predict.html"
    assert predict_main(["--model", saved_model, "--html", str(page), EVIL, "Kari bor i Oslo"]) == 0
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    tree = parse(page.read_text(encoding="utf-8"))
    assert len(lines) == 2 and tree.tags.count("section") == 2 and "script" not in tree.tags
    assert len(tree.marks) == sum(len(r["entities"]) for r in lines)

    data = tmp_path / "notes.jsonl"
    write_jsonl([{"text": d.text, "ner_tags": d.spans} for d in clinical_notes(1, 3, seed=3)[1].documents], data)
    page = tmp_path / "evaluate.html"
    assert (
        evaluate_main(
            ["--model", saved_model, "--data", str(data), "--output-dir", str(tmp_path / "ev"), "--html", str(page)]
        )
        == 0
    )
    tree = parse(page.read_text(encoding="utf-8"))
    assert tree.tags.count("details") == 3 and f"written to {page}" in capsys.readouterr().out


@pytest.mark.parametrize("command", ["predict", "evaluate"])
def test_html_path_checked_before_the_model_loads(tmp_path, capsys, command):
    from tfner.evaluation.evaluate import main as evaluate_main
    from tfner.serving.predict import main as predict_main

    bad = str(tmp_path / "no" / "such" / "page.html")
    argv = ["--model", str(tmp_path / "no-model"), "--html", bad]
    code = predict_main(argv + ["text"]) if command == "predict" else evaluate_main(argv)
    assert code == 2
    assert "the HTML file's folder" in capsys.readouterr().err
