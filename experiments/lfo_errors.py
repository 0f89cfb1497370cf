"""Where a leave-families-out model fails: F1 per held-out family and locale, and its errors with context.

    python experiments/leave_families_out.py --no-legacy --only-splits 1 --models runs/lfo
    python experiments/lfo_errors.py --models runs/lfo --split 1 [--examples 6]

Reads the model `leave_families_out.py --models DIR` kept for a split (`kept_model`), rebuilds that
split's `unseen` test notes with leave_families_out.py's own `unseen_notes` (same families, locales,
seed and count) and tags them with `NERPipeline` (character spans). Scores are exact character-span
matches (start, end and type): on these notes the same as seqeval's strict entity F1 of
leave_families_out.py.

Reports (experiments/results/NAME.{json,md}, --name default lfo_errors_split<k>):
- entity F1 per held-out family and per held-out locale, with the gold entities of each;
- every gold entity that was not found exactly, by kind: `type` (same span, other type), `boundary`
  (overlapping predictions of the right type only), `boundary+type`, `missed`; and every prediction
  overlapping no gold entity (`spurious`), each kind with --examples examples in context
  (synthetic notes only: the generator's names, no real PHI).
"""

import argparse
import collections
import dataclasses
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
import tfner  # noqa: E402,F401
from experiments.common import write_results  # noqa: E402
from experiments.leave_families_out import kept_model, split_names, unseen_notes  # noqa: E402
from tfner.data.notes import FAMILIES, LOCALES  # noqa: E402


def f1(counts):
    found, predicted, gold = counts
    precision, recall = found / max(predicted, 1), found / max(gold, 1)
    return 2 * precision * recall / (precision + recall) if precision + recall else 0.0


def error_kind(span, label, predicted):
    """The kind of a gold entity's error, given the predictions {(start, end): label}; None if exact."""
    if predicted.get(span) == label:
        return None
    if span in predicted:
        return f"type {label} -> {predicted[span]}"
    overlapping = [p for (s, e), p in predicted.items() if s < span[1] and span[0] < e]
    if not overlapping:
        return f"missed {label}"
    return f"boundary {label}" if set(overlapping) == {label} else f"boundary+type {label}"


def context(text, start, end, marks=("[[", "]]"), width=30):
    shown = text[max(0, start - width) : start] + marks[0] + text[start:end] + marks[1] + text[end : end + width]
    return shown.replace("\n", " / ")


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--models", required=True, metavar="DIR", help="leave_families_out.py --models DIR")
    parser.add_argument("--split", type=int, required=True)
    parser.add_argument("--splits", type=int, default=3, help="as leave_families_out.py --splits")
    parser.add_argument("--test-notes", type=int, default=150, help="as leave_families_out.py --test-notes")
    parser.add_argument("--examples", type=int, default=6, help="examples per error kind")
    parser.add_argument("--name", help="results file name (default lfo_errors_split<k>)")
    parser.add_argument(
        "--table-view",
        action="store_true",
        help="read the notes through the table view (tfner.data.tables) even if the model's config does not say so "
        "(a model trained on viewed notes before ModelConfig.table_view existed)",
    )
    args = parser.parse_args()
    if not 0 <= args.split < args.splits:
        parser.error(f"--split {args.split}: expected 0 to {args.splits - 1} (--splits {args.splits})")
    model = kept_model(args.models, args.split)
    if not os.path.isdir(model):
        parser.error(
            f"no model at {model}: run leave_families_out.py --only-splits {args.split} --models {args.models}"
        )

    from tfner.model.tagger import Tagger
    from tfner.serving.pipeline import NERPipeline

    k = args.split
    families, locales = split_names(FAMILIES, args.splits, k), split_names(LOCALES, args.splits, k)
    notes = unseen_notes(k, args.splits, args.test_notes)
    tagger = Tagger.load(model)
    if args.table_view:
        tagger.config = dataclasses.replace(tagger.config, table_view=True)
    found = NERPipeline(tagger, aggregation="simple")([n["text"] for n in notes])

    counts = collections.defaultdict(lambda: [0, 0, 0])  # group: [exact, predicted, gold]
    kinds, examples = collections.Counter(), collections.defaultdict(list)
    for note, entities in zip(notes, found):
        text = note["text"]
        gold = {(s, e): label for s, e, label in note["ner_tags"]}
        predicted = {(p["start"], p["end"]): p["entity_group"] for p in entities}
        exact = sum(predicted.get(span) == label for span, label in gold.items())
        for group in ("all", f"family {note['family']}", f"locale {note['locale']}"):
            for i, n in enumerate((exact, len(predicted), len(gold))):
                counts[group][i] += n
        for span, label in gold.items():
            kind = error_kind(span, label, predicted)
            if kind:
                kinds[kind] += 1
                overlapping = [f"{text[s:e]!r} {p}" for (s, e), p in predicted.items() if s < span[1] and span[0] < e]
                examples[kind].append(f"{note['family']}: {context(text, *span)} -> {', '.join(overlapping) or '-'}")
        for (s, e), label in predicted.items():
            if not any(gs < e and s < ge for gs, ge in gold):
                kinds[f"spurious {label}"] += 1
                examples[f"spurious {label}"].append(f"{note['family']}: {context(text, s, e, ('<<', '>>'))}")

    scores = {group: {"f1": f1(c), "gold": c[2]} for group, c in sorted(counts.items())}
    lines = [
        f"Split {k} of {args.splits} (held-out families {', '.join(families)}; locales {', '.join(locales)}): "
        f"{len(notes)} unseen notes, the model of {model}. Exact character spans and types.",
        "",
        "| group | gold entities | entity F1 |",
        "|---|---|---|",
    ]
    lines += [f"| {group} | {s['gold']} | {s['f1']:.3f} |" for group, s in scores.items()]
    lines += ["", "| error kind | count |", "|---|---|"]
    lines += [f"| {kind} | {n} |" for kind, n in kinds.most_common()]
    for kind, n in kinds.most_common():
        lines += ["", f"### {kind} ({n})", ""] + [f"- `{x}`" for x in examples[kind][: args.examples]]
    payload = {"args": vars(args), "scores": scores, "error_kinds": dict(kinds)}
    write_results(args.name or f"lfo_errors_split{k}", payload, "\n".join(lines))


if __name__ == "__main__":
    main()
