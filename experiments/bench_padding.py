"""Training speed: batches padded to their own longest window versus padded to 256 tokens.

    python experiments/bench_padding.py [--sentences 320] [--batch-size 32]

MiniLM with the linear head fine-tunes on the first --sentences sentences of CoNLL-2003 train in
batches of 32, both ways, in one run; each configuration gets one untimed warm-up pass (tracing), then
a timed pass over the same sentences. Reports training sentences/s and real (non-padding) tokens/s and
their ratio. Writes experiments/results/bench_padding.{json,md}. Needs ../shared/datasets/conll2003.
"""

import argparse
import math
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
import tfner  # noqa: E402,F401
from experiments.common import require_conll, write_results  # noqa: E402
from tfner.data.batching import make_dataset, real_tokens  # noqa: E402
from tfner.data.readers import Corpus, build_labels, read_conll  # noqa: E402
from tfner.model.tagger import Tagger  # noqa: E402
from tfner.training.config import TrainConfig  # noqa: E402
from tfner.training.optim import compile_tagger  # noqa: E402


def time_pass(tagger, data):
    start = time.perf_counter()
    for x, y in data:
        tagger.model.train_on_batch(x, y)
    return time.perf_counter() - start


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sentences", type=int, default=320)
    parser.add_argument("--batch-size", type=int, default=32)
    args = parser.parse_args()
    train_path, _ = require_conll()
    corpus = read_conll(train_path)
    corpus = Corpus(corpus.documents[: args.sentences], corpus.source)
    config = TrainConfig.from_dict({"head": "linear", "batch_size": args.batch_size, "max_length": 256})
    labels = build_labels(read_conll(train_path))
    tagger = Tagger.build(config.model, labels)
    windows = tagger.encode(corpus)
    steps = math.ceil(len(windows) / args.batch_size)
    compile_tagger(tagger, config, 4 * steps)
    pad = tagger.tokenizer.pad_token_id
    tokens = real_tokens(windows)
    figures = {}
    for name, padding in (("padded to 256", "max-length"), ("padded per batch", "batch")):
        data = make_dataset(windows, args.batch_size, pad, padding=padding, max_length=256)
        time_pass(tagger, data)  # warm-up: tracing and first-shape costs
        seconds = time_pass(tagger, data)
        padded = sum(int(x["input_ids"].shape[0] * x["input_ids"].shape[1]) for x, _ in data)
        figures[name] = {
            "seconds": seconds,
            "sentences_per_second": len(windows) / seconds,
            "real_tokens_per_second": tokens / seconds,
            "padded_tokens": padded,
            "real_tokens": tokens,
            "padding_share": 1 - tokens / padded,
        }
        print(f"{name}: {figures[name]['sentences_per_second']:.1f} sentences/s", flush=True)
    base, best = figures["padded to 256"], figures["padded per batch"]
    ratio = best["sentences_per_second"] / base["sentences_per_second"]
    table = "\n".join(
        [
            f"MiniLM + linear head, full fine-tuning, CoNLL-2003 train first {len(windows)} sentences, "
            f"batches of {args.batch_size}, {os.cpu_count()} CPU cores",
            "",
            "| batching | sentences/s | real tokens/s | padding share | speed-up |",
            "|---|---|---|---|---|",
            *[
                f"| {n} | {f['sentences_per_second']:.1f} | {f['real_tokens_per_second']:.0f} | "
                f"{f['padding_share']:.0%} | {f['sentences_per_second'] / base['sentences_per_second']:.2f}x |"
                for n, f in figures.items()
            ],
        ]
    )
    write_results(
        "bench_padding",
        {"sentences": len(windows), "batch_size": args.batch_size, "figures": figures, "speedup": ratio},
        table,
    )


if __name__ == "__main__":
    main()
