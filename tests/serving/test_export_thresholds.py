"""Recall-first thresholds in the SavedModel: both signatures decide as the Python decoder does."""

import numpy as np
import pytest


@pytest.fixture(scope="module")
def thresholded(labels, tokenizer, tmp_path_factory):
    import helpers
    import tensorflow as tf
    import tensorflow_text  # noqa: F401  (registers the tokenizer ops before loading)

    from tfner.serving.export import export

    tagger = helpers.tiny_tagger(labels, tokenizer, decode="argmax")  # per token; bio: test_export_decoding
    types = tagger.decoder.types
    # low thresholds on half the types, so the decision differs from the argmax on a random model
    tagger.set_thresholds({t: 0.02 for t in types[::2]})
    path = export(tagger, "thresholded", output_root=str(tmp_path_factory.mktemp("exports")), log=lambda m: None)
    return tagger, tf.saved_model.load(path), path


def test_serving_default_label_ids_apply_the_thresholds(thresholded, notes):
    import tensorflow as tf

    from tfner.model.decoding import softmax

    tagger, loaded, _ = thresholded
    enc = tagger.tokenizer(
        [d.text for d in notes.documents[:4]], padding=True, truncation=True, max_length=64, return_tensors="np"
    )
    out = loaded.signatures["serving_default"](
        **{k: tf.constant(enc[k], tf.int64) for k in ("input_ids", "attention_mask", "token_type_ids")}
    )
    expected = tagger.decoder(softmax(out["logits"].numpy()))
    assert (out["label_ids"].numpy() == expected).all()
    assert (expected != out["logits"].numpy().argmax(-1)).any()  # the thresholds changed something


def test_predict_text_applies_the_thresholds_as_the_pipeline_does(thresholded, notes):
    import tensorflow as tf

    from tfner.serving.pipeline import NERPipeline

    tagger, loaded, path = thresholded
    texts = [d.text for d in notes.documents[:4]]
    out = loaded.signatures["predict_text"](text=tf.constant(texts))
    pipe = NERPipeline(tagger, aggregation="simple")  # the same windows as predict_text
    for n, expected in enumerate(pipe(texts)):
        count = int(out["entity_count"][n])
        got = [
            (out["entity_label"][n, k].numpy().decode(), int(out["entity_start"][n, k]), int(out["entity_end"][n, k]))
            for k in range(count)
        ]
        assert got == [(e["entity_group"], e["start"], e["end"]) for e in expected]
    assert open(f"{path}/assets/thresholds.json").read().count("thresholds") == 1
    assert np.sum(out["entity_count"].numpy()) > 0
