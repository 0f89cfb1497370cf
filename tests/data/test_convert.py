"""tfner.data.convert and `tfner convert`: lossless between span formats and from CoNLL, losses from text to
CoNLL words reported with their record, the command's outputs and exit codes."""

import json

import pytest

from tfner.convert import main as convert_main
from tfner.data import formats
from tfner.data.convert import convert, document_to_spans, summarize_losses, to_spans, to_words, word_offsets
from tfner.data.readers import Corpus, Document, read_data
from tfner.data.synthetic import clinical_notes

WORDS = Corpus(
    [
        Document(
            tokens="Kari Nordmann ( 41 ) bor i Oslo .".split(),
            tags=["B-PER", "I-PER", "O", "B-AGE", "O", "O", "O", "B-LOC", "O"],
            origin="w:1",
        )
    ],
    "w",
)


def test_words_to_spans_joins_tokens_with_single_spaces():
    doc = document_to_spans(WORDS.documents[0])
    assert doc.text == "Kari Nordmann ( 41 ) bor i Oslo ."
    assert [(doc.text[s:e], label) for s, e, label in doc.spans] == [
        ("Kari Nordmann", "PER"),
        ("41", "AGE"),
        ("Oslo", "LOC"),
    ]
    back, losses = to_words(to_spans(WORDS))
    assert [(d.tokens, d.tags) for d in back.documents] == [(d.tokens, d.tags) for d in WORDS.documents]
    assert losses == []  # single spaces between tokens: nothing to lose


def test_text_to_words_reports_every_loss_with_its_record(tokenizer):
    corpus = Corpus(
        [
            Document(text="Kari  bor i Oslo.", spans=[(0, 3, "PER"), (12, 16, "LOC")], origin="n.jsonl:record 1"),
            Document(text="OsloBergen", spans=[(0, 4, "LOC"), (4, 10, "LOC")], origin="n.jsonl:record 2"),
            Document(text="\u200b", spans=[], origin="n.jsonl:record 3"),
        ],
        "n.jsonl",
    )
    words, losses = to_words(corpus, tokenizer)
    assert [(d.tokens, d.tags) for d in words.documents] == [
        (["Kari", "bor", "i", "Oslo", "."], ["B-PER", "O", "O", "B-LOC", "O"]),
        (["OsloBergen"], ["B-LOC"]),
    ]
    assert [(p.where, p.kind) for p in losses] == [
        ("n.jsonl:record 1", "spacing"),
        ("n.jsonl:record 1", "cut-word"),
        ("n.jsonl:record 2", "cut-word"),
        ("n.jsonl:record 2", "cut-word"),
        ("n.jsonl:record 2", "dropped-span"),
        ("n.jsonl:record 3", "dropped-document"),
    ]
    assert "span [0, 3) PER 'Kar' cuts a word: widened to [0, 4) 'Kari'" in losses[1].message
    assert summarize_losses(losses) == {"spacing": 1, "cut-word": 3, "dropped-span": 1, "dropped-document": 1}
    assert words.skipped == {"document without words (dropped in conversion)": 1}


def test_word_offsets_follow_the_pre_tokenizer(tokenizer):
    text = "Dr. Smith, 3/4/2021"
    assert [text[s:e] for s, e in word_offsets(text, tokenizer)] == [
        "Dr",
        ".",
        "Smith",
        ",",
        "3",
        "/",
        "4",
        "/",
        "2021",
    ]
    assert [text[s:e] for s, e in word_offsets(text)] == ["Dr", ".", "Smith", ",", "3", "/", "4", "/", "2021"]


def test_notes_to_conll_and_back_keep_every_entity_on_word_boundaries(tmp_path, tokenizer):
    notes = clinical_notes(20, 1)[0]
    words, losses = convert(notes, "conll", tokenizer)
    assert {p.kind for p in losses} <= {"spacing"}  # the notes' spans lie on word boundaries
    for scheme in ("IOB2", "IOBES", "BILOU", "IOB1"):
        path = str(tmp_path / f"notes_{scheme}.conll")
        formats.write(words, path, "conll", scheme)
        back = read_data(path)
        assert [d.tags for d in back.documents] == [d.tags for d in words.documents]
    spans, _ = convert(back, "jsonl")
    for note, doc in zip(notes.documents, spans.documents):  # the same entities, tokens now spaced
        assert [label for _, _, label in doc.spans] == [label for _, _, label in note.spans]
        assert [doc.text[s:e].replace(" ", "") for s, e, _ in doc.spans] == [
            "".join(note.text[s:e].split()) for s, e, _ in note.spans
        ]


def test_convert_command(tmp_path, capsys):
    source = tmp_path / "in.jsonl"
    source.write_text(
        "\n".join(
            json.dumps(r)
            for r in [
                {"text": "Kari bor i Oslo", "ner_tags": [[0, 3, "PER"], [11, 15, "LOC"]]},
                {"text": "Ola i Bergen", "ner_tags": [[0, 3, "PER"], [6, 12, "LOC"]]},
            ]
        )
        + "\n",
        encoding="utf-8",
    )
    out = tmp_path / "out.conll"
    assert convert_main([str(source), str(out), "--to", "conll", "--tag-scheme", "bilou"]) == 0
    printed = capsys.readouterr().out
    assert "wrote 2 documents as conll (BILOU)" in printed and "cut-word 1" in printed
    assert f"{source}:record 1: span [0, 3) PER 'Kar' cuts a word" in printed
    assert out.read_text(encoding="utf-8").split("\n")[:4] == ["Kari U-PER", "bor O", "i O", "Oslo U-LOC"]

    brat_dir = tmp_path / "brat"
    assert convert_main([str(out), str(brat_dir), "--to", "brat"]) == 0
    assert "nothing lost" in capsys.readouterr().out
    assert read_data(str(brat_dir)).documents[0].text == "Kari bor i Oslo"
    for fmt, name in (("labelstudio", "ls.json"), ("doccano", "d.jsonl"), ("jsonl", "s.jsonl")):
        assert convert_main([str(brat_dir), str(tmp_path / name), "--to", fmt]) == 0
        assert [d.spans for d in read_data(str(tmp_path / name)).documents] == [
            [(0, 4, "PER"), (11, 15, "LOC")],
            [(0, 3, "PER"), (6, 12, "LOC")],
        ]


@pytest.mark.parametrize(
    "args, message",
    [
        (["{src}", "{tmp}/brat", "--to", "brat"], "already holds .txt/.ann files"),
        (["{src}", "{src}", "--to", "jsonl"], "would overwrite the input"),
        (["{src}", "{tmp}/no/such/dir/out.jsonl", "--to", "jsonl"], "does not exist"),
        (["{tmp}/missing.jsonl", "{tmp}/o.jsonl", "--to", "jsonl"], "no such file"),
        (["{src}", "{tmp}/o.conll", "--to", "conll", "--tag-scheme", "XYZ"], "unknown tag scheme"),
        (["{bad}", "{tmp}/o.conll", "--to", "conll"], "overlapping spans"),
    ],
)
def test_convert_command_usage_errors(tmp_path, capsys, args, message):
    source = tmp_path / "in.jsonl"
    source.write_text(json.dumps({"text": "Oslo", "ner_tags": [[0, 4, "LOC"]]}) + "\n", encoding="utf-8")
    bad = tmp_path / "bad.jsonl"
    bad.write_text(json.dumps({"text": "Oslo", "ner_tags": [[0, 4, "LOC"], [1, 3, "X"]]}) + "\n", encoding="utf-8")
    (tmp_path / "brat").mkdir()
    (tmp_path / "brat" / "a.txt").write_text("x")
    argv = [a.format(src=source, tmp=tmp_path, bad=bad) for a in args]
    assert convert_main(argv) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and message in err and err.count("\n") == 1
