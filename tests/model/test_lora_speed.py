"""LoraDense's cheaper training path: the same outputs and gradients as the plain formula
`base(x) + scale * (x·A)·B`, no gradient into the frozen kernel, and dropout drawn on the rank-r product."""

import numpy as np
import pytest


def _layer(train_bias=True, dropout=0.0, dropout_on="rank", seed=0):
    import tf_keras

    from tfner.model.lora import LoraDense

    dense = tf_keras.layers.Dense(6, bias_initializer="glorot_uniform")
    dense.build((None, 5))
    layer = LoraDense(
        dense, lora_rank=3, lora_alpha=6, lora_dropout=dropout, train_bias=train_bias, lora_dropout_on=dropout_on
    )
    rng = np.random.default_rng(seed)
    layer.lora_kernel_b.assign(rng.normal(0, 0.3, (3, 6)).astype(np.float32))
    return layer


def _reference(layer, x):
    """The update as written in the paper and as LoraDense computed it before: base Dense + (x·A·B)·scale."""
    import tensorflow as tf

    base = tf.tensordot(x, layer.base.kernel, [[2], [0]]) + layer.base.bias
    return (
        base
        + tf.tensordot(tf.tensordot(x, layer.lora_kernel_a, [[2], [0]]), layer.lora_kernel_b, [[2], [0]]) * layer.scale
    )


def _x(shape=(2, 4, 5)):
    return np.random.default_rng(1).normal(size=shape).astype(np.float32)


def test_outputs_equal_the_plain_formula():
    layer = _layer()
    x = _x()
    for training in (False, True):
        np.testing.assert_allclose(
            layer(x, training=training).numpy(), _reference(layer, x).numpy(), rtol=1e-5, atol=1e-6
        )
    assert layer(x).shape == (2, 4, 6)


def test_gradients_equal_the_plain_formula_and_skip_the_frozen_kernel():
    import tensorflow as tf

    layer = _layer(train_bias=True)
    x = tf.constant(_x())
    weights = [layer.lora_kernel_a, layer.lora_kernel_b, layer.base.bias]
    target = tf.constant(np.random.default_rng(2).normal(size=(2, 4, 6)).astype(np.float32))
    grads = {}
    for name, forward in (("new", lambda: layer(x, training=True)), ("plain", lambda: _reference(layer, x))):
        with tf.GradientTape(persistent=True) as tape:
            tape.watch(x)
            loss = tf.reduce_sum((forward() - target) ** 2)
        grads[name] = [g.numpy() for g in tape.gradient(loss, weights + [x])]
        grads[name + " kernel"] = tape.gradient(loss, layer.base.kernel)
    for new, plain in zip(grads["new"], grads["plain"]):
        np.testing.assert_allclose(new, plain, rtol=1e-5, atol=1e-5)
    assert grads["plain kernel"] is not None  # the plain formula would train it
    assert grads["new kernel"] is None  # read through stop_gradient: no weight-gradient product

    frozen_bias = _layer(train_bias=False)
    with tf.GradientTape() as tape:
        loss = tf.reduce_sum(frozen_bias(x, training=True))
    assert tape.gradient(loss, frozen_bias.base.bias) is None


def _random_shapes(layer, shape, training):
    """Output shapes of the random-number ops in the traced call."""
    import tensorflow as tf

    traced = tf.function(lambda x: layer(x, training=training)).get_concrete_function(tf.TensorSpec(shape, tf.float32))
    return [tuple(op.outputs[0].shape) for op in traced.graph.get_operations() if "Random" in op.type]


def test_dropout_is_drawn_on_the_low_rank_product_and_skipped_when_off():
    # rows x r (8 x 3) random numbers instead of rows x fan_in (8 x 5)
    assert _random_shapes(_layer(dropout=0.5), (2, 4, 5), True) == [(8, 3)]
    assert _random_shapes(_layer(dropout=0.5, dropout_on="input"), (2, 4, 5), True) == [(8, 5)]
    assert _random_shapes(_layer(dropout=0.0), (2, 4, 5), True) == []
    assert _random_shapes(_layer(dropout=0.5), (2, 4, 5), False) == []


def test_dropout_on_the_rank_product_drops_whole_components_and_keeps_the_mean():
    import tensorflow as tf

    layer = _layer(dropout=0.5)
    x = np.repeat(_x((1, 1, 5)), 4000, axis=1)  # one input, many rows: each row draws its own mask
    out = layer(x, training=True).numpy()[0]
    base = (x[0, :1] @ layer.base.kernel.numpy() + layer.base.bias.numpy())[0]
    low = (x[0, :1] @ layer.lora_kernel_a.numpy())[0] * layer.scale
    b = layer.lora_kernel_b.numpy()
    # every row is base + sum over a subset S of the components of 2·low[j]·B[j]
    subsets = [sum((2 * low[j] * b[j] for j in range(3) if (mask >> j) & 1), np.zeros(6)) for mask in range(8)]
    distance = np.min([np.abs(out - base - s).max(axis=1) for s in subsets], axis=0)
    assert distance.max() < 1e-4
    np.testing.assert_allclose(out.mean(0), _reference(layer, tf.constant(x[:, :1])).numpy()[0, 0], atol=0.1)


def test_dropout_placement_round_trips_and_is_checked():
    from tfner.model.lora import LoraDense

    layer = _layer(dropout=0.1, dropout_on="input")
    assert LoraDense.from_config(layer.get_config()).lora_dropout_on == "input"
    with pytest.raises(ValueError, match="lora_dropout_on"):
        _layer(dropout_on="output")
