"""Sequence decoding in the SavedModel: a CRF's Viterbi, `bio` Viterbi and thresholds + IOB2 repair give
the labels of the Python decoder in `serving_default` and the pipeline's entities in `predict_text`."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tfner.model.crf import is_valid_iob2


@pytest.fixture(scope="module", params=["crf", pytest.param("bio-thresholds", marks=pytest.mark.slow)])
def exported(request, labels, tokenizer, tmp_path_factory):
    import helpers
    import tensorflow as tf
    import tensorflow_text  # noqa: F401  (registers the tokenizer ops before loading)

    from tfner.serving.export import export

    tagger = helpers.tiny_tagger(labels, tokenizer, crf=request.param == "crf", decode="bio")
    if request.param == "crf":  # random transitions, strong enough to change the argmax's decisions
        layer = tagger.model.crf_layer
        rng = np.random.default_rng(1)
        layer.set_weights([rng.normal(0, 2, w.shape).astype(np.float32) for w in layer.get_weights()])
    if request.param == "bio-thresholds":
        tagger.set_thresholds({t: 0.02 for t in tagger.decoder.types[::2]})
    root = str(tmp_path_factory.mktemp("exports"))
    path = export(tagger, request.param, output_root=root, log=lambda m: None)
    return tagger, tf.saved_model.load(path)


def test_serving_default_label_ids_are_the_decoders_over_words(exported, notes):
    import tensorflow as tf

    from tfner.model.decoding import softmax

    tagger, loaded = exported
    texts = [d.text for d in notes.documents[:6]]
    enc = tagger.tokenizer(texts, padding=True, truncation=True, max_length=96, return_tensors="np")
    out = loaded.signatures["serving_default"](
        **{k: tf.constant(enc[k], tf.int64) for k in ("input_ids", "attention_mask", "token_type_ids")}
    )
    probabilities, got = softmax(out["logits"].numpy()), out["label_ids"].numpy()
    outside = tagger.labels.index("O")
    for row in range(len(texts)):
        words = np.array([-1 if w is None else w for w in enc.word_ids(row)])
        real = words >= 0
        first = real & np.concatenate([[True], words[1:] != words[:-1]])
        expected = np.full(len(words), outside)
        expected[real] = tagger.decoder.tokens(probabilities[row][real], first[real])
        np.testing.assert_array_equal(got[row], expected)
        assert is_valid_iob2(got[row][first], tagger.labels)
    argmax = out["logits"].numpy().argmax(-1)
    assert (got != np.where(enc["attention_mask"] > 0, argmax, got)).any()  # decoding changed something


def test_predict_text_entities_equal_the_pipelines(exported, notes):
    import tensorflow as tf

    from tfner.serving.pipeline import NERPipeline

    tagger, loaded = exported
    texts = [d.text for d in notes.documents[:6]]
    out = loaded.signatures["predict_text"](text=tf.constant(texts))
    total = 0
    for n, expected in enumerate(NERPipeline(tagger, aggregation="simple")(texts)):
        count = int(out["entity_count"][n])
        got = [
            (out["entity_label"][n, k].numpy().decode(), int(out["entity_start"][n, k]), int(out["entity_end"][n, k]))
            for k in range(count)
        ]
        assert got == [(e["entity_group"], e["start"], e["end"]) for e in expected]
        total += count
    assert total > 0


@pytest.mark.parametrize("thresholds", [None, {"PATIENT": 0.5}])
def test_no_entity_runs_across_a_break_and_joined_words_stay_one(thresholds, labels, tokenizer, tmp_path):
    """A model blind to whitespace reads "Anna Virtanen" as one name wherever the two words stand; the
    pipeline and predict_text keep a name that is cut by a line break, a tab or two spaces as two."""
    import helpers
    import tensorflow as tf
    import tensorflow_text  # noqa: F401  (registers the tokenizer ops before loading)

    from tfner.serving.export import export
    from tfner.serving.pipeline import NERPipeline

    tagger = helpers.tiny_tagger(labels, tokenizer, decode="bio")
    anna, virtanen = (tokenizer(w, add_special_tokens=False)["input_ids"] for w in ("Anna", "Virtanen"))
    rules = {anna[0]: {"B-PATIENT": 5.0}, virtanen[0]: {"I-PATIENT": 5.0, "B-PATIENT": 3.0}}
    rules.update({t: {"I-PATIENT": 5.0} for t in virtanen[1:]})
    if thresholds:
        tagger.set_thresholds(thresholds)
    helpers.lookup_tagger(tagger, rules)
    texts = ["Seen: Anna Virtanen today", "Name:\nAnna\nVirtanen\n", "Anna\tVirtanen", "NAME  Anna  Virtanen  41"]
    texts.append("Pt. Anna-Virtanen.")  # a hyphen between letters joins one word: the name goes on
    one = [("PATIENT", 6, 19)]
    expected = [one, [("PATIENT", 6, 10), ("PATIENT", 11, 19)], [("PATIENT", 0, 4), ("PATIENT", 5, 13)]]
    expected += [[("PATIENT", 6, 10), ("PATIENT", 12, 20)], [("PATIENT", 4, 17)]]
    found = NERPipeline(tagger, "simple")(texts)
    assert [[(e["entity_group"], e["start"], e["end"]) for e in f] for f in found] == expected
    loaded = tf.saved_model.load(export(tagger, "breaks", output_root=str(tmp_path), log=lambda m: None))
    out = loaded.signatures["predict_text"](text=tf.constant(texts))
    got = [
        [
            (out["entity_label"][n, k].numpy().decode(), int(out["entity_start"][n, k]), int(out["entity_end"][n, k]))
            for k in range(int(out["entity_count"][n]))
        ]
        for n in range(len(texts))
    ]
    assert got == expected


WORDS = ["Anna", "Briggs", "41", "2004", "Zoë", "ﬁle", "İz", "x"]
GLUE = ["", "", "-", "/", ".", "'", "’", ",", " ", "  ", "\n", "\t", " \r\n", "\u3000", "\u00a0\u00a0"]


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(st.sampled_from(WORDS), st.sampled_from(GLUE)), min_size=1, max_size=10))
def test_predict_texts_words_and_breaks_are_align_word_starts(tokenizer, pieces):
    """The graph's words and breaks (`ServingModule._word_starts`) equal `tfner.data.align.word_starts`
    on the tokenizer's own offsets, joiners, breaks, non-ASCII letters and odd spaces included."""
    import tensorflow as tf

    from tfner.data.align import BREAK, INSIDE, word_starts
    from tfner.serving.signatures import ServingModule

    text = "".join(w + g for w, g in pieces)
    enc = tokenizer([text], add_special_tokens=False, return_offsets_mapping=True)
    offsets = np.asarray(enc["offset_mapping"][0], np.int64).reshape(-1, 2)
    words = np.array([-1 if w is None else w for w in enc.word_ids(0)])
    expected = word_starts(text, offsets, words)
    first = (words < 0) | np.concatenate([[True], words[1:] != words[:-1]])[: len(words)]
    ragged = lambda x: tf.RaggedTensor.from_row_lengths(tf.constant(x), [len(x)])
    got_first, got_breaks = ServingModule._word_starts(
        tf.constant([text]), ragged(offsets[:, 0]), ragged(offsets[:, 1]), ragged(first.astype(bool))
    )
    np.testing.assert_array_equal(got_first.flat_values.numpy(), expected != INSIDE)
    np.testing.assert_array_equal(got_breaks.flat_values.numpy(), expected == BREAK)
