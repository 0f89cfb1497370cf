"""Serving speed in one run, on the same texts: the Python pipeline, the SavedModel's two signatures, and
the Hugging Face PyTorch token-classification pipeline as the peer.

    python experiments/bench_serving.py [--sentences 400] [--rounds 3] [--batch-size 32] \\
        [--torch-python ../torch-venv/bin/python]
    python experiments/bench_serving.py --tiny --sentences 16 --rounds 1 --latency-texts 8   # smoke test

MiniLM + linear-head taggers (MiniLM's architecture and tokenizer; speed does not depend on the weights,
so the encoder is randomly initialised unless --pretrained, or --model loads a trained one), windows of
512 tokens sharing 64. Exported with `tfner.serving.export.export` to a temporary folder and loaded with
plain `tf.saved_model.load`:

- plain: the export as it is (rows sorted by length in the graph, run in chunks of 8);
- one pass: the same model exported with a chunk as large as a request, so a request runs in one pass
  padded to its longest row, as every export did before (the "before" rows, measured side by side);
- merged LoRA: a LoRA tagger (random B matrices, as after training) exported merged.

Throughput, requests of --batch-size texts, each request timed end to end (text in, entities or logits
out): pipeline (`NERPipeline(tagger)(request)`), and, as the earlier figure was taken, the pipeline given
all texts in one call (it sorts all of them by length before batching); serving_default (Hugging Face
tokenization on the client included); predict_text (tokenization, windows and aggregation in the graph);
the PyTorch pipeline (`transformers.pipeline("token-classification", aggregation_strategy="simple")`,
`torch.set_num_threads(2)`, `OMP_WAIT_POLICY=PASSIVE`, the same MiniLM architecture and tokenizer,
batch_size = the request).
Latency: the first --latency-texts texts sent one at a time, p50 and p99 over all rounds.

Rounds rotate the order of the paths; the PyTorch pipeline runs in its own process (--torch-python: a
virtual environment with torch and transformers, never the project's .venv), started once and asked for
one round at a time between the TensorFlow rounds, so both see the same machine. Parity: predict_text's
entities (label, start, end) against the pipeline's on every text, and on --long-notes synthetic notes of
about 20,000 characters. Writes experiments/results/bench_serving.{json,md}.
"""

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time

import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TINY = {"hidden_size": 32, "num_hidden_layers": 2, "num_attention_heads": 2, "intermediate_size": 64}


def torch_worker(model_dir, n_labels, threads):
    """Runs under --torch-python: the PyTorch pipeline, one JSON command per stdin line, one answer each."""
    import torch
    from transformers import AutoModelForTokenClassification, AutoTokenizer, pipeline

    torch.set_num_threads(threads)
    torch.manual_seed(0)
    tokenizer = AutoTokenizer.from_pretrained(model_dir)
    model = AutoModelForTokenClassification.from_pretrained(model_dir, num_labels=n_labels).eval()
    ner = pipeline("token-classification", model=model, tokenizer=tokenizer, aggregation_strategy="simple")
    print(json.dumps({"torch": torch.__version__}), flush=True)
    for line in sys.stdin:
        command = json.loads(line)
        texts, size = command["texts"], command["batch_size"]
        if command["op"] == "throughput":
            start = time.perf_counter()
            for at in range(0, len(texts), size):
                ner(texts[at : at + size], batch_size=size)
            answer = {"seconds": time.perf_counter() - start}
        else:
            answer = {"latencies": []}
            for text in texts:
                start = time.perf_counter()
                ner(text)
                answer["latencies"].append(time.perf_counter() - start)
        print(json.dumps(answer), flush=True)


class TorchPeer:
    """The PyTorch pipeline in its own process (see `torch_worker`)."""

    def __init__(self, python, model_dir, n_labels, threads=2):
        self.process = subprocess.Popen(
            [python, os.path.abspath(__file__), "--torch-worker", model_dir, str(n_labels), str(threads)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
            # OpenMP's default spin-waiting makes PyTorch 15x slower when other processes share the cores
            # (measured here: 1,190-1,540 ms vs 72-81 ms per sentence); passive waiting is the fair setting
            env=dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3", OMP_WAIT_POLICY="PASSIVE"),
        )
        self.version = self._read()["torch"]

    def _read(self):
        line = self.process.stdout.readline()
        if not line:
            raise RuntimeError("the PyTorch worker stopped (see its stderr above)")
        return json.loads(line)

    def ask(self, op, texts, batch_size):
        self.process.stdin.write(json.dumps({"op": op, "texts": texts, "batch_size": batch_size}) + "\n")
        self.process.stdin.flush()
        return self._read()

    def close(self):
        self.process.stdin.close()
        self.process.wait(timeout=60)


def load_texts(n):
    from experiments.common import CONLL
    from tfner.data.readers import build_labels, read_conll
    from tfner.data.synthetic import clinical_notes

    valid = os.path.join(CONLL, "valid.txt")
    if os.path.exists(valid):
        corpus = read_conll(valid)
        docs = corpus.documents[:n]
        return [" ".join(d.tokens) for d in docs], build_labels(corpus), "CoNLL-2003 valid.txt"
    train, test = clinical_notes(50, n)
    return [d.text for d in test.documents], build_labels(train), "synthetic clinical notes"


def long_notes(n, chars=20000):
    """`n` texts of `chars` characters: synthetic clinical notes joined, each from another offset."""
    from tfner.data.synthetic import clinical_notes

    joined = "\n\n".join(d.text for d in clinical_notes(1, 60, seed=3)[1].documents)
    while len(joined) < chars * (n + 1):
        joined += "\n\n" + joined
    return [joined[k * chars // 2 : k * chars // 2 + chars] for k in range(n)]


def signature_entities(out, n):
    return [
        (out["entity_label"][n, k].numpy().decode(), int(out["entity_start"][n, k]), int(out["entity_end"][n, k]))
        for k in range(int(out["entity_count"][n]))
    ]


def check_parity(texts, notes, pipeline, model, plain, adapted, lora_model, batch_size):
    """predict_text entities versus the pipeline's (short texts and long notes), logits versus the taggers."""
    import tensorflow as tf

    counts = {}
    for name, group in (("texts", texts), ("long_notes", notes)):
        equal = entities = 0
        for at in range(0, len(group), batch_size):
            batch = group[at : at + batch_size]
            out = model.signatures["predict_text"](text=tf.constant(batch))
            for n, want in enumerate(pipeline(batch)):
                equal += signature_entities(out, n) == [(e["entity_group"], e["start"], e["end"]) for e in want]
                entities += len(want)
        counts[f"predict_text_{name}_equal"] = f"{equal}/{len(group)}"
        counts[f"pipeline_{name}_entities"] = entities
    enc = plain.tokenizer(texts[:batch_size], padding=True, truncation=True, max_length=512, return_tensors="np")
    feed = {k: v.astype(np.int64) for k, v in enc.items()}
    mask = enc["attention_mask"].astype(bool)
    for name, loaded, tagger in (("plain", model, plain), ("lora", lora_model, adapted)):
        got = loaded.signatures["serving_default"](**feed)["logits"].numpy()
        ids = {"input_ids": enc["input_ids"].astype(np.int32), "attention_mask": enc["attention_mask"].astype(np.int32)}
        want = tagger.model(ids, training=False).numpy()
        counts[f"{name}_max_logit_difference"] = float(np.abs(got - want)[mask].max())
    return counts


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sentences", type=int, default=400)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--latency-texts", type=int, default=100, help="texts sent one at a time per round")
    parser.add_argument("--long-notes", type=int, default=4, help="20,000-character notes for the parity check")
    parser.add_argument("--pretrained", action="store_true", help="load MiniLM's pretrained weights")
    parser.add_argument("--tiny", action="store_true", help="a 2-layer, 32-wide encoder (smoke test)")
    parser.add_argument("--model", help="a trained model directory (tfner train output) for the plain export")
    parser.add_argument("--torch-python", help="python of a venv with torch + transformers: adds the PyTorch peer")
    args = parser.parse_args()

    sys.path.insert(0, ROOT)
    os.environ.setdefault("TF_USE_LEGACY_KERAS", "1")
    import tensorflow as tf
    import tensorflow_text  # noqa: F401  (registers predict_text's ops)

    import tfner  # noqa: F401
    from experiments.common import write_results
    from tfner.model import lora
    from tfner.model.encoders import resolve_encoder
    from tfner.model.tagger import Tagger
    from tfner.serving.export import export
    from tfner.serving.pipeline import NERPipeline
    from tfner.training.config import TrainConfig

    load_before = os.getloadavg()
    texts, labels, source = load_texts(args.sentences)
    notes = long_notes(args.long_notes)
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
    quiet = lambda message: None
    model = tf.saved_model.load(export(plain, "plain", output_root=root, log=quiet))
    one_pass = tf.saved_model.load(export(plain, "one_pass", output_root=root, log=quiet, chunk=1 << 20))
    lora_model = tf.saved_model.load(export(adapted, "lora", output_root=root, log=quiet))
    pipeline = NERPipeline(plain, batch_size=args.batch_size)
    tokenizer = plain.tokenizer
    size = args.batch_size
    batches = [texts[i : i + size] for i in range(0, len(texts), size)]
    few = texts[: args.latency_texts]

    def ids(batch):
        enc = tokenizer(batch, padding=True, truncation=True, max_length=512, return_tensors="np")
        return {k: v.astype(np.int64) for k, v in enc.items()}

    default = lambda loaded: lambda batch: loaded.signatures["serving_default"](**ids(batch))
    text = lambda loaded: lambda batch: loaded.signatures["predict_text"](text=tf.constant(batch))
    paths = {  # name: (one request -> result, timed for latency)
        "pipeline, requests of the batch size": (pipeline, True),
        "pipeline, all texts in one call (the earlier figure's method)": (None, False),
        "SavedModel serving_default (ids -> logits, client tokenization included)": (default(model), True),
        "SavedModel serving_default, one pass (before)": (default(one_pass), False),
        "SavedModel serving_default, merged-LoRA export": (default(lora_model), False),
        "SavedModel predict_text (raw text -> entities)": (text(model), True),
        "SavedModel predict_text, one pass (before)": (text(one_pass), False),
    }
    all_at_once = "pipeline, all texts in one call (the earlier figure's method)"

    def throughput(name):
        if name == all_at_once:
            pipeline(texts)
        else:
            for batch in batches:
                paths[name][0](batch)

    def latencies(name):
        out = []
        for t in few:
            start = time.perf_counter()
            paths[name][0]([t])
            out.append(time.perf_counter() - start)
        return out

    for name in paths:  # warm-up: tracing, first allocations
        throughput(name)
    peer = None
    if args.torch_python:
        minilm = resolve_encoder(plain.config.encoder) if not args.tiny else None
        if minilm is None or not os.path.isdir(minilm):
            raise SystemExit("the PyTorch peer needs the MiniLM model directory (not with --tiny)")
        peer = TorchPeer(args.torch_python, minilm, len(labels))
        peer.ask("throughput", texts[:size], size)  # warm-up
        peer_name = f"Hugging Face PyTorch {peer.version} pipeline (aggregation simple, 2 threads)"
    parity = check_parity(texts, notes, pipeline, model, plain, adapted, lora_model, size)
    print("parity: " + ", ".join(f"{k} {v}" for k, v in parity.items()), flush=True)

    names = list(paths) + ([peer_name] if peer else [])
    seconds = {n: [] for n in names}
    latency = {n: [] for n in names if n not in paths or paths[n][1]}  # the peer and the three main paths
    for r in range(args.rounds):
        for name in names[r % len(names) :] + names[: r % len(names)]:
            if peer and name == peer_name:
                seconds[name].append(peer.ask("throughput", texts, size)["seconds"])
                latency[name] += peer.ask("latency", few, 1)["latencies"]
                continue
            start = time.perf_counter()
            throughput(name)
            seconds[name].append(time.perf_counter() - start)
            if name in latency:
                latency[name] += latencies(name)
        print(
            f"round {r + 1}: " + ", ".join(f"{n[:30]} {len(texts) / seconds[n][-1]:.0f}/s" for n in names), flush=True
        )
    if peer:
        peer.close()
    speed = {n: len(texts) / float(np.median(seconds[n])) for n in names}
    quantiles = {
        n: {"p50_ms": 1000 * float(np.percentile(v, 50)), "p99_ms": 1000 * float(np.percentile(v, 99))}
        for n, v in latency.items()
    }
    load_after = os.getloadavg()

    encoder = "tiny 2-layer encoder" if args.tiny else "MiniLM" + (" (pretrained)" if args.pretrained else "")
    if args.model:
        encoder = f"trained model {args.model}"
    cell = lambda n, k: f"{quantiles[n][k]:.1f}" if n in quantiles else ""
    per_request = "pipeline, requests of the batch size"
    predict_text = "SavedModel predict_text (raw text -> entities)"
    ratios = [
        f"predict_text / pipeline (requests of {size}): {speed[predict_text] / speed[per_request]:.2f}",
        f"predict_text / pipeline (all texts in one call): {speed[predict_text] / speed[all_at_once]:.2f}",
        f"predict_text / its one-pass export (before): "
        f"{speed[predict_text] / speed['SavedModel predict_text, one pass (before)']:.2f}",
        "serving_default / its one-pass export (before): "
        f"{speed[names[2]] / speed['SavedModel serving_default, one pass (before)']:.2f}",
    ]
    if peer:
        ratios.append(f"predict_text / PyTorch pipeline: {speed[predict_text] / speed[peer_name]:.2f}")
    table = "\n".join(
        [
            f"{encoder} + linear head, {len(texts)} texts of {source}, requests of {size}, median of "
            f"{args.rounds} rounds; latency: the first {len(few)} texts one at a time, all rounds pooled; "
            f"{os.cpu_count()} CPU cores shared with other processes during the run (load average "
            f"{load_before[0]:.1f} before, {load_after[0]:.1f} after): absolute figures are low, compare "
            "ratios within this run",
            "",
            "| path | texts/s, requests of the batch size | latency p50 ms (batch 1) | p99 ms |",
            "|---|---|---|---|",
            *[f"| {n} | {speed[n]:.1f} | {cell(n, 'p50_ms')} | {cell(n, 'p99_ms')} |" for n in names],
            "",
            *ratios,
            "",
            f"parity: predict_text entities (label, start, end) equal to the pipeline's on "
            f"{parity['predict_text_texts_equal']} texts ({parity['pipeline_texts_entities']} entities) and "
            f"{parity['predict_text_long_notes_equal']} notes of 20,000 characters "
            f"({parity['pipeline_long_notes_entities']} entities); max |logits| difference, plain export vs "
            f"tagger {parity['plain_max_logit_difference']:.1e}, merged-LoRA export vs the unmerged LoRA tagger "
            f"{parity['lora_max_logit_difference']:.1e}",
        ]
    )
    write_results(
        "bench_serving",
        {
            "texts": len(texts),
            "source": source,
            "batch_size": size,
            "rounds": args.rounds,
            "encoder": encoder,
            "load_average": {"before": load_before, "after": load_after},
            "texts_per_second": speed,
            "latency": quantiles,
            "seconds": seconds,
            "parity": parity,
        },
        table,
    )
    shutil.rmtree(root)


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "--torch-worker":
        torch_worker(sys.argv[2], int(sys.argv[3]), int(sys.argv[4]))
    else:
        main()
