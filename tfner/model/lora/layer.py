"""`LoraDense`: a frozen Dense layer plus a trainable low-rank update, in float32 under any policy."""

import contextlib
import math

import numpy as np
import tensorflow as tf
import tf_keras


def _move(layer, variable, trainable):
    """Move `variable` between `layer`'s own trainable and non-trainable lists (the Keras 2 way to
    freeze one variable of a layer and not the other). True if it moved."""
    src, dst = (
        (layer._non_trainable_weights, layer._trainable_weights)
        if trainable
        else (layer._trainable_weights, layer._non_trainable_weights)
    )
    for i, v in enumerate(src):
        if v is variable:
            del src[i]
            dst.append(variable)
            return True
    return False


def _lists(layer):
    return list(layer._trainable_weights), list(layer._non_trainable_weights)


def _restore_lists(layer, lists):
    # In place, and in the original order: a layer's weight order is its order in weight files.
    layer._trainable_weights[:], layer._non_trainable_weights[:] = lists


@tf_keras.utils.register_keras_serializable(package="tfner")
class LoraDense(tf_keras.layers.Layer):
    """A Dense layer with a frozen kernel and a trainable low-rank update:
    `base(x) + dropout(scale * x·A)·B`, `scale = lora_alpha / lora_rank` (or `/ sqrt(lora_rank)`).

    Training it costs less than training the Dense: the frozen kernel is read through `stop_gradient`,
    so the backward pass builds only the input gradient of the base product (no weight gradient), the
    base product and its bias run as one fused op, and dropout draws r random numbers per row instead
    of one per input feature. The dropout sits on
    the rank-r product x·A by default; PEFT (and tfner until this change) drop features of the input x
    instead, `lora_dropout_on="input"`. Both keep the expected update (inverted dropout) and are the
    same function at inference; what differs is the noise: per row, "rank" zeroes whole components
    of the update (each with probability `lora_dropout`), "input" zeroes input features.

    Args:
        base: tf_keras.layers.Dense. The layer to adapt, usually already built with pretrained weights;
            its variables are kept as they are (the wrapper takes its name and dtype policy).
        lora_rank: int. The rank r of the update; A is (input x r), B is (r x units).
        lora_alpha: float. Scales the update by lora_alpha / r.
        lora_dropout: float. Dropout rate in the adapter path only (no op when 0).
        lora_dropout_on: str. Where that dropout goes: "rank" (on x·A, r values a row, the default)
            or "input" (on x, PEFT's placement: fan_in values a row).
        use_rslora: bool. Rank-stabilised scale lora_alpha / sqrt(r).
        train_bias: bool. Whether the base layer's bias trains (the kernel never does).
    """

    def __init__(
        self,
        base,
        lora_rank=16,
        lora_alpha=32.0,
        lora_dropout=0.0,
        use_rslora=False,
        train_bias=False,
        lora_dropout_on="rank",
        **kwargs,
    ):
        if not isinstance(base, tf_keras.layers.Dense):
            raise TypeError(f"LoraDense wraps a tf_keras Dense layer, got {type(base).__name__}")
        if base.activation is not tf_keras.activations.linear:
            # The update belongs before the activation; the encoders' targets have none.
            raise ValueError(
                f"{base.name}: LoRA on a Dense layer with an activation ({base.activation.__name__}) is not supported"
            )
        if lora_dropout_on not in ("rank", "input"):
            raise ValueError(f"lora_dropout_on={lora_dropout_on!r}: expected 'rank' or 'input'")
        kwargs.setdefault("name", base.name)
        kwargs.setdefault("dtype", base.dtype_policy)
        super().__init__(**kwargs)
        self.base = base
        self.lora_rank = lora_rank
        self.lora_alpha = lora_alpha
        self.lora_dropout = lora_dropout
        self.lora_dropout_on = lora_dropout_on
        self.use_rslora = use_rslora
        self.train_bias = train_bias
        self.scale = lora_alpha / (math.sqrt(lora_rank) if use_rslora else lora_rank)
        self.merged = False
        # float32 whatever the policy: the adapter path runs in float32 (no fp16 underflow/overflow).
        self.dropout_layer = tf_keras.layers.Dropout(lora_dropout, dtype="float32", name="lora_dropout")
        # The base's own weight lists as they were, for release(); kept out of Keras attribute tracking
        # (a tracked list would make the variables checkpoint dependencies twice).
        self.__dict__["_base_lists"] = None
        if base.built:
            self._create_adapters()

    def build(self, input_shape):
        if not self.base.built:
            self.base.build(input_shape)
        if not hasattr(self, "lora_kernel_a"):
            self._create_adapters()
        self.built = True

    def _create_adapters(self):
        kernel = self.base.kernel
        fan_in, units = int(kernel.shape[0]), int(kernel.shape[1])
        # In the base kernel's name scope, so that the names are unique and read like the layer's path
        # (.../attention/self/query/lora_kernel_a:0) whatever scope the wrapping runs in.
        scope = kernel.name.split(":")[0].rsplit("/", 1)[0] + "/" if "/" in kernel.name else None
        with tf.name_scope(scope) if scope else contextlib.nullcontext():
            self.lora_kernel_a = self.add_weight(
                "lora_kernel_a",
                (fan_in, self.lora_rank),
                dtype="float32",
                initializer=tf_keras.initializers.HeUniform(),
                experimental_autocast=False,
            )
            self.lora_kernel_b = self.add_weight(
                "lora_kernel_b",
                (self.lora_rank, units),
                dtype="float32",
                initializer="zeros",
                experimental_autocast=False,
            )
        self.__dict__["_base_lists"] = _lists(self.base)
        _move(self.base, kernel, False)
        if self.base.bias is not None:
            _move(self.base, self.base.bias, self.train_bias)
        self.built = True

    def call(self, inputs, training=None):
        return self._adapted(inputs, training)

    @tf.autograph.experimental.do_not_convert  # plain Python branches; converting cost 0.1 s a layer
    def _adapted(self, inputs, training):
        if self.merged:
            return self.base(inputs)
        kernel, bias = self.base.kernel, self.base.bias
        fan_in, units = int(kernel.shape[0]), int(kernel.shape[1])
        # All products as 2-D ones: tensordot's shape juggling made graph building twice as slow.
        flat = tf.reshape(inputs, [-1, fan_in])
        # The base Dense, computed here rather than by calling it: the frozen kernel is read through
        # stop_gradient, so no weight-gradient product for it is even built (its variable is still
        # `trainable` to TensorFlow, only Keras' lists say otherwise, and the tape watches it; inside
        # tf.function the unused product was already pruned, experiments/profile_step.py). As a plain
        # matmul + bias_add, Grappler fuses the two (_FusedMatMul), which tensordot's reshape prevented.
        outputs = tf.matmul(flat, tf.stop_gradient(tf.cast(kernel, flat.dtype)))
        if bias is not None:
            bias = tf.cast(bias, outputs.dtype)
            outputs = tf.nn.bias_add(outputs, bias if self.train_bias else tf.stop_gradient(bias))
        with tf.name_scope("lora"):
            # float32 whatever the policy; the scale goes on the (rows x r) product, the cheapest place
            x = tf.cast(flat, tf.float32)
            if self.lora_dropout_on == "input":  # PEFT's placement: a mask over every input feature
                x = self.dropout_layer(x, training=training)
            low = tf.matmul(x, self.lora_kernel_a) * self.scale
            if self.lora_dropout_on == "rank":  # a mask over the r components of x·A: fan_in / r times fewer
                low = self.dropout_layer(low, training=training)
            outputs = outputs + tf.cast(tf.matmul(low, self.lora_kernel_b), outputs.dtype)
        shape = tf.concat([tf.shape(inputs)[:-1], [units]], 0)
        outputs = tf.reshape(outputs, shape)
        outputs.set_shape(inputs.shape[:-1].concatenate([units]))
        return outputs

    def get_delta_weight(self):
        """The update `scale * A @ B` (input x units, float32): the one place it is computed."""
        return self.scale * tf.matmul(self.lora_kernel_a, self.lora_kernel_b)

    def merge(self, safe_merge=False):
        """Fold the update into the base kernel; the adapter path is then skipped."""
        if self.merged:
            return
        delta = self.get_delta_weight()
        if safe_merge and not np.isfinite((tf.cast(self.base.kernel, tf.float32) + delta).numpy()).all():
            raise ValueError(f"{self.name}: merging would give non-finite kernel values; adapter broken?")
        self.base.kernel.assign_add(tf.cast(delta, self.base.kernel.dtype))
        self.merged = True

    def unmerge(self):
        """Take the update back out of the base kernel (exact within float32 rounding)."""
        if not self.merged:
            return
        self.base.kernel.assign_sub(tf.cast(self.get_delta_weight(), self.base.kernel.dtype))
        self.merged = False

    def release(self):
        """Give the base layer its variables' trainability back (before it replaces this wrapper)."""
        if self._base_lists is not None:
            _restore_lists(self.base, self._base_lists)
        self.__dict__["_base_lists"] = None

    def get_config(self):
        config = super().get_config()
        config.update(
            {
                "base": tf_keras.layers.serialize(self.base),
                "lora_rank": self.lora_rank,
                "lora_alpha": self.lora_alpha,
                "lora_dropout": self.lora_dropout,
                "lora_dropout_on": self.lora_dropout_on,
                "use_rslora": self.use_rslora,
                "train_bias": self.train_bias,
            }
        )
        return config

    @classmethod
    def from_config(cls, config):
        config = dict(config)
        config["base"] = tf_keras.layers.deserialize(config["base"])
        return cls(**config)
