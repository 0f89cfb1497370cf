"""tfner.serving: NERPipeline's aggregations on hand-made logits, long documents through windows, bad
inputs, and `tfner predict`."""

import json

import numpy as np
import pytest
from helpers import build_tagger

LABELS = ["O", "B-NAME", "I-NAME", "B-DATE", "I-DATE"]


@pytest.fixture(scope="module")
def tagger(tokenizer):
    return build_tagger(LABELS, tokenizer)


def rigged(tagger, monkeypatch, by_token, decode="argmax"):
    """Make the tagger's logits depend only on each token's text: by_token maps token -> (label,
    strength), or a list of them. The tagger decodes as `decode` says (argmax: the Hugging Face rules)."""
    monkeypatch.setattr(tagger, "decoder", tagger.decoder)
    tagger.set_decoding(decode)
    monkeypatch.setattr(tagger, "config", tagger.config)
    tok = tagger.tokenizer

    def predict_logits(windows, batch_size=64):
        out = []
        for ids in windows.input_ids:
            logits = np.zeros((len(ids), len(LABELS)), np.float32)
            for n, token in enumerate(tok.convert_ids_to_tokens([int(i) for i in ids])):
                rule = by_token.get(token, ("O", 5.0))
                for label, strength in [rule] if isinstance(rule, tuple) else rule:
                    logits[n, LABELS.index(label)] = strength
            out.append(logits)
        return out

    monkeypatch.setattr(tagger, "predict_logits", predict_logits)


def test_simple_groups_adjacent_tokens_of_one_type(tagger, monkeypatch):
    from tfner.serving.pipeline import NERPipeline

    rigged(
        tagger,
        monkeypatch,
        {
            "john": ("B-NAME", 5.0),
            "smith": ("I-NAME", 3.0),
            "may": ("B-DATE", 5.0),
            "3": ("I-DATE", 5.0),
            "anne": ("B-NAME", 5.0),
        },
    )
    text = "John Smith met Anne on May 3."
    out = NERPipeline(tagger, "simple")(text)
    assert [(e["entity_group"], e["word"], e["start"], e["end"]) for e in out] == [
        ("NAME", "John Smith", 0, 10),
        ("NAME", "Anne", 15, 19),
        ("DATE", "May 3", 23, 28),
    ]
    p5 = np.exp(5) / (np.exp(5) + 4)
    p3 = np.exp(3) / (np.exp(3) + 4)
    assert out[0]["score"] == pytest.approx((p5 + p3) / 2, rel=1e-5)
    for e in out:
        assert e["word"] == text[e["start"] : e["end"]]


def test_b_tag_starts_a_new_group_and_i_after_o_starts_one(tagger, monkeypatch):
    from tfner.serving.pipeline import NERPipeline

    rigged(tagger, monkeypatch, {"john": ("B-NAME", 5.0), "anne": ("B-NAME", 5.0), "bob": ("I-NAME", 5.0)})
    out = NERPipeline(tagger, "simple")("John Anne and Bob")
    assert [e["word"] for e in out] == ["John", "Anne", "Bob"]


def test_bio_decoding_turns_an_orphan_inside_into_a_valid_entity_and_follows_words(tagger, monkeypatch):
    """Viterbi over the words: `I-NAME` after `O` is impossible, so the likelier valid sequence wins (here
    B-NAME for "Bob"); the sub-tokens after a word's first take its I- label ("Schwarzenegger")."""
    from tfner.serving.pipeline import NERPipeline

    rigged(tagger, monkeypatch, {"john": ("B-NAME", 5.0), "bob": [("I-NAME", 5.0), ("B-NAME", 3.0)]}, "bio")
    out = NERPipeline(tagger, "simple")("John and Bob")
    assert [(e["entity_group"], e["word"]) for e in out] == [("NAME", "John"), ("NAME", "Bob")]
    pieces = tagger.tokenizer.tokenize("Schwarzenegger")
    assert len(pieces) > 1
    # the other pieces lean O each (argmax), but the word as a whole is a name (Decoder.word_emissions)
    later = {p: [("O", 2.0), ("I-NAME", 1.5)] for p in pieces[1:]}
    rigged(tagger, monkeypatch, {pieces[0]: ("B-NAME", 5.0), **later}, "bio")
    out = NERPipeline(tagger, "simple")("Arnold Schwarzenegger")
    assert [e["word"] for e in out] == ["Schwarzenegger"]
    # pieces that say O as firmly as the first says NAME outvote it: the word is not a name
    rigged(tagger, monkeypatch, {pieces[0]: ("B-NAME", 5.0)}, "bio")
    assert NERPipeline(tagger, "simple")("Arnold Schwarzenegger") == []


def test_tagger_tags_on_span_data_decode_words_like_the_pipeline(tagger, monkeypatch):
    """Evaluation (`Tagger.tags` on span documents) decodes the words as the pipeline does: a word's
    other sub-tokens follow its first, so an entity never starts or ends inside a word."""
    from tfner.data.readers import Corpus, Document
    from tfner.serving.pipeline import NERPipeline

    pieces = tagger.tokenizer.tokenize("Schwarzenegger")
    # the first piece says O, the later ones NAME: per token that would start a NAME inside the word
    rigged(tagger, monkeypatch, {"arnold": ("B-NAME", 5.0), **{p: ("B-NAME", 5.0) for p in pieces[1:]}}, "bio")
    text = "Arnold Schwarzenegger and Arnold"
    windows = tagger.encode(Corpus([Document(text=text, spans=[])], "<test>"))
    assert list(windows.word_starts[0]) == [True] + [True] + [False] * (len(pieces) - 1) + [True, True]
    tags = tagger.tags(windows, tagger.predict_logits(windows))[0]
    assert tags == ["B-NAME", "O"] + ["O"] * (len(pieces) - 1) + ["O", "B-NAME"]
    entities = NERPipeline(tagger, "simple")(text)
    assert [(e["entity_group"], e["start"], e["end"]) for e in entities] == [("NAME", 0, 6), ("NAME", 26, 32)]
    tagger.set_decoding("argmax")  # argmax still decides each token alone
    assert tagger.tags(windows, tagger.predict_logits(windows))[0][2] == "B-NAME"


@pytest.mark.parametrize("aggregation", ["simple", "first", "none"])
def test_table_view_entities_refer_to_the_original_text(tagger, monkeypatch, aggregation):
    """A model that reads the table view (`ModelConfig.table_view`) sees "Age: 41" where the text says
    "41"; its entities are on the text given, and what it finds in an inserted header is not an entity."""
    import dataclasses

    from tfner.serving.pipeline import NERPipeline

    rigged(tagger, monkeypatch, {"john": ("B-NAME", 5.0), "smith": ("I-NAME", 5.0), "age": ("B-DATE", 5.0)})
    monkeypatch.setattr(tagger, "config", dataclasses.replace(tagger.config, table_view=True))
    text = "Patient\tAge\tWard\nJohn Smith\t41\tB2\nAnne Lee\t7\tC1"
    out = NERPipeline(tagger, aggregation)(text)
    found = [(e.get("entity_group", e.get("entity")), e["word"], e["start"], e["end"]) for e in out]
    # the header line's own "Age" is text: kept; the "Age: " inserted before 41 and 7 is not
    if aggregation == "none":
        assert found == [("B-DATE", "Age", 8, 11), ("B-NAME", "John", 17, 21), ("I-NAME", "Smith", 22, 27)]
    else:
        assert found == [("DATE", "Age", 8, 11), ("NAME", "John Smith", 17, 27)]
    for e in out:
        assert e["word"] == text[e["start"] : e["end"]]


class _ByHash:
    """Rigged labels for any token: one of LABELS, chosen by a hash of the token and a seed."""

    def __init__(self, seed):
        self.seed = seed

    def get(self, token, default):
        import zlib

        return LABELS[zlib.crc32(f"{self.seed}:{token}".encode()) % len(LABELS)], 5.0


def test_table_view_entities_are_always_slices_of_the_original_text(tagger, monkeypatch):
    """Whatever the model says about any token (headers included), every entity of a view model is a
    non-empty slice of the text given: property-tested over random tables and HL7 lines."""
    import dataclasses

    from hypothesis import HealthCheck, given, settings
    from hypothesis import strategies as st

    from tfner.serving.pipeline import NERPipeline

    monkeypatch.setattr(tagger, "config", dataclasses.replace(tagger.config, table_view=True))
    cell = st.text(alphabet="abcXY 12:,.-^", max_size=10)
    rows = st.lists(st.lists(cell, min_size=3, max_size=3), min_size=1, max_size=3)

    @settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
    @given(rows=rows, sep=st.sampled_from(["\t", " | ", ";", "   "]), seed=st.integers(0, 99), hl7=st.booleans())
    def check(rows, sep, seed, hl7):
        text = "\n".join(["Patient" + sep + "Age" + sep + "Ward"] + [sep.join(r) for r in rows])
        if hl7:
            text += "\nPID|1||4711^^^H^MR||Doe^Ann||19700102|F"
        rigged(tagger, monkeypatch, _ByHash(seed))
        monkeypatch.setattr(tagger, "config", dataclasses.replace(tagger.config, table_view=True))
        for aggregation in ("simple", "first", "none"):
            for e in NERPipeline(tagger, aggregation)(text):
                assert 0 <= e["start"] < e["end"] <= len(text)
                assert e["word"] == text[e["start"] : e["end"]]

    check()


def test_a_header_token_does_not_stretch_an_entity():
    from tfner.serving.pipeline import group_entities

    items = [("B-NAME", 0.9, 0, 4), ("I-NAME", 0.8, 9, 9), ("I-NAME", 0.7, 9, 9), ("O", 0.9, 9, 11)]
    out = group_entities(items, "John Doe\t41", skip_empty=True)
    assert [(e["entity_group"], e["start"], e["end"]) for e in out] == [("NAME", 0, 4), ("O", 9, 11)]
    assert group_entities([("B-NAME", 0.9, 9, 9)], "John Doe\t41", skip_empty=True) == []  # a header only
    # without the view, empty tokens (byte-level BPE has some) stretch a group as predict_text's do in the
    # graph; the trailing tab is trimmed, and an empty group is none either way
    out = group_entities(items, "John Doe\t41")
    assert [(e["entity_group"], e["start"], e["end"]) for e in out] == [("NAME", 0, 8), ("O", 9, 11)]
    assert group_entities([("B-NAME", 0.9, 9, 9)], "John Doe\t41") == []


def test_entities_lose_the_quotes_commas_colons_and_spaces_at_their_edges():
    from tfner.serving.pipeline import group_entities

    text = '{"name": "Radzewicz, Blanka", 94, "city": ";"}'
    name, comma, city = text.index('"Radzewicz'), text.index('", 94'), text.index('";"')
    items = [("B-NAME", 0.9, name, name + 1), ("I-NAME", 0.8, name + 1, comma), ("I-NAME", 0.7, comma, comma + 2)]
    items += [("B-AGE", 0.6, comma + 3, comma + 5), ("B-LOC", 0.5, city, city + 3)]
    out = group_entities(items, text)
    assert [(e["entity_group"], e["word"]) for e in out] == [("NAME", "Radzewicz, Blanka"), ("AGE", "94")]
    assert out[0]["score"] == pytest.approx(0.8)  # every token still counts in the score
    assert all(text[e["start"] : e["end"]] == e["word"] for e in out)


def test_entities_lose_hyphens_parentheses_and_hl7_separators_at_their_edges():
    from tfner.serving.pipeline import group_entities

    text = "tel (01) 844 4964 - ok, reached at 52103005 (mobile)|4711^^^H|^DOE^ANN^^|From - Nagpur. "
    text += "Lives at 4 Main St. Ward Main. Bed 4."
    # each predicted group's text -> what is left of it (None: nothing)
    cases = [
        ("(01) 844 4964 -", "(01) 844 4964"),  # a phone's "(" stays, a trailing " -" goes
        ("52103005 (", "52103005"),
        (" (", None),
        ("|4711^^", "4711"),
        ("^DOE^ANN^^|", "DOE^ANN"),  # "^" inside a value stays
        ("- Nagpur", "Nagpur"),
        ("mobile)", "mobile)"),  # a closing parenthesis may end a value ("Smith (Jones)")
        ("52103005 (mobile)|4711^^^H|^DOE^ANN^^|", "52103005 (mobile)|4711^^^H|^DOE^ANN"),
        ("Nagpur.", "Nagpur"),  # a sentence's full stop after a long word or a digit goes ...
        ("4711^^^H|^DOE^ANN^^|From - Nagpur. ", "4711^^^H|^DOE^ANN^^|From - Nagpur"),
        ("4 Main St.", "4 Main St."),  # ... not after an abbreviation
        ("Main.", "Main."),
        ("4.", "4"),
        (".", "."),
    ]
    for group, left in cases:
        start = text.index(group)
        out = group_entities([("B-X", 0.9, start, start + len(group))], text)
        assert [e["word"] for e in out] == ([left] if left else []), group
        assert all(text[e["start"] : e["end"]] == e["word"] for e in out)


def test_none_gives_one_dict_per_token(tagger, monkeypatch):
    from tfner.serving.pipeline import NERPipeline

    rigged(tagger, monkeypatch, {"john": ("B-NAME", 5.0), "smith": ("I-NAME", 5.0)})
    out = NERPipeline(tagger, "none")("John Smith came")
    assert [(e["entity"], e["word"], e["start"], e["end"]) for e in out] == [
        ("B-NAME", "John", 0, 4),
        ("I-NAME", "Smith", 5, 10),
    ]
    everything = NERPipeline(tagger, "none", ignore_labels=())("John Smith came")
    assert [e["entity"] for e in everything] == ["B-NAME", "I-NAME", "O"]


def test_word_aggregations_on_sub_tokens(tagger, monkeypatch):
    from tfner.serving.pipeline import NERPipeline

    tok = tagger.tokenizer
    pieces = tok.tokenize("xyzzyqux")
    assert len(pieces) >= 3, pieces  # a word split into sub-tokens
    # first sub-token weakly NAME, the others strongly DATE
    table = {pieces[0]: ("B-NAME", 2.0)}
    table.update({p: ("I-DATE", 6.0) for p in pieces[1:]})
    rigged(tagger, monkeypatch, table)
    text = "see xyzzyqux now"

    def run(aggregation):
        return [(e["entity_group"], e["word"], e["start"], e["end"]) for e in NERPipeline(tagger, aggregation)(text)]

    assert run("first") == [("NAME", "xyzzyqux", 4, 12)]
    assert run("max") == [("DATE", "xyzzyqux", 4, 12)]
    assert run("average") == [("DATE", "xyzzyqux", 4, 12)]
    # simple does not look at words: the NAME piece and the DATE pieces are separate groups
    simple = run("simple")
    assert [g for g, *_ in simple] == ["NAME", "DATE"]
    first = NERPipeline(tagger, "first")(text)[0]
    assert first["score"] == pytest.approx(np.exp(2) / (np.exp(2) + 4), rel=1e-5)


def test_entity_at_the_end_of_a_5000_token_document_is_found(tagger, monkeypatch):
    from tfner.serving.pipeline import NERPipeline

    rigged(tagger, monkeypatch, {"smith": ("B-NAME", 5.0)})
    text = "the patient was fine . " * 1000 + "Seen by Smith"
    assert len(tagger.tokenizer.tokenize(text)) > 5000
    calls = []
    inner = tagger.predict_logits

    def counting(windows, batch_size=64):
        calls.append(len(windows))
        return inner(windows, batch_size)

    monkeypatch.setattr(tagger, "predict_logits", counting)
    out = NERPipeline(tagger)(text)
    assert calls[0] > 100  # windows of 32 tokens
    assert out == [
        {
            "entity_group": "NAME",
            "score": pytest.approx(np.exp(5) / (np.exp(5) + 4), rel=1e-5),
            "word": "Smith",
            "start": len(text) - 5,
            "end": len(text),
        }
    ]


def test_windows_merge_equals_one_long_window_for_a_real_tiny_model(tagger):
    from tfner.serving.pipeline import NERPipeline

    text = "Patient John Smith was seen on 3/4/2021 at Mercy Hospital. " * 8
    short = NERPipeline(tagger, max_length=32, stride=8).probabilities([text])[0]
    full = NERPipeline(tagger, max_length=512, stride=8).probabilities([text])[0]
    np.testing.assert_array_equal(short[1], full[1])
    assert short[0].shape == full[0].shape and short[0].shape[0] > 32
    np.testing.assert_allclose(short[0].sum(-1), 1.0, atol=1e-5)


def test_batches_empty_strings_and_bad_inputs(tagger, monkeypatch):
    from tfner.serving.pipeline import NERPipeline

    rigged(tagger, monkeypatch, {"john": ("B-NAME", 5.0)})
    pipe = NERPipeline(tagger)
    assert pipe(["", "John", "   ", "no one"]) == [[], [pipe("John")[0]], [], []]
    assert pipe("") == []
    assert pipe([]) == []
    with pytest.raises(TypeError, match=r"text 1 is a int"):
        pipe(["John", 3])
    with pytest.raises(TypeError, match="NoneType"):
        pipe(None)
    with pytest.raises(ValueError, match="aggregation"):
        NERPipeline(tagger, "mean")


def test_predict_cli(trained_run, tmp_path, capsys):
    from tfner.serving.predict import main

    model = trained_run.output_dir
    (tmp_path / "in.txt").write_text("John Smith\n\n")
    (tmp_path / "in.jsonl").write_text(json.dumps({"body": "Anne"}) + "\n")
    assert (
        main(
            [
                "--model",
                str(model),
                "Hello there",
                "--file",
                str(tmp_path / "in.txt"),
                "--jsonl",
                str(tmp_path / "in.jsonl"),
                "--text-field",
                "body",
                "--aggregation",
                "first",
            ]
        )
        == 0
    )
    lines = [json.loads(l) for l in capsys.readouterr().out.splitlines()]
    assert [l["text"] for l in lines] == ["Hello there", "John Smith", "", "Anne"]
    assert lines[2]["entities"] == []
    for line in lines:
        for e in line["entities"]:
            assert e["word"] == line["text"][e["start"] : e["end"]]
    assert main(["--model", str(model), "x y", "--output", str(tmp_path / "out.jsonl")]) == 0
    assert json.loads((tmp_path / "out.jsonl").read_text())["text"] == "x y"
    capsys.readouterr()
    assert main(["--model", str(model), "--jsonl", str(tmp_path / "in.jsonl")]) == 2  # no "text" field
    err = capsys.readouterr().err.strip().splitlines()
    assert err == [f"error: {tmp_path / 'in.jsonl'}:1: no field 'text' (use --text-field)"]


def test_predict_text_trims_as_the_pipeline_does():
    """The graph's trim patterns (`signatures.TRIM`) leave what `pipeline.trim` leaves, on random texts
    of the trimmed characters, letters and Unicode spaces."""
    import tensorflow as tf
    from hypothesis import example, given, settings
    from hypothesis import strategies as st

    from tfner.serving.pipeline import NOT_FIRST, NOT_LAST, trim
    from tfner.serving.signatures import TRIM

    @settings(max_examples=200, deadline=None)
    @given(st.text(alphabet=NOT_FIRST + NOT_LAST + "()abé1٣ \t\u00a0\u3000..'", max_size=14))
    @example(" ababé., ")
    @example('"-5.')
    @example("abab.")
    @example("٣.")
    def check(word):
        start, end = trim(word, 0, len(word))
        not_first, not_last, full_stop = TRIM
        head = len(word) - len(tf.strings.regex_replace(word, not_first, "").numpy().decode())
        tail = tf.strings.regex_replace(word, not_last, "")
        tail = tf.strings.regex_replace(tf.strings.regex_replace(tail, full_stop, r"\1"), not_last, "")
        tail = len(word) - len(tail.numpy().decode())
        if end > start:
            assert (head, len(word) - tail) == (start, end)
        else:
            assert len(word) - tail <= head

    check()
