"""Whole epochs against the PyTorch peer in alternating pairs: the ratio with the machine's drift taken out.

    python experiments/bench_pairs.py --pairs 3 --pytorch ../torch-venv/bin/python [--configs buckets]

One pair is one timed epoch of each tfner configuration (experiments/bench_train.py's `run_config`: a
fresh model, every batch shape warmed up first) and one timed epoch of Hugging Face PyTorch eager
(experiments/bench_pytorch_eager.py, full fine-tuning) on the same sentences (--sentences 0: the whole
CoNLL-2003 train set, 14,041 sentences). The order alternates, tfner first in odd pairs and the peer
first in even ones, so a machine that slows down or speeds up over the hour favours neither side. Each
pair gives a ratio (tfner / peer sentences/s, measured minutes apart); several --configs run in the
given order in odd pairs and reversed in even ones, each compared with the first pair by pair. The
report gives every pair, the median and the range of the ratios, and the float32 matrix-product peak
before each pair (the machine's state). On this 2-core machine the peer's whole-epoch figure moved
between 28.8 and 45.0 sentences/s over five sessions, which is why single runs did not settle the ratio.

Writes experiments/results/NAME.{json,md} (--name, default bench_pairs). Needs ../shared/datasets/conll2003.
"""

import argparse
import os
import statistics
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
import tensorflow as tf  # noqa: E402

import tfner  # noqa: E402,F401
from experiments.bench_train import CONFIGS, matmul_peak, pytorch_eager, run_config  # noqa: E402
from experiments.common import require_conll, write_results  # noqa: E402
from tfner.data.readers import Corpus, build_labels, read_conll  # noqa: E402


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--pairs", type=int, default=3)
    parser.add_argument("--sentences", type=int, default=0, help="the first N sentences; 0: the whole train set")
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--configs", nargs="+", choices=list(CONFIGS), default=["buckets"])
    parser.add_argument("--pytorch", metavar="PYTHON", required=True, help="a Python with torch and transformers")
    parser.add_argument("--name", default="bench_pairs")
    args = parser.parse_args()
    if any(CONFIGS[name].get("lora") for name in args.configs):
        parser.error("full fine-tuning rows only: the pairs time the peer's full fine-tuning")
    args.rounds, args.max_tokens = 1, None  # what run_config and pytorch_eager read
    train_path, _ = require_conll()
    full = read_conll(train_path)
    labels = build_labels(full)
    args.sentences = args.sentences or len(full.documents)
    corpus = Corpus(full.documents[: args.sentences], full.source)

    bfloat16 = any(CONFIGS[name].get("precision") == "mixed_bfloat16" for name in args.configs)
    pairs = []
    for i in range(args.pairs):
        peak = matmul_peak(tf.float32)
        print(f"pair {i + 1}: float32 matrix-product peak {peak:.0f} GFLOP/s", flush=True)
        peaks = {"float32": peak, "bfloat16": matmul_peak(tf.bfloat16) if bfloat16 else None}
        peer_first = i % 2 == 1
        pair = {"pair": i + 1, "peer_first": peer_first, "fp32_peak_gflops": peak}
        if peer_first:
            pair["pytorch"] = pytorch_eager(args.pytorch, train_path, args, ["full"])["full"]
        # several tfner configurations alternate their order too (reversed in even pairs)
        order = args.configs[::-1] if peer_first else args.configs
        speeds = {
            name: run_config(name, CONFIGS[name], corpus, labels, args, peaks)["sentences_per_second"] for name in order
        }
        pair["tfner"] = {name: speeds[name] for name in args.configs}
        if not peer_first:
            pair["pytorch"] = pytorch_eager(args.pytorch, train_path, args, ["full"])["full"]
        pair["ratio"] = {name: speed / pair["pytorch"] for name, speed in pair["tfner"].items()}
        print(", ".join(f"{n} {r:.2f}x" for n, r in pair["ratio"].items()), flush=True)
        pairs.append(pair)

    summary = {
        name: {
            "median_ratio": statistics.median(p["ratio"][name] for p in pairs),
            "min_ratio": min(p["ratio"][name] for p in pairs),
            "max_ratio": max(p["ratio"][name] for p in pairs),
            "median_sentences_per_second": statistics.median(p["tfner"][name] for p in pairs),
        }
        for name in args.configs
    }
    base = args.configs[0]
    for name in args.configs[1:]:  # against the first configuration, pair by pair
        summary[name][f"median_vs_{base}"] = statistics.median(p["tfner"][name] / p["tfner"][base] for p in pairs)
    peer_median = statistics.median(p["pytorch"] for p in pairs)
    lines = [
        f"MiniLM + linear head, full fine-tuning in float32, CoNLL-2003 train first {args.sentences} sentences, "
        f"batches of {args.batch_size}, {os.cpu_count()} CPU cores, TensorFlow {tf.__version__}; one timed epoch "
        "per side and pair, the order alternating (tfner first in odd pairs). Hugging Face PyTorch eager: "
        "experiments/bench_pytorch_eager.py.",
        "",
        "| pair | first | fp32 peak GFLOP/s | PyTorch eager sentences/s | "
        + " | ".join(f"{n} sentences/s | ratio" for n in args.configs)
        + " |",
        "|---|---|---|---|" + "---|---|" * len(args.configs),
    ]
    for p in pairs:
        cells = " | ".join(f"{p['tfner'][n]:.1f} | {p['ratio'][n]:.2f}x" for n in args.configs)
        first = "PyTorch" if p["peer_first"] else "tfner"
        lines.append(f"| {p['pair']} | {first} | {p['fp32_peak_gflops']:.0f} | {p['pytorch']:.1f} | {cells} |")
    lines.append("")
    for name, s in summary.items():
        lines.append(
            f"{name}: median {s['median_sentences_per_second']:.1f} sentences/s against the peer's median "
            f"{peer_median:.1f}; ratio per pair median **{s['median_ratio']:.2f}x** (range {s['min_ratio']:.2f}-"
            f"{s['max_ratio']:.2f}x)."
            + (f" Against {base} in the same pairs: median {s[f'median_vs_{base}']:.2f}x." if name != base else "")
        )
    write_results(args.name, {"args": vars(args), "pairs": pairs, "summary": summary}, "\n".join(lines))


if __name__ == "__main__":
    main()
