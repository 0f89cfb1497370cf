"""LoRA versus full fine-tuning of MiniLM on CoNLL-2003: validation F1, trainable parameters, training
speed, and the size of what each run has to keep.

    python experiments/lora_vs_full.py [--epochs 1] [--methods full lora] [--max-train N --max-eval N]

Both runs go through `tfner.train.train` (the `python -m tfner.train` path) with the linear head, the
same epochs and batches of 32, each at its own learning rate, as in STACK.md's PEFT reference: full
fine-tuning 5e-5, LoRA 5e-4 (r=16, alpha=32, dropout 0.05, bias lora_only, query/key/value/output.dense/
intermediate.dense); the head 1e-3 in both. Trained on train.txt, validated on valid.txt. The saved model
of either run is a full model (LoRA's is merged); what a LoRA run must keep is only its adapter folder.
Writes experiments/results/lora_vs_full.{json,md} (lora_vs_full_smoke.* when --max-train is given); the
models go to experiments/results/lora_vs_full/ (ignored by git). Needs ../shared/datasets/conll2003.
"""

import argparse
import gc
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
import tf_keras  # noqa: E402

import tfner  # noqa: E402,F401
from experiments.common import RESULTS, conll_config, write_results  # noqa: E402
from tfner.training.train import train  # noqa: E402


def folder_bytes(path):
    return sum(os.path.getsize(os.path.join(d, f)) for d, _, files in os.walk(path) for f in files)


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--epochs", type=int, default=1)
    parser.add_argument("--methods", nargs="+", default=["full", "lora"], choices=["full", "lora"])
    parser.add_argument("--full-lr", type=float, default=5e-5, help="encoder learning rate, full fine-tuning")
    parser.add_argument("--lora-lr", type=float, default=5e-4, help="adapter learning rate, LoRA")
    parser.add_argument("--head-lr", type=float, default=1e-3)
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--max-train", type=int, default=0, help="first N training sentences (0: all)")
    parser.add_argument("--max-eval", type=int, default=0, help="first N validation sentences (0: all)")
    args = parser.parse_args()
    name = "lora_vs_full_smoke" if args.max_train or args.max_eval else "lora_vs_full"
    rows = {}
    for method in args.methods:
        out = os.path.join(RESULTS, name, method)
        lora = method == "lora"
        config = conll_config(
            args,
            out,
            lora=lora,
            learning_rate=args.lora_lr if lora else args.full_lr,
            head_learning_rate=args.head_lr,
        )
        _, metrics = train(config)
        weights = os.path.getsize(os.path.join(out, "weights.h5"))
        kept = folder_bytes(os.path.join(out, "adapter")) if lora else weights
        rows[method] = {
            "val_f1": metrics["validation"]["f1"],
            "val_precision": metrics["validation"]["precision"],
            "val_recall": metrics["validation"]["recall"],
            "trainable_params": metrics["trainable_params"],
            "all_params": metrics["all_params"],
            "train_sentences_per_second": metrics.get("train_sentences_per_second"),
            "train_seconds": metrics["train_seconds"],
            "epochs_run": metrics["epochs_run"],
            "saved_model_bytes": weights,
            "kept_bytes": kept,
            "per_type_f1": {k: v["f1"] for k, v in metrics["validation"]["per_type"].items()},
            "config": {
                "learning_rate": config.learning_rate,
                "head_learning_rate": config.head_learning_rate,
                "batch_size": config.batch_size,
                "epochs": config.epochs,
                **(
                    {k: config.flat()[k] for k in ("lora_r", "lora_alpha", "lora_dropout", "lora_bias", "lora_targets")}
                    if lora
                    else {}
                ),
            },
        }
        tf_keras.backend.clear_session()
        gc.collect()

    mb = lambda n: f"{n / 2**20:.1f} MB"
    lines = [
        f"MiniLM + linear head on CoNLL-2003 ({rows[args.methods[0]]['epochs_run']} epoch(s) of "
        f"{f'the first {args.max_train} sentences of ' if args.max_train else ''}train.txt, batch "
        f"{args.batch_size}, validated on {f'the first {args.max_eval} sentences of ' if args.max_eval else ''}"
        f"valid.txt), {os.cpu_count()} CPU cores",
        "",
        "| method | learning rate | val F1 | precision | recall | trainable params | all params | trainable % "
        "| train sentences/s | what must be kept |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for method, r in rows.items():
        kept = (
            f"adapter {mb(r['kept_bytes'])} (merged model {mb(r['saved_model_bytes'])})"
            if method == "lora"
            else f"model {mb(r['kept_bytes'])}"
        )
        lines.append(
            f"| {'LoRA r=16' if method == 'lora' else 'full fine-tuning'} | {r['config']['learning_rate']:g} "
            f"| {r['val_f1']:.4f} | {r['val_precision']:.4f} | {r['val_recall']:.4f} "
            f"| {r['trainable_params']:,} | {r['all_params']:,} "
            f"| {100 * r['trainable_params'] / r['all_params']:.2f} "
            f"| {r['train_sentences_per_second'] or float('nan'):.1f} | {kept} |"
        )
    summary = {}
    if len(rows) == 2:
        gap = rows["full"]["val_f1"] - rows["lora"]["val_f1"]
        summary = {
            "f1_gap_full_minus_lora": gap,
            "lora_within_1_5_f1": gap <= 0.015,
            "kept_size_ratio": rows["lora"]["kept_bytes"] / rows["full"]["kept_bytes"],
        }
        lines += [
            "",
            f"F1 full - LoRA: {100 * gap:+.2f} points ({'within' if gap <= 0.015 else 'NOT within'} "
            f"1.5); the adapter is {summary['kept_size_ratio']:.1%} of the full model's size.",
        ]
    write_results(
        name,
        {"epochs": args.epochs, "max_train": args.max_train, "max_eval": args.max_eval, "methods": rows, **summary},
        "\n".join(lines),
    )


if __name__ == "__main__":
    main()
