"""predict_text on whole documents: windows in the graph, merged as the pipeline merges them."""

import numpy as np
import pytest


def entities(out, n):
    return [
        (
            out["entity_label"][n, k].numpy().decode(),
            int(out["entity_start"][n, k]),
            int(out["entity_end"][n, k]),
            out["entity_text"][n, k].numpy().decode(),
            float(out["entity_score"][n, k]),
        )
        for k in range(int(out["entity_count"][n]))
    ]


def export_and_load(tagger, tmp_path):
    import tensorflow as tf
    import tensorflow_text  # noqa: F401  (registers the tokenizer ops before loading)

    from tfner.serving.export import export

    return tf.saved_model.load(export(tagger, "windows", output_root=str(tmp_path), log=lambda m: None))


def lookup_tagger(tagger, names):
    """`tagger` with a context-free model (`helpers.lookup_tagger`): B-PATIENT for the first token of
    `names`' entries, I-PATIENT for the rest, O for every other token. It finds a name anywhere."""
    import helpers

    rules = {}
    for name in names:
        for i, token in enumerate(tagger.tokenizer(name, add_special_tokens=False)["input_ids"]):
            rules[token] = {"B-PATIENT" if i == 0 else "I-PATIENT": 5.0}
    return helpers.lookup_tagger(tagger, rules)


@pytest.fixture(scope="module")
def long_notes(notes):
    """Notes of about 20,000 characters (the synthetic notes joined), a short one and an empty one."""
    texts = [d.text for d in notes.documents]
    joined = "\n\n".join(texts * 8)
    return [joined[:20000], joined[7000:27000], texts[0], ""]


def test_predict_text_equals_the_pipeline_on_20000_character_notes(tiny_tagger, long_notes, tmp_path):
    """A random tiny model tags plenty of tokens everywhere: every window and every merge decision shows."""
    import tensorflow as tf

    from tfner.serving.pipeline import NERPipeline

    tagger = tiny_tagger
    loaded = export_and_load(tagger, tmp_path)
    out = loaded.signatures["predict_text"](text=tf.constant(long_notes))
    expected = NERPipeline(tagger, "simple")(long_notes)
    assert len(tagger.tokenizer.tokenize(long_notes[0])) > 100 * tagger.config.max_length
    for n, text in enumerate(long_notes):
        got = entities(out, n)
        assert [g[:3] for g in got] == [(e["entity_group"], e["start"], e["end"]) for e in expected[n]], n
        for (_, start, end, word, score), e in zip(got, expected[n]):
            assert word == text[start:end] == e["word"]
            assert score == pytest.approx(e["score"], abs=1e-4)
    assert len(expected[0]) > 200 and expected[0][-1]["end"] > 18000  # not vacuous, found to the end
    assert int(out["entity_count"][3]) == 0


def test_a_name_at_the_end_of_a_20000_character_note_is_found(labels, tokenizer, long_notes, tmp_path):
    import helpers
    import tensorflow as tf

    from tfner.serving.pipeline import NERPipeline

    tagger = lookup_tagger(helpers.build_tagger(labels, tokenizer), ["Zebulon Quartermaine"])
    body = long_notes[0].replace("Zebulon", "Z")
    text = "Zebulon Quartermaine was seen. " + body + " Signed: Zebulon Quartermaine"
    assert len(text) > 20000
    out = export_and_load(tagger, tmp_path).signatures["predict_text"](text=tf.constant([text]))
    got = [g[:4] for g in entities(out, 0)]
    end = len(text)
    assert got[0] == ("PATIENT", 0, 20, "Zebulon Quartermaine")
    assert got[-1] == ("PATIENT", end - 20, end, "Zebulon Quartermaine")
    want = NERPipeline(tagger, "simple")(text)
    assert got == [(e["entity_group"], e["start"], e["end"], e["word"]) for e in want]
    assert int(out["entity_count"][0]) == len(want)


@pytest.mark.slow  # keeps the default run short; make test-all runs it
def test_rows_run_sorted_in_chunks_as_one_pass_would(tiny_tagger, tmp_path):
    """serving_default with chunks of 3 rows equals one pass over the padded request (mixed lengths,
    right and left padding), and an empty request answers with empty outputs."""
    import tensorflow as tf
    import tensorflow_text  # noqa: F401

    from tfner.serving.export import export

    chunked = tf.saved_model.load(export(tiny_tagger, "c3", output_root=str(tmp_path), log=print, chunk=3))
    lengths = [5, 17, 2, 30, 9, 30, 3]
    rng = np.random.default_rng(0)
    ids = np.zeros((len(lengths), 32), np.int64)
    mask = np.zeros_like(ids)
    for n, length in enumerate(lengths):
        at = 2 if n == 4 else 0  # row 4 is padded on the left too
        ids[n, at : at + length] = rng.integers(1000, 5000, length)
        mask[n, at : at + length] = 1
    out = chunked.signatures["serving_default"](input_ids=ids, attention_mask=mask, token_type_ids=0 * ids)
    assert out["logits"].shape == (len(lengths), 32, len(tiny_tagger.labels))
    for n, length in enumerate(lengths):
        end = length + (2 if n == 4 else 0)
        want = tiny_tagger.model(
            {
                "input_ids": ids[n : n + 1, :end].astype(np.int32),
                "attention_mask": mask[n : n + 1, :end].astype(np.int32),
            },
            training=False,
        ).numpy()[0]
        real = mask[n, :end].astype(bool)
        np.testing.assert_allclose(out["logits"].numpy()[n, :end][real], want[real], atol=1e-4)
        assert not out["logits"].numpy()[n, end:].any()  # past the last real token: 0
    empty = np.zeros((0, 0), np.int64)
    out = chunked.signatures["serving_default"](input_ids=empty, attention_mask=empty, token_type_ids=empty)
    assert out["logits"].shape[0] == 0
    out = chunked.signatures["predict_text"](text=tf.constant([], tf.string))
    assert out["entity_count"].shape == (0,)
