"""tfner.data.check and `tfner check`: files seeded with one of each problem, each found with its line or record;
exit codes; leakage detection that stays fast on a corpus the size of CoNLL-2003."""

import json
import random
import time

import pytest

from tfner.check import main as check_main
from tfner.data.check import Split, check, duplicate_findings, read_split, windows
from tfner.data.readers import Corpus, Document

LONG = (
    "the patient was seen in the clinic today and reported no new symptoms since the last visit two weeks ago "
    "when the dose was changed".split()
)

# Each line is commented with the problem it seeds (1-based line numbers).
TRAIN = [
    "Kari B-PER",
    "Nordmann I-PER",
    "bor O",
    "i O",
    "Oslo B-LOC",
    "",  # 1-6  a clean sentence
    "lonely",
    "x O",
    "",  # 7    a row with one column
    "\ufeff",  # 10   a line of only a BOM
    "Ola B-PER",
    "Bergen I-LOC",
    "",  # 12   I-LOC after B-PER (IOB2)
    "Per B_PER",
    "",  # 14   not a tag
    "Expo B-MISC",
    "",  # 16   rare label (and PER, LOC)
    "smile O",
    "\ufe0f O",
    "",  # 19   a word without sub-tokens
    *[f"{w} O" for w in LONG],
    "",  # 21-45 long; near-duplicated
    "Ola B-PER",
    "bor O",
    "i O",
    "Oslo B-LOC",
    "",  # 47   duplicated exactly
]
VALIDATION = [
    "Ola B-PER",
    "bor O",
    "i O",
    "Oslo B-LOC",
    "",  # 1    exact duplicate of train:47
    *[f"{w} O" for w in LONG[:-1] + ["altered"]],
    "",  # 6    near duplicate of train:21
    "Statoil B-ORG",
    "",  # 32   label unseen in training
]
TEST = [
    {"text": "Kari bor i Oslo", "ner_tags": [[0, 8, "PER"], [5, 10, "LOC"]]},  # record 1: overlapping
    {"text": "Kari Nordmann", "ner_tags": [[0, 13, "PER"], [5, 13, "PER"]]},  # record 2: nested
    {"text": "Kari bor i Oslo", "ner_tags": [[0, 3, "PER"]]},  # record 3: cuts a word
    {"text": "   ", "ner_tags": []},  # record 4: empty
    '{"text": "Oslo", ',  # record 5: not JSON
]


def write_seeded(tmp_path):
    paths = {}
    for name, lines in (("train", TRAIN), ("validation", VALIDATION)):
        paths[name] = tmp_path / f"{name}.conll"
        paths[name].write_text("\n".join(lines) + "\n", encoding="utf-8")
    paths["test"] = tmp_path / "test.jsonl"
    paths["test"].write_text("\n".join(r if isinstance(r, str) else json.dumps(r) for r in TEST) + "\n")
    return {k: str(v) for k, v in paths.items()}


@pytest.fixture(scope="module")
def seeded(tmp_path_factory, tokenizer):
    paths = write_seeded(tmp_path_factory.mktemp("seeded"))
    splits = [read_split(name, paths[name], "IOB2" if name != "test" else None) for name in paths]
    stats, findings = check(splits, tokenizer, max_length=16, stride=4)
    return paths, stats, findings


def found(findings, kind):
    return [(f.where, f.message) for f in findings if f.kind == kind]


def test_each_seeded_problem_is_found_with_its_line(seeded):
    paths, _, findings = seeded
    train, validation, test = paths["train"], paths["validation"], paths["test"]
    where = {kind: [w for w, _ in found(findings, kind)] for kind in {f.kind for f in findings}}
    assert where["unreadable"] == [f"{train}:7", f"{test}:record 5 (line 5)"]
    assert where["invisible-line"] == [f"{train}:10"]
    assert where["scheme-violation"] == [f"{train}:12", f"{train}:14"]
    assert where["rare-label"] == [f"{train}:5", f"{train}:16", f"{train}:1"]  # LOC 3, MISC 1, PER 3 entities
    assert where["no-subtokens"] == [f"{train}:19"]
    assert where["long-document"] == [f"{train}:21", f"{validation}:6"]
    assert where["unseen-label"] == [f"{validation}:32"]
    assert where["exact-duplicate"] == [f"{validation}:1"]
    assert where["near-duplicate"] == [f"{validation}:6"]
    assert where["overlapping-span"] == [f"{test}:record 1"]
    assert where["nested-span"] == [f"{test}:record 2"]
    assert where["misaligned-span"] == [f"{test}:record 3"]
    assert where["empty-document"] == [f"{test}:record 4 (line 4)"]
    messages = {kind: [m for _, m in found(findings, kind)] for kind in where}
    assert "'Statoil'" in messages["unseen-label"][0] and "does not occur in train" in messages["unseen-label"][0]
    assert messages["scheme-violation"][0].startswith("I-LOC follows B-PER: an entity must begin with B- (IOB2)")
    assert messages["scheme-violation"][1] == "tag 'B_PER' is not IOB (expected O, B-TYPE or I-TYPE)"
    assert "[0, 3) PER 'Kar' cuts the sub-token" in messages["misaligned-span"][0]
    assert "U+FE0F" in messages["no-subtokens"][0] and "U+FEFF" not in messages["invisible-line"][0]
    assert f"as train {train}:21" in messages["near-duplicate"][0]
    assert f"same text as train {train}:47" in messages["exact-duplicate"][0]


def test_severities_and_stats(seeded):
    _, stats, findings = seeded
    errors = {f.kind for f in findings if f.severity == "error"}
    assert errors == {
        "unreadable",
        "scheme-violation",
        "unseen-label",
        "overlapping-span",
        "nested-span",
        "misaligned-span",
    }
    assert stats["train"]["entities"] == {"LOC": 3, "MISC": 1, "PER": 3}
    assert stats["train"]["tag_scheme"] == "IOB2" and stats["test"]["format"] == "jsonl"
    assert stats["validation"]["documents"] == 3 and stats["train"]["skipped"] == {
        "line of only invisible characters (BOM / zero-width space), read as a blank line": 1
    }


def test_windows_counts_as_align_cuts(tokenizer):
    from tfner.data.align import encode

    for n in (5, 14, 15, 24, 25, 40):
        corpus = Corpus([Document(tokens=["a"] * n, tags=["O"] * n, origin="x")], "x")
        assert len(encode(corpus, tokenizer, ["O"], max_length=16, stride=4)) == windows(n, 14, 4), n


def test_the_command_exit_codes_and_outputs(tmp_path, capsys):
    paths = write_seeded(tmp_path)
    code = check_main(
        [
            paths["train"],
            "--validation",
            paths["validation"],
            "--test",
            paths["test"],
            "--tag-scheme",
            "IOB2",
            "--max-length",
            "16",
            "--stride",
            "4",
        ]
    )
    out = capsys.readouterr().out
    assert code == 1
    assert f"  {paths['train']}:12: I-LOC follows B-PER" in out and "error unseen-label: 1" in out
    clean = tmp_path / "clean.conll"
    clean.write_text("Kari B-PER\nbor O\n\nOla B-PER\n\nOslo B-LOC\n\nBergen B-LOC\n", encoding="utf-8")
    assert check_main([str(clean), "--json", "--encoder", "none"]) == 0  # warnings only (rare labels)
    report = json.loads(capsys.readouterr().out)
    assert report["errors"] == 0 and report["warnings"] == 2 and report["splits"]["train"]["documents"] == 4
    assert check_main([str(tmp_path / "missing.conll")]) == 2
    assert "error: " in capsys.readouterr().err
    assert check_main([str(clean), "--max-length", "2"]) == 2
    assert check_main([str(clean), "--tag-scheme", "XYZ"]) == 2


def test_other_formats_read_leniently(tmp_path, tokenizer):
    folder = tmp_path / "brat"
    folder.mkdir()
    (folder / "a.txt").write_text("Kari bor i Oslo", encoding="utf-8")
    (folder / "a.ann").write_text(
        "T1\tPER 0 4\tKari\nT2\tLOC 11 15\tOslo\nR1\tLives Arg1:T1 Arg2:T2\nT3\tLOC 12 15\tslo\nT4\tPER 0 4\tOla\n",
        encoding="utf-8",
    )
    export = tmp_path / "ls.json"
    export.write_text(json.dumps([{"id": 3, "data": {"text": "Oslo"}, "annotations": []}]), encoding="utf-8")
    splits = [read_split("train", str(folder)), read_split("validation", str(export))]
    _, findings = check(splits, tokenizer)
    assert {(f.kind, f.where) for f in findings} >= {
        ("unsupported", f"{folder}/a.ann:3"),
        ("nested-span", f"{folder}/a.ann"),
        ("misaligned-span", f"{folder}/a.ann"),
        ("unreadable", f"{folder}/a.ann:5"),
        ("unannotated", f"{export}:task 1 (id 3)"),
    }


def test_leakage_detection_is_fast_on_a_conll_sized_corpus():
    rng = random.Random(0)
    vocabulary = [f"w{i}" for i in range(5000)]
    sentences = [[rng.choice(vocabulary) for _ in range(rng.randint(3, 40))] for _ in range(17300)]
    planted = sentences[100][:]  # 40-ish words: one changed word keeps Jaccard above 0.9
    while len(planted) < 35:
        planted.append(rng.choice(vocabulary))
    sentences[100] = planted
    copy = planted[:-1] + ["changed"]

    def split(name, docs):
        return Split(
            name,
            Corpus([Document(tokens=t, tags=["O"] * len(t), origin=f"{name}:{i}") for i, t in enumerate(docs)], name),
            "conll",
        )

    train, validation = split("train", sentences[:14041]), split("validation", sentences[14041:] + [copy])
    start = time.perf_counter()
    findings = duplicate_findings([train, validation])
    elapsed = time.perf_counter() - start
    assert [(f.kind, f.where) for f in findings] == [("near-duplicate", f"validation:{len(sentences) - 14041}")]
    assert elapsed < 60, elapsed  # about 5 s on one loaded core


def test_the_table_view_counts_the_tokens_a_view_model_reads(tokenizer):
    """With the table view (the models' default) a tabular note is tokenized as training reads it: more
    sub-tokens and windows than the text as given, and its gold spans still align."""
    from tfner.data.align import encode
    from tfner.data.check import tokenizer_findings

    text = "Patient\tAge\tCity\n" + "\n".join(f"Anna Berg\t{40 + i}\tBern" for i in range(12))
    spans = [(s, s + 9, "PATIENT") for s in range(text.index("Anna"), len(text), len("Anna Berg\t41\tBern\n"))]
    corpus = Corpus([Document(text=text, spans=spans, origin="t")], "t")
    split = Split("train", corpus, "jsonl")
    (plain, n_plain), (viewed, n_view) = (tokenizer_findings(split, tokenizer, 16, 4, v) for v in (False, True))
    assert [f.kind for f in plain] == [f.kind for f in viewed] == ["long-document"]  # no misaligned span
    assert n_view[0] > n_plain[0] and f"{n_view[0]} sub-tokens" in viewed[0].message
    assert len(encode(corpus, tokenizer, ["O", "B-PATIENT", "I-PATIENT"], 16, 4, table_view=True)) == windows(
        n_view[0], 14, 4
    )
