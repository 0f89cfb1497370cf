"""The optimizer step alone: Keras' AdamW against tfner's fused AdamW on MiniLM's variables.

    python experiments/bench_optimizer.py [--steps 20]

Builds MiniLM + linear head (`Tagger.build`), takes its trainable variables (22.6M parameters) and one
set of random gradients shaped like a training step's (the word-embedding gradient as IndexedSlices
of 1,024 looked-up rows, as a batch of 32 x 32 tokens gives it; dense for the rest), and times
`apply_gradients` inside a `tf.function`, Keras' `tf_keras.optimizers.AdamW` and `tfner.optim.AdamW`
alternately, with weight decay as `tfner.optim.make_optimizer` sets it. Reports the median milliseconds
per step of each and their ratio; checks the two left the same weights.

Writes experiments/results/bench_optimizer.{json,md}. Needs nothing but the offline MiniLM.
"""

import argparse
import os
import sys
import time

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
import tensorflow as tf  # noqa: E402
import tf_keras  # noqa: E402

import tfner  # noqa: E402,F401
from experiments.common import write_results  # noqa: E402
from tfner.model.tagger import Tagger  # noqa: E402
from tfner.training.config import TrainConfig  # noqa: E402
from tfner.training.optim import AdamW  # noqa: E402


def gradients(variables, rows, seed=0):
    rng = np.random.default_rng(seed)
    grads = []
    for v in variables:
        if "word_embeddings" in v.name:
            indices = rng.integers(0, v.shape[0], rows)
            grads.append(
                tf.IndexedSlices(
                    tf.constant(rng.normal(size=(rows, v.shape[1])), tf.float32),
                    tf.constant(indices),
                    tf.constant(v.shape.as_list()),
                )
            )
        else:
            grads.append(tf.constant(rng.normal(size=v.shape.as_list()) * 1e-3, tf.float32))
    return grads


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--steps", type=int, default=20, help="timed steps per optimizer")
    args = parser.parse_args()
    config = TrainConfig.from_dict({"head": "linear"})
    tagger = Tagger.build(config.model, ["O", "B-X", "I-X"])
    model_variables = tagger.model.trainable_variables
    start_values = [v.numpy() for v in model_variables]
    grads = gradients(model_variables, rows=1024)
    runs = {}
    for name, cls in (("Keras AdamW", tf_keras.optimizers.AdamW), ("tfner fused AdamW", AdamW)):
        variables = [tf.Variable(value, name=v.name.split(":")[0]) for v, value in zip(model_variables, start_values)]
        optimizer = cls(learning_rate=5e-5, weight_decay=config.weight_decay, epsilon=1e-8)
        optimizer.exclude_from_weight_decay(var_names=["bias", "LayerNorm", "layer_norm"])
        step = tf.function(
            lambda optimizer=optimizer, variables=variables: optimizer.apply_gradients(zip(grads, variables))
        )
        runs[name] = (variables, step)
    times = {name: [] for name in runs}
    for _, (_, step) in runs.items():
        step()  # trace and create the slots
    for _ in range(args.steps):
        for name, (_, step) in runs.items():
            begin = time.perf_counter()
            step().numpy()
            times[name].append(time.perf_counter() - begin)
    moved = max(float(np.max(np.abs(v.numpy() - value))) for v, value in zip(runs["Keras AdamW"][0], start_values))
    assert moved > 0, "the Keras run did not move its weights"
    difference = max(
        float(np.max(np.abs(a.numpy() - b.numpy()))) for a, b in zip(*(variables for variables, _ in runs.values()))
    )
    medians = {name: float(np.median(t)) * 1000 for name, t in times.items()}
    ratio = medians["Keras AdamW"] / medians["tfner fused AdamW"]
    parameters = int(sum(np.prod(v.shape) for v in model_variables))
    lines = [
        f"AdamW step on MiniLM + linear head ({parameters:,} trainable parameters), {os.cpu_count()} CPU cores, "
        f"TensorFlow {tf.__version__}; median of {args.steps} steps each, alternating.",
        "",
        "| optimizer | ms per step |",
        "|---|---|",
    ]
    lines += [f"| {name} | {ms:.1f} |" for name, ms in medians.items()]
    lines += [
        "",
        f"Fused is {ratio:.1f}x faster; largest weight difference after {args.steps + 1} identical steps: "
        f"{difference:.2e}.",
    ]
    write_results(
        "bench_optimizer",
        {
            "parameters": parameters,
            "steps": args.steps,
            "ms_per_step": medians,
            "ratio": ratio,
            "max_weight_difference": difference,
            "seconds": times,
        },
        "\n".join(lines),
    )


if __name__ == "__main__":
    main()
