"""tfner.data.readers: every reader, every error message, labels and summaries."""

import json
import subprocess
import sys

import pytest
from helpers import ROOT

from tfner.data.readers import (
    Corpus,
    DataError,
    Document,
    build_labels,
    check_labels,
    entity_types,
    from_hf_dataset,
    load_hf,
    read_conll,
    read_data,
    read_span_jsonl,
    summarize,
)


def write(tmp_path, name, content, mode="w"):
    path = tmp_path / name
    if mode == "wb":
        path.write_bytes(content)
    else:
        path.write_text(content, encoding="utf-8")
    return str(path)


def write_jsonl(tmp_path, name, records):
    lines = [r if isinstance(r, str) else json.dumps(r, ensure_ascii=False) for r in records]
    return write(tmp_path, name, "\n".join(lines) + "\n")


# --------------------------------------------------------------------------
# CoNLL


CONLL_4COL = """-DOCSTART- -X- -X- O

EU NNP B-NP B-ORG
rejects VBZ B-VP O
German JJ B-NP B-MISC
call NN I-NP O
. . O O


Peter NNP B-NP B-PER
Blackburn NNP I-NP I-PER

-DOCSTART- -X- -X- O
BRUSSELS NNP B-NP B-LOC
1996-08-22 CD I-NP O
"""


def test_conll_four_columns_space_separated(tmp_path):
    path = write(tmp_path, "train.txt", CONLL_4COL)
    corpus = read_conll(path)
    assert corpus.source == path
    assert [d.tokens for d in corpus.documents] == [
        ["EU", "rejects", "German", "call", "."],
        ["Peter", "Blackburn"],
        ["BRUSSELS", "1996-08-22"],
    ]
    assert [d.tags for d in corpus.documents] == [
        ["B-ORG", "O", "B-MISC", "O", "O"],
        ["B-PER", "I-PER"],
        ["B-LOC", "O"],
    ]
    # Line of each sentence's first token, 1-based; DOCSTART and blank lines skipped.
    assert [d.origin for d in corpus.documents] == [f"{path}:3", f"{path}:10", f"{path}:14"]
    assert not any(d.is_spans for d in corpus.documents)
    assert corpus.converted_iob1 == 0
    assert corpus.skipped == {}


def test_conll_two_columns_tab_separated_without_final_blank_line(tmp_path):
    path = write(tmp_path, "t.tsv", "Kari\tB-PER\nbor\tO\n\n\n\ni\tO\nNord\tB-LOC\nFron\tI-LOC")
    corpus = read_conll(path)
    assert [d.tokens for d in corpus.documents] == [["Kari", "bor"], ["i", "Nord", "Fron"]]
    assert [d.tags for d in corpus.documents] == [["B-PER", "O"], ["O", "B-LOC", "I-LOC"]]
    assert [d.origin for d in corpus.documents] == [f"{path}:1", f"{path}:6"]


def test_conll_crlf_and_mixed_whitespace(tmp_path):
    path = write(tmp_path, "w.txt", "Oslo \t NNP  B-LOC\r\nsnør O\r\n")
    corpus = read_conll(path)
    assert corpus.documents[0].tokens == ["Oslo", "snør"]
    assert corpus.documents[0].tags == ["B-LOC", "O"]


def test_conll_iob1_is_converted_and_counted(tmp_path):
    text = "a I-PER\nb I-PER\nc O\nd I-LOC\ne I-ORG\nf B-ORG\ng I-ORG\n\nh I-MISC\n"
    corpus = read_conll(write(tmp_path, "iob1.txt", text))
    assert corpus.documents[0].tags == ["B-PER", "I-PER", "O", "B-LOC", "B-ORG", "B-ORG", "I-ORG"]
    assert corpus.documents[1].tags == ["B-MISC"]
    assert corpus.converted_iob1 == 4


def test_conll_iob2_is_untouched(tmp_path):
    text = "a B-PER\nb I-PER\nc B-PER\nd O\ne B-LOC\nf I-LOC\n"
    corpus = read_conll(write(tmp_path, "iob2.txt", text))
    assert corpus.documents[0].tags == ["B-PER", "I-PER", "B-PER", "O", "B-LOC", "I-LOC"]
    assert corpus.converted_iob1 == 0


def test_conll_empty_file_gives_empty_corpus(tmp_path):
    corpus = read_conll(write(tmp_path, "empty.txt", "\n\n-DOCSTART- O\n\n"))
    assert corpus.documents == []


def test_conll_row_without_tag(tmp_path):
    path = write(tmp_path, "bad.txt", "a O\nb O\n\nlonely\n")
    with pytest.raises(DataError) as e:
        read_conll(path)
    assert str(e.value) == f"{path}:4: expected at least 2 columns (token ... tag), got 1: 'lonely'"


@pytest.mark.parametrize("tag", ["PER", "B_PER", "B-", "X-LOC", "o"])
def test_conll_tag_not_iob(tmp_path, tag):
    path = write(tmp_path, "bad.txt", f"a O\n\nb O\nc {tag}\n")
    with pytest.raises(DataError) as e:
        read_conll(path)
    assert str(e.value) == f"{path}:4: tag {tag!r} is not IOB (expected O, B-TYPE or I-TYPE)"


def test_conll_not_utf8(tmp_path):
    path = write(tmp_path, "latin1.txt", "a O\nb O\n\nS\xf8r B-LOC\n".encode("latin-1"), mode="wb")
    with pytest.raises(DataError) as e:
        read_conll(path)
    msg = str(e.value)
    assert msg.startswith(f"{path}:4: ")
    assert "not UTF-8" in msg


def test_conll_missing_file(tmp_path):
    path = str(tmp_path / "nope.txt")
    with pytest.raises(DataError, match="nope.txt: no such file"):
        read_conll(path)


def test_conll_utf8_bom_is_ignored(tmp_path):
    path = write(tmp_path, "bom.txt", b"\xef\xbb\xbfOslo B-LOC\n", mode="wb")
    assert read_conll(path).documents[0].tokens == ["Oslo"]


# --------------------------------------------------------------------------
# JSONL spans


def test_jsonl_both_item_forms_sorted(tmp_path):
    path = write_jsonl(
        tmp_path,
        "notes.jsonl",
        [
            {"text": "Kari Furu, 41, Oslo", "ner_tags": [[15, 19, "LOC"], [0, 9, "PATIENT"], [11, 13, "AGE"]]},
            "",
            {"text": "Tel. 004712345678", "spans": [{"start": 5, "end": 17, "label": "PHONE"}]},
        ],
    )
    corpus = read_span_jsonl(path)
    assert [d.text for d in corpus.documents] == ["Kari Furu, 41, Oslo", "Tel. 004712345678"]
    assert corpus.documents[0].spans == [(0, 9, "PATIENT"), (11, 13, "AGE"), (15, 19, "LOC")]
    assert corpus.documents[1].spans == [(5, 17, "PHONE")]
    # Records are counted over non-blank lines.
    assert [d.origin for d in corpus.documents] == [f"{path}:record 1", f"{path}:record 2"]
    assert all(d.is_spans for d in corpus.documents)


def test_jsonl_empty_documents_skipped_and_counted(tmp_path):
    path = write_jsonl(
        tmp_path,
        "e.jsonl",
        [
            {"text": "", "ner_tags": []},
            {"text": "Oslo", "ner_tags": [[0, 4, "LOC"]]},
            {"text": "  \n ", "ner_tags": []},
        ],
    )
    corpus = read_span_jsonl(path)
    assert len(corpus.documents) == 1
    assert corpus.documents[0].origin == f"{path}:record 2"
    assert corpus.skipped == {"empty document": 2}


@pytest.mark.parametrize(
    "record, expected",
    [
        ('{"text": "abc", ', "invalid JSON"),
        ('["abc"]', "expected a JSON object, got list"),
        ({"ner_tags": []}, '"text" must be a string, but it is missing'),
        ({"text": 5, "ner_tags": []}, '"text" must be a string, but it is a int'),
        ({"text": "abc"}, 'missing "ner_tags" (or "spans")'),
        ({"text": "abc", "entities": []}, "keys found: ['entities', 'text']"),
        ({"text": "abc", "ner_tags": [], "spans": []}, "not both"),
        ({"text": "abc", "ner_tags": {"0": 1}}, '"ner_tags" must be a list, got dict'),
        ({"text": "abc", "ner_tags": [[0, 1]]}, "span [0, 1] should be [start, end, label]"),
        ({"text": "abc", "ner_tags": [{"start": 0, "end": 1}]}, "should be [start, end, label]"),
        ({"text": "abc", "ner_tags": [["0", 1, "X"]]}, "start must be an integer, got '0'"),
        ({"text": "abc", "ner_tags": [[0, 1.5, "X"]]}, "end must be an integer, got 1.5"),
        ({"text": "abc", "ner_tags": [[0, True, "X"]]}, "end must be an integer, got True"),
        ({"text": "abc", "ner_tags": [[0, 1, ""]]}, "label must be a non-empty string"),
        ({"text": "abc", "ner_tags": [[0, 1, 7]]}, "label must be a non-empty string"),
        ({"text": "abc", "ner_tags": [[0, 1, "B-LOC"]]}, "give the bare entity type ('LOC')"),
        ({"text": "abc", "ner_tags": [[1, 5, "X"]]}, "span [1, 5, 'X'] does not fit the text (length 3"),
        ({"text": "abc", "ner_tags": [[-1, 2, "X"]]}, "span [-1, 2, 'X'] does not fit the text (length 3"),
        ({"text": "abc", "ner_tags": [[2, 2, "X"]]}, "span [2, 2, 'X'] does not fit the text (length 3"),
        (
            {"text": "Nord Fron", "ner_tags": [[5, 9, "LOC"], [0, 6, "LOC"]]},
            "overlapping spans [0, 6, 'LOC'] 'Nord F' and [5, 9, 'LOC'] 'Fron'",
        ),
    ],
)
def test_jsonl_errors_name_record_and_line(tmp_path, record, expected):
    good = {"text": "ok", "ner_tags": []}
    path = write_jsonl(tmp_path, "bad.jsonl", [good, "", good, record])
    with pytest.raises(DataError) as e:
        read_span_jsonl(path)
    msg = str(e.value)
    assert msg.startswith(f"{path}:record 3 (line 4): "), msg
    assert expected in msg


def test_jsonl_not_utf8(tmp_path):
    path = write(tmp_path, "x.jsonl", b'{"text": "ok", "ner_tags": []}\n{"text": "S\xf8r"}\n', mode="wb")
    with pytest.raises(DataError) as e:
        read_span_jsonl(path)
    assert str(e.value).startswith(f"{path}:2: file is not UTF-8")


def test_jsonl_missing_file(tmp_path):
    with pytest.raises(DataError, match="missing.jsonl: no such file"):
        read_span_jsonl(str(tmp_path / "missing.jsonl"))


# --------------------------------------------------------------------------
# Labels


def test_entity_types_and_build_labels_word_level(tmp_path):
    corpus = read_conll(write(tmp_path, "t.txt", "a B-PER\nb I-PER\n\nc B-LOC\nd O\ne I-MISC\n"))
    assert entity_types(corpus) == ["LOC", "MISC", "PER"]
    assert build_labels(corpus) == ["O", "B-LOC", "I-LOC", "B-MISC", "I-MISC", "B-PER", "I-PER"]


def test_build_labels_span_level():
    corpus = Corpus(
        documents=[Document(text="ab cd", spans=[(0, 2, "PATIENT"), (3, 5, "AGE")]), Document(text="ef", spans=[])],
        source="mem",
    )
    assert entity_types(corpus) == ["AGE", "PATIENT"]
    assert build_labels(corpus) == ["O", "B-AGE", "I-AGE", "B-PATIENT", "I-PATIENT"]


def test_check_labels_names_exact_line_of_unknown_tag(tmp_path):
    train = read_conll(write(tmp_path, "train.txt", "a B-PER\nb O\n\nc B-LOC\n"))
    labels = build_labels(train)
    valid_path = write(tmp_path, "valid.txt", "x B-PER\n\ny O\nz O\nw B-FOO\n")
    valid = read_conll(valid_path)
    with pytest.raises(DataError) as e:
        check_labels(valid, labels)
    assert str(e.value) == (f"{valid_path}:5: label 'B-FOO' does not occur in the training data (known: LOC, PER)")
    check_labels(train, labels)  # no error on the training data itself


def test_check_labels_span_documents():
    labels = ["O", "B-AGE", "I-AGE"]
    corpus = Corpus(
        documents=[
            Document(text="41", spans=[(0, 2, "AGE")], origin="n.jsonl:record 1"),
            Document(text="Oslo 41", spans=[(0, 4, "LOC"), (5, 7, "AGE")], origin="n.jsonl:record 2"),
        ],
        source="n.jsonl",
    )
    with pytest.raises(DataError) as e:
        check_labels(corpus, labels)
    assert str(e.value).startswith("n.jsonl:record 2: label 'LOC' (span [0, 4] 'Oslo') does not occur")


# --------------------------------------------------------------------------
# Hugging Face datasets


NAMES = ["O", "B-PER", "I-PER", "B-LOC", "I-LOC"]


def hf_dataset(tokens, tags, names=NAMES):
    import datasets

    features = datasets.Features(
        {
            "id": datasets.Value("string"),
            "tokens": datasets.Sequence(datasets.Value("string")),
            "ner_tags": datasets.Sequence(datasets.ClassLabel(names=names)),
        }
    )
    ids = [str(i) for i in range(len(tokens))]
    return datasets.Dataset.from_dict({"id": ids, "tokens": tokens, "ner_tags": tags}, features=features)


def test_from_hf_dataset_class_labels():
    ds = hf_dataset([["Kari", "Furu", "i", "Oslo"], [], ["Ola"]], [[1, 2, 0, 3], [], [2]])
    corpus = from_hf_dataset(ds, "mini/train")
    assert [d.tokens for d in corpus.documents] == [["Kari", "Furu", "i", "Oslo"], ["Ola"]]
    assert [d.tags for d in corpus.documents] == [["B-PER", "I-PER", "O", "B-LOC"], ["B-PER"]]
    assert [d.origin for d in corpus.documents] == ["mini/train:example 1", "mini/train:example 3"]
    assert corpus.converted_iob1 == 1  # the lone I-PER of example 3
    assert corpus.skipped == {"empty document": 1}
    assert corpus.source == "mini/train"


def test_from_hf_dataset_string_tags_and_errors():
    import datasets

    ds = datasets.Dataset.from_dict({"tokens": [["a", "b"]], "ner_tags": [["B-X", "I-X"]]})
    assert from_hf_dataset(ds, "s").documents[0].tags == ["B-X", "I-X"]

    bad = datasets.Dataset.from_dict({"tokens": [["a"], ["b"]], "ner_tags": [["O"], ["X"]]})
    with pytest.raises(DataError, match=r"^s:example 2 \(token 1\): tag 'X' is not IOB"):
        from_hf_dataset(bad, "s")

    cols = datasets.Dataset.from_dict({"words": [["a"]], "labels": [["O"]]})
    with pytest.raises(DataError, match=r"missing \['tokens', 'ner_tags'\], found \['words', 'labels'\]"):
        from_hf_dataset(cols, "s")


def test_load_hf_from_disk_and_missing_split(tmp_path):
    import datasets

    dd = datasets.DatasetDict(
        {"train": hf_dataset([["Kari", "Furu"]], [[1, 2]]), "validation": hf_dataset([["Oslo"], ["x"]], [[3], [0]])}
    )
    path = str(tmp_path / "saved")
    dd.save_to_disk(path)
    corpus = load_hf(path, "validation")
    assert [d.tokens for d in corpus.documents] == [["Oslo"], ["x"]]
    assert corpus.documents[0].tags == ["B-LOC"]
    assert corpus.source == f"{path}/validation"
    with pytest.raises(DataError) as e:
        load_hf(path, "test")
    assert str(e.value) == f"{path}: no split 'test'; splits present: ['train', 'validation']"
    # read_data recognises the directory by its dataset_dict.json.
    assert read_data(path, "train").documents[0].tags == ["B-PER", "I-PER"]


def test_load_hf_hub_failure_is_a_data_error(monkeypatch):
    import datasets

    def offline(*args, **kwargs):
        raise ConnectionError("Couldn't reach 'conll2003' on the Hub (LocalEntryNotFoundError)")

    monkeypatch.setattr(datasets, "load_dataset", offline)
    with pytest.raises(DataError) as e:
        read_data("conll2003", "train")
    msg = str(e.value)
    assert msg.startswith("conll2003: could not load the dataset from the Hugging Face hub (no network?)")
    assert "ConnectionError: Couldn't reach 'conll2003'" in msg
    assert "save_to_disk" in msg and "CoNLL" in msg and "JSONL" in msg
    with pytest.raises(DataError, match="^conll2003: could not load"):
        read_data("hf:conll2003", "train")


# --------------------------------------------------------------------------
# read_data dispatch


def test_read_data_dispatch(tmp_path):
    conll = write(tmp_path, "a.conll", "Oslo B-LOC\n")
    jsonl = write_jsonl(tmp_path, "a.jsonl", [{"text": "Oslo", "ner_tags": [[0, 4, "LOC"]]}])
    json_ = write_jsonl(tmp_path, "a.json", [{"text": "Oslo", "spans": [[0, 4, "LOC"]]}])
    assert read_data(conll).documents[0].tags == ["B-LOC"]
    assert read_data(jsonl).documents[0].spans == [(0, 4, "LOC")]
    assert read_data(json_, split="test").documents[0].is_spans


def test_read_data_errors(tmp_path, monkeypatch):
    import datasets

    def must_not_be_called(*a, **k):
        raise AssertionError("load_dataset called")

    monkeypatch.setattr(datasets, "load_dataset", must_not_be_called)
    for spec in [str(tmp_path / "missing.txt"), "data/train", "train.conll", "x.iob"]:
        with pytest.raises(DataError) as e:
            read_data(spec)
        assert str(e.value) == f"{spec}: no such file"

    empty = write(tmp_path, "empty.txt", "\n-DOCSTART- O\n\n")
    with pytest.raises(DataError) as e:
        read_data(empty)
    assert str(e.value) == f"{empty}: contains no documents"

    plain_dir = tmp_path / "plain"
    plain_dir.mkdir()
    with pytest.raises(DataError, match="not a dataset saved with save_to_disk"):
        read_data(str(plain_dir))


# --------------------------------------------------------------------------
# summarize


def test_summarize_word_level(tmp_path):
    path = write(tmp_path, "train.txt", "a B-PER\nb I-PER\nc O\n\nd I-LOC\ne B-PER\n")
    text = summarize(read_conll(path), name="train")
    assert text.splitlines() == [
        f"train ({path}): 2 documents, 5 tokens, 3 entities",
        "  LOC 1 · PER 2",
        "  skipped: 0 · IOB1 tags converted to IOB2: 1",
    ]


def test_summarize_spans_with_skipped():
    docs = [Document(text="x" * 1500, spans=[(0, 1, "AGE"), (2, 3, "ID")])]
    corpus = Corpus(documents=docs, source="n.jsonl", skipped={"empty document": 3})
    assert summarize(corpus).splitlines() == [
        "n.jsonl: 1 documents, 1,500 characters, 2 entities",
        "  AGE 1 · ID 1",
        "  skipped: 3 (empty document: 3) · IOB1 tags converted to IOB2: 0",
    ]


def test_summarize_no_entities():
    corpus = Corpus(documents=[Document(tokens=["a"], tags=["O"])], source="s")
    assert summarize(corpus).splitlines()[1] == "  (no entities)"


def test_data_module_does_not_import_tensorflow():
    code = "import sys, tfner.data, tfner.data.synthetic; print('tensorflow' in sys.modules, 'datasets' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["False", "False"]
