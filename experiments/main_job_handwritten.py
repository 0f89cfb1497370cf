"""The main job's models on notes no generator wrote: the hand-written one-line notes and tabular notes.

    python experiments/main_job_handwritten.py --model NAME=DIR [NAME=DIR ...] [--name main_job_handwritten]

`make train` tests on notes of its own generator (`tfner.data.notes`); this scores saved models on the two
hand-written sets of experiments/data (other layouts, headers, languages and formats than the generator's):
the one-line notes with token-level entity F1 and PHI token recall (`leave_families_out.scores`), the tabular
notes with exact character spans through `NERPipeline` (`leave_families_out.score_tables`). Each model reads
text as it was trained (its `table_view`). Writes experiments/results/NAME.{json,md}.
"""

import argparse
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
import tfner  # noqa: E402,F401
from experiments.common import write_results  # noqa: E402
from experiments.leave_families_out import HANDWRITTEN, corpus_of, read_marked, score_tables, scores  # noqa: E402


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", nargs="+", required=True, metavar="NAME=DIR", help="saved models to score")
    parser.add_argument("--name", default="main_job_handwritten")
    args = parser.parse_args()
    models = []
    for spec in args.model:
        name, _, folder = spec.partition("=")
        if not folder or not os.path.exists(os.path.join(folder, "config.json")):
            parser.error(f"--model {spec!r}: expected NAME=DIR with a saved model (config.json) in DIR")
        models.append((name, folder))

    from tfner.model.tagger import Tagger

    handwritten = corpus_of(read_marked(HANDWRITTEN), "handwritten")
    lines = [
        "# The main job's models on hand-written notes (never generated)",
        "",
        "| model | table view | one-line notes F1 | PHI token recall | tabular notes F1 (exact spans) | "
        "tabular precision / recall |",
        "|---|---|---|---|---|---|",
    ]
    payload = {"args": vars(args), "models": {}}
    for name, folder in models:
        tagger = Tagger.load(folder)
        one_line, tables = scores(tagger, handwritten), score_tables(tagger)
        payload["models"][name] = {"folder": folder, "table_view": tagger.config.table_view, "one_line": one_line}
        payload["models"][name]["tables"] = tables
        lines.append(
            f"| {name} | {tagger.config.table_view} | {one_line['f1']:.3f} | {one_line['phi_recall']:.3f} | "
            f"{tables['f1']:.3f} | {tables['precision']:.3f} / {tables['recall']:.3f} |"
        )
        print(lines[-1], flush=True)
    lines += [
        "",
        f"One-line notes: {len(handwritten.documents)} notes; tabular notes: {tables['gold']} gold entities.",
    ]
    write_results(args.name, payload, "\n".join(lines))


if __name__ == "__main__":
    main()
