"""Do issue 17's speed changes cost F1? LoRA's adapter dropout on x·A vs on x, buckets vs a token budget.

    python experiments/speed_changes_f1.py [--max-train 2000 --max-eval 1000 --epochs 2] [--seeds 42 43]

Runs of `tfner.train.train` (the `python -m tfner.train` path), one after the other in one process,
MiniLM + linear head, the same seed, data, epochs and batches of 32, trained on the first --max-train
sentences of CoNLL-2003 train.txt and validated after every epoch on the first --max-eval of valid.txt:

- LoRA with its adapter dropout on the rank-r product x·A (`LoraDense`'s default since issue 17) and
  with PEFT's dropout on the input x (`lora_dropout_on="input"`, set on every `LoraDense` after the
  model is built: the two differ only there); lr 5e-4, r 16, alpha 32, dropout 0.05, as lora_vs_full.py.
- full fine-tuning (lr 5e-5) with the default `--padding buckets` and with `--padding tokens` at the
  default budget, batch 32 x the mean bucket bound of the training windows (so batches of 32 on
  average, and about as many steps).
- full fine-tuning with buckets and TensorFlow's own GELU gradient, as tfner trained before
  `tfner.model.gelu` (same forward pass; the gradient differs only in float32 rounding), and with the
  bucket ladder before issue 17 (`COARSE_BUCKET_BOUNDS`: other windows share a batch).
- full fine-tuning with buckets or the token budget, each batch padded to its bucket's bound and
  partial batches filled with empty rows (`--fixed-shapes`, as every bucketed batch was before issue
  17's last change) against the default (the same batches, each padded to its longest window), and
  with a bucket's windows batched in length order (`--sort-by-length`: other batches).
- full fine-tuning with buckets and lazy AdamW for the word embeddings (`--lazy-embeddings`: only the
  rows a batch looked up are decayed and updated).
- LoRA on PEFT's default targets for BERT, query and value only (`--lora-targets query value`: 12
  adapters instead of tfner's 36).

Early stopping is off and label collapse only warns, so every run trains every epoch; the validation
F1 of each epoch comes from `history.json` (the F1 `tfner train` logs as val_f1), the speed from the
last epoch (the first one also traces the training step for each batch shape), next to the cores the
process got during the run, since other processes may share the CPU. Each of --seeds runs every --runs. Writes
experiments/results/NAME.{json,md} (--name, default speed_changes_f1); models go to
experiments/results/NAME/ (ignored by git). Needs ../shared/datasets/conll2003.
"""

import argparse
import contextlib
import gc
import json
import os
import shutil
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
import tf_keras  # noqa: E402

import tfner  # noqa: E402,F401
from experiments.bench_train import stock_gelu  # noqa: E402
from experiments.common import RESULTS, conll_config, write_results  # noqa: E402
from tfner.data.batching import COARSE_BUCKET_BOUNDS  # noqa: E402
from tfner.model import lora  # noqa: E402
from tfner.model.tagger import Tagger  # noqa: E402
from tfner.training.train import train  # noqa: E402


def dropout_on(where):
    """A tweak putting every `LoraDense`'s dropout `where` ('rank' or 'input'); it is read when the
    training step is traced, which comes after the build."""

    def tweak(tagger):
        layers = lora.lora_layers(tagger.encoder)
        if not layers:
            raise ValueError("no LoraDense layer to set the dropout of")
        for layer in layers.values():
            layer.lora_dropout_on = where

    tweak.label = f"LoRA dropout on {where}"
    return tweak


def tf_gelu_gradient(tagger):
    """A tweak putting TensorFlow's GELU (and its derived gradient) back, as before tfner.model.gelu."""
    stock_gelu(tagger.encoder)


tf_gelu_gradient.label = "TensorFlow's GELU gradient"

RUNS = {  # name: (TrainConfig overrides, a tweak applied to the tagger after Tagger.build, or None)
    "LoRA, dropout on x·A (default)": (dict(lora=True, learning_rate=5e-4), dropout_on("rank")),
    "LoRA, dropout on x (PEFT)": (dict(lora=True, learning_rate=5e-4), dropout_on("input")),
    "full, buckets": (dict(padding="buckets", learning_rate=5e-5), None),
    "full, token budget": (dict(padding="tokens", learning_rate=5e-5), None),
    "full, buckets, stock GELU": (dict(padding="buckets", learning_rate=5e-5), tf_gelu_gradient),
    "full, coarse buckets": (
        dict(padding="buckets", learning_rate=5e-5, bucket_bounds=list(COARSE_BUCKET_BOUNDS), fixed_shapes=True),
        None,
    ),
    "full, buckets, bound widths": (dict(padding="buckets", learning_rate=5e-5, fixed_shapes=True), None),
    "full, token budget, bound widths": (dict(padding="tokens", learning_rate=5e-5, fixed_shapes=True), None),
    "full, buckets, sorted by length": (dict(padding="buckets", learning_rate=5e-5, sort_by_length=True), None),
    "full, buckets, lazy embeddings": (dict(padding="buckets", learning_rate=5e-5, lazy_embeddings=True), None),
    "LoRA, query/value": (dict(lora=True, learning_rate=5e-4, lora_targets=["query", "value"]), dropout_on("rank")),
}


@contextlib.contextmanager
def tweaked_build(tweak):
    """Every `Tagger.build` in the block applies `tweak` to the tagger it returns."""
    build = Tagger.build.__func__

    def patched(cls, *args, **kwargs):
        tagger = build(cls, *args, **kwargs)
        tweak(tagger)
        return tagger

    Tagger.build = classmethod(patched)
    try:
        yield
    finally:
        Tagger.build = classmethod(build)


def run(name, overrides, tweak, seed, args):
    folder = name.split(" (")[0].replace(", ", "_").replace(" ", "_").replace("·", "")
    out = os.path.join(RESULTS, args.name, f"{folder}_seed{seed}")
    shutil.rmtree(out, ignore_errors=True)  # this script's own folder: a fresh run each time
    config = conll_config(
        args,
        out,
        head_learning_rate=1e-3,
        early_stopping_patience=0,
        collapse_action="warn",
        seed=seed,
        # the dense AdamW update unless the run's name says lazy embeddings, as when the results were written
        **{"lazy_embeddings": False, **overrides},
    )
    start, cpu, load = time.perf_counter(), time.process_time(), os.getloadavg()[0]
    with tweaked_build(tweak) if tweak else contextlib.nullcontext():
        _, metrics = train(config)
    wall, cpu = time.perf_counter() - start, time.process_time() - cpu
    with open(os.path.join(out, "history.json")) as f:
        history = json.load(f)
    tf_keras.backend.clear_session()
    gc.collect()
    row = {
        "run": name,
        "seed": seed,
        "config": {**overrides, "tweak": tweak.label if tweak else None},
        "val_f1_per_epoch": history["val_f1"],
        "val_f1": history["val_f1"][-1],
        "val_precision": history["val_precision"][-1],
        "val_recall": history["val_recall"][-1],
        "sentences_per_second_per_epoch": history["train_sentences_per_second"],
        "sentences_per_second": history["train_sentences_per_second"][-1],
        "steps_per_epoch": metrics["train_steps_per_epoch"],
        "max_tokens": metrics.get("train_max_tokens"),
        "train_seconds": metrics["train_seconds"],
        "wall_seconds": wall,
        # CPU time of this process over the run / wall time: the cores it got (2 at most here); below
        # that, other processes took the rest, and its speed is not comparable with a run that got more
        "cores_used": cpu / wall,
        "load_average": [load, os.getloadavg()[0]],
    }
    print(
        f"{name}, seed {seed}: val F1 {', '.join(f'{v:.4f}' for v in row['val_f1_per_epoch'])}; "
        f"{row['sentences_per_second']:.1f} sentences/s (last epoch); {wall:.0f} s, {row['cores_used']:.2f} cores",
        flush=True,
    )
    return row


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--max-train", type=int, default=2000, help="first N training sentences (0: all)")
    parser.add_argument("--max-eval", type=int, default=1000, help="first N validation sentences (0: all)")
    parser.add_argument("--epochs", type=int, default=2)
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--seeds", type=int, nargs="+", default=[42], help="each seed runs every --runs")
    parser.add_argument("--runs", nargs="+", choices=list(RUNS), default=list(RUNS))
    parser.add_argument("--note", default="", help="a line for the results file (machine, what else ran)")
    parser.add_argument("--name", default="speed_changes_f1", help="results file name")
    args = parser.parse_args()
    started = time.strftime("%Y-%m-%d %H:%M")
    rows = [run(name, *RUNS[name], seed, args) for seed in args.seeds for name in args.runs]

    lines = [
        f"MiniLM + linear head, CoNLL-2003: {args.epochs} epochs on the first {args.max_train or 'all'} sentences "
        f"of train.txt, validated on the first {args.max_eval or 'all'} of valid.txt, batch {args.batch_size}, "
        f"seeds {', '.join(map(str, args.seeds))}, float32, {os.cpu_count()} CPU cores; runs one after the other "
        f"in one process, started {started}. Cores used: the process's CPU time over its wall time during the "
        "run (2 at most; the rest went to other processes): speeds compare only between runs that got about "
        "as many.",
        "",
    ]
    if args.note:
        lines += [args.note, ""]
    lines += [
        "| run | seed | learning rate | val F1 by epoch | precision | recall | steps/epoch "
        "| sentences/s (last epoch) | cores used |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        budget = f" (budget {r['max_tokens']} tokens)" if r["max_tokens"] else ""
        lines.append(
            f"| {r['run']} | {r['seed']} | {r['config']['learning_rate']:g} "
            f"| {' / '.join(f'{v:.4f}' for v in r['val_f1_per_epoch'])} "
            f"| {r['val_precision']:.4f} | {r['val_recall']:.4f} | {r['steps_per_epoch']}{budget} "
            f"| {r['sentences_per_second']:.1f} | {r['cores_used']:.2f} |"
        )
    summary = {}
    pairs = (
        ("lora_rank_minus_input", "LoRA, dropout on x·A (default)", "LoRA, dropout on x (PEFT)"),
        ("full_tokens_minus_buckets", "full, token budget", "full, buckets"),
        ("own_gelu_gradient_minus_stock", "full, buckets", "full, buckets, stock GELU"),
        ("fine_minus_coarse_buckets", "full, buckets", "full, coarse buckets"),
        ("lazy_minus_dense_embeddings", "full, buckets, lazy embeddings", "full, buckets"),
        ("sorted_minus_random_order", "full, buckets, sorted by length", "full, buckets"),
    )
    lines.append("")
    by = {(r["run"], r["seed"]): r for r in rows}
    for key, a, b in pairs:
        seeds = [s for s in args.seeds if (a, s) in by and (b, s) in by]
        if not seeds:
            continue
        gaps = [by[a, s]["val_f1"] - by[b, s]["val_f1"] for s in seeds]
        speeds = [by[a, s]["sentences_per_second"] / by[b, s]["sentences_per_second"] for s in seeds]
        summary[key] = {"seeds": seeds, "val_f1_gaps": gaps, "mean_val_f1_gap": sum(gaps) / len(gaps)}
        summary[key]["speed_ratios"] = speeds
        lines.append(
            f"{a} vs {b}: val F1 {', '.join(f'{100 * g:+.2f}' for g in gaps)} points after the last epoch "
            f"(seed {', '.join(map(str, seeds))}; mean {100 * summary[key]['mean_val_f1_gap']:+.2f}), "
            f"speed {', '.join(f'{x:.2f}x' for x in speeds)}."
        )
    write_results(
        args.name,
        {
            "max_train": args.max_train,
            "max_eval": args.max_eval,
            "epochs": args.epochs,
            "batch_size": args.batch_size,
            "seeds": args.seeds,
            "note": args.note,
            "runs": rows,
            "summary": summary,
        },
        "\n".join(lines),
    )


if __name__ == "__main__":
    main()
