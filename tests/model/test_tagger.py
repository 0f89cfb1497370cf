"""The tagger model: the training step (mixed precision, loss scaling, embedding gradients, XLA, steps per
execution) and its inputs (line starts as token type ids)."""

import numpy as np
import pytest
from helpers import TINY, build_tagger

LABELS = ["O", "B-X", "I-X"]


def _batch(rows=4, length=16, seed=0):
    import tensorflow as tf

    rng = np.random.default_rng(seed)
    ids = rng.integers(1000, 3000, (rows, length)).astype(np.int32)
    y = rng.integers(0, len(LABELS), (rows, length)).astype(np.int32)
    y[:, -3:] = -100
    return {"input_ids": tf.constant(ids), "attention_mask": tf.ones((rows, length), tf.int32)}, tf.constant(y)


@pytest.fixture
def policy():
    """Set a mixed-precision policy for one test and put float32 back after it."""
    import tf_keras

    yield tf_keras.mixed_precision.set_global_policy
    tf_keras.mixed_precision.set_global_policy("float32")


def _tagger(labels=LABELS, **overrides):
    return build_tagger(labels, total_steps=10, **overrides)


@pytest.mark.parametrize("precision", ["mixed_bfloat16", "mixed_float16"])
def test_mixed_precision_keeps_logits_and_weights_float32(policy, precision):
    import tensorflow as tf

    policy(precision)
    tagger = _tagger(precision=precision, lora=True)
    x, y = _batch()
    logits = tagger.model(x)
    assert logits.dtype == tf.float32
    assert all(w.dtype == tf.float32 for w in tagger.model.weights)
    lora_a = [w for w in tagger.model.weights if "lora_kernel_a" in w.name]
    assert lora_a
    before = [w.numpy() for w in lora_a]
    logs = tagger.model.train_on_batch(x, y, return_dict=True)
    assert np.isfinite(logs["loss"])
    assert any(not np.array_equal(b, w.numpy()) for b, w in zip(before, lora_a))


def test_float16_scales_the_loss_and_skips_overflowing_steps(policy):
    import tf_keras

    policy("mixed_float16")
    tagger = _tagger(precision="mixed_float16")
    model = tagger.model
    assert model.loss_scaled
    assert isinstance(model.optimizer, tf_keras.mixed_precision.LossScaleOptimizer)
    assert isinstance(model.head_optimizer, tf_keras.mixed_precision.LossScaleOptimizer)
    x, y = _batch()
    model.optimizer._loss_scale._current_loss_scale.assign(2.0**126)  # float16 gradients overflow
    before = [w.numpy() for w in model.trainable_weights]
    model.train_on_batch(x, y)
    assert all(np.array_equal(b, w.numpy()) for b, w in zip(before, model.trainable_weights))  # skipped
    assert float(model.optimizer.loss_scale) == 2.0**125  # and the scale halved
    model.optimizer._loss_scale._current_loss_scale.assign(2.0**10)
    model.train_on_batch(x, y)
    changed = [not np.array_equal(b, w.numpy()) for b, w in zip(before, model.trainable_weights)]
    assert all(changed[-2:]) and any(changed[:-2])  # the head and the encoder both moved


def test_repeated_tokens_give_one_gradient_row_with_the_true_norm():
    import tensorflow as tf

    from tfner.model.tagger import _sum_duplicates

    grad = tf.IndexedSlices(
        tf.constant([[1.0, 2.0], [3.0, 4.0], [5.0, 6.0]]), tf.constant([4, 1, 4]), tf.constant([6, 2])
    )
    summed = _sum_duplicates(grad)
    dense = tf.convert_to_tensor(grad)
    np.testing.assert_allclose(tf.convert_to_tensor(summed).numpy(), dense.numpy())
    assert sorted(summed.indices.numpy().tolist()) == [1, 4]
    assert float(tf.linalg.global_norm([summed])) == pytest.approx(float(tf.norm(dense)))
    assert float(tf.linalg.global_norm([grad])) != pytest.approx(float(tf.norm(dense)))


@pytest.mark.parametrize("overrides", [dict(jit_compile=True), dict(steps_per_execution=3)])
def test_xla_and_steps_per_execution_train_like_the_plain_step(overrides):
    """Same data, same seed, no dropout: the same epoch losses as the plain step (both with AdamW's dense
    embedding update, which is what runs under XLA)."""
    import tf_keras

    from tfner.data.batching import make_dataset
    from tfner.data.readers import build_labels
    from tfner.data.synthetic import clinical_notes

    notes = clinical_notes(12, 1, seed=3)[0]
    no_dropout = {**TINY, "hidden_dropout_prob": 0.0, "attention_probs_dropout_prob": 0.0}
    losses = []
    for extra in ({}, overrides):
        extra = {"lazy_embeddings": False, **extra}
        tf_keras.utils.set_random_seed(0)
        tagger = _tagger(labels=build_labels(notes), dropout=0.0, encoder_overrides=no_dropout, **extra)
        data = make_dataset(tagger.encode(notes), 4, 0, padding="buckets", max_length=32, fixed_shapes=True)
        losses.append(tagger.model.fit(data, epochs=2, verbose=0).history["loss"])
    np.testing.assert_allclose(losses[1], losses[0], rtol=1e-4)


# Line starts (ModelConfig.line_starts) ---------------------------------------------------------------


def test_line_starts_add_token_type_ids_to_encoders_that_have_two_types(labels, tokenizer):
    seeing = build_tagger(labels, tokenizer)
    assert seeing.sees_layout and set(seeing.model.input) == {"input_ids", "attention_mask", "token_type_ids"}
    assert not build_tagger(labels, tokenizer, line_starts=False).sees_layout
    one_type = build_tagger(labels, tokenizer, encoder_overrides={**TINY, "type_vocab_size": 1})
    assert not one_type.sees_layout and set(one_type.model.input) == {"input_ids", "attention_mask"}


def test_the_model_reads_line_starts_and_none_given_means_none(labels, tokenizer, notes):
    """The same ids with and without line starts give different logits; a caller that gives no
    token_type_ids gets the logits of all zeros, as Hugging Face encoders default them."""
    tagger = build_tagger(labels, tokenizer)
    windows = tagger.encode(notes)
    w = next(i for i, f in enumerate(windows.line_starts()) if f.sum())  # a window with a line start
    ids = np.array([windows.input_ids[w]], np.int32)
    inputs = {"input_ids": ids, "attention_mask": np.ones_like(ids)}
    types = np.array([windows.line_starts()[w]], np.int32)
    with_types = tagger.model({**inputs, "token_type_ids": types}).numpy()
    zeros = tagger.model({**inputs, "token_type_ids": np.zeros_like(ids)}).numpy()
    np.testing.assert_allclose(tagger.model(inputs).numpy(), zeros, rtol=1e-6, atol=1e-6)
    assert np.abs(with_types - zeros).max() > 1e-4
    np.testing.assert_allclose(tagger.predict_logits(windows)[w], with_types[0], rtol=1e-5, atol=1e-5)


def test_a_table_view_model_saves_and_loads_reading_the_view(labels, tokenizer, tmp_path):
    from tfner.data.readers import Corpus, Document
    from tfner.model.config import ModelConfig
    from tfner.model.tagger import Tagger

    # on by default; a model saved before the option was trained without it
    assert ModelConfig().table_view and not ModelConfig.from_saved({"head": "linear"}).table_view
    tagger = build_tagger(labels, tokenizer, table_view=True)
    tagger.save(str(tmp_path / "m"))
    loaded = Tagger.load(str(tmp_path / "m"))
    assert loaded.config.table_view
    text = "Name\tAge\tWard\nAnn Lee\t41\tB2"
    windows = loaded.encode(Corpus([Document(text=text)], "<text>"))
    ids = loaded.tokenizer(text, add_special_tokens=False)["input_ids"]
    assert len(windows.offsets[0]) == len(ids) + 6  # "name :", "age :", "ward :" read before the cells
    assert windows.offsets[0].max() <= len(text)


def test_a_model_saved_before_line_starts_loads_without_them(labels, tokenizer, tmp_path):
    import json

    from tfner.model.config import ModelConfig
    from tfner.model.tagger import Tagger

    assert ModelConfig().line_starts and ModelConfig.from_saved(ModelConfig().to_dict()).line_starts
    tagger = build_tagger(labels, tokenizer)
    tagger.save(str(tmp_path / "m"))
    assert Tagger.load(str(tmp_path / "m")).sees_layout
    with open(tmp_path / "m" / "config.json") as f:
        saved = json.load(f)
    del saved["model"]["line_starts"]  # as tfner wrote it before the setting existed
    with open(tmp_path / "m" / "config.json", "w") as f:
        json.dump(saved, f)
    assert not ModelConfig.from_saved(saved).line_starts
    assert not Tagger.load(str(tmp_path / "m")).sees_layout
