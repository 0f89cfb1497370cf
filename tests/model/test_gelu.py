"""tfner.model.gelu: the exact GELU with its gradient written out, swapped into every encoder.

It must change nothing but speed: the same outputs as TensorFlow's GELU bit for bit, the same
gradients to float32 rounding, in the encoders `build_encoder` makes.
"""

import numpy as np
import pytest
import tensorflow as tf
from helpers import TINY

from tfner.model.encoders import build_encoder, load_encoder_config
from tfner.model.gelu import gelu, use_gelu_with_own_gradient


def test_same_values_and_gradient_as_tensorflows_gelu():
    x = tf.constant(np.concatenate([np.linspace(-12, 12, 4001), [0.0, -0.0, 1e-30, -40, 40]]), tf.float32)
    with tf.GradientTape(persistent=True) as tape:
        tape.watch(x)
        stock, own = tf.nn.gelu(x), gelu(x)
        ramp = tf.range(x.shape[0], dtype=tf.float32) / 1000.0
        weighted_own, weighted_stock = tf.reduce_sum(own * ramp), tf.reduce_sum(stock * ramp)
    np.testing.assert_array_equal(own.numpy(), stock.numpy())
    np.testing.assert_allclose(tape.gradient(own, x), tape.gradient(stock, x), rtol=1e-6, atol=1e-6)
    # the incoming gradient dy is used, not assumed to be ones
    np.testing.assert_allclose(tape.gradient(weighted_own, x), tape.gradient(weighted_stock, x), rtol=1e-6, atol=1e-6)


def test_bfloat16_inputs_stay_bfloat16():
    x = tf.constant([-2.0, 0.5, 3.0], tf.bfloat16)
    with tf.GradientTape() as tape:
        tape.watch(x)
        y = gelu(x)
    assert y.dtype == tf.bfloat16 and tape.gradient(y, x).dtype == tf.bfloat16
    np.testing.assert_allclose(y.numpy().astype(np.float32), tf.nn.gelu(x).numpy().astype(np.float32))


@pytest.mark.parametrize("kind", ["bert", "distilbert"])
def test_encoders_get_it_and_train_the_same_as_with_the_stock_gelu(kind):
    if kind == "bert":
        config = load_encoder_config("minilm", dict(TINY))
    else:
        from transformers import DistilBertConfig

        config = DistilBertConfig(vocab_size=100, dim=32, n_layers=2, n_heads=2, hidden_dim=64)
    encoder = build_encoder(config)
    assert use_gelu_with_own_gradient(encoder) == 0  # build_encoder already swapped every one
    ids = tf.constant([[3, 17, 42, 8, 0], [5, 6, 7, 0, 0]])
    mask = tf.cast(ids > 0, tf.int32)

    def loss_and_gradients():
        with tf.GradientTape() as tape:
            out = encoder(input_ids=ids, attention_mask=mask, training=False).last_hidden_state
            loss = tf.reduce_sum(tf.square(out))
        grads = tape.gradient(loss, encoder.trainable_variables)
        return out.numpy(), [tf.convert_to_tensor(g).numpy() for g in grads if g is not None]

    own_out, own_grads = loss_and_gradients()
    assert use_gelu_with_own_gradient(encoder, own=False) == 2  # one feed-forward layer per block
    stock_out, stock_grads = loss_and_gradients()
    np.testing.assert_array_equal(own_out, stock_out)
    assert len(own_grads) == len(stock_grads)
    for own, stock in zip(own_grads, stock_grads):
        np.testing.assert_allclose(own, stock, rtol=1e-4, atol=1e-5)
