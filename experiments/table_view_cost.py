"""What the table view costs at inference: tokens per note and `NERPipeline` time, with and without it.

    python experiments/table_view_cost.py [--notes 150] [--rounds 3] [--model DIR] [--export]

The headers the view inserts (`tfner.data.tables`) are tokens the model reads: this counts the MiniLM tokens of
`--notes` generated notes (`tfner.data.notes`, every family, seed 11) as given and through the view, per family,
and times the pipeline over all of them, the two settings alternating `--rounds` times in one process (median).
The model: `--model DIR` (a saved tagger), or MiniLM with a fresh linear head (the time of a forward pass does not
depend on the weights). `--export`: also exports the model with and without the view (a temporary folder) and
times `predict_text` over the same notes in requests of 16, alternating, and the graph's view alone
(`tfner.serving.table_view`). Writes experiments/results/NAME.{json,md} (--name, default table_view_cost).
"""

import argparse
import collections
import dataclasses
import os
import statistics
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
import tfner  # noqa: E402,F401
from experiments.common import write_results  # noqa: E402
from tfner.data.notes import LABELS, generate_notes  # noqa: E402
from tfner.data.tables import TableView  # noqa: E402


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--notes", type=int, default=150)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--model", metavar="DIR", help="a saved tagger (default: MiniLM with a fresh linear head)")
    parser.add_argument("--export", action="store_true", help="also time predict_text with and without the view")
    parser.add_argument("--name", default="table_view_cost")
    args = parser.parse_args()

    from tfner.model.config import ModelConfig
    from tfner.model.tagger import Tagger
    from tfner.serving.pipeline import NERPipeline

    records = generate_notes(args.notes, seed=11)
    texts = [r["text"] for r in records]
    if args.model:
        try:
            tagger = Tagger.load(args.model)
        except FileNotFoundError as e:
            parser.error(f"--model: {e}")
    else:
        labels = ["O"] + [f"{p}-{label}" for label in LABELS for p in "BI"]
        tagger = Tagger.build(ModelConfig(), labels)
    tokens = collections.defaultdict(lambda: [0, 0, 0])  # family: [notes, tokens, tokens in the view]
    for r in records:
        family = r.get("family", "all")
        plain = len(tagger.tokenizer.tokenize(r["text"]))
        viewed = len(tagger.tokenizer.tokenize(TableView(r["text"]).text))
        for key in (family, "all"):
            tokens[key][0] += 1
            tokens[key][1] += plain
            tokens[key][2] += viewed

    configs = {v: dataclasses.replace(tagger.config, table_view=v) for v in (False, True)}
    seconds = {False: [], True: []}
    for view in (False, True):  # warm-up: trace the forward pass for the window shapes
        tagger.config = configs[view]
        NERPipeline(tagger)(texts[:8])
    for _ in range(args.rounds):
        for view in (False, True):
            tagger.config = configs[view]
            start = time.perf_counter()
            NERPipeline(tagger)(texts)
            seconds[view].append(time.perf_counter() - start)
    median = {v: statistics.median(s) for v, s in seconds.items()}

    lines = [
        f"# The table view's cost at inference: {args.notes} generated notes (seed 11), "
        f"{'model ' + args.model if args.model else 'MiniLM + a fresh linear head'}",
        "",
        "| family | notes | tokens as given | tokens through the view | ratio |",
        "|---|---|---|---|---|",
    ]
    for family, (n, plain, viewed) in sorted(tokens.items(), key=lambda kv: (kv[0] == "all", kv[0])):
        lines.append(f"| {family} | {n} | {plain} | {viewed} | {viewed / plain:.3f} |")
    lines += [
        "",
        f"`NERPipeline` over all {args.notes} notes, the two settings alternating, median of {args.rounds}: "
        f"without the view {median[False]:.2f} s, with it {median[True]:.2f} s ({median[True] / median[False]:.3f}x); "
        f"rounds: {', '.join(f'{s:.2f}' for s in seconds[False])} / {', '.join(f'{s:.2f}' for s in seconds[True])} s.",
    ]
    payload = {"args": vars(args), "tokens": dict(tokens), "seconds": {str(k): v for k, v in seconds.items()}}
    if args.export:
        served, alone = time_predict_text(tagger, configs, texts, args.rounds)
        med = {v: statistics.median(s) for v, s in served.items()}
        lines += [
            "",
            f"`predict_text` of the model exported both ways, the same notes in requests of 16, alternating, median "
            f"of {args.rounds}: without the view {med[False]:.2f} s, with it {med[True]:.2f} s "
            f"({med[True] / med[False]:.3f}x); the graph's view alone (`tfner.serving.table_view`, same requests): "
            f"{statistics.median(alone):.3f} s; rounds: {', '.join(f'{s:.2f}' for s in served[False])} / "
            f"{', '.join(f'{s:.2f}' for s in served[True])} s.",
        ]
        payload["predict_text_seconds"] = {str(k): v for k, v in served.items()}
        payload["graph_view_seconds"] = alone
    write_results(args.name, payload, "\n".join(lines))


def time_predict_text(tagger, configs, texts, rounds, batch=16):
    """Seconds of `predict_text` over `texts` per setting (exported to a temporary folder), and of the
    graph's view alone, alternating `rounds` times."""
    import shutil
    import tempfile

    import tensorflow as tf
    import tensorflow_text  # noqa: F401  (the tokenizer ops)

    from tfner.serving.export import export
    from tfner.serving.table_view import table_view

    requests = [tf.constant(texts[i : i + batch]) for i in range(0, len(texts), batch)]
    signatures, root = {}, tempfile.mkdtemp()
    for view in (False, True):
        tagger.config = configs[view]
        path = export(tagger, f"view{int(view)}", output_root=root, log=lambda message: None)
        signatures[view] = tf.saved_model.load(path).signatures["predict_text"]
    view_only = tf.function(lambda t: table_view(t)[0], input_signature=[tf.TensorSpec([None], tf.string)])
    calls = {**signatures, "alone": lambda text: view_only(text)}  # all called as call(text=request)
    seconds = {key: [] for key in calls}
    for round_ in range(rounds + 1):  # the first round warms up (traces every request shape)
        for key, call in calls.items():
            start = time.perf_counter()
            for request in requests:
                call(text=request)
            if round_:
                seconds[key].append(time.perf_counter() - start)
    shutil.rmtree(root)
    return {v: seconds[v] for v in (False, True)}, seconds["alone"]


if __name__ == "__main__":
    main()
