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
