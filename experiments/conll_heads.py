"""The three heads on CoNLL-2003: one epoch of MiniLM fine-tuning each, validation entity F1.

    python experiments/conll_heads.py [--epochs 1] [--heads linear mlp replace-last] [--max-train N]

Each head trains through `tfner.train.train` (the same code path as `python -m tfner.train`) on the
full CoNLL-2003 train.txt and is validated on valid.txt. Besides F1 it reports the share of labelled
tokens predicted `O` against the gold share: a collapsed model predicts `O` everywhere (share 1.0).
Writes experiments/results/conll_heads.{json,md}; the models go to experiments/results/conll_heads/
(ignored by git). Needs ../shared/datasets/conll2003.
"""

import argparse
import gc
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
import tf_keras  # noqa: E402

import tfner  # noqa: E402,F401
from experiments.common import RESULTS, require_conll, write_results  # noqa: E402
from tfner.data.readers import read_conll  # noqa: E402
from tfner.training.config import TrainConfig  # noqa: E402
from tfner.training.train import train  # noqa: E402


def o_share(tags):
    flat = [t for seq in tags for t in seq]
    return sum(t == "O" for t in flat) / max(len(flat), 1)


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--epochs", type=int, default=1)
    parser.add_argument("--heads", nargs="+", default=["linear", "mlp", "replace-last"])
    parser.add_argument("--max-train", type=int, default=0, help="first N training sentences (0: all)")
    args = parser.parse_args()
    train_path, valid_path = require_conll()
    rows = {}
    for head in args.heads:
        config = TrainConfig.from_dict(
            dict(
                head=head,
                train=train_path,
                validation=valid_path,
                epochs=args.epochs,
                max_train_documents=args.max_train,
                eval_before=False,
                verbose=2,
                output_dir=os.path.join(RESULTS, "conll_heads", head),
            )
        )
        tagger, metrics = train(config)
        windows = tagger.encode(read_conll(valid_path))
        pred = tagger.tags(windows, tagger.predict_logits(windows))
        rows[head] = {
            "val_f1": metrics["validation"]["f1"],
            "val_precision": metrics["validation"]["precision"],
            "val_recall": metrics["validation"]["recall"],
            "pred_o_share": o_share(pred),
            "gold_o_share": o_share(windows.gold),
            "train_sentences_per_second": metrics.get("train_sentences_per_second"),
            "train_seconds": metrics["train_seconds"],
            "per_type_f1": {k: v["f1"] for k, v in metrics["validation"]["per_type"].items()},
            "config": {
                "learning_rate": config.learning_rate,
                "head_learning_rate": config.head_learning_rate,
                "batch_size": config.batch_size,
                "epochs": config.epochs,
            },
        }
        del tagger
        tf_keras.backend.clear_session()
        gc.collect()
    table = "\n".join(
        [
            f"MiniLM on CoNLL-2003 (train.txt, {args.epochs} epoch(s), validated on valid.txt), "
            "lr 5e-5 encoder / 1e-3 head, batch 32",
            "",
            "| head | val F1 | precision | recall | predicted O share (gold) | train sentences/s |",
            "|---|---|---|---|---|---|",
            *[
                f"| {h} | {r['val_f1']:.4f} | {r['val_precision']:.4f} | {r['val_recall']:.4f} | "
                f"{r['pred_o_share']:.3f} ({r['gold_o_share']:.3f}) | {r['train_sentences_per_second']:.1f} |"
                for h, r in rows.items()
            ],
        ]
    )
    write_results("conll_heads", {"epochs": args.epochs, "heads": rows}, table)


if __name__ == "__main__":
    main()
