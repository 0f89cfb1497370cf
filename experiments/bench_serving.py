"""Serving speed in one run: the Python pipeline versus the SavedModel, and a merged-LoRA export
versus a plain export.

    python experiments/bench_serving.py [--sentences 400] [--rounds 5] [--batch-size 32]
    python experiments/bench_serving.py --tiny --sentences 16 --rounds 1      # smoke test

Two MiniLM + linear-head taggers (MiniLM's architecture and tokenizer; speed does not depend on the
weights, so the encoders are randomly initialised unless --pretrained): a plain one, and one trained
with LoRA (random B matrices, as after training) exported merged. Each is exported to a temporary
folder with `tfner.export.export` and loaded with plain `tf.saved_model.load`. Timed, on the same
sentences, each in batches of --batch-size:

- pipeline: `NERPipeline(tagger)(texts)`, raw text -> entities (Hugging Face tokenizer, windows, merge);
- SavedModel predict_text: raw text -> entities, tokenization in the graph;
- SavedModel serving_default: token ids -> logits (Hugging Face tokenization on the client included);
- the same serving_default for the merged-LoRA export.

Each gets an untimed warm-up pass, then --rounds rounds time each once, in rotating order; the table
gives median sentences/s. Sentences: the first --sentences of CoNLL-2003 valid.txt (joined into text),
or synthetic clinical notes without it. Writes experiments/results/bench_serving.{json,md}.
"""

import argparse
import os
import shutil
import sys
import tempfile
import time

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
import tensorflow as tf  # noqa: E402
import tensorflow_text  # noqa: E402,F401  (registers predict_text's ops)

import tfner  # noqa: E402,F401
from experiments.common import CONLL, write_results  # noqa: E402
from tfner.data.readers import build_labels, read_conll  # noqa: E402
from tfner.data.synthetic import clinical_notes  # noqa: E402
from tfner.model import lora  # noqa: E402
from tfner.model.tagger import Tagger  # noqa: E402
from tfner.serving.export import export  # noqa: E402
from tfner.serving.pipeline import NERPipeline  # noqa: E402
from tfner.training.config import TrainConfig  # noqa: E402

TINY = {"hidden_size": 32, "num_hidden_layers": 2, "num_attention_heads": 2, "intermediate_size": 64}


def load_texts(n):
    valid = os.path.join(CONLL, "valid.txt")
    if os.path.exists(valid):
        corpus = read_conll(valid)
        docs = corpus.documents[:n]
        return [" ".join(d.tokens) for d in docs], build_labels(corpus), "CoNLL-2003 valid.txt"
    train, test = clinical_notes(50, n)
    return [d.text for d in test.documents], build_labels(train), "synthetic clinical notes"


def check_parity(texts, pipeline, plain, adapted, plain_model, lora_model, batches):
    """Entities of predict_text versus the pipeline, and serving_default logits versus the taggers."""
    expected = pipeline(texts)
    equal = 0
    for batch_start, batch in zip(range(0, len(texts), len(batches[0])), batches):
        out = plain_model.signatures["predict_text"](text=tf.constant(batch))
        for n in range(len(batch)):
            count = int(out["entity_count"][n])
            got = [
                (
                    out["entity_label"][n, k].numpy().decode(),
                    int(out["entity_start"][n, k]),
                    int(out["entity_end"][n, k]),
                )
                for k in range(count)
            ]
            want = [(e["entity_group"], e["start"], e["end"]) for e in expected[batch_start + n]]
            equal += got == want
    diffs = {}
    enc = plain.tokenizer(batches[0], padding=True, truncation=True, max_length=512, return_tensors="np")
    feed = {k: v.astype(np.int64) for k, v in enc.items()}
    mask = enc["attention_mask"].astype(bool)
    for name, model, tagger in (("plain", plain_model, plain), ("lora", lora_model, adapted)):
        got = model.signatures["serving_default"](**feed)["logits"].numpy()
        want = tagger.model(
            {"input_ids": enc["input_ids"].astype(np.int32), "attention_mask": enc["attention_mask"].astype(np.int32)},
            training=False,
        ).numpy()
        diffs[f"{name}_max_logit_difference"] = float(np.abs(got - want)[mask].max())
    return {"predict_text_texts_equal": f"{equal}/{len(texts)}", **diffs}


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sentences", type=int, default=400)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--pretrained", action="store_true", help="load MiniLM's pretrained weights")
    parser.add_argument("--tiny", action="store_true", help="a 2-layer, 32-wide encoder (smoke test)")
    parser.add_argument(
        "--model",
        help="a trained model directory (tfner.train output) for the plain "
        "export, so parity is checked on a trained model's predictions",
    )
    args = parser.parse_args()
    texts, labels, source = load_texts(args.sentences)
    overrides = dict(TINY) if args.tiny else {}
    config = lambda **kw: (
        TrainConfig.from_dict(
            dict(
                head="linear",
                pretrained=args.pretrained and not args.tiny,
                encoder_overrides=overrides,
                max_length=512,
                stride=64,
                **kw,
            )
        ).model
    )
    if args.model:
        plain = Tagger.load(args.model)
        plain.config = plain.config.replace(max_length=512, stride=64)
        labels = plain.labels
    else:
        plain = Tagger.build(config(), labels)
    adapted = Tagger.build(config(lora=True), labels, plain.tokenizer)
    rng = np.random.default_rng(0)
    for layer in lora.lora_layers(adapted.encoder).values():
        layer.lora_kernel_b.assign(rng.normal(0, 0.01, layer.lora_kernel_b.shape).astype(np.float32))

    root = tempfile.mkdtemp(prefix="bench_serving-")
    plain_model = tf.saved_model.load(export(plain, "plain", output_root=root))
    lora_model = tf.saved_model.load(export(adapted, "lora", output_root=root))
    pipeline = NERPipeline(plain, batch_size=args.batch_size)
    tokenizer = plain.tokenizer
    batches = [texts[i : i + args.batch_size] for i in range(0, len(texts), args.batch_size)]

    def ids_signature(model):
        def run():
            for batch in batches:
                enc = tokenizer(batch, padding=True, truncation=True, max_length=512, return_tensors="np")
                model.signatures["serving_default"](**{k: v.astype(np.int64) for k, v in enc.items()})

        return run

    def text_signature():
        for batch in batches:
            plain_model.signatures["predict_text"](text=tf.constant(batch))

    runs = {
        "pipeline (Python, raw text -> entities)": lambda: pipeline(texts),
        "SavedModel predict_text (raw text -> entities)": text_signature,
        "SavedModel serving_default, plain export (ids -> logits)": ids_signature(plain_model),
        "SavedModel serving_default, merged-LoRA export (ids -> logits)": ids_signature(lora_model),
    }
    for run in runs.values():  # warm-up: tracing, first allocations
        run()
    parity = check_parity(texts, pipeline, plain, adapted, plain_model, lora_model, batches)
    print("parity: " + ", ".join(f"{k} {v}" for k, v in parity.items()), flush=True)
    names = list(runs)
    seconds = {n: [] for n in names}
    for r in range(args.rounds):
        for name in names[r % len(names) :] + names[: r % len(names)]:
            start = time.perf_counter()
            runs[name]()
            seconds[name].append(time.perf_counter() - start)
        print(
            f"round {r + 1}: " + ", ".join(f"{n.split(' (')[0]} {len(texts) / seconds[n][-1]:.0f}/s" for n in names),
            flush=True,
        )
    speed = {n: len(texts) / float(np.median(seconds[n])) for n in names}
    encoder = "tiny 2-layer encoder" if args.tiny else "MiniLM"
    if args.model:
        encoder = f"trained model {args.model} (plain export) and MiniLM"
    table = "\n".join(
        [
            f"{encoder} + linear head, {len(texts)} texts of {source}, batches of {args.batch_size}, "
            f"median of {args.rounds} rounds, {os.cpu_count()} CPU cores",
            "",
            "| path | sentences/s |",
            "|---|---|",
            *[f"| {n} | {speed[n]:.1f} |" for n in names],
            "",
            f"merged-LoRA export / plain export: {speed[names[3]] / speed[names[2]]:.3f}",
            f"parity: predict_text entities (label, start, end) equal to the pipeline's on "
            f"{parity['predict_text_texts_equal']}; max |logits| difference, plain export vs tagger "
            f"{parity['plain_max_logit_difference']:.1e}, merged-LoRA export vs the unmerged LoRA tagger "
            f"{parity['lora_max_logit_difference']:.1e}",
        ]
    )
    write_results(
        "bench_serving",
        {
            "texts": len(texts),
            "source": source,
            "batch_size": args.batch_size,
            "rounds": args.rounds,
            "encoder": encoder,
            "sentences_per_second": speed,
            "seconds": seconds,
            "parity": parity,
        },
        table,
    )
    shutil.rmtree(root)


if __name__ == "__main__":
    main()
