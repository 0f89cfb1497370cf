"""tfner.model.heads, through taggers built on the tiny random 2-layer encoder."""

import numpy as np
import pytest
import tf_keras
from helpers import TINY, build_tagger

from tfner.core.config import flat_fields
from tfner.model.heads import HEADS
from tfner.training.config import TrainConfig

LABELS = ["O", "B-LOC", "I-LOC", "B-PER", "I-PER"]
TEXTS = ["Patient Marlon Brando, phone +47 912 34 567.", "Born in Oslo."]


@pytest.fixture(scope="module")
def build(tokenizer):
    """Build (and cache) a Tagger per set of config overrides."""
    cache = {}

    def get(**overrides):
        key = tuple(sorted((k, str(v)) for k, v in overrides.items()))
        if key not in cache:
            cache[key] = build_tagger(LABELS, tokenizer, **overrides)
        return cache[key]

    return get


@pytest.fixture(scope="module")
def inputs(tokenizer):
    batch = tokenizer(TEXTS, padding=True, return_tensors="np")
    return {
        "input_ids": batch["input_ids"].astype(np.int32),
        "attention_mask": batch["attention_mask"].astype(np.int32),
    }


def dense_layers(tagger):
    return [l for l in tagger.model.get_layer("head").layers if isinstance(l, tf_keras.layers.Dense)]


def test_registry_matches_the_config_choices():
    choices = flat_fields(TrainConfig)["head"][1].metadata["choices"]  # the --head choices
    assert sorted(HEADS) == sorted(choices) == ["linear", "mlp", "replace-last"]
    assert {name: spec.layers_dropped for name, spec in HEADS.items()} == {"linear": 0, "mlp": 0, "replace-last": 1}


@pytest.mark.parametrize("head", sorted(HEADS))
def test_output_shape_and_unbounded_logits(build, inputs, head):
    tagger = build(head=head)
    logits = tagger.model(inputs, training=False).numpy()
    assert logits.shape == (2, inputs["input_ids"].shape[1], len(LABELS))
    assert logits.dtype == np.float32
    # logits, not probabilities: no softmax at the end
    assert (logits < 0).any()
    assert not np.allclose(logits.sum(-1), 1.0, atol=1e-3)
    assert dense_layers(tagger)[-1].activation is tf_keras.activations.linear
    assert dense_layers(tagger)[-1].name == "logits" and dense_layers(tagger)[-1].units == len(LABELS)
    # deterministic at inference (dropout off)
    np.testing.assert_array_equal(tagger.model(inputs, training=False).numpy(), logits)
    # the encoder feeding it is the tiny random one
    assert tagger.encoder.config.hidden_size == 32


def test_linear_head_is_one_dense_layer(build):
    tagger = build(head="linear")
    layers = dense_layers(tagger)
    assert [l.units for l in layers] == [len(LABELS)]
    assert layers[0].kernel.shape == (32, len(LABELS))
    assert isinstance(tagger.model.get_layer("head").layers[0], tf_keras.layers.Dropout)
    assert tagger.model.get_layer("head").layers[0].rate == pytest.approx(0.1)


def test_mlp_head_default_sizes(build):
    layers = dense_layers(build(head="mlp"))
    assert [l.units for l in layers] == [20, 8, len(LABELS)]
    assert [l.activation for l in layers] == [
        tf_keras.activations.relu,
        tf_keras.activations.relu,
        tf_keras.activations.linear,
    ]
    assert [tuple(l.kernel.shape) for l in layers] == [(32, 20), (20, 8), (8, len(LABELS))]


def test_mlp_head_custom_sizes(build, inputs):
    tagger = build(head="mlp", mlp_sizes=[32, 16])
    layers = dense_layers(tagger)
    assert [l.units for l in layers] == [32, 16, len(LABELS)]
    assert [l.activation for l in layers[:-1]] == [tf_keras.activations.relu] * 2
    assert tagger.model(inputs, training=False).shape[-1] == len(LABELS)


def test_replace_last_drops_one_encoder_layer(build):
    tagger = build(head="replace-last")
    assert TINY["num_hidden_layers"] == 2
    assert tagger.encoder.config.num_hidden_layers == 1
    assert len(tagger.encoder.bert.encoder.layer) == 1
    assert [l.units for l in dense_layers(tagger)] == [len(LABELS)]
    assert build(head="linear").encoder.config.num_hidden_layers == 2


def test_frozen_trains_only_the_head(build):
    tagger = build(head="mlp", finetune="frozen")
    head = tagger.model.get_layer("head")
    trainable = {w.name for w in tagger.model.trainable_weights}
    assert trainable == {w.name for w in head.trainable_weights}
    assert len(trainable) == 6  # 3 Dense layers: kernel and bias each
    assert tagger.encoder.trainable_weights == []
    assert len(tagger.model.non_trainable_weights) == len(tagger.encoder.weights) > 0


def test_full_finetune_trains_encoder_but_not_pooler(build):
    tagger = build(head="linear")
    names = [w.name for w in tagger.model.trainable_weights]
    assert any("embeddings" in n for n in names) and any("layer_._1/" in n for n in names)
    assert not any("pooler" in n for n in names)
    frozen = [w.name for w in tagger.model.non_trainable_weights]
    assert frozen and all("pooler" in n for n in frozen)
    assert sorted(n.split("/")[-1] for n in frozen) == ["bias:0", "kernel:0"]
