"""LoRA: the layer, target matching, exact PEFT parameter counts, which variables train, mixed precision,
merging, merged saves (tfner.model.lora) and adapter files (tfner.model.adapters)."""

import contextlib
import io
import json
import os

import numpy as np
import pytest
from helpers import TINY, tiny_config

IDS = [[101, 2023, 2003, 1037, 3231, 102], [101, 7592, 2088, 102, 0, 0]]


def _tiny_encoder():
    from tfner.model.encoders import build_encoder, load_encoder_config

    return build_encoder(load_encoder_config("minilm", TINY))


def _hidden(encoder):
    import tensorflow as tf

    ids = tf.constant(IDS, tf.int32)
    out = encoder(input_ids=ids, attention_mask=tf.cast(ids > 0, tf.int32), training=False)
    return out.last_hidden_state.numpy()


def _dense(units=6, inputs=5, bias=True):
    import tf_keras

    dense = tf_keras.layers.Dense(units, use_bias=bias, bias_initializer="glorot_uniform")
    dense.build((None, inputs))
    return dense


def _randomize_b(layers, seed=0):
    rng = np.random.default_rng(seed)
    for layer in layers:
        layer.lora_kernel_b.assign(rng.normal(0, 0.2, layer.lora_kernel_b.shape).astype(np.float32))


# The layer --------------------------------------------------------------------------------------------


def test_lora_dense_starts_as_its_base_with_a_frozen_kernel():
    from tfner.model.lora import LoraDense

    dense = _dense()
    x = np.random.default_rng(1).normal(size=(3, 5)).astype(np.float32)
    expected = dense(x).numpy()
    layer = LoraDense(dense, lora_rank=4, lora_alpha=8, lora_dropout=0.1)
    np.testing.assert_array_equal(layer(x, training=True).numpy(), expected)  # B = 0: no change at all
    assert layer.name == dense.name
    assert layer.lora_kernel_a.shape == (5, 4) and layer.lora_kernel_b.shape == (4, 6)
    assert np.abs(layer.lora_kernel_a.numpy()).max() <= np.sqrt(6 / 5)  # he_uniform bound
    assert not layer.lora_kernel_b.numpy().any()
    assert [v.name for v in layer.trainable_weights] == [layer.lora_kernel_a.name, layer.lora_kernel_b.name]
    with_bias = LoraDense(_dense(), lora_rank=2, train_bias=True)
    assert {v.name.split("/")[-1] for v in with_bias.trainable_weights} == {
        "lora_kernel_a:0",
        "lora_kernel_b:0",
        "bias:0",
    }


@pytest.mark.parametrize(
    "rank3, use_rslora, bias", [(False, False, True), (True, False, True), (False, True, True), (True, True, False)]
)
def test_merge_unmerge(rank3, use_rslora, bias):
    from tfner.model.lora import LoraDense

    dense = _dense(bias=bias)
    kernel = dense.kernel.numpy()
    layer = LoraDense(dense, lora_rank=3, lora_alpha=6, use_rslora=use_rslora)
    _randomize_b([layer])
    scale = 6 / np.sqrt(3) if use_rslora else 6 / 3
    delta = scale * layer.lora_kernel_a.numpy() @ layer.lora_kernel_b.numpy()
    np.testing.assert_allclose(layer.get_delta_weight().numpy(), delta, rtol=1e-5, atol=1e-6)
    x = np.random.default_rng(2).normal(size=(2, 4, 5) if rank3 else (4, 5)).astype(np.float32)
    unmerged = layer(x).numpy()
    np.testing.assert_allclose(unmerged, x @ (kernel + delta) + (dense.bias.numpy() if bias else 0), atol=1e-5)
    layer.merge(safe_merge=True)
    layer.merge()  # a second merge is a no-op
    np.testing.assert_allclose(layer.base.kernel.numpy(), kernel + delta, atol=1e-6)
    np.testing.assert_allclose(layer(x).numpy(), unmerged, atol=1e-5)
    layer.unmerge()
    np.testing.assert_allclose(layer.base.kernel.numpy(), kernel, atol=1e-6)
    np.testing.assert_allclose(layer(x).numpy(), unmerged, atol=1e-6)


def test_safe_merge_refuses_non_finite_adapters():
    from tfner.model.lora import LoraDense

    layer = LoraDense(_dense(), lora_rank=2)
    layer.lora_kernel_b.assign(np.full((2, 6), np.inf, np.float32))
    kernel = layer.base.kernel.numpy()
    with pytest.raises(ValueError, match="non-finite"):
        layer.merge(safe_merge=True)
    np.testing.assert_array_equal(layer.base.kernel.numpy(), kernel)


def test_lora_dense_config_round_trip():
    from tfner.model.lora import LoraDense

    layer = LoraDense(_dense(), lora_rank=2, lora_alpha=4, lora_dropout=0.2, use_rslora=True)
    clone = LoraDense.from_config(layer.get_config())
    config, again = layer.get_config(), clone.get_config()
    assert again["base"]["config"] == config["base"]["config"]  # (the built base adds a build_config)
    assert {k: v for k, v in again.items() if k != "base"} == {k: v for k, v in config.items() if k != "base"}
    assert clone(np.ones((1, 5), np.float32)).shape == (1, 6)  # builds lazily from an unbuilt Dense
    assert clone.lora_kernel_a.shape == (5, 2)


def test_lora_config_is_validated_and_is_the_train_configs_lora_part():
    import dataclasses

    from tfner.model.lora import DEFAULT_TARGETS, LoraConfig
    from tfner.training.config import TrainConfig

    assert TrainConfig().model.lora == LoraConfig()  # one set of defaults, no drift
    assert TrainConfig.from_dict({"lora_target_regex": r".*\.query"}).model.lora.target_modules == r".*\.query"
    assert LoraConfig().target_modules == list(DEFAULT_TARGETS)
    assert {f.name for f in dataclasses.fields(LoraConfig)} == {
        "enabled",
        "r",
        "alpha",
        "dropout",
        "bias",
        "targets",
        "target_regex",
        "use_rslora",
    }
    # PEFT's names (as adapter files of tfner 0.1 stored them) map onto the same settings
    assert (
        LoraConfig.from_peft(
            {
                "r": 16,
                "lora_alpha": 32,
                "lora_dropout": 0.05,
                "bias": "lora_only",
                "target_modules": list(DEFAULT_TARGETS),
                "use_rslora": False,
            }
        )
        == LoraConfig()
    )
    assert LoraConfig.from_peft({"target_modules": r".*\.query"}).target_regex == r".*\.query"
    for bad in (
        dict(r=0),
        dict(alpha=0),
        dict(dropout=1.0),
        dict(bias="some"),
        dict(targets=[]),
        dict(target_regex="("),
    ):
        with pytest.raises(ValueError):
            LoraConfig(**bad)
    for bad in (
        dict(lora_r=0),
        dict(lora_targets=[]),
        dict(lora_target_regex="("),
        dict(lora=True, finetune="frozen"),
        dict(lora_bias="some"),
    ):
        with pytest.raises(ValueError):
            TrainConfig.from_dict(bad)


# Applying to an encoder -------------------------------------------------------------------------------


def test_targets_match_like_peft():
    from tfner.model.lora import dense_paths, match_targets

    encoder = _tiny_encoder()
    assert "encoder.layer.1.attention.self.query" in dense_paths(encoder)
    assert not any("pooler" in p for p in dense_paths(encoder))  # token classification has none
    suffix = match_targets(encoder, ["output.dense"])
    assert suffix == [
        "encoder.layer.0.attention.output.dense",
        "encoder.layer.0.output.dense",
        "encoder.layer.1.attention.output.dense",
        "encoder.layer.1.output.dense",
    ]
    exact = match_targets(encoder, ["encoder.layer.1.intermediate.dense", "query"])
    assert exact == [
        "encoder.layer.0.attention.self.query",
        "encoder.layer.1.attention.self.query",
        "encoder.layer.1.intermediate.dense",
    ]
    assert match_targets(encoder, r"encoder\.layer\.0\..*(key|value)") == [
        "encoder.layer.0.attention.self.key",
        "encoder.layer.0.attention.self.value",
    ]
    # a regex must match the whole path, so a bare name selects nothing:
    with pytest.raises(ValueError, match="regex 'query'"):
        match_targets(encoder, "query")
    assert len(match_targets(encoder, ["query", "key", "value", "output.dense", "intermediate.dense"])) == 12
    with pytest.raises(ValueError) as error:
        match_targets(encoder, ["query", "querry"])
    message = str(error.value)
    assert "'querry'" in message and "encoder.layer.N.attention.self.query (N = 0-1)" in message
    assert "'query'" not in message.split("paths are")[0]


def test_wrapping_keeps_weights_names_and_order_and_unload_restores():
    import tensorflow as tf

    from tfner.model.lora import LoraDense, apply_lora, has_lora, unload, variable_paths

    encoder = _tiny_encoder()
    before = _hidden(encoder)
    names = [v.name for v in encoder.weights]
    layer_order = [id(l) for l in encoder._flatten_layers()]
    layers = apply_lora(encoder)
    assert has_lora(encoder) and len(layers) == 12
    query = encoder.bert.encoder.layer[0].attention.self_attention.query
    assert isinstance(query, LoraDense) and query.name == "query"
    scope = query.base.kernel.name[: -len("kernel:0")]  # tf_bert_model[_N]/bert/encoder/layer_._0/...
    assert scope.endswith("/bert/encoder/layer_._0/attention/self/query/") and scope + "kernel:0" in names
    assert query.lora_kernel_a.name == scope + "lora_kernel_a:0"  # unique, and reads like the path
    np.testing.assert_array_equal(_hidden(encoder), before)  # pretrained weights untouched by wrapping
    keys = variable_paths(encoder)
    assert "encoder.layer.0.output.dense.lora_kernel_b" in keys and "embeddings.LayerNorm.beta" in keys
    with pytest.raises(ValueError, match="already has LoRA"):
        apply_lora(encoder)
    _randomize_b(layers.values())
    keys["encoder.layer.0.attention.self.query.bias"].assign_add(tf.ones(TINY["hidden_size"]))
    assert np.abs(_hidden(encoder) - before).max() > 1e-3
    unload(encoder)
    assert not has_lora(encoder)
    assert [v.name for v in encoder.weights] == names  # the order weight files rely on
    assert [id(l) for l in encoder._flatten_layers()] == layer_order
    np.testing.assert_allclose(_hidden(encoder), before, atol=1e-6)  # biases restored too


def test_merge_and_unload_gives_a_plain_encoder_computing_the_same():
    from tfner.model.lora import LoraDense, apply_lora, merge_and_unload

    encoder = _tiny_encoder()
    plain_count = len(encoder.weights)
    layers = apply_lora(encoder)
    _randomize_b(layers.values())
    adapted = _hidden(encoder)
    merge_and_unload(encoder)
    assert not any(isinstance(l, LoraDense) for l in encoder._flatten_layers())
    assert len(encoder.weights) == len(encoder.trainable_weights) == plain_count  # all trainable again
    np.testing.assert_allclose(_hidden(encoder), adapted, atol=1e-4)  # large random B, 2 layers + LayerNorm


def test_adapters_stay_float32_under_mixed_float16():
    import tensorflow as tf
    import tf_keras

    from tfner.model.lora import apply_lora, merge, unmerge

    tf_keras.mixed_precision.set_global_policy("mixed_float16")
    try:
        encoder = _tiny_encoder()
        before = _hidden(encoder)
        layers = apply_lora(encoder)
        for layer in layers.values():
            assert layer.compute_dtype == "float16"
            for variable in (layer.lora_kernel_a, layer.lora_kernel_b):
                assert variable.dtype == tf.float32
                assert type(variable).__name__ != "AutoCastVariable"  # read as float32 inside calls too
        np.testing.assert_array_equal(_hidden(encoder), before)
        _randomize_b(layers.values())
        adapted = _hidden(encoder)
        assert np.isfinite(adapted).all()
        merge(encoder)
        np.testing.assert_allclose(_hidden(encoder), adapted, rtol=5e-2, atol=5e-2)  # float16 activations
        unmerge(encoder)
    finally:
        tf_keras.mixed_precision.set_global_policy("float32")


@pytest.fixture
def zero_init(monkeypatch):
    """Counting needs no random values, and zeros are much faster to make than truncated normals."""
    import tf_keras
    from transformers.models.bert import modeling_tf_bert
    from transformers.models.roberta import modeling_tf_roberta

    for module in (modeling_tf_bert, modeling_tf_roberta):
        monkeypatch.setattr(module, "get_initializer", lambda *a, **k: tf_keras.initializers.Zeros())


def _head_parameters(labels, hidden):
    from tfner.model.config import ModelConfig
    from tfner.model.heads import HEADS

    head = HEADS["linear"].build(ModelConfig(), labels)
    head.build((None, None, hidden))
    return sum(int(np.prod(v.shape)) for v in head.weights)


def test_parameter_counts_equal_peft_for_minilm(zero_init):
    """PEFT 0.21 on MiniLM-L6 (22,565,376 without the pooler): 9 and 13 labels, the default LoRA."""
    from tfner.model.encoders import build_encoder, freeze_pooler, load_encoder_config
    from tfner.model.lora import apply_lora, count_parameters
    from tfner.training.config import TrainConfig

    encoder = build_encoder(load_encoder_config("minilm"))
    freeze_pooler(encoder)  # as load_encoder does for Tagger.build
    apply_lora(encoder, TrainConfig().model.lora)
    trainable, total = count_parameters(encoder)
    assert (trainable, total) == (684_288, 23_228_928)  # adapters 663,552 + wrapped biases 20,736
    for labels, expected in ((9, (687_753, 23_232_393)), (13, (689_293, 23_233_933))):
        head = _head_parameters(labels, 384)
        assert (trainable + head, total + head) == expected


def test_parameter_counts_equal_peft_for_roberta_base(zero_init):
    """PEFT 0.21 on RobertaConfig(), 13 labels: 2,747,149 trainable of 124,064,269 base + adapters."""
    from transformers import RobertaConfig

    from tfner.model.encoders import build_encoder, freeze_pooler
    from tfner.model.lora import LoraConfig, apply_lora, count_parameters

    encoder = build_encoder(RobertaConfig())
    freeze_pooler(encoder)
    apply_lora(encoder, LoraConfig())
    trainable, total = count_parameters(encoder)
    head = _head_parameters(13, 768)
    assert (trainable + head, total + head) == (2_747_149, 126_718_477)


@pytest.fixture(scope="module")
def train_notes():
    from tfner.data.synthetic import clinical_notes

    return clinical_notes(8, 1)[0]


@pytest.mark.parametrize("bias", ["none", "lora_only", "all"])
def test_only_intended_variables_change_in_training(bias, tiny_tagger, train_notes):
    from tfner.data.batching import make_dataset
    from tfner.model.lora import LoraConfig, apply_lora, unload, variable_paths
    from tfner.training.optim import compile_tagger

    tagger, corpus = tiny_tagger, train_notes
    config = tiny_config(learning_rate=1e-2, head_learning_rate=1e-2)
    wrapped = list(apply_lora(tagger.encoder, LoraConfig(bias=bias)))
    try:
        compile_tagger(tagger, config, 3)
        # The tagger's own train_step, run eagerly: tracing it would cost more than the three steps.
        tagger.model.run_eagerly = True
        x, y = next(iter(make_dataset(tagger.encode(corpus), 8, tagger.tokenizer.pad_token_id)))
        keys = variable_paths(tagger.encoder, include_pooler=True)
        keys.update({f"head.{v.name}": v for v in tagger.model.get_layer("head").weights})
        before = {k: v.numpy().copy() for k, v in keys.items()}
        for _ in range(3):
            tagger.model.train_on_batch(x, y)
        changed = {k for k, v in keys.items() if not np.array_equal(v.numpy(), before[k])}
        trainable = {id(v) for v in tagger.model.trainable_weights}
        declared = {k for k, v in keys.items() if id(v) in trainable}
    finally:
        unload(tagger.encoder)

    expected = {f"{p}.{n}" for p in wrapped for n in ("lora_kernel_a", "lora_kernel_b")}
    expected |= {k for k in keys if k.startswith("head.")}
    if bias == "lora_only":
        expected |= {f"{p}.bias" for p in wrapped}
    elif bias == "all":
        expected |= {k for k in keys if k.endswith((".bias", ".beta")) and not k.startswith("pooler")}
    assert changed == expected
    assert declared == expected


# Training, saving, adapters ---------------------------------------------------------------------------


@pytest.fixture(scope="module")
def base_dir(tmp_path_factory, tokenizer):
    """A tiny random 'pretrained' encoder on disk, so a fresh load gives the very same base."""
    path = tmp_path_factory.mktemp("base")
    _tiny_encoder().save_pretrained(str(path))
    tokenizer.save_pretrained(str(path))
    return str(path)


@pytest.fixture(scope="module")
def trained(tmp_path_factory, base_dir):
    from tfner.model.tagger import TaggerModel
    from tfner.training.train import train

    compile_ = TaggerModel.compile
    config = tiny_config(
        tmp_path_factory.mktemp("lora"),
        encoder=base_dir,
        pretrained=True,
        encoder_overrides={},
        lora=True,
        learning_rate=5e-3,
        synthetic_train=24,
        synthetic_test=6,
    )
    stdout = io.StringIO()
    with contextlib.redirect_stdout(stdout), pytest.MonkeyPatch.context() as patch:
        # The same train_step, run eagerly: tracing it costs more than the three steps of this run.
        patch.setattr(TaggerModel, "compile", lambda self, **kw: compile_(self, run_eagerly=True, **kw))
        tagger, metrics = train(config)
    return config, tagger, metrics, stdout.getvalue()


def _logits(tagger, corpus):
    """Logits of the labelled positions, from one eager call (no tracing: LoRA changes retrace)."""
    from tfner.data.batching import make_dataset

    windows = tagger.encode(corpus)
    x, y = next(iter(make_dataset(windows, len(windows), tagger.tokenizer.pad_token_id)))
    return tagger.model(x, training=False).numpy()[y.numpy() != -100]


def _predicted_logits(tagger, corpus):
    """The same through `Tagger.predict_logits`, the traced path every prediction takes."""
    return np.concatenate(tagger.predict_logits(tagger.encode(corpus)))


def test_training_reports_peft_parameter_line(trained):
    from tfner.model.lora import count_parameters

    _, tagger, metrics, out = trained
    trainable, total = count_parameters(tagger.model)
    assert f"trainable params: {trainable:,} || all params: {total:,} || trainable%: " in out
    assert "LoRA r=16 alpha=32 bias=lora_only, 12 layers wrapped" in out
    assert (metrics["trainable_params"], metrics["all_params"]) == (trainable, total)


def test_saved_model_is_merged_plain_and_predicts_like_the_trained_one(trained, notes):
    import h5py

    import tfner
    from tfner.model.lora import count_parameters, has_lora, is_merged, lora_layers

    config, tagger, _, _ = trained
    with h5py.File(os.path.join(config.output_dir, "weights.h5")) as f:
        names = []
        f.visit(names.append)
    assert names and not any("lora" in n for n in names)
    with open(os.path.join(config.output_dir, "config.json")) as f:
        assert json.load(f)["model"]["lora"]["enabled"] is True  # how it was trained; the weights are plain
    loaded = tfner.load(config.output_dir)
    assert not has_lora(loaded.encoder)
    assert count_parameters(loaded.model)[1] == count_parameters(tagger.model)[1] - sum(
        int(np.prod(l.lora_kernel_a.shape)) + int(np.prod(l.lora_kernel_b.shape))
        for l in lora_layers(tagger.encoder).values()
    )
    np.testing.assert_allclose(_predicted_logits(loaded, notes), _predicted_logits(tagger, notes), atol=1e-5)
    assert loaded.predict(notes) == tagger.predict(notes)
    assert has_lora(tagger.encoder) and not is_merged(tagger.encoder)  # saving left it as it was


def test_merged_and_unmerged_outputs_agree_after_training(trained, notes):
    from tfner.model.lora import is_merged, lora_layers, merge, trace_key, unmerge

    _, tagger, _, _ = trained
    kernels = {p: l.base.kernel.numpy().copy() for p, l in lora_layers(tagger.encoder).items()}
    assert any(np.abs(l.lora_kernel_b.numpy()).max() > 0 for l in lora_layers(tagger.encoder).values())
    unmerged, eager = _predicted_logits(tagger, notes), _logits(tagger, notes)
    key = trace_key(tagger.encoder)
    merge(tagger.encoder)
    try:
        assert is_merged(tagger.encoder)
        assert trace_key(tagger.encoder) != key  # what makes the tagger's traced forward pass retrace
        np.testing.assert_allclose(_predicted_logits(tagger, notes), unmerged, atol=1e-5)  # retraced
        np.testing.assert_allclose(_logits(tagger, notes), eager, atol=1e-5)
    finally:
        unmerge(tagger.encoder)
    for path, layer in lora_layers(tagger.encoder).items():
        np.testing.assert_allclose(layer.base.kernel.numpy(), kernels[path], atol=1e-6)
    np.testing.assert_allclose(_predicted_logits(tagger, notes), unmerged, atol=1e-5)


def test_merged_copy_has_the_plain_models_weights_and_count(trained, tokenizer):
    from tfner.model.lora import count_parameters
    from tfner.model.tagger import Tagger

    config, tagger, _, _ = trained
    merged = tagger.merged()
    plain = Tagger.build(config.replace(lora=False).model, tagger.labels, tokenizer)
    assert [tuple(v.shape) for v in merged.model.weights] == [tuple(v.shape) for v in plain.model.weights]
    assert count_parameters(merged.model)[1] == count_parameters(plain.model)[1]


def test_adapter_file_round_trip_onto_a_fresh_base(trained, notes):
    from safetensors.numpy import load_file

    from tfner.model.adapters import ADAPTER_CONFIG, ADAPTER_WEIGHTS, load_adapter
    from tfner.model.lora import lora_layers

    config, tagger, _, _ = trained
    adapter = os.path.join(config.output_dir, "adapter")
    weights = load_file(os.path.join(adapter, ADAPTER_WEIGHTS))
    wrapped = list(lora_layers(tagger.encoder))
    assert set(weights) == (
        {f"{p}.{n}" for p in wrapped for n in ("lora_kernel_a", "lora_kernel_b", "bias")}
        | {"head.logits.kernel", "head.logits.bias"}
    )
    size = sum(os.path.getsize(os.path.join(adapter, f)) for f in os.listdir(adapter))
    assert size < os.path.getsize(os.path.join(config.output_dir, "weights.h5")) / 5
    with open(os.path.join(adapter, ADAPTER_CONFIG)) as f:
        meta = json.load(f)
    assert meta["lora"]["r"] == 16 and meta["lora"]["bias"] == "lora_only" and meta["labels"] == tagger.labels

    restored = load_adapter(adapter)  # builds the base afresh from the run config's encoder
    assert restored.encoder is not tagger.encoder
    np.testing.assert_allclose(_logits(restored, notes), _logits(tagger, notes), atol=1e-6)
    assert restored.predict(notes) == tagger.predict(notes)


def test_adapters_swap_on_one_base(trained, notes, tmp_path):
    from tfner.model.adapters import load_adapter, save_adapter
    from tfner.model.lora import lora_layers, unload

    config, tagger, _, _ = trained
    first = os.path.join(config.output_dir, "adapter")
    expected_first = _logits(tagger, notes)
    base = load_adapter(first)  # a fresh base carrying the first adapter
    rng = np.random.default_rng(3)  # a second adapter for the same base: perturbed weights and biases
    for layer in lora_layers(base.encoder).values():
        layer.lora_kernel_b.assign_add(rng.normal(0, 0.05, layer.lora_kernel_b.shape).astype(np.float32))
        layer.base.bias.assign_add(rng.normal(0, 0.05, layer.base.bias.shape).astype(np.float32))
    expected_second = _logits(base, notes)
    assert np.abs(expected_second - expected_first).max() > 1e-3
    second = save_adapter(base, str(tmp_path / "second"))
    unload(base.encoder)  # back to the plain base: biases restored
    plain = _logits(base, notes)

    a = load_adapter(first, base=base)
    assert a.encoder is base.encoder
    np.testing.assert_allclose(_logits(a, notes), expected_first, atol=1e-6)
    b = load_adapter(second, base=a)  # unloads the first, applies the second
    np.testing.assert_allclose(_logits(b, notes), expected_second, atol=1e-6)
    a = load_adapter(first, base=b)
    np.testing.assert_allclose(_logits(a, notes), expected_first, atol=1e-6)
    unload(base.encoder)
    np.testing.assert_allclose(_logits(base, notes), plain, atol=1e-6)


def test_adapter_refuses_another_base(trained):
    from tfner.model.adapters import load_adapter
    from tfner.model.lora import has_lora
    from tfner.model.tagger import Tagger

    config, tagger, _, _ = trained
    other = Tagger.build(
        config.replace(encoder="minilm", pretrained=False, encoder_overrides=dict(TINY), lora=False).model,
        tagger.labels,
        tagger.tokenizer,
    )
    with pytest.raises(ValueError, match="another base encoder"):
        load_adapter(os.path.join(config.output_dir, "adapter"), base=other)
    assert not has_lora(other.encoder)


def test_cli_lora_flags(capsys):
    import argparse

    from tfner.training.config import add_config_arguments, config_from_args
    from tfner.training.train import main

    parser = argparse.ArgumentParser()
    add_config_arguments(parser)
    args = parser.parse_args(
        [
            "--lora",
            "--lora-r",
            "4",
            "--lora-alpha",
            "8",
            "--lora-dropout",
            "0.1",
            "--lora-bias",
            "all",
            "--lora-targets",
            "query",
            "value",
            "--lora-use-rslora",
        ]
    )
    lora = config_from_args(args).model.lora
    assert (lora.enabled, lora.r, lora.alpha, lora.dropout, lora.bias, lora.targets, lora.use_rslora) == (
        True,
        4,
        8.0,
        0.1,
        "all",
        ["query", "value"],
        True,
    )
    with pytest.raises(SystemExit):
        main(["--help"])
    text = capsys.readouterr().out
    for flag in (
        "--lora",
        "--lora-r",
        "--lora-alpha",
        "--lora-dropout",
        "--lora-bias {none,all,lora_only}",
        "--lora-targets",
        "--lora-target-regex",
    ):
        assert flag in text
    assert main(["--lora", "--finetune", "frozen"]) == 2
    assert "finetune=frozen" in capsys.readouterr().err
