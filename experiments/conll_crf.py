"""CRF and valid-BIO decoding on CoNLL-2003: entity F1, invalid sequences and speed, 1 and 3 epochs.

    python experiments/conll_crf.py [--epochs 3] [--max-train N]

In one run, MiniLM trained on train.txt (file order shuffled per epoch, seed 0, TrainConfig's defaults:
batch 32, AdamW 5e-5 encoder / head learning rate, warm-up and decay over all epochs) and validated on
valid.txt after every epoch:

- `linear`: one model, decoded two ways: `argmax` (each word alone) and `bio` (Viterbi over the
  softmax with the transitions IOB2 forbids removed);
- `linear + CRF` and `mlp + CRF`: trained by the CRF likelihood, decoded by constrained Viterbi.

Reported per configuration and epoch: validation entity F1 (seqeval, via `tfner.evaluation.metrics`),
the sentences whose predicted tags are not a valid IOB2 sequence, and training sentences/s (the fit
epoch's wall time, the validation pass not included). The best model at the last epoch also gets the
error-kind table (`tfner.evaluation.errors`). Writes experiments/results/conll_crf.{json,md}. Needs
../shared/datasets/conll2003.
"""

import argparse
import gc
import json
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
import tf_keras  # noqa: E402

from experiments.common import require_conll, write_results  # noqa: E402
from tfner.data import tags as tag_schemes  # noqa: E402
from tfner.data.batching import make_dataset  # noqa: E402
from tfner.data.readers import build_labels, read_conll  # noqa: E402
from tfner.evaluation.errors import entity_schemes, error_kinds, format_errors  # noqa: E402
from tfner.evaluation.metrics import entity_scores  # noqa: E402
from tfner.model.tagger import Tagger  # noqa: E402
from tfner.training.config import TrainConfig  # noqa: E402
from tfner.training.optim import compile_tagger  # noqa: E402

CONFIGS = {  # name: (head, crf, decodings)
    "linear": ("linear", False, ("argmax", "bio")),
    "linear + CRF": ("linear", True, ("viterbi",)),
    "mlp + CRF": ("mlp", True, ("viterbi",)),
}


def invalid(tags):
    return sum(bool(tag_schemes.violations(seq, "IOB2")) for seq in tags)


def run(name, train, valid, labels, epochs, seed=0):
    head, crf, decodings = CONFIGS[name]
    config = TrainConfig.from_dict(dict(head=head, crf=crf, epochs=epochs, seed=seed))
    tf_keras.utils.set_random_seed(seed)
    tagger = Tagger.build(config.model, labels)
    train_windows, valid_windows = tagger.encode(train), tagger.encode(valid)
    data = make_dataset(train_windows, config.batch_size, tagger.tokenizer.pad_token_id or 0, shuffle=True, seed=seed)
    steps = int(data.cardinality())
    compile_tagger(tagger, config, steps * epochs)
    rows = []
    for epoch in range(epochs):
        start = time.perf_counter()
        tagger.model.fit(data, epochs=epoch + 1, initial_epoch=epoch, verbose=0)
        seconds = time.perf_counter() - start
        logits = tagger.predict_logits(valid_windows)
        for decoding in decodings:
            if decoding != "viterbi":
                tagger.set_decoding(decoding)
            pred = tagger.tags(valid_windows, logits)
            scores = entity_scores(valid_windows.gold, pred)
            rows.append(
                {
                    "config": name,
                    "decoding": decoding,
                    "epoch": epoch + 1,
                    "f1": scores["f1"],
                    "precision": scores["precision"],
                    "recall": scores["recall"],
                    "invalid_sequences": invalid(pred),
                    "sentences": len(pred),
                    "train_sentences_per_second": len(train_windows) / seconds,
                    "pred": pred,
                }
            )
            print(json.dumps({k: v for k, v in rows[-1].items() if k != "pred"}), flush=True)
    del tagger
    tf_keras.backend.clear_session()
    gc.collect()
    return rows, valid_windows.gold


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--max-train", type=int, default=0, help="first N training sentences (0: all)")
    parser.add_argument("--configs", nargs="+", default=list(CONFIGS), choices=list(CONFIGS))
    args = parser.parse_args()
    train_path, valid_path = require_conll()
    train, valid = read_conll(train_path), read_conll(valid_path)
    if args.max_train:
        train.documents = train.documents[: args.max_train]
    labels = build_labels(train)
    rows, gold = [], None
    for name in args.configs:
        got, gold = run(name, train, valid, labels, args.epochs)
        rows += got
    last = [r for r in rows if r["epoch"] == args.epochs]
    best = max(last, key=lambda r: r["f1"])
    kinds, schemes = error_kinds(gold, best["pred"]), entity_schemes(gold, best["pred"])
    for r in rows:
        r.pop("pred")
    table = [
        f"MiniLM on CoNLL-2003 ({len(train.documents)} train sentences -> valid.txt, {len(gold)} sentences), "
        "batch 32, lr 5e-5 encoder, TrainConfig defaults; one run, the configurations one after the other",
        "",
        "| configuration | decoding | epoch | val F1 | precision | recall | invalid sequences | train sentences/s |",
        "|---|---|---|---|---|---|---|---|",
        *[
            f"| {r['config']} | {r['decoding']} | {r['epoch']} | {r['f1']:.4f} | {r['precision']:.4f} | "
            f"{r['recall']:.4f} | {r['invalid_sequences']} / {r['sentences']} | {r['train_sentences_per_second']:.1f} |"
            for r in rows
        ],
        "",
        f"Error kinds of the best model at epoch {args.epochs} ({best['config']}, {best['decoding']}) on valid.txt:",
        "",
        "```",
        format_errors(kinds, schemes),
        "```",
    ]
    payload = {"epochs": args.epochs, "train_sentences": len(train.documents), "rows": rows}
    payload["best"] = {
        "config": best["config"],
        "decoding": best["decoding"],
        "error_kinds": kinds,
        "nervaluate": schemes,
    }
    write_results("conll_crf", payload, "\n".join(table))


if __name__ == "__main__":
    main()
