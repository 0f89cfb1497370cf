"""AdamW with linear warm-up and linear decay, and gradient clipping (the BERT fine-tuning recipe)."""

import tensorflow as tf
import tf_keras

from tfner.model.losses import MaskedAccuracy, masked_loss


class WarmupLinearDecay(tf_keras.optimizers.schedules.LearningRateSchedule):
    """0 -> peak over `warmup_steps`, then linearly down to 0 at `total_steps`."""

    def __init__(self, peak, total_steps, warmup_steps):
        self.peak, self.total_steps, self.warmup_steps = peak, total_steps, warmup_steps

    def __call__(self, step):
        step = tf.cast(step, tf.float32)
        warmup = tf.cast(max(self.warmup_steps, 1), tf.float32)
        total = tf.cast(max(self.total_steps, 1), tf.float32)
        rising = self.peak * (step + 1.0) / warmup
        falling = self.peak * tf.maximum(0.0, (total - step) / tf.maximum(total - warmup, 1.0))
        return tf.where(step < warmup, rising, falling)

    def get_config(self):
        return {"peak": self.peak, "total_steps": self.total_steps, "warmup_steps": self.warmup_steps}


def _in_xla():
    """Whether the op being built goes into an XLA cluster (`jit_compile`)."""
    from tf_keras.src.utils.control_flow_util import GraphOrParentsInXlaContext

    return GraphOrParentsInXlaContext(tf.compat.v1.get_default_graph())


class AdamW(tf_keras.optimizers.AdamW):
    """Keras' AdamW, with each variable's update done by TensorFlow's fused Adam kernel.

    Keras updates m, v and the variable with about ten separate element-wise ops per variable, each a
    pass over memory; `ResourceApplyAdam` is one multi-threaded pass and computes the same thing
    (m += (g - m)(1 - beta_1), v += (g^2 - v)(1 - beta_2), w -= lr_t m / (sqrt(v) + epsilon)). On the
    2-core CPU that takes MiniLM's optimizer step from 86 to 35 ms (experiments/bench_optimizer.py).
    An embedding's sparse gradient is made dense first: Keras' sparse path decays m and v of every
    row anyway, so the arithmetic is the same. Weight decay is Keras' (w -= lr * weight_decay * w,
    before the update), done here per variable with the two scalars multiplied first: one pass over
    the variable instead of Keras' two (`variable * wd * lr` multiplies the whole tensor twice).

    A variable read by a gather (an embedding: the gradient comes as IndexedSlices) is in TensorFlow's
    copy-on-read mode, in which every dense read and every dense update copies the whole variable
    first: for MiniLM's 30522 x 384 word embeddings, three 47 MB copies a step, which made its decay
    and update 2.5-3x slower than the same ops on a variable never gathered. The update switches that
    mode off (`DisableCopyOnRead`: the values stay as they are) and the next gather switches it on
    again, for free when nothing else holds the buffer.
    """

    def __init__(self, *args, lazy_embeddings=False, **kwargs):
        super().__init__(*args, **kwargs)
        self.lazy_embeddings = lazy_embeddings

    def get_config(self):
        return {**super().get_config(), "lazy_embeddings": self.lazy_embeddings}

    def _apply_weight_decay(self, variables):
        pass  # in update_step

    def update_step(self, gradient, variable):
        if self.lazy_embeddings and isinstance(gradient, tf.IndexedSlices) and not self.amsgrad and not _in_xla():
            return self._apply_adam_rows(gradient, variable)
        if isinstance(gradient, tf.IndexedSlices) and hasattr(variable, "handle") and not _in_xla():
            tf.raw_ops.DisableCopyOnRead(resource=variable.handle)  # XLA has no kernel for it (and no copies)
        if self.weight_decay and self._use_weight_decay(variable):
            decay = tf.cast(self.learning_rate, variable.dtype) * tf.cast(self.weight_decay, variable.dtype)
            variable.assign_sub(variable * decay)
        if self.amsgrad:
            return super().update_step(gradient, variable)
        self._apply_adam(gradient, variable)

    def _adam_state(self, variable):
        """The variable's m and v slots, this step's number and the betas, in the variable's dtype."""
        key = self._var_key(variable)
        dtype = variable.dtype
        step = tf.cast(self.iterations + 1, dtype)
        beta_1, beta_2 = tf.cast(self.beta_1, dtype), tf.cast(self.beta_2, dtype)
        return self._momentums[self._index_dict[key]], self._velocities[self._index_dict[key]], step, beta_1, beta_2

    def _apply_adam(self, gradient, variable):
        """The Adam update of one variable as one fused kernel (no weight decay; dense gradient)."""
        if isinstance(gradient, tf.IndexedSlices):
            gradient = tf.convert_to_tensor(gradient)
        dtype = variable.dtype
        m, v, step, beta_1, beta_2 = self._adam_state(variable)
        tf.raw_ops.ResourceApplyAdam(
            var=variable.handle,
            m=m.handle,
            v=v.handle,
            beta1_power=tf.pow(beta_1, step),
            beta2_power=tf.pow(beta_2, step),
            lr=tf.cast(self.learning_rate, dtype),
            beta1=beta_1,
            beta2=beta_2,
            epsilon=tf.cast(self.epsilon, dtype),
            grad=tf.cast(gradient, dtype),
        )

    def _apply_adam_rows(self, gradient, variable):
        """Lazy AdamW (TensorFlow Addons' `LazyAdam`, PyTorch's `SparseAdam`) for a gathered variable: only
        the rows the batch looked up are decayed and updated, each exactly as the dense update would; the
        other rows, and their m and v, stay as they are instead of drifting on their momentum."""
        rows, positions = tf.unique(gradient.indices)
        dtype = variable.dtype
        grad = tf.math.unsorted_segment_sum(tf.cast(gradient.values, dtype), positions, tf.shape(rows)[0])
        m, v, step, beta_1, beta_2 = self._adam_state(variable)
        lr = tf.cast(self.learning_rate, dtype)
        weights = tf.gather(variable, rows)
        if self.weight_decay and self._use_weight_decay(variable):
            weights -= weights * (lr * tf.cast(self.weight_decay, dtype))
        m_rows = tf.gather(m, rows) * beta_1 + grad * (1 - beta_1)
        v_rows = tf.gather(v, rows) * beta_2 + tf.square(grad) * (1 - beta_2)
        lr_t = lr * tf.sqrt(1 - tf.pow(beta_2, step)) / (1 - tf.pow(beta_1, step))
        weights -= lr_t * m_rows / (tf.sqrt(v_rows) + tf.cast(self.epsilon, dtype))
        m.scatter_update(tf.IndexedSlices(m_rows, rows))
        v.scatter_update(tf.IndexedSlices(v_rows, rows))
        variable.scatter_update(tf.IndexedSlices(weights, rows))


def lazy_embeddings(config):
    """Whether the optimizers update embeddings lazily: `config.lazy_embeddings`, except under XLA, which
    cannot compile `tf.unique` (the dense AdamW update runs there)."""
    return config.lazy_embeddings and not config.jit_compile


def make_optimizer(peak, config, total_steps):
    """AdamW on the warm-up/decay schedule; clipping is done by the model, over all gradients at once."""
    schedule = WarmupLinearDecay(peak, total_steps, int(config.warmup_ratio * total_steps))
    optimizer = AdamW(
        learning_rate=schedule,
        weight_decay=config.weight_decay,
        epsilon=1e-8,
        lazy_embeddings=lazy_embeddings(config),
    )
    optimizer.exclude_from_weight_decay(var_names=["bias", "LayerNorm", "layer_norm"])
    return optimizer


def make_optimizers(config, total_steps):
    """(encoder optimizer, head optimizer): the head gets its own peak learning rate."""
    return (
        make_optimizer(config.learning_rate, config, total_steps),
        make_optimizer(config.head_learning_rate or config.learning_rate, config, total_steps),
    )


def compile_tagger(tagger, config, total_steps):
    """Compile `tagger` for training as `config` (a `TrainConfig`) says: the encoder and head optimizers
    on the warm-up/decay schedule over `total_steps`, the masked loss and accuracy, XLA and steps per
    execution, loss scaling under mixed_float16. Call it inside the strategy's scope, like
    `Tagger.build`. Returns the tagger."""
    encoder_optimizer, head_optimizer = make_optimizers(config, total_steps)
    loss_scaled = tf_keras.mixed_precision.global_policy().name == "mixed_float16"
    if loss_scaled:
        encoder_optimizer = tf_keras.mixed_precision.LossScaleOptimizer(encoder_optimizer)
        head_optimizer = tf_keras.mixed_precision.LossScaleOptimizer(head_optimizer)
    model = tagger.model
    model.compile(
        optimizer=encoder_optimizer,
        loss=masked_loss,
        metrics=[MaskedAccuracy()],
        jit_compile=config.jit_compile,
        steps_per_execution=config.steps_per_execution,
    )
    model.head_optimizer, model.clip_norm, model.loss_scaled = head_optimizer, config.clip_norm, loss_scaled
    return tagger
