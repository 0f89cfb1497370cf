"""Entities without the characters they cannot begin or end with (`tfner.serving.pipeline.trim`: quotes, commas,
semicolons, colons, hyphens, parentheses, HL7 separators, a sentence's full stop after a digit or a long word).

    python experiments/entity_edges.py --model 0=DIR 1=DIR 2=DIR [--name entity_edges]

For each leave-families-out split k (`experiments/leave_families_out.py`) and its kept model DIR (a model that
reads the table view; `--models DIR` of that script keeps them in DIR/split<k>/new), exact character-span
precision, recall and F1 through `NERPipeline` (`simple`) with the pipeline's edge trimming and without it (the
same entities, untrimmed), on the split's unseen notes (held-out families and locales), its seen notes (new notes
of the training families and locales), the 10 hand-written tabular notes and the 15 hand-written one-line notes. Writes experiments/results/NAME.{json,md}.
Results: entity_edges.md (2026-12-07: quotes, commas, semicolons, colons), entity_edges_more_old_models.md (the
same models, 2026-12-08: the rules of today), entity_edges_more_fresh_models.md (the split models of today's
recipe, leave_families_out.py's one epoch over 1,800 notes).
"""

import argparse
import dataclasses
import os
import sys
from unittest import mock

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
import tfner  # noqa: E402,F401
from experiments.common import write_results  # noqa: E402
from experiments.leave_families_out import (  # noqa: E402
    FAMILIES,
    HANDWRITTEN,
    LOCALES,
    exact_spans,
    generate_notes,
    read_marked,
    read_tables,
    split_names,
    unseen_notes,
)


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", nargs="+", required=True, metavar="K=DIR", help="split k's kept model")
    parser.add_argument("--splits", type=int, default=3)
    parser.add_argument("--test-notes", type=int, default=150)
    parser.add_argument("--name", default="entity_edges")
    args = parser.parse_args()
    models = []
    for spec in args.model:
        k, _, folder = spec.partition("=")
        if not k.isdigit() or not os.path.exists(os.path.join(folder, "config.json")):
            parser.error(f"--model {spec!r}: expected K=DIR, a split number and a saved model (config.json) in DIR")
        models.append((int(k), folder))

    from tfner.model.tagger import Tagger
    from tfner.serving import pipeline

    sets = {"tables": read_tables(), "one-line": read_marked(HANDWRITTEN)}
    lines = [
        "# Entity edges: exact-span F1 through the pipeline, untrimmed -> trimmed (`pipeline.trim`)",
        "",
        "| split | test set | gold | F1 untrimmed | F1 trimmed | false positives | true positives |",
        "|---|---|---|---|---|---|---|",
    ]
    payload = {"args": vars(args), "rows": []}
    for k, folder in models:
        tagger = Tagger.load(folder)
        # the models of the table-view trial were saved before ModelConfig.table_view; they read it
        tagger.config = dataclasses.replace(tagger.config, table_view=True)
        families = [f for f in FAMILIES if f not in split_names(FAMILIES, args.splits, k)]
        locales = [loc for loc in LOCALES if loc not in split_names(LOCALES, args.splits, k)]
        seen = generate_notes(args.test_notes, seed=2000 + k, families=families, locales=locales)  # as LFO's
        for name, records in [("unseen", unseen_notes(k, args.splits, args.test_notes)), ("seen", seen), *sets.items()]:
            texts = [r["text"] for r in records]
            with mock.patch.object(pipeline, "trim", lambda text, start, end: (start, end)):
                before = exact_spans(records, pipeline.NERPipeline(tagger, "simple")(texts))
            after = exact_spans(records, pipeline.NERPipeline(tagger, "simple")(texts))
            payload["rows"].append({"split": k, "set": name, "model": folder, "untrimmed": before, "trimmed": after})
            lines.append(
                f"| {k} | {name} | {after['tp'] + after['fn']} | {before['f1']:.4f} | {after['f1']:.4f} | "
                f"{before['fp']} -> {after['fp']} | {before['tp']} -> {after['tp']} |"
            )
            print(lines[-1], flush=True)
    write_results(args.name, payload, "\n".join(lines))


if __name__ == "__main__":
    main()
