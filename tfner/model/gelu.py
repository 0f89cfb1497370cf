"""The encoders' exact GELU with its derivative written out, for faster training steps.

Hugging Face TF encoders call `tf.nn.gelu(x)` (x·Φ(x), through `erfc`) in every feed-forward layer.
TensorFlow differentiates that op by op, keeping several intermediate tensors of the widest
activation in the model (batch x length x intermediate size) and running about twice the
element-wise passes of the closed form Φ(x) + x·φ(x). Writing the gradient out cut the GELU's share
of a MiniLM training step from 9.5 % to 5.9 % (experiments/results/profile_step.md) and made a whole
CoNLL epoch 1.02x faster (bench_whole_epoch_fine.md; 1.04x on 2,000 sentences, bench_epoch.md), with
the same validation F1 to 4 decimals (speed_changes_f1_gelu_buckets.md). The forward pass is the
same arithmetic as `tf.nn.gelu` (bit for bit: only multiplications by 0.5 are reordered), so
predictions, exported models and pretrained weights are unchanged.
"""

from __future__ import annotations

import tensorflow as tf

_RSQRT2 = 0.7071067811865476  # 1/sqrt(2)
_RSQRT2PI = 0.3989422804014327  # 1/sqrt(2·pi)


@tf.custom_gradient
def gelu(x):
    """Exact GELU x·Φ(x) with the gradient dy·(Φ(x) + x·φ(x))."""
    with tf.name_scope("gelu"):  # experiments/profile_step.py files the ops under these scopes as GELU
        cdf = 0.5 * tf.math.erfc(x * -_RSQRT2)
        y = x * cdf

    def grad(dy):
        with tf.name_scope("gelu_gradient"):
            return dy * (cdf + x * (tf.exp(-0.5 * tf.square(x)) * _RSQRT2PI))

    return y, grad


def use_gelu_with_own_gradient(encoder, own: bool = True) -> int:
    """Point the encoder's feed-forward activations that are Hugging Face's exact "gelu" at `gelu`
    above (`own=False` puts the stock function back). Layers keep the activation as an attribute
    (`intermediate_act_fn` in BERT, RoBERTa, XLM-R, ELECTRA; `activation` in DistilBERT), so every
    attribute holding it is swapped; other activations are left alone. Returns how many changed."""
    from transformers.activations_tf import get_tf_activation

    stock = get_tf_activation("gelu")
    old, new = (stock, gelu) if own else (gelu, stock)
    changed = 0
    for layer in encoder._flatten_layers(include_self=True):
        for attribute, value in list(vars(layer).items()):
            if value is old:
                object.__setattr__(layer, attribute, new)  # plain functions: no Keras tracking needed
                changed += 1
    return changed
