"""Bayesian search over the head, LoRA on/off and the learning rate for MiniLM on a CoNLL-2003 subset.

    python experiments/tune_conll.py                     # ~20 minutes on a 2-core CPU (estimated)
    python experiments/tune_conll.py --train-sentences 64 --valid-sentences 32 --trials 2 --initial-points 1 \\
        --name tune_conll_smoke --overwrite              # a smoke run, a few minutes

The search is `tfner.tune` (the `python -m tfner.tune --tuner bayesian` path) over

    head: linear, mlp, replace-last;  lora: on/off;  learning_rate: 1e-5 .. 2e-3, log scale

with everything else the `TrainConfig` defaults (head learning rate 1e-3, batches of 16, warm-up 10 %,
LoRA r 16 / alpha 32 when on), one epoch on the first --train-sentences sentences of train.txt,
validated on the first --valid-sentences of valid.txt. The first --initial-points trials are random,
the others chosen by the Gaussian process. A trial that collapses (the detector raises: typically
learning rates too small for one short epoch, or far too large) is failed and never the best. Writes
experiments/results/NAME.{json,md} and NAME.png (the objective per trial); the tuner project, every
trial's model and `best_config.json` go to experiments/results/NAME/ (ignored by git; about 260 MB per
trial). Started again without --overwrite, the search resumes. Needs ../shared/datasets/conll2003.

The time is an estimate from a smoke run (160 sentences, 2 epochs, another job sharing the CPU): about
23 sentences/s of training, 12 s of tracing and 10 s of building, evaluating and saving per trial, so
roughly 100 s per trial with 1,500 sentences and 4 passes over 500 validation sentences.
"""

import argparse
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
import tfner  # noqa: E402,F401
from experiments.common import RESULTS, require_conll, write_results  # noqa: E402
from tfner.evaluation import plots  # noqa: E402
from tfner.training.config import TrainConfig  # noqa: E402
from tfner.tune import format_table, make_tuner  # noqa: E402

SPACE = {
    "head": {"type": "choice", "values": ["linear", "mlp", "replace-last"]},
    "lora": {"type": "boolean"},
    "learning_rate": {"type": "float", "min": 1e-5, "max": 2e-3, "sampling": "log"},
}


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--train-sentences", type=int, default=1500, help="first N sentences of train.txt")
    parser.add_argument("--valid-sentences", type=int, default=500, help="first N sentences of valid.txt")
    parser.add_argument("--epochs", type=int, default=1)
    parser.add_argument("--batch-size", type=int, default=16)
    parser.add_argument("--trials", type=int, default=10)
    parser.add_argument("--initial-points", type=int, default=4, help="random trials before the Gaussian process")
    parser.add_argument("--name", default="tune_conll", help="results name (and project folder)")
    parser.add_argument("--overwrite", action="store_true", help="start afresh instead of resuming")
    args = parser.parse_args()
    train_path, valid_path = require_conll()
    base = TrainConfig.from_dict(
        dict(
            train=train_path,
            validation=valid_path,
            max_train_documents=args.train_sentences,
            max_eval_documents=args.valid_sentences,
            epochs=args.epochs,
            batch_size=args.batch_size,
            eval_before=False,
            verbose=2,
        )
    )
    tuner = make_tuner(
        base,
        SPACE,
        tuner="bayesian",
        max_trials=args.trials,
        initial_points=args.initial_points,
        directory=RESULTS,
        project_name=args.name,
        overwrite=args.overwrite,
        max_consecutive_failed_trials=args.trials,
    )  # a run of collapses is information here
    start = time.perf_counter()
    results = tuner.search()
    seconds = time.perf_counter() - start
    rows, best = results["trials"], results["best"]
    plots.plot_trials(
        rows,
        "val_f1",
        os.path.join(RESULTS, args.name + ".png"),
        f"Bayesian search, MiniLM, CoNLL-2003: validation F1 per trial\n"
        f"({args.train_sentences} train sentences, {args.epochs} epoch(s), "
        f"{args.valid_sentences} validation sentences)",
        labels=[_label(r["hyperparameters"]) for r in rows],
    )
    settings = {
        **vars(args),
        "space": SPACE,
        "encoder": base.model.encoder,
        "head_learning_rate": base.head_learning_rate,
        "search_seconds_this_run": seconds,
    }
    lines = [
        f"Bayesian search (tfner.tune) over head, LoRA on/off and learning rate: MiniLM, first "
        f"{args.train_sentences} CoNLL-2003 train sentences, {args.epochs} epoch(s), batches of "
        f"{args.batch_size}, validation F1 on the first {args.valid_sentences} valid sentences; "
        f"{len(rows)} trials, the first {args.initial_points} random. Search wall time this run: "
        f"{seconds / 60:.1f} min.",
        "",
        format_table(rows, SPACE, "val_f1"),
        "",
    ]
    if best:
        config = TrainConfig.from_json(results["best_config"])
        lines.append(
            f"Best: trial {best['trial_id']}, val_f1 {best['score']:.4f} "
            f"({_label(best['hyperparameters'])}). Retrain it: `python -m tfner.train --config "
            f"{os.path.relpath(results['best_config'])}`."
        )
        best_config = config.to_dict()
    else:
        lines.append("No trial completed.")
        best_config = None
    write_results(
        args.name, {"settings": settings, "trials": rows, "best": best, "best_config": best_config}, "\n".join(lines)
    )


def _label(hp):
    return f"{hp['head']} {'LoRA' if hp['lora'] else 'full'} lr={hp['learning_rate']:.2g}"


if __name__ == "__main__":
    main()
