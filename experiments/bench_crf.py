"""What the CRF costs in training and decoding time, side by side in one process.

    python experiments/bench_crf.py [--sentences 960] [--rounds 3]

MiniLM + linear head with and without `--crf` (and mlp + CRF), trained on the same first N CoNLL-2003
train sentences (batch 32, default buckets, float32): one untimed epoch each to trace, then `--rounds`
timed epochs taken in turn (A, B, C, A, B, C, ...), so a slower spell of a shared machine hits all of
them; the median is reported. Decoding: the validation set's logits predicted once, then the time of
`Tagger.tags` with argmax, bio and CRF Viterbi on them. Writes experiments/results/bench_crf.{json,md}.
"""

import argparse
import os
import statistics
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
import tf_keras  # noqa: E402

from experiments.common import require_conll, write_results  # noqa: E402
from tfner.data.batching import make_dataset  # noqa: E402
from tfner.data.readers import build_labels, read_conll  # noqa: E402
from tfner.model.tagger import Tagger  # noqa: E402
from tfner.training.config import TrainConfig  # noqa: E402
from tfner.training.optim import compile_tagger  # noqa: E402

CONFIGS = {"linear": ("linear", False), "linear + CRF": ("linear", True), "mlp + CRF": ("mlp", True)}


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sentences", type=int, default=960)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    train_path, valid_path = require_conll()
    train, valid = read_conll(train_path), read_conll(valid_path)
    train.documents = train.documents[: args.sentences]
    labels = build_labels(train)
    runs = {}
    for name, (head, crf) in CONFIGS.items():
        config = TrainConfig.from_dict(dict(head=head, crf=crf, epochs=args.rounds + 1))
        tf_keras.utils.set_random_seed(0)
        tagger = Tagger.build(config.model, labels)
        windows = tagger.encode(train)
        data = make_dataset(windows, config.batch_size, tagger.tokenizer.pad_token_id or 0)
        compile_tagger(tagger, config, int(data.cardinality()) * (args.rounds + 1))
        tagger.model.fit(data, epochs=1, verbose=0)  # traces every bucket's step
        runs[name] = {"tagger": tagger, "data": data, "sentences": len(windows), "seconds": []}
    for round_ in range(args.rounds):
        for run in runs.values():
            start = time.perf_counter()
            run["tagger"].model.fit(run["data"], epochs=round_ + 2, initial_epoch=round_ + 1, verbose=0)
            run["seconds"].append(time.perf_counter() - start)
    rows = {}
    for name, run in runs.items():
        tagger = run["tagger"]
        valid_windows = tagger.encode(valid)
        logits = tagger.predict_logits(valid_windows)
        decode = {}
        for decoding in ("argmax", "bio") if tagger.model.crf_layer is None else ("viterbi",):
            if decoding != "viterbi":
                tagger.set_decoding(decoding)
            start = time.perf_counter()
            tagger.tags(valid_windows, logits)
            decode[decoding] = time.perf_counter() - start
        median = statistics.median(run["seconds"])
        rows[name] = {
            "epoch_seconds": run["seconds"],
            "sentences_per_second": run["sentences"] / median,
            "decode_seconds": decode,
            "valid_sentences": len(valid_windows),
        }
    base = rows["linear"]["sentences_per_second"]
    table = [
        f"Training: MiniLM, first {args.sentences} CoNLL-2003 train sentences, batch 32, buckets, float32; "
        f"median of {args.rounds} epochs taken in turn. Decoding: Tagger.tags on valid.txt's "
        f"{rows['linear']['valid_sentences']} sentences, logits predicted beforehand.",
        "",
        "| configuration | train sentences/s | vs linear | decoding seconds |",
        "|---|---|---|---|",
        *[
            f"| {name} | {r['sentences_per_second']:.1f} | {r['sentences_per_second'] / base:.3f}x | "
            + ", ".join(f"{k} {v:.2f}" for k, v in r["decode_seconds"].items())
            + " |"
            for name, r in rows.items()
        ],
    ]
    write_results("bench_crf", {"sentences": args.sentences, "rounds": args.rounds, "configs": rows}, "\n".join(table))


if __name__ == "__main__":
    main()
