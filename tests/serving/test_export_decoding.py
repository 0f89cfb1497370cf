"""Sequence decoding in the SavedModel: a CRF's Viterbi, `bio` Viterbi and thresholds + IOB2 repair give
the labels of the Python decoder in `serving_default` and the pipeline's entities in `predict_text`."""

import numpy as np
import pytest

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
