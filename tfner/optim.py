"""AdamW with linear warm-up and linear decay, and gradient clipping (the BERT fine-tuning recipe)."""

from tfner import _env  # noqa: F401
import tensorflow as tf
import tf_keras


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


def make_optimizer(peak, config, total_steps):
    """AdamW on the warm-up/decay schedule; clipping is done by the model, over all gradients at once."""
    schedule = WarmupLinearDecay(peak, total_steps, int(config.warmup_ratio * total_steps))
    optimizer = tf_keras.optimizers.AdamW(learning_rate=schedule, weight_decay=config.weight_decay,
                                          epsilon=1e-8)
    optimizer.exclude_from_weight_decay(var_names=["bias", "LayerNorm", "layer_norm"])
    return optimizer


def make_optimizers(config, total_steps):
    """(encoder optimizer, head optimizer): the head gets its own peak learning rate."""
    return (make_optimizer(config.learning_rate, config, total_steps),
            make_optimizer(config.head_learning_rate or config.learning_rate, config, total_steps))
