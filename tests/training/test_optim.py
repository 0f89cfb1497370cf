"""tfner.training.optim: the fused AdamW must update exactly like Keras' AdamW; the warm-up/decay schedule;
compile_tagger."""

import numpy as np
import pytest


def _variables(tf, seed):
    rng = np.random.default_rng(seed)
    return [
        tf.Variable(rng.normal(size=(6, 4)).astype(np.float32), name="embeddings"),
        tf.Variable(rng.normal(size=(4, 3)).astype(np.float32), name="kernel"),
        tf.Variable(rng.normal(size=(3,)).astype(np.float32), name="bias"),
    ]


@pytest.mark.parametrize("weight_decay, amsgrad", [(0.0, False), (0.01, False), (0.01, True)])
def test_fused_adamw_matches_keras_adamw_on_dense_and_sparse_gradients(weight_decay, amsgrad):
    import tensorflow as tf
    import tf_keras

    from tfner.training.optim import AdamW, WarmupLinearDecay

    runs = []
    for cls in (tf_keras.optimizers.AdamW, AdamW):
        variables = _variables(tf, seed=0)
        optimizer = cls(
            learning_rate=WarmupLinearDecay(1e-2, 10, 2), weight_decay=weight_decay, epsilon=1e-8, amsgrad=amsgrad
        )
        optimizer.exclude_from_weight_decay(var_names=["bias"])
        rng = np.random.default_rng(1)
        for _ in range(6):
            # an embedding gradient as a lookup gives it: one row per occurrence, row 2 twice
            sparse = tf.IndexedSlices(
                tf.constant(rng.normal(size=(3, 4)), tf.float32), tf.constant([2, 0, 2]), tf.constant([6, 4])
            )
            dense = [tf.constant(rng.normal(size=v.shape), tf.float32) for v in variables[1:]]
            optimizer.apply_gradients(zip([sparse] + dense, variables))
        runs.append([v.numpy() for v in variables])
    for keras_weights, fused_weights in zip(*runs):
        np.testing.assert_allclose(fused_weights, keras_weights, rtol=1e-5, atol=1e-6)
    assert not np.allclose(runs[0][0], _variables(tf, seed=0)[0].numpy())  # the weights did move


def test_warmup_then_linear_decay():
    from tfner.training.optim import WarmupLinearDecay

    schedule = WarmupLinearDecay(1.0, total_steps=10, warmup_steps=4)
    values = [float(schedule(step)) for step in range(11)]
    np.testing.assert_allclose(values[:4], [0.25, 0.5, 0.75, 1.0])
    np.testing.assert_allclose(values[4:], [1.0, 5 / 6, 4 / 6, 3 / 6, 2 / 6, 1 / 6, 0.0])


def test_compile_tagger_compiles_as_the_config_says(tiny_tagger):
    from helpers import tiny_config

    from tfner.model.losses import MaskedAccuracy, masked_loss
    from tfner.training.optim import AdamW, compile_tagger

    config = tiny_config(learning_rate=1e-3, head_learning_rate=0.0, warmup_ratio=0.2, clip_norm=0.5)
    assert compile_tagger(tiny_tagger, config, 10) is tiny_tagger
    model = tiny_tagger.model
    assert isinstance(model.optimizer, AdamW) and isinstance(model.head_optimizer, AdamW)
    assert model.optimizer is not model.head_optimizer
    # step 0 of 2 warm-up steps; head_learning_rate 0 means the encoder's rate
    assert float(model.optimizer.learning_rate) == pytest.approx(1e-3 / 2)
    assert float(model.head_optimizer.learning_rate) == pytest.approx(1e-3 / 2)
    assert model.clip_norm == 0.5 and model.loss_scaled is False
    assert model.loss is masked_loss and isinstance(model.compiled_metrics._metrics[0], MaskedAccuracy)
    compile_tagger(tiny_tagger, tiny_config(learning_rate=1e-3, head_learning_rate=4e-3, warmup_ratio=0.0), 10)
    assert float(model.optimizer.learning_rate) == pytest.approx(1e-3)
    assert float(model.head_optimizer.learning_rate) == pytest.approx(4e-3)


def _traced_gather_steps(tf, optimizer, ids, steps=4):
    """`steps` traced steps that gather rows `ids` of a (6, 4) table and update it with `optimizer`: the
    table after them and the rows each step gathered (after its update)."""
    table = tf.Variable(np.random.default_rng(0).normal(size=(6, 4)).astype(np.float32), name="embeddings")

    @tf.function
    def step():
        with tf.GradientTape() as tape:
            loss = tf.reduce_sum(tf.sin(tf.gather(table, ids)))
        optimizer.apply_gradients([(tape.gradient(loss, table), table)])
        return tf.gather(table, ids)

    seen = [step().numpy() for _ in range(steps)]
    return table.numpy(), seen


def test_fused_adamw_on_a_gathered_embedding_matches_keras_adamw_in_a_traced_step():
    """A gathered variable is in copy-on-read mode, which the update switches off (for speed only):
    gather, update and gather again in one traced step give Keras' numbers."""
    import tensorflow as tf
    import tf_keras

    from tfner.training.optim import AdamW

    ids = tf.constant([[1, 4, 1], [0, 5, 2]])
    runs = [
        _traced_gather_steps(tf, cls(learning_rate=1e-2, weight_decay=0.01, epsilon=1e-8), ids)
        for cls in (tf_keras.optimizers.AdamW, AdamW)
    ]
    np.testing.assert_allclose(runs[1][0], runs[0][0], rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(runs[1][1], runs[0][1], rtol=1e-5, atol=1e-6)


def _lazy_run(tf, optimizer, rows_per_step, steps=5):
    """Apply `steps` sparse gradients (the rows of each step in `rows_per_step`, one row twice) to the
    (6, 4) embeddings of `_variables`; returns the embeddings, m and v after each step."""
    table = _variables(tf, seed=0)[0]
    rng = np.random.default_rng(1)
    seen = []
    for step in range(steps):
        rows = rows_per_step[step % len(rows_per_step)]
        gradient = tf.IndexedSlices(
            tf.constant(rng.normal(size=(len(rows), 4)), tf.float32), tf.constant(rows), tf.constant([6, 4])
        )
        optimizer.apply_gradients([(gradient, table)])
        m, v = optimizer._momentums[0], optimizer._velocities[0]
        seen.append((table.numpy(), m.numpy(), v.numpy()))
    return seen


def test_lazy_embeddings_update_the_rows_looked_up_like_adamw_and_leave_the_others_alone():
    import tensorflow as tf
    import tf_keras

    from tfner.training.optim import AdamW, WarmupLinearDecay

    def optimizer(cls, **kwargs):
        return cls(learning_rate=WarmupLinearDecay(1e-2, 10, 2), weight_decay=0.01, epsilon=1e-8, **kwargs)

    # every row in every step (row 2 twice, summed): exactly Keras' AdamW
    every = [[2, 0, 1, 2, 3, 4, 5]]
    lazy = _lazy_run(tf, optimizer(AdamW, lazy_embeddings=True), every)
    keras = _lazy_run(tf, optimizer(tf_keras.optimizers.AdamW), every)
    for a, b in zip(lazy, keras):
        for lazy_value, keras_value in zip(a, b):
            np.testing.assert_allclose(lazy_value, keras_value, rtol=1e-5, atol=1e-7)

    # rows 1 and 5 never looked up: they, their m and v stay as they were; row 3 moves only when looked up
    start = _variables(tf, seed=0)[0].numpy()
    lazy = _lazy_run(tf, optimizer(AdamW, lazy_embeddings=True), [[2, 0, 2, 3, 4], [0, 4]])
    dense = _lazy_run(tf, optimizer(AdamW), [[2, 0, 2, 3, 4], [0, 4]])
    for table, m, v in lazy:
        np.testing.assert_array_equal(table[[1, 5]], start[[1, 5]])
        assert not m[[1, 5]].any() and not v[[1, 5]].any()
    assert not np.array_equal(lazy[0][0][3], start[3])
    np.testing.assert_array_equal(lazy[1][0][3], lazy[0][0][3])  # step 2 did not look row 3 up
    np.testing.assert_array_equal(lazy[2][0][3] != lazy[1][0][3], True)  # step 3 did
    assert not np.array_equal(dense[1][0][1], start[1])  # the dense update decays every row
    # the first step, where lazy and dense differ only in the rows not looked up, agrees on the others
    np.testing.assert_allclose(lazy[0][0][[0, 2, 3, 4]], dense[0][0][[0, 2, 3, 4]], rtol=1e-6)


def test_lazy_embeddings_in_a_traced_step_on_a_gathered_table():
    import tensorflow as tf
    import tf_keras

    from tfner.training.optim import AdamW

    ids = tf.constant([[1, 4, 1], [0, 5, 2], [3, 3, 3]])  # every row, some twice
    lazy = _traced_gather_steps(
        tf, AdamW(learning_rate=1e-2, weight_decay=0.01, epsilon=1e-8, lazy_embeddings=True), ids
    )
    keras = _traced_gather_steps(
        tf, tf_keras.optimizers.AdamW(learning_rate=1e-2, weight_decay=0.01, epsilon=1e-8), ids
    )
    np.testing.assert_allclose(lazy[0], keras[0], rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(lazy[1], keras[1], rtol=1e-5, atol=1e-6)


def test_lazy_embeddings_are_the_default_and_give_way_to_xla(tiny_tagger):
    from helpers import tiny_config

    from tfner.training.config import TrainConfig
    from tfner.training.optim import compile_tagger

    assert TrainConfig().lazy_embeddings
    compile_tagger(tiny_tagger, tiny_config(), 10)
    assert tiny_tagger.model.optimizer.lazy_embeddings and tiny_tagger.model.head_optimizer.lazy_embeddings
    assert tiny_tagger.model.optimizer.get_config()["lazy_embeddings"] is True
    # XLA cannot compile tf.unique: under jit_compile the dense update runs, and the config says so
    compile_tagger(tiny_tagger, tiny_config(jit_compile=True), 10)
    assert not tiny_tagger.model.optimizer.lazy_embeddings and not tiny_tagger.model.head_optimizer.lazy_embeddings
    compile_tagger(tiny_tagger, tiny_config(lazy_embeddings=False), 10)
    assert not tiny_tagger.model.optimizer.lazy_embeddings
