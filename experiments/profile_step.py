"""Where a training step's time goes: TensorFlow's profiler over a few steps, op time by family.

    python experiments/profile_step.py [--sentences 640] [--steps 12] [--configs full lora]

MiniLM + linear head, CoNLL-2003 train batches of 32, float32, trained through the same code as
`python -m tfner.train` (`Tagger.build`, `compile_tagger`, `make_dataset`, the model's `train_step`).
Every batch shape is run once first (tracing), then `--steps` batches run under
`tf.profiler.experimental` and the trace (XSpace, the same file TensorBoard's profile plugin reads) is
read back here: each TensorFlow op's time is put in a family by its type and name scope (the backward
ops live under `gradient_tape/`; of the two products of a MatMul's gradient the one TensorFlow names
`..._1` is the weight gradient). Shares are of the summed op time; the step's wall time and the
float32 matrix-product peak (2048x2048, measured in the same run) are printed beside them, with the
GFLOP/s the dense and attention products reach (their FLOPs counted from the batch shapes).

Configurations: `full` (every weight trains) and `lora` (LoRA r=16 on the default targets) as tfner
runs them now; `full, before` (tfner's AdamW, TensorFlow's GELU gradient and batches padded to their
bucket's bound as before issue 17: `bench_train.legacy_optimizer`, `bench_train.stock_gelu`,
`fixed_shapes`), `full, stock GELU` (only the GELU as
before, `tfner.model.gelu` undone) and `lora-legacy` (the adapter path, the optimizer and the GELU
and the batch widths as they were before issue 17: the base Dense called as is, dropout on the
adapter's full input; see `bench_train.py`).
Writes experiments/results/profile_step.{json,md}.
"""

import argparse
import collections
import glob
import os
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
import tensorflow as tf  # noqa: E402
import tf_keras  # noqa: E402
from tensorflow.tsl.profiler.protobuf import xplane_pb2  # noqa: E402

import tfner  # noqa: E402,F401
from experiments.bench_train import (  # noqa: E402
    legacy_lora,
    legacy_optimizer,
    matmul_peak,
    stock_gelu,
    train_flops,
)
from experiments.common import machine, require_conll, write_results  # noqa: E402
from tfner.data.batching import make_dataset  # noqa: E402
from tfner.data.readers import Corpus, build_labels, read_conll  # noqa: E402
from tfner.model.tagger import Tagger  # noqa: E402
from tfner.training.config import TrainConfig  # noqa: E402
from tfner.training.optim import compile_tagger  # noqa: E402

BOUND_WIDTHS = ("full, before", "lora-legacy")  # batches padded to their bucket's bound, as before issue 17
CONFIGS = {
    "full, before": {},
    "full": {},
    "full, stock GELU": {},
    "lora-legacy": {"lora": True},
    "lora": {"lora": True},
}

# Families, in the order the table lists them. A name scope decides before the op type does.
FAMILIES = (
    "dense products, forward",
    "dense products, input gradient",
    "dense products, weight gradient",
    "attention products (BatchMatMul)",
    "softmax",
    "dropout (random masks and their use)",
    "layer norm",
    "GELU",
    "other element-wise and reductions",
    "reshape / transpose / copies",
    "embeddings (gather, scatter-add)",
    "loss and head",
    "optimizer (clipping, AdamW)",
    "other",
)
MATMULS = {"MatMul", "_MklMatMul", "_FusedMatMul", "_MklFusedMatMul", "MatMulV2"}
BATCH_MATMULS = {"BatchMatMulV2", "BatchMatMulV3", "_MklBatchMatMulV2", "BatchMatMul", "_FusedBatchMatMulV2"}
MOVES = {
    "Reshape", "Transpose", "_MklTranspose", "ConcatV2", "Pack", "Unpack", "Slice", "StridedSlice",
    "Identity", "Shape", "ExpandDims", "Squeeze", "Fill", "ZerosLike", "OnesLike", "BroadcastTo",
    "Tile", "Pad", "Const", "GatherV2", "StridedSliceGrad", "Range", "ShapeN", "BroadcastArgs",
    "BroadcastGradientArgs", "DynamicStitch", "ReadVariableOp", "_Recv", "_Send", "Cast",
}  # fmt: skip
SKIP = ("ThreadpoolListener", "ExecutorState", "__inference", "_Retval", "_Arg", "NoOp")


def family(name, op_type):
    lower = name.lower()
    backward = "gradient_tape" in lower or "gradients" in lower
    if any(s in lower for s in ("adamw", "adam/", "clip_by_global_norm", "resourceapply")) or op_type.startswith(
        "ResourceApply"
    ):
        return "optimizer (clipping, AdamW)"
    if "/head/" in lower or "masked_loss" in lower or "sparse_softmax_cross_entropy" in lower or "masked" in lower:
        return "loss and head"
    if op_type in MATMULS:
        if not backward:
            return "dense products, forward"
        return "dense products, weight gradient" if lower.endswith("_1") else "dense products, input gradient"
    if op_type in BATCH_MATMULS:
        return "attention products (BatchMatMul)"
    if "dropout" in lower or op_type in ("RandomUniform", "StatelessRandomUniformV2", "RandomUniformInt"):
        return "dropout (random masks and their use)"
    if "layernorm" in lower or "layer_norm" in lower or op_type.startswith("FusedBatchNorm"):
        return "layer norm"
    if "softmax" in lower:
        return "softmax"
    feed_forward = "/intermediate/" in lower and "/intermediate/dense" not in lower  # BERT: the GELU's scope
    if feed_forward or "gelu" in lower or op_type in ("Erf", "Erfc"):
        return "GELU"
    if "embedding" in lower or op_type in ("ResourceGather", "UnsortedSegmentSum", "Unique", "ResourceGatherNd"):
        return "embeddings (gather, scatter-add)"
    if op_type in MOVES:
        return "reshape / transpose / copies"
    if op_type:
        return "other element-wise and reductions"
    return "other"


def read_trace(logdir):
    """[(op name, op type, seconds)] of every TensorFlow op the trace under `logdir` holds."""
    (path,) = glob.glob(os.path.join(logdir, "**", "*.xplane.pb"), recursive=True)
    space = xplane_pb2.XSpace()
    with open(path, "rb") as f:
        space.ParseFromString(f.read())
    ops = []
    for plane in space.planes:
        if plane.name != "/host:CPU":
            continue
        for line in plane.lines:
            if not line.name.startswith("tf_Compute") and not line.name.startswith("tf_inter"):
                continue
            for event in line.events:
                meta = plane.event_metadata[event.metadata_id]
                if meta.name.startswith(SKIP) or ":" not in meta.name:
                    continue
                name, op_type = meta.name.rsplit(":", 1)
                ops.append((name, meta.display_name or op_type, event.duration_ps / 1e12))
    return ops


def profile(name, overrides, corpus, labels, args):
    config = TrainConfig.from_dict(
        # the dense AdamW update, as when profile_step.md was written (lazy embeddings are a default since)
        {"head": "linear", "batch_size": 32, "epochs": 1, "seed": 0, "max_length": 128, "lazy_embeddings": False}
        | overrides
    )
    tf_keras.backend.clear_session()
    restores = [legacy_lora()] if name == "lora-legacy" else []
    restores += [legacy_optimizer()] if name in ("lora-legacy", "full, before") else []
    try:
        tagger = Tagger.build(config.model, labels)
        if name in ("full, before", "full, stock GELU", "lora-legacy"):
            stock_gelu(tagger.encoder)
        windows = tagger.encode(corpus)
        data = make_dataset(
            windows,
            32,
            tagger.tokenizer.pad_token_id,
            shuffle=True,
            seed=0,
            padding="buckets",
            max_length=128,
            fixed_shapes=name in BOUND_WIDTHS,
        )
        batches = list(data)
        compile_tagger(tagger, config, len(batches) * 4)
        # what fit runs per batch, without the iterator; like fit's, one trace serves every shape
        step = tf.function(tagger.model.train_step, reduce_retracing=True)
        seen = set()
        for x, y in batches:  # trace every shape outside the profile
            if x["input_ids"].shape not in seen:
                seen.add(x["input_ids"].shape)
                step((x, y))
        timed = batches[: args.steps]
        logdir = tempfile.mkdtemp(prefix=f"profile_{name.replace(' ', '_')}_")
        tf.profiler.experimental.start(logdir)
        start = time.perf_counter()
        for x, y in timed:
            logs = step((x, y))
        float(logs["loss"])
        wall = time.perf_counter() - start
        tf.profiler.experimental.stop()
    finally:
        for restore in restores:
            restore()
    ops = read_trace(logdir)
    by_family = collections.Counter()
    by_type = collections.Counter()
    for op_name, op_type, seconds in ops:
        by_family[family(op_name, op_type)] += seconds
        by_type[op_type] += seconds
    total = sum(by_family.values())
    lora_r = config.model.lora.r if config.model.lora.enabled else 0
    shapes = [tuple(x["input_ids"].shape) for x, _ in timed]
    flops = sum(train_flops(tagger.encoder.config, s, lora_r) for s in shapes)
    products = sum(by_family[f] for f in FAMILIES[:4])
    row = {
        "config": overrides,
        "steps": len(timed),
        "batch_shapes": shapes,
        "sentences": sum(int((x["attention_mask"].numpy().sum(1) > 0).sum()) for x, _ in timed),
        "wall_seconds": wall,
        "op_seconds": total,
        "families": {f: by_family[f] for f in FAMILIES},
        "top_op_types": dict(by_type.most_common(25)),
        "weight_gradient_products": sum(1 for n, t, _ in ops if family(n, t) == "dense products, weight gradient"),
        "model_gflop": flops / 1e9,
        "gflops_wall": flops / wall / 1e9,
        "gflops_in_products": flops / max(products, 1e-9) / 1e9,
        "trace": logdir,
    }
    print(
        f"{name}: {len(timed)} steps in {wall:.2f} s ({row['sentences'] / wall:.1f} sentences/s), op time "
        f"{total:.2f} s, {row['gflops_wall']:.0f} GFLOP/s over the wall time",
        flush=True,
    )
    return row


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sentences", type=int, default=640)
    parser.add_argument("--steps", type=int, default=12, help="profiled steps per configuration")
    parser.add_argument("--configs", nargs="+", choices=list(CONFIGS), default=list(CONFIGS))
    parser.add_argument("--name", default="profile_step", help="results file name")
    parser.add_argument("--note", default="", help="a line for the results file (e.g. what else was running)")
    parser.add_argument(
        "--inter-op", type=int, help="TensorFlow inter-op threads (ops run side by side; default: TensorFlow's)"
    )
    args = parser.parse_args()
    if args.inter_op:
        tf.config.threading.set_inter_op_parallelism_threads(args.inter_op)
    train_path, _ = require_conll()
    full = read_conll(train_path)
    labels = build_labels(full)
    corpus = Corpus(full.documents[: args.sentences], full.source)
    peak = matmul_peak(tf.float32)
    print(f"float32 matrix-product peak (2048x2048): {peak:.0f} GFLOP/s", flush=True)
    rows = {name: profile(name, CONFIGS[name], corpus, labels, args) for name in args.configs}
    names = list(rows)
    lines = [
        f"MiniLM + linear head, CoNLL-2003 train (first {args.sentences} sentences, shuffled, buckets), batches "
        f"of 32, float32, {os.cpu_count()} CPU cores (inter-op threads: {args.inter_op or 'default'}), "
        f"TensorFlow {tf.__version__}; {args.steps} steps profiled "
        f"per configuration after every batch shape was traced. Float32 matrix-product peak in this run: "
        f"{peak:.0f} GFLOP/s. Share = the family's op time / all op time (ops on the two inter-op threads can "
        "overlap, so op time can exceed the wall time).",
        "",
    ]
    if args.note:
        lines += [args.note, ""]
    lines += [
        "| op family | " + " | ".join(f"{n} share | {n} ms/step" for n in names) + " |",
        "|---|" + "---|---|" * len(names),
    ]
    for f in FAMILIES:
        cells = []
        for n in names:
            r = rows[n]
            cells += [f"{r['families'][f] / r['op_seconds']:.1%}", f"{1e3 * r['families'][f] / r['steps']:.1f}"]
        lines.append(f"| {f} | " + " | ".join(cells) + " |")
    lines.append(
        "| **all ops** | "
        + " | ".join(f"100% | {1e3 * rows[n]['op_seconds'] / rows[n]['steps']:.1f}" for n in names)
        + " |"
    )
    lines.append(
        "| **wall time of the step** | "
        + " | ".join(f" | {1e3 * rows[n]['wall_seconds'] / rows[n]['steps']:.1f}" for n in names)
        + " |"
    )
    lines += ["", "| | " + " | ".join(names) + " |", "|---|" + "---|" * len(names)]
    for label, key, fmt in (
        ("sentences/s (profiled steps)", None, None),
        ("model GFLOP/s over the wall time", "gflops_wall", "{:.0f}"),
        ("  as a share of the fp32 peak", "peak", None),
        ("GFLOP/s inside the product ops", "gflops_in_products", "{:.0f}"),
        ("weight-gradient products executed", "weight_gradient_products", "{}"),
    ):
        cells = []
        for n in names:
            r = rows[n]
            if key is None:
                cells.append(f"{r['sentences'] / r['wall_seconds']:.1f}")
            elif key == "peak":
                cells.append(f"{r['gflops_wall'] / peak:.0%}")
            else:
                cells.append(fmt.format(r[key]))
        lines.append(f"| {label} | " + " | ".join(cells) + " |")
    lines += ["", "Top op types (ms/step):", ""]
    for n in names:
        r = rows[n]
        top = ", ".join(f"{t} {1e3 * s / r['steps']:.1f}" for t, s in list(r["top_op_types"].items())[:12])
        lines.append(f"- {n}: {top}")
    write_results(
        args.name,
        {"machine": machine(), "peak_gflops_float32": peak, "args": vars(args), "figures": rows},
        "\n".join(lines),
    )


if __name__ == "__main__":
    main()
