"""The model card of an export: `README.md` beside the SavedModel and the same facts as JSON in
`assets.extra/model_card.json` (TF Serving ignores both).

The facts come from the saved run when the export starts from a model directory (`tfner export DIR`):
`config.json` (the run config: data, encoder, head, training settings), `metrics.json` (validation and
test scores, parameters, training time, the collapse check) and `history.json` (per-epoch curves). A
tagger exported from memory has only its model config and labels; the card says what is missing.
"""

import datetime
import json
import os

from tfner.data import tags as tag_schemes

CARD_JSON = "model_card.json"
EXAMPLE_TEXT = "Patient John Smith was seen on 03/04/2021."

# Said of every tfner model; data-specific notes are added by `_limitations`.
LIMITATIONS = [
    "Labels only the entity types listed above; anything else is O.",
    "Figures are from the run's own validation and test data; a different hospital, layout, language or "
    "annotation guideline lowers them. Evaluate on your own data (`tfner evaluate`) before relying on it.",
    "A missed entity is a privacy leak when the model is used for de-identification: review outputs, or use "
    "the recall-first thresholds (`tfner calibrate`) and human review.",
]


def _read_json(run_dir, name):
    path = os.path.join(run_dir, name) if run_dir else None
    if not path or not os.path.exists(path):
        return None
    with open(path) as f:
        return json.load(f)


def _data_summary(run):
    """Where the training, validation and test data came from, as the run config records it."""
    if run is None:
        return {"source": "not recorded (exported from a tagger in memory, not a run directory)"}
    if run.get("train"):
        out = {"train": run["train"]}
        if run.get("validation"):
            out["validation"] = run["validation"]
        else:
            out["validation"] = f"{run.get('validation_fraction', 0.1):.0%} of train held out"
        if run.get("test"):
            out["test"] = run["test"]
    else:
        out = {
            "train": f"{run.get('synthetic_train')} synthetic clinical notes (tfner.data.notes, "
            f"seed {run.get('seed')})",
            "validation": f"{run.get('validation_fraction', 0.1):.0%} of the training notes held out",
            "test": f"{run.get('synthetic_test')} synthetic clinical notes",
            "families": run.get("synthetic_families") or "all",
            "locales": run.get("synthetic_locales") or "all",
            "label_set": run.get("synthetic_label_set", "default"),
        }
    for key in ("max_train_documents", "max_eval_documents"):
        if run.get(key):
            out[key] = run[key]
    return out


def _scores(scores):
    if not scores:
        return None
    keep = ("precision", "recall", "f1", "support", "entities_predicted")
    out = {k: scores[k] for k in keep if k in scores}
    if "per_type" in scores:
        out["per_type"] = {
            t: {k: v[k] for k in ("precision", "recall", "f1", "support") if k in v}
            for t, v in scores["per_type"].items()
        }
    return out


def _limitations(run, max_length, stride, predict_text, line_starts, table_view=False):
    notes = list(LIMITATIONS)
    if run is not None and not run.get("train"):
        notes.insert(
            1,
            "Trained on synthetic notes only: never validated on real patient records.",
        )
    notes.append(
        f"Long texts are split into windows of {max_length} tokens sharing {stride}; "
        + (
            "predict_text windows in the graph, so whole documents can be sent."
            if predict_text
            else "serving_default takes one window per row: the client windows long texts (tfner.serving.pipeline)."
        )
    )
    if line_starts:
        notes.append(
            "The model sees the layout of raw text: predict_text marks the first token of each line, cell or "
            "field as the model was trained; serving_default reads token_type_ids as those marks (all zeros "
            "read as one line: send the marks of tfner.data.align.Windows.line_starts for notes with layout)."
        )
    if table_view:
        notes.append(
            "The model reads raw text through the table view (tfner.data.tables: each table cell after its column "
            "header, each HL7 field after its name): predict_text builds it in the graph (tfner.serving.table_view); "
            "serving_default takes token ids: tokenize TableView(text).text on the client and map offsets back "
            "with TableView.to_original."
        )
    return notes


def requests(name, signatures, token_type_ids):
    """Request examples for TF Serving's REST API and saved_model_cli, per signature."""
    url = f"http://localhost:8501/v1/models/{name}:predict"
    ids = {"input_ids": [[101, 5074, 2198, 3044, 102]], "attention_mask": [[1, 1, 1, 1, 1]]}
    if token_type_ids:
        ids["token_type_ids"] = [[0, 0, 0, 0, 0]]
    out = {
        "serving_default": {
            "rest_url": url,
            "rest_body": {"signature_name": "serving_default", "inputs": ids},
            "curl": f"curl -s -X POST {url} -d '"
            + json.dumps({"signature_name": "serving_default", "inputs": ids})
            + "'",
            "saved_model_cli": "saved_model_cli run --dir . --tag_set serve --signature_def serving_default "
            "--input_exprs '" + ";".join(f"{k}=np.array({v})" for k, v in ids.items()) + "'",
        }
    }
    if "predict_text" in signatures:
        body = {"signature_name": "predict_text", "inputs": {"text": [EXAMPLE_TEXT]}}
        out["predict_text"] = {
            "rest_url": url,
            "rest_body": body,
            "curl": f"curl -s -X POST {url} -d '{json.dumps(body)}'",
            # saved_model_cli must register tensorflow_text's ops before it loads the graph
            "saved_model_cli": "python -c \"import sys, tensorflow_text; sys.argv[0]='saved_model_cli'; "
            'from tensorflow.python.tools.saved_model_cli import main; sys.exit(main())" '
            f"run --dir . --tag_set serve --signature_def predict_text --input_exprs 'text=[\"{EXAMPLE_TEXT}\"]'",
        }
    return out


def build_card(tagger, name, version, signatures, max_length, stride, run_dir=None):
    """The card's facts as a JSON-ready dict."""
    import tfner

    run = _read_json(run_dir, "config.json")
    metrics = _read_json(run_dir, "metrics.json")
    history = _read_json(run_dir, "history.json")
    m = tagger.config
    enc = tagger.encoder.config
    types = sorted({tag_schemes.entity_type(l) for l in tagger.labels if l != "O"})
    card = {
        "name": name,
        "version": int(version),
        "exported": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        "tfner_version": tfner.__version__,
        "source": os.path.abspath(run_dir) if run_dir else None,
        "task": "token classification (named entities), BIO labels",
        "labels": list(tagger.labels),
        "entity_types": types,
        "model": {
            "encoder": m.encoder,
            "architecture": getattr(enc, "model_type", type(tagger.encoder).__name__),
            "layers": getattr(enc, "num_hidden_layers", None),
            "hidden_size": getattr(enc, "hidden_size", None),
            "parameters": int(sum(int(v.shape.num_elements()) for v in tagger.model.variables)),
            "head": m.head,
            "finetune": m.finetune,
            "lora": m.lora.enabled,
            "tokenizer": type(tagger.tokenizer).__name__,
            "max_length": int(max_length),
            "stride": int(stride),
            "line_starts": tagger.sees_layout,
            "table_view": tagger.config.table_view,
            "decoder": "recall-first thresholds" if tagger.thresholds else "argmax",
        },
        "thresholds": dict(tagger.thresholds) if tagger.thresholds else None,
        "training_data": _data_summary(run),
        "training": None,
        "metrics": None,
        "signatures": sorted(signatures),
        "intended_use": (
            "Finding the entity types above in raw text of the kind the model was trained on, served by "
            "TF Serving (predict_text: raw text -> entities with character offsets; serving_default: token "
            "ids -> logits) or loaded with tf.saved_model.load."
        ),
        "limitations": _limitations(
            run, max_length, stride, "predict_text" in signatures, tagger.sees_layout, tagger.config.table_view
        ),
        "requests": requests(name, signatures, "token_type_ids" in tagger.tokenizer.model_input_names),
    }
    if run is not None:
        card["training"] = {
            k: run[k]
            for k in ("epochs", "batch_size", "learning_rate", "head_learning_rate", "seed", "precision")
            if k in run
        }
        card["config"] = run
    else:
        card["config"] = {"model": m.to_dict()}
    if metrics is not None:
        card["training"] = dict(card["training"] or {})
        for k in ("epochs_run", "train_seconds", "trainable_params", "all_params"):
            if k in metrics:
                card["training"][k] = metrics[k]
        evaluated = metrics.get("evaluated_on", "test")
        card["metrics"] = {"validation": _scores(metrics.get("validation"))}
        if evaluated != "validation":
            card["metrics"][evaluated] = _scores(metrics.get("after"))
        if metrics.get("collapse"):
            card["metrics"]["collapsed"] = bool(metrics["collapse"].get("final_model", {}).get("collapsed"))
    if history and history.get("val_f1"):
        f1 = history["val_f1"]
        best = max(range(len(f1)), key=f1.__getitem__)
        card["training"] = dict(card["training"] or {})
        card["training"]["validation_f1_per_epoch"] = [round(v, 4) for v in f1]
        card["training"]["best_epoch"] = best + 1
    return card


def _table(scores):
    rows = ["| | precision | recall | F1 | support |", "|---|---|---|---|---|"]
    fmt = lambda s: (
        f"{s.get('precision', 0):.4f} | {s.get('recall', 0):.4f} | {s.get('f1', 0):.4f} | {s.get('support', '')}"
    )
    rows.append(f"| **all** | {fmt(scores)} |")
    for t, s in (scores.get("per_type") or {}).items():
        rows.append(f"| {t} | {fmt(s)} |")
    return rows


def render_markdown(card):
    """The card as the README.md written beside the SavedModel."""
    m = card["model"]
    lines = [
        f"# {card['name']}, version {card['version']}",
        "",
        f"A tfner {card['tfner_version']} export ({card['exported']}): {card['task']}. "
        f"The same facts as JSON: `assets.extra/{CARD_JSON}`.",
        "",
        "## Labels",
        "",
        f"Entity types: {', '.join(card['entity_types']) or '(none)'}. Label ids (`assets/labels.json`): "
        + ", ".join(f"{i} {l}" for i, l in enumerate(card["labels"]))
        + ".",
        "",
        "## Model",
        "",
        f"- encoder: {m['encoder']} ({m['architecture']}, {m['layers']} layers, hidden {m['hidden_size']}), "
        f"{m['parameters']:,} parameters",
        f"- head: {m['head']}, fine-tuning: {m['finetune']}{' with LoRA (exported merged)' if m['lora'] else ''}",
        f"- tokenizer: {m['tokenizer']}; windows of {m['max_length']} tokens, {m['stride']} shared by neighbours",
        f"- decoder: {m['decoder']}",
    ]
    if card.get("thresholds"):
        lines.append("- thresholds: " + ", ".join(f"{k} {v:.4g}" for k, v in card["thresholds"].items()))
    lines += ["", "## Training data", ""]
    lines += [f"- {k}: {v}" for k, v in card["training_data"].items()]
    if card.get("training"):
        lines += ["", "## Training", ""]
        lines += [f"- {k}: {v}" for k, v in card["training"].items()]
    lines += ["", "## Metrics (entity level, seqeval)", ""]
    if not card.get("metrics"):
        lines.append("Not recorded: no metrics.json in the exported model's directory.")
    else:
        for split, scores in card["metrics"].items():
            if isinstance(scores, dict):
                lines += [f"{split}:", "", *_table(scores), ""]
        if card["metrics"].get("collapsed"):
            lines.append("**Warning: the final model's predictions had collapsed onto one label.**")
    lines += ["", "## Intended use", "", card["intended_use"], "", "## Limitations", ""]
    lines += [f"- {n}" for n in card["limitations"]]
    lines += ["", "## Requests", "", "Serve this folder's parent with TF Serving (`-e MODEL_NAME=...`), then:", ""]
    for signature, r in card["requests"].items():
        lines += [
            f"`{signature}` over REST:",
            "",
            "```bash",
            r["curl"],
            "```",
            "",
            f"`{signature}` with saved_model_cli, from this folder:",
            "",
            "```bash",
            r["saved_model_cli"],
            "```",
            "",
        ]
    lines += ["## Config", "", "```json", json.dumps(card["config"], indent=2), "```", ""]
    return "\n".join(lines)


def write_card(path, card):
    """path/README.md and path/assets.extra/model_card.json; returns the two paths."""
    extra = os.path.join(path, "assets.extra")
    os.makedirs(extra, exist_ok=True)
    readme, data = os.path.join(path, "README.md"), os.path.join(extra, CARD_JSON)
    with open(data, "w") as f:
        json.dump(card, f, indent=1)
    with open(readme, "w") as f:
        f.write(render_markdown(card))
    return readme, data
