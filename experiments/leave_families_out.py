"""De-identification on notes the model never saw in kind: leave families and locales out of training.

    python experiments/leave_families_out.py [--splits 3] [--train-notes 1800] [--test-notes 150] [--epochs 1] [--lora]
        [--lazy-embeddings | --no-lazy-embeddings] [--table-view | --no-table-view]

For each split, a share of the layout families and of the locales of `tfner.data.notes` is held out.
The model (MiniLM with the main job's head and recipe; `--head` to change it) trains on notes of the
other families and locales (10 % held out for validation) and is tested on:

- `unseen`: notes whose family AND locale were both left out of training (never seen in kind), with
  names, places and month names of their held-out locales only (`generate_notes(foreign=0)`);
- `seen`: new notes of the training families and locales (the generator's own distribution);
- `handwritten`: 15 notes written by hand (experiments/data/handwritten_notes.txt), in none of the
  generator's layouts;
- `handwritten_tables`: 10 tabular notes written by hand (experiments/data/handwritten_tables.txt: tables
  with German, Spanish, Italian, French and Czech headers, quoted CSV, markdown, HL7 with NK1, a table
  without a header), notes separated by a line `===`; scored by exact character spans through
  `NERPipeline` (`score_tables`).

`--table-view` / `--no-table-view`: the model reads every note through the table view or as given
(`ModelConfig.table_view`, `tfner.data.tables`: each table cell after its column header, each HL7 field after
its name); without either, the model's default (on since the view runs in the graph; the rows of this
experiment's results before that were run without it, so `--no-table-view` reproduces them).

The recipe trains one epoch over 1,800 notes: as many steps as three epochs over 600 (the default until
2026-12-08; `--train-notes 600 --epochs 3` reproduces the rows before), on three times as many distinct notes,
which held better on unseen notes (mean token-level F1 0.846 -> 0.861 over the three splits,
experiments/results/lfo_1800x1_split0.md and lfo_1800x1_split12.md).

The `before` row of each split trains the same model, on as many notes for as many epochs, on the old
template generator (experiments/legacy_notes.py, today's main job before this change) and tests it on
the same `unseen` and hand-written notes. After training, the new-generator model is calibrated on its
validation notes (`tfner calibrate`, token-level recall 0.99 per type) and tested again: PHI token recall
and entity F1 (strict and relaxed) with the model's decoding (`bio`) and with the thresholds, and the
precision paid.

Writes experiments/results/NAME.{json,md} (--name, default leave_families_out); `--models DIR` keeps each
split's models and training notes (for error analysis) instead of a temporary folder.
"""

import argparse
import collections
import contextlib
import os
import re
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
import tfner  # noqa: E402,F401
from experiments.common import HERE, write_results  # noqa: E402
from tfner.data.notes import FAMILIES, LOCALES, generate_notes  # noqa: E402
from tfner.data.readers import Corpus, Document  # noqa: E402
from tfner.data.synthetic import write_jsonl  # noqa: E402
from tfner.evaluation.calibrate import calibrate  # noqa: E402
from tfner.evaluation.errors import error_kinds  # noqa: E402
from tfner.evaluation.metrics import evaluate_tagger  # noqa: E402
from tfner.evaluation.phi import phi_report  # noqa: E402
from tfner.training.config import TrainConfig  # noqa: E402
from tfner.training.train import train  # noqa: E402

HANDWRITTEN = os.path.join(HERE, "data", "handwritten_notes.txt")
HANDWRITTEN_TABLES = os.path.join(HERE, "data", "handwritten_tables.txt")
KEPT = "new"  # the folder of the model trained on the new generator, in a split's folder
MARK = re.compile(r"\[\[([A-Z]+):(.+?)\]\]")


def unmark(marked):
    """A note with inline `[[LABEL:text]]` marks -> its span record (the text without the marks)."""
    text, spans, at = [], [], 0
    for m in MARK.finditer(marked):
        text.append(marked[at : m.start()])
        start = sum(map(len, text))
        text.append(m.group(2))
        spans.append([start, start + len(m.group(2)), m.group(1)])
        at = m.end()
    text.append(marked[at:])
    return {"text": "".join(text), "ner_tags": spans}


def read_marked(path):
    """Notes with inline `[[LABEL:text]]` marks, one per line -> span records."""
    with open(path, encoding="utf-8") as f:
        return [unmark(line.rstrip("\n")) for line in f if line.strip()]


def read_tables(path=HANDWRITTEN_TABLES):
    """Notes separated by a line `===`, PHI marked inline as `[[LABEL:text]]` -> span records."""
    with open(path, encoding="utf-8") as f:
        return [unmark(block.strip("\n")) for block in f.read().split("\n===\n")]


def exact_spans(records, found):
    """Exact character-span counts (tp, fp, fn), precision, recall and F1 of `found` (pipeline entities, one list
    per record) against the records' gold spans, and the gold spans not found per type."""
    counts, missed = collections.Counter(), collections.Counter()
    for r, entities in zip(records, found):
        gold = {tuple(s) for s in r["ner_tags"]}
        predicted = {(e["start"], e["end"], e["entity_group"]) for e in entities}
        counts.update(tp=len(gold & predicted), fp=len(predicted - gold), fn=len(gold - predicted))
        missed.update(label for _, _, label in gold - predicted)
    p = counts["tp"] / max(counts["tp"] + counts["fp"], 1)
    r = counts["tp"] / max(counts["tp"] + counts["fn"], 1)
    return {
        **{k: counts[k] for k in ("tp", "fp", "fn")},
        "gold": counts["tp"] + counts["fn"],
        "precision": p,
        "recall": r,
        "f1": 2 * p * r / (p + r) if p + r else 0.0,
        "not_found_by_type": dict(missed),
    }


def score_tables(tagger):
    """`exact_spans` of the tagger on the hand-written tabular notes, through `NERPipeline` (their HL7
    timestamps put a date's end inside a word piece, which token-level scoring refuses)."""
    from tfner.serving.pipeline import NERPipeline

    records = read_tables()
    return exact_spans(records, NERPipeline(tagger, aggregation="simple")([r["text"] for r in records]))


def split_names(names, splits, k):
    return [n for i, n in enumerate(names) if i % splits == k]


def unseen_notes(k, splits, count):
    """Split k's `unseen` test notes: held-out families and locales only, and (foreign=0) every name, place
    and month of a held-out locale, none from ORIGINS."""
    families, locales = split_names(FAMILIES, splits, k), split_names(LOCALES, splits, k)
    return generate_notes(count, seed=1000 + k, families=families, locales=locales, foreign=0.0)


def kept_model(models, k):
    """Where `--models DIR` keeps split k's model (trained on the new generator)."""
    return os.path.join(models, f"split{k}", KEPT)


def scores(tagger, corpus):
    windows = tagger.encode(corpus)
    result = evaluate_tagger(tagger, windows)
    phi = phi_report(windows, result["pred"])
    overall = phi["entity"]["overall"]
    gold = [g for g in windows.gold if g is not None]
    kinds = error_kinds(gold, [p for g, p in zip(windows.gold, result["pred"]) if g is not None])
    return {
        "f1": result["f1"],
        "precision": result["precision"],
        "recall": result["recall"],
        "per_type": {k: v["f1"] for k, v in result["per_type"].items()},
        "phi_recall": phi["token"]["recall"],
        "phi_precision": phi["token"]["precision"],
        "strict_f1": overall["strict"]["f1"],
        "relaxed_f1": overall["ent_type"]["f1"],
        "leaked_entities": phi["leaked_entities"],
        "gold_entities": phi["gold_entities"],
        "error_kinds": {"overall": kinds["overall"], "wrong_type_pairs": kinds["wrong_type_pairs"]},
    }


def leak_rates(tagger, records):
    """Run `tfner deid` (redact and surrogate) with the tagger on labelled records: the share of gold PHI
    spans whose text still appears anywhere in the output (the issue's leak rate; short values such as an
    age "41" can also occur elsewhere in a note, so this counts some non-leaks), and the share whose
    characters were not all replaced (a positional leak)."""
    from tfner.deid.io import Record
    from tfner.deid.run import deidentify_records
    from tfner.serving.pipeline import NERPipeline

    pipe = NERPipeline(tagger, aggregation="simple")

    def detect(texts):
        return [
            [{"label": e["entity_group"], "start": e["start"], "end": e["end"], "score": e["score"]} for e in found]
            for found in pipe(texts)
        ]

    inputs = [Record(i, "unseen", f"unseen:{i}", r["text"]) for i, r in enumerate(records)]
    out = {}
    for mode in ("redact", "surrogate"):
        text_leaks = position_leaks = total = 0
        for (_, text, entities), r in zip(deidentify_records(inputs, detect, mode, "experiment"), records):
            covered = set()
            for e in entities:
                covered.update(range(e["start"], e["end"]))
            for s, e, _ in r["ner_tags"]:
                total += 1
                text_leaks += r["text"][s:e] in text
                position_leaks += not set(range(s, e)) <= covered
        out[mode] = {
            "text_leak_rate": text_leaks / total,
            "position_leak_rate": position_leaks / total,
            "gold_spans": total,
        }
    return out


def corpus_of(records, name):
    return Corpus(
        [
            Document(text=r["text"], spans=[tuple(s) for s in r["ner_tags"]], origin=f"{name}:{i}")
            for i, r in enumerate(records, 1)
        ],
        name,
    )


def run(args, train_records, name, folder, tests):
    path = os.path.join(folder, f"{name}.jsonl")
    write_jsonl(train_records, path)
    config = TrainConfig.from_dict(
        {
            "train": path,
            "head": args.head,
            "lora": args.lora,
            "epochs": args.epochs,
            "batch_size": 8,
            "learning_rate": args.learning_rate,
            "head_learning_rate": 3e-3,
            "seed": args.seed,
            "verbose": args.verbose,
            "eval_before": False,
            "output_dir": os.path.join(folder, name),
            **({} if args.table_view is None else {"table_view": args.table_view}),
            **({} if args.lazy_embeddings is None else {"lazy_embeddings": args.lazy_embeddings}),
        }
    )
    start = time.perf_counter()
    tagger, metrics = train(config)
    out = {"train_seconds": time.perf_counter() - start, "validation_f1": metrics["validation"]["f1"]}
    for test_name, corpus in tests.items():
        out[test_name] = scores(tagger, corpus)
    out["handwritten_tables"] = score_tables(tagger)
    return tagger, out


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--splits", type=int, default=3)
    parser.add_argument("--only-splits", type=int, nargs="*", help="run these split indexes only")
    parser.add_argument("--train-notes", type=int, default=1800)
    parser.add_argument("--test-notes", type=int, default=150)
    parser.add_argument("--epochs", type=int, default=1)
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--head", default="linear", help="the main job's head by default")
    parser.add_argument("--learning-rate", type=float, default=2e-4)
    parser.add_argument(
        "--lora", action="store_true", help="train LoRA adapters on the frozen encoder (the recipe's r=16; try lr 1e-3)"
    )
    parser.add_argument(
        "--lazy-embeddings",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="lazy AdamW for the word embeddings, or dense (default: TrainConfig's)",
    )
    parser.add_argument(
        "--table-view",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="the model reads notes through the table view (ModelConfig.table_view, tfner.data.tables), or as "
        "given (default: the model's default)",
    )
    parser.add_argument("--target-recall", type=float, default=0.99)
    parser.add_argument("--no-legacy", action="store_true", help="skip the before rows")
    parser.add_argument("--verbose", type=int, default=2)
    parser.add_argument("--name", default="leave_families_out")
    parser.add_argument(
        "--models",
        metavar="DIR",
        help="keep each split's models and training notes in DIR/split<k> (default: a temporary folder)",
    )
    args = parser.parse_args()

    from experiments.legacy_notes import generate_notes as legacy_notes

    handwritten = corpus_of(read_marked(HANDWRITTEN), "handwritten")
    rows, payload = [], {"args": vars(args), "splits": []}
    for k in args.only_splits if args.only_splits else range(args.splits):
        held_families, held_locales = split_names(FAMILIES, args.splits, k), split_names(LOCALES, args.splits, k)
        train_families = [f for f in FAMILIES if f not in held_families]
        train_locales = [loc for loc in LOCALES if loc not in held_locales]
        unseen_records = unseen_notes(k, args.splits, args.test_notes)
        unseen = corpus_of(unseen_records, "unseen")
        seen = corpus_of(
            generate_notes(args.test_notes, seed=2000 + k, families=train_families, locales=train_locales), "seen"
        )
        split = {"split": k, "held_out_families": held_families, "held_out_locales": held_locales}
        with _folder(args.models, k) as folder:
            new = generate_notes(args.train_notes, seed=args.seed + k, families=train_families, locales=train_locales)
            tagger, split["after"] = run(
                args,
                new,
                KEPT,
                folder,
                {"unseen": unseen, "seen": seen, "handwritten": handwritten},
            )
            validation = corpus_of(
                generate_notes(args.test_notes, seed=3000 + k, families=train_families, locales=train_locales),
                "validation",
            )
            split["leaks"] = {"bio": leak_rates(tagger, unseen_records)}
            thresholds, figures = calibrate(tagger, tagger.encode(validation), args.target_recall)
            tagger.set_thresholds(thresholds)
            split["leaks"]["thresholds"] = leak_rates(tagger, unseen_records)
            split["thresholds"] = thresholds
            split["calibrated"] = {
                name: scores(tagger, c) for name, c in (("unseen", unseen), ("handwritten", handwritten))
            }
            if not args.no_legacy:
                old = legacy_notes(args.train_notes, seed=args.seed + k)
                _, split["before"] = run(args, old, "legacy", folder, {"unseen": unseen, "handwritten": handwritten})
        payload["splits"].append(split)
        rows.append(split)
        print(
            f"split {k}: unseen F1 after {split['after']['unseen']['f1']:.4f}"
            + (f", before {split['before']['unseen']['f1']:.4f}" if "before" in split else ""),
            flush=True,
        )
    write_results(args.name, payload, table(rows, args))


@contextlib.contextmanager
def _folder(models, k):
    if not models:
        with tempfile.TemporaryDirectory() as folder:
            yield folder
        return
    folder = os.path.join(models, f"split{k}")
    os.makedirs(folder, exist_ok=True)
    yield folder


def _mean(rows, *keys):
    values = []
    for row in rows:
        value = row
        for key in keys:
            value = value.get(key) if isinstance(value, dict) else None
        if value is not None:
            values.append(value)
    return sum(values) / len(values) if values else float("nan")


def table(rows, args):
    types = sorted({t for r in rows for t in r["after"]["unseen"]["per_type"]})
    lines = [
        f"# Leave families and locales out: MiniLM{' with LoRA' if args.lora else ''} + {args.head}, "
        f"{args.train_notes} training notes, {args.epochs} epochs, {args.test_notes} test notes per set, "
        f"{len(rows)} split(s)",
        "",
        f"Recipe: batch 8, encoder learning rate {args.learning_rate:g}, head 3e-3, seed {args.seed}"
        f"{'' if args.lazy_embeddings is None else ', lazy embeddings ' + ('on' if args.lazy_embeddings else 'off')}"
        f"{'' if args.table_view is None else ', table view ' + ('on' if args.table_view else 'off')}; "
        "decoding: the model's default (`bio`, valid IOB2 sequences by Viterbi).",
        "",
        "Entity F1 (seqeval) on notes whose layout family and locale were both left out of training "
        "(`unseen`), on new notes of the training families and locales (`seen`), on 15 hand-written "
        "one-line notes and on 10 hand-written tabular notes (experiments/data/handwritten_tables.txt; exact "
        "character spans through the pipeline). "
        "`before`: the same model trained on the old template generator.",
        "",
        "| split | held-out families | held-out locales | generator | unseen F1 | "
        + " | ".join(types)
        + " | seen F1 | handwritten F1 | handwritten tables F1 |",
        "|---|---|---|---|---|" + "---|" * len(types) + "---|---|---|",
    ]
    for r in rows:
        for which in ("before", "after"):
            if which not in r:
                continue
            s = r[which]
            generator = "old templates" if which == "before" else "tfner.data.notes"
            per_type = " | ".join(f"{s['unseen']['per_type'].get(t, float('nan')):.3f}" for t in types)
            seen = f"{s['seen']['f1']:.4f}" if "seen" in s else "-"
            tables = f"{s['handwritten_tables']['f1']:.4f}" if "handwritten_tables" in s else "-"
            lines.append(
                f"| {r['split']} | {', '.join(r['held_out_families'])} | {', '.join(r['held_out_locales'])} "
                f"| {generator} | {s['unseen']['f1']:.4f} | {per_type} | {seen} | "
                f"{s['handwritten']['f1']:.4f} | {tables} |"
            )
    mean = lambda which, name: f"{_mean(rows, which, name, 'f1'):.4f}"
    lines += [
        "",
        f"Mean unseen F1: before {mean('before', 'unseen')}, after {mean('after', 'unseen')}; "
        f"handwritten: before {mean('before', 'handwritten')}, after {mean('after', 'handwritten')}."
        if not args.no_legacy
        else f"Mean unseen F1: {mean('after', 'unseen')}; handwritten: {mean('after', 'handwritten')}; "
        f"handwritten tables: {mean('after', 'handwritten_tables')}.",
        "",
        f"## Recall-first thresholds (calibrated on validation notes of the training families, target "
        f"token recall {args.target_recall})",
        "",
        "| split | set | PHI token recall | PHI token precision | strict F1 | relaxed F1 | leaked / gold entities |",
        "|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        for name in ("unseen", "handwritten"):
            for label, s in (("bio", r["after"][name]), ("thresholds", r["calibrated"][name])):
                lines.append(
                    f"| {r['split']} | {name} ({label}) | {s['phi_recall']:.4f} | {s['phi_precision']:.4f} | "
                    f"{s['strict_f1']:.4f} | {s['relaxed_f1']:.4f} | {s['leaked_entities']} / "
                    f"{s['gold_entities']} |"
                )
    lines += [
        "",
        "## Error kinds on the unseen notes (the model's decoding)",
        "",
        "Every gold entity is correct, of the wrong type (same span), of the wrong boundaries (same type), both "
        "wrong, or missed; every predicted entity likewise, or spurious (`tfner.evaluation.errors`).",
        "",
        "| split | gold | correct | wrong type | wrong boundary | both | missed | predicted | wrong boundary "
        "| both | spurious | most frequent type confusions (gold -> predicted) |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        kinds = r["after"]["unseen"].get("error_kinds")
        if kinds is None:
            continue
        g, p = kinds["overall"]["gold"], kinds["overall"]["predicted"]
        pairs = ", ".join(f"{k} {n}" for k, n in list(kinds["wrong_type_pairs"].items())[:4])
        lines.append(
            f"| {r['split']} | {g['entities']} | {g['correct']} | {g['wrong_type']} | {g['wrong_boundary']} | "
            f"{g['both_wrong']} | {g['missed']} | {p['entities']} | {p['wrong_boundary']} | {p['both_wrong']} | "
            f"{p['spurious']} | {pairs} |"
        )
    lines += [
        "",
        "## Leak rate of `tfner deid` on the unseen notes",
        "",
        "Share of gold PHI spans whose text still appears anywhere in the output (text: the issue's leak rate; a "
        "short value such as an age can also occur elsewhere in the note) and whose characters, spaces and "
        "punctuation inside the span included, were not all replaced (position: an upper bound; a name "
        "predicted as two entities leaves the space between them).",
        "",
        "| split | decision | redact: text / position | surrogate: text / position |",
        "|---|---|---|---|",
    ]
    for r in rows:
        for decision, modes in r.get("leaks", {}).items():
            cell = lambda m: f"{modes[m]['text_leak_rate']:.4f} / {modes[m]['position_leak_rate']:.4f}"
            lines.append(f"| {r['split']} | {decision} | {cell('redact')} | {cell('surrogate')} |")
    return "\n".join(lines)


if __name__ == "__main__":
    main()
