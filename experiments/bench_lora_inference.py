"""Inference speed: a merged LoRA model versus a plain model versus an unmerged LoRA model, in one run.

    python experiments/bench_lora_inference.py [--sentences 400] [--rounds 5] [--batch-size 64]

Four MiniLM + linear-head taggers predict the same sentences through `Tagger.predict_logits` (batches
grouped by length, the path every prediction takes):
- plain: no LoRA;
- merged LoRA: `Tagger.merged()`, what `Tagger.save` writes and `tfner.load` reads back;
- LoRA merged in place: `lora.merge(encoder)`, wrappers kept, their adapter path skipped;
- unmerged LoRA: the model as it trains, adapters computed beside every wrapped layer.
The LoRA adapters get random B matrices (as after training: B starts at zero), and the merged models'
logits are checked against the unmerged one's. Each model gets an untimed warm-up pass (tracing), then
`--rounds` rounds time every model once each, in rotating order, so load from other processes falls on
all of them alike; the table gives the median sentences/s and the median per-round ratio to plain.
Sentences: the first --sentences of CoNLL-2003 valid.txt, or synthetic clinical notes without it.
Writes experiments/results/bench_lora_inference.{json,md}.
"""

import argparse
import os
import sys
import time

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
import tfner  # noqa: E402,F401
from experiments.common import CONLL, write_results  # noqa: E402
from tfner.data.readers import Corpus, build_labels, read_conll  # noqa: E402
from tfner.data.synthetic import clinical_notes  # noqa: E402
from tfner.model import lora  # noqa: E402
from tfner.model.tagger import Tagger  # noqa: E402
from tfner.training.config import TrainConfig  # noqa: E402


def load_sentences(n):
    valid = os.path.join(CONLL, "valid.txt")
    if os.path.exists(valid):
        corpus = read_conll(valid)
        return Corpus(corpus.documents[:n], corpus.source), "CoNLL-2003 valid.txt"
    return clinical_notes(n, 1)[0], "synthetic clinical notes"


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sentences", type=int, default=400)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--batch-size", type=int, default=64)
    args = parser.parse_args()
    corpus, source = load_sentences(args.sentences)
    labels = build_labels(corpus)

    plain = Tagger.build(TrainConfig.from_dict({"head": "linear"}).model, labels)
    adapted = Tagger.build(TrainConfig.from_dict({"head": "linear", "lora": True}).model, labels, plain.tokenizer)
    adapted.model.get_layer("head").set_weights(plain.model.get_layer("head").get_weights())
    rng = np.random.default_rng(0)
    for layer in lora.lora_layers(adapted.encoder).values():
        layer.lora_kernel_b.assign(rng.normal(0, 0.01, layer.lora_kernel_b.shape).astype(np.float32))
    merged = adapted.merged()
    in_place = Tagger.build(TrainConfig.from_dict({"head": "linear", "lora": True}).model, labels, plain.tokenizer)
    source_vars = lora.variable_paths(adapted.encoder)
    for key, variable in lora.variable_paths(in_place.encoder).items():
        variable.assign(source_vars[key])
    in_place.model.get_layer("head").set_weights(adapted.model.get_layer("head").get_weights())
    lora.merge(in_place.encoder)

    models = {
        "plain": plain,
        "merged LoRA (saved form)": merged,
        "LoRA merged in place": in_place,
        "unmerged LoRA": adapted,
    }
    windows = plain.encode(corpus)
    reference = np.concatenate(adapted.predict_logits(windows, args.batch_size))  # also the warm-up
    check = {}
    for name, tagger in models.items():
        if tagger is not adapted:
            logits = np.concatenate(tagger.predict_logits(windows, args.batch_size))  # warm-up
            check[name] = float(np.abs(logits - reference).max())
    print("max |logits - unmerged LoRA logits|: " + ", ".join(f"{k} {v:.2e}" for k, v in check.items()), flush=True)
    assert check["merged LoRA (saved form)"] < 1e-3 and check["LoRA merged in place"] < 1e-3

    seconds = {name: [] for name in models}
    names = list(models)
    for r in range(args.rounds):
        for name in names[r % len(names) :] + names[: r % len(names)]:
            start = time.perf_counter()
            models[name].predict_logits(windows, args.batch_size)
            seconds[name].append(time.perf_counter() - start)
        print(f"round {r + 1}: " + ", ".join(f"{n} {len(windows) / seconds[n][-1]:.0f}/s" for n in names), flush=True)
    ratio = {n: float(np.median(np.array(seconds["plain"]) / np.array(seconds[n]))) for n in names}
    figures = {
        n: {
            "sentences_per_second": len(windows) / float(np.median(seconds[n])),
            "seconds": seconds[n],
            "speed_vs_plain": ratio[n],
            "params": lora.count_parameters(models[n].model)[1],
        }
        for n in names
    }
    table = "\n".join(
        [
            f"MiniLM + linear head inference, {len(windows)} sentences of {source}, batches of "
            f"{args.batch_size} grouped by length, median of {args.rounds} rounds, {os.cpu_count()} CPU cores",
            "",
            "| model | sentences/s (median) | speed vs plain (median of per-round ratios) | parameters | max logit difference to unmerged |",
            "|---|---|---|---|---|",
            *[
                f"| {n} | {f['sentences_per_second']:.0f} | {f['speed_vs_plain']:.3f} | {f['params']:,} | "
                f"{check[n]:.1e} |"
                if n in check
                else f"| {n} | {f['sentences_per_second']:.0f} | {f['speed_vs_plain']:.3f} | {f['params']:,} | - |"
                for n, f in figures.items()
            ],
            "",
            f"merged / plain: {ratio['merged LoRA (saved form)']:.3f}; unmerged / plain: {ratio['unmerged LoRA']:.3f}",
        ]
    )
    write_results(
        "bench_lora_inference",
        {
            "sentences": len(windows),
            "source": source,
            "batch_size": args.batch_size,
            "rounds": args.rounds,
            "figures": figures,
            "max_logit_difference": check,
        },
        table,
    )


if __name__ == "__main__":
    main()
