"""Helpers shared by the experiment scripts: where the real data lives and how results are written."""

import json
import os
import platform
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
RESULTS = os.path.join(HERE, "results")
SHARED = os.environ.get("TFNER_SHARED", os.path.join(ROOT, "..", "shared"))
CONLL = os.path.join(SHARED, "datasets", "conll2003")


def require_conll():
    """Paths of CoNLL-2003 train/valid, or exit with a message saying where they were looked for."""
    paths = os.path.join(CONLL, "train.txt"), os.path.join(CONLL, "valid.txt")
    missing = [p for p in paths if not os.path.exists(p)]
    if missing:
        sys.exit(
            f"CoNLL-2003 not found ({', '.join(missing)}). This experiment needs the shared "
            "datasets folder beside the repo (../shared/datasets) or TFNER_SHARED=/path/to/shared."
        )
    return paths


def conll_config(args, output_dir, **overrides):
    """The TrainConfig of the CoNLL experiments: MiniLM + the linear head on CoNLL-2003 train/valid, with the
    script's --epochs, --batch-size, --max-train and --max-eval, no evaluation before training and one line
    per epoch; `overrides` set the rest."""
    from tfner.training.config import TrainConfig

    train_path, valid_path = require_conll()
    settings = dict(
        head="linear",
        train=train_path,
        validation=valid_path,
        epochs=args.epochs,
        batch_size=args.batch_size,
        max_train_documents=args.max_train,
        max_eval_documents=args.max_eval,
        eval_before=False,
        verbose=2,
        output_dir=output_dir,
    )
    return TrainConfig.from_dict({**settings, **overrides})


def machine():
    return {
        "platform": platform.platform(),
        "processor": platform.processor() or platform.machine(),
        "cpus": os.cpu_count(),
        "python": platform.python_version(),
        "date": time.strftime("%Y-%m-%d %H:%M"),
    }


def write_results(name, payload, table):
    """Write RESULTS/name.json (figures) and RESULTS/name.md (the table), and print the table."""
    os.makedirs(RESULTS, exist_ok=True)
    payload = {"machine": machine(), **payload}
    with open(os.path.join(RESULTS, name + ".json"), "w") as f:
        json.dump(payload, f, indent=1)
    with open(os.path.join(RESULTS, name + ".md"), "w") as f:
        f.write(table + "\n")
    print(table)
    print(f"\nwritten to {os.path.relpath(os.path.join(RESULTS, name))}.json and .md")
