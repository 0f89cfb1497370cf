"""A search's results: one row per trial, the best one and its config, and the files in the project
folder (summary.txt, trials.json, trials.csv, best_config.json, objective.png, TensorBoard HParams).

The functions take a finished (or interrupted) tuner, an `NERTuner` of `tfner.tune.tuner` or anything
with its `oracle`, `project_dir`, `space`, `kind`, `base_config` and `results_summary`, or its rows.
"""

import contextlib
import csv
import io
import json
import math
import os
import shutil

from keras_tuner.engine.trial import TrialStatus

from tfner.evaluation import plots
from tfner.tune.space import TRIAL_METRICS, active_values, config_for, decode, encode

OUTCOME = "outcome.json"  # beside keras-tuner's trial.json: a trial's status, seconds and error


def trial_rows(tuner):
    """One dict per trial in the order they started: id, status, score, values, metrics, seconds, error."""
    trials = tuner.oracle.trials
    order = [t for t in tuner.oracle.start_order if t in trials] + sorted(
        t for t in trials if t not in tuner.oracle.start_order
    )
    rows = []
    for trial_id in order:
        trial = trials[trial_id]
        values = active_values(trial.hyperparameters)
        outcome_path = os.path.join(tuner.project_dir, f"trial_{trial_id}", OUTCOME)
        outcome = {}
        if os.path.exists(outcome_path):
            with open(outcome_path) as f:
                outcome = json.load(f)
        metrics = {name: _finite(trial.metrics.get_last_value(name)) for name in trial.metrics.metrics}
        error = None
        if trial.status != TrialStatus.COMPLETED:
            error = outcome.get("error") or _last_line(trial.message)
        rows.append(
            {
                "trial_id": trial_id,
                "status": trial.status,
                "score": _finite(trial.score) if trial.status == TrialStatus.COMPLETED else None,
                "hyperparameters": {n: decode(n, v) for n, v in values.items() if not n.startswith("tuner/")},
                "hyperband": {k.split("/")[1]: v for k, v in values.items() if k.startswith("tuner/")},
                "metrics": metrics,
                "seconds": metrics.get("seconds", outcome.get("seconds")),
                "error": error,
            }
        )
    return rows


def best_row(rows, direction="max"):
    """The completed trial with the best objective, or None (failed trials never qualify)."""
    done = [r for r in rows if r["status"] == TrialStatus.COMPLETED and r["score"] is not None]
    if not done:
        return None
    pick = max if direction == "max" else min
    return pick(done, key=lambda r: r["score"])


def best_config(tuner, row=None):
    """The TrainConfig that trains a row's trial (default: the best) again, same seed, output to
    PROJECT/best; None when no trial completed."""
    row = row or best_row(trial_rows(tuner), tuner.oracle.objective.direction)
    if row is None:
        return None
    values = {
        **{n: encode(n, v) for n, v in row["hyperparameters"].items()},
        **{f"tuner/{k}": v for k, v in row["hyperband"].items() if k == "epochs"},
    }
    return config_for(tuner.base_config, values, output_dir=os.path.join(tuner.project_dir, "best"))


def write_results(tuner):
    """trials.json/.csv, best_config.json, objective.png, hparams/ and summary.txt (printed too); returns
    {"trials": rows, "best": row or None, "best_config": path or None, "project_dir": path}."""
    rows = trial_rows(tuner)
    objective, direction = tuner.oracle.objective.name, tuner.oracle.objective.direction
    write_tables(tuner, rows)
    best = best_row(rows, direction)
    best_path = os.path.join(tuner.project_dir, "best_config.json")
    if best is not None:
        best_config(tuner, best).to_json(best_path)
    elif os.path.exists(best_path):
        os.remove(best_path)
    plots.plot_trials(
        rows,
        objective,
        os.path.join(tuner.project_dir, "objective.png"),
        f"{tuner.kind} search: {objective} per trial ({direction})",
        labels=[_short(r["hyperparameters"]) for r in rows],
        direction=direction,
    )
    write_hparams(tuner, rows)
    summary = io.StringIO()
    with contextlib.redirect_stdout(summary):
        completed = sum(r["status"] == TrialStatus.COMPLETED for r in rows)
        tuner.results_summary(num_trials=min(10, completed) or 1)
    text = summary.getvalue() + "\n" + format_table(rows, tuner.space, objective) + "\n\n"
    text += (
        f"best: trial {best['trial_id']}, {objective} {best['score']:.4f}; retrain it with\n"
        f"  python -m tfner.train --config {best_path}\n"
        if best
        else "no trial completed: no best config (see the error column)\n"
    )
    with open(os.path.join(tuner.project_dir, "summary.txt"), "w") as f:
        f.write(text)
    print(text)
    return {"trials": rows, "best": best, "best_config": best_path if best else None, "project_dir": tuner.project_dir}


def write_tables(tuner, rows):
    """trials.json (with the objective and tuner) and trials.csv (one column per value and metric)."""
    with open(os.path.join(tuner.project_dir, "trials.json"), "w") as f:
        json.dump(
            {
                "objective": tuner.oracle.objective.name,
                "direction": tuner.oracle.objective.direction,
                "tuner": tuner.kind,
                "trials": rows,
            },
            f,
            indent=1,
        )
    hp_names = list(tuner.space)
    metric_names = [m for m in TRIAL_METRICS if m != "seconds" and any(m in r["metrics"] for r in rows)]
    band = sorted({k for r in rows for k in r["hyperband"]})
    with open(os.path.join(tuner.project_dir, "trials.csv"), "w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(
            ["trial_id", "status", "score", *hp_names, *[f"tuner/{k}" for k in band], *metric_names, "seconds", "error"]
        )
        for r in rows:
            hp = r["hyperparameters"]
            writer.writerow(
                [
                    r["trial_id"],
                    r["status"],
                    _cell(r["score"]),
                    *[_cell(hp.get(n)) for n in hp_names],
                    *[_cell(r["hyperband"].get(k)) for k in band],
                    *[_cell(r["metrics"].get(m)) for m in metric_names],
                    _cell(r["seconds"]),
                    r["error"] or "",
                ]
            )


def write_hparams(tuner, rows):
    """TensorBoard HParams in PROJECT/hparams: the space and metrics at the top, one run per trial."""
    import tensorflow as tf
    from tensorboard.plugins.hparams import api as hparams_api

    root = os.path.join(tuner.project_dir, "hparams")
    shutil.rmtree(root, ignore_errors=True)
    domains = {
        name: hparams_api.HParam(name, _hparam_domain(entry, name, hparams_api)) for name, entry in tuner.space.items()
    }
    metric_names = [m for m in TRIAL_METRICS if any(r["metrics"].get(m) is not None for r in rows)]
    writer = tf.summary.create_file_writer(root)
    with writer.as_default():
        hparams_api.hparams_config(
            hparams=list(domains.values()), metrics=[hparams_api.Metric(m, display_name=m) for m in metric_names]
        )
    writer.close()
    for r in rows:
        writer = tf.summary.create_file_writer(os.path.join(root, f"trial_{r['trial_id']}"))
        with writer.as_default():
            hparams_api.hparams(
                {domains[n]: encode(n, v) for n, v in r["hyperparameters"].items()}, trial_id=r["trial_id"]
            )
            for m in metric_names:
                if r["metrics"].get(m) is not None:
                    tf.summary.scalar(m, r["metrics"][m], step=0)
        writer.close()


def format_table(rows, space, objective):
    """A markdown table of the trials: id, status, objective, the space's values, seconds, error."""
    names = list(space)
    band = sorted({k for r in rows for k in r["hyperband"]})
    head = ["trial", "status", objective, *names, *[f"tuner/{k}" for k in band], "seconds", "error"]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for r in rows:
        score = f"{r['score']:.4f}" if r["score"] is not None else ""
        seconds = f"{r['seconds']:.0f}" if r["seconds"] is not None else ""
        error = (r["error"] or "")[:90].replace("|", "/")
        cells = [
            r["trial_id"],
            r["status"],
            score,
            *[_cell(r["hyperparameters"].get(n)) for n in names],
            *[_cell(r["hyperband"].get(k)) for k in band],
            seconds,
            error,
        ]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def _hparam_domain(entry, name, api):
    kind = entry["type"]
    if kind == "boolean":
        return api.Discrete([True, False])
    if kind == "choice":
        return api.Discrete([encode(name, v) for v in entry["values"]])
    if kind == "int" and entry.get("step") and entry["sampling"] == "linear":
        return api.Discrete(list(range(entry["min"], entry["max"] + 1, entry["step"])))
    if kind == "int":
        return api.IntInterval(entry["min"], entry["max"])
    return api.RealInterval(float(entry["min"]), float(entry["max"]))


def _finite(value):
    return float(value) if value is not None and math.isfinite(float(value)) else None


def _last_line(text):
    lines = [line for line in (text or "").strip().splitlines() if line.strip()]
    return lines[-1].split(": ", 1)[-1] if lines else None


def _cell(value):
    if value is None:
        return ""
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() and abs(value) < 1e15 else f"{value:.6g}"
    return json.dumps(value) if isinstance(value, (list, dict, bool)) else str(value)


def _short(hp):
    """A compact label of a trial's values for plots: 'mlp lora r8 lr=0.0003'."""
    parts = []
    for name, value in hp.items():
        if isinstance(value, bool):
            parts.append(name if value else f"no-{name}")
        elif name == "head":
            parts.append(str(value))
        else:
            parts.append(f"{name.replace('learning_rate', 'lr')}={_cell(value)}")
    return " ".join(parts)
