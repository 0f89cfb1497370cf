"""The CoNLL study's three heads: built as the study built them (two collapse), then as tfner builds them.

    python experiments/collapse_study.py                     # the real figures: about 45 min on 2 CPU cores
    python experiments/collapse_study.py --max-train 200 --study-max-train 200 --epochs 1 \\
        --study-epochs 1 --max-valid 200                     # a smoke test of a few minutes

A published study of BERT on CoNLL-2003 trained a linear head (test F1 0.9175), an MLP head (Dense 20
relu, 8 relu, 9 softmax) and a head replacing the last layer (Dense 9 softmax); the last two predicted
class 0 everywhere while val_accuracy read 0.9735 and early stopping on it saw nothing. This script
trains MiniLM with the three heads twice:

- **study**: as the study built them. Softmax outputs (mlp, replace-last) fed to a from-logits
  cross-entropy (`from_logits_loss`: tf_keras' own loss would quietly undo the mismatch); labels
  -100 (padding, special tokens, continuation sub-tokens) replaced by 0 (`O`), so the loss trains
  on padding; Keras `accuracy` over every position, padding included;
  `EarlyStopping` on that `val_accuracy`; plain Adam, one learning rate. The `LabelCollapseDetector`
  watches with action "warn" (so the run goes on as the study's did) at every epoch end and every
  `--check-every` steps; `EntityMetrics` logs seqeval F1 as `val_entity_*` beside the study's metrics.
- **tfner**: `tfner.training.train.train(TrainConfig.from_dict({"head": ...}))` on `--max-train` sentences (0: all of
  train.txt), the same code path as `python -m tfner.train`: logits heads, the masked loss, entity F1
  for early stopping, and the detector with tfner's default action (stop and restore), which
  `tfner.train` attaches right after `EntityMetrics`.

"Collapsed" in the results is measured apart from the detector: entity F1 on the whole validation
set below 0.01 with one class taking >= 99 % of the predictions there (the detector checks a sample
of 512 windows). Writes experiments/results/collapse_study.{json,md} and collapse_study.png (the share
of the most-predicted class per epoch, with the detector's alarms, one panel per run); models go to
experiments/results/collapse_study/ (ignored by git). Needs ../shared/datasets/conll2003.
"""

import argparse
import dataclasses
import gc
import json
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
import tensorflow as tf  # noqa: E402
import tf_keras  # noqa: E402

import tfner  # noqa: E402,F401
from experiments.common import RESULTS, require_conll, write_results  # noqa: E402
from tfner.data.align import IGNORE  # noqa: E402
from tfner.data.batching import make_dataset  # noqa: E402
from tfner.data.readers import build_labels, read_conll  # noqa: E402
from tfner.evaluation.collapse import report_from_tags  # noqa: E402
from tfner.model.encoders import build_encoder, load_encoder_config, load_tokenizer, resolve_encoder  # noqa: E402
from tfner.model.tagger import Tagger  # noqa: E402
from tfner.training import train as train_module  # noqa: E402
from tfner.training.callbacks import EntityMetrics  # noqa: E402
from tfner.training.collapse import LabelCollapseDetector  # noqa: E402
from tfner.training.config import TrainConfig  # noqa: E402

HEADS = ("linear", "mlp", "replace-last")


def first(corpus, n):
    return dataclasses.replace(corpus, documents=corpus.documents[:n]) if n else corpus


STUDY_HEADS = {  # what each head was in the study
    "linear": "Dense(9) logits on the last layer (the study's working model)",
    "mlp": "Dense 20 relu, Dense 8 relu, Dense 9 softmax on the last layer",
    "replace-last": "last layer removed, Dense 9 softmax on the one below",
}


# The study's way -----------------------------------------------------------------------------------


def study_model(head, num_labels, encoder="minilm"):
    """(model, encoder): MiniLM with the study's head; softmax outputs for mlp and replace-last."""
    config = load_encoder_config(encoder, {}, 1 if head == "replace-last" else 0)
    bert = build_encoder(config, resolve_encoder(encoder))
    if head == "mlp":
        layers = [
            tf_keras.layers.Dense(20, activation="relu"),
            tf_keras.layers.Dense(8, activation="relu"),
            tf_keras.layers.Dense(num_labels, activation="softmax"),
        ]
    elif head == "replace-last":
        layers = [tf_keras.layers.Dense(num_labels, activation="softmax")]
    else:
        layers = [tf_keras.layers.Dense(num_labels)]
    input_ids = tf_keras.Input((None,), dtype=tf.int32, name="input_ids")
    attention_mask = tf_keras.Input((None,), dtype=tf.int32, name="attention_mask")
    hidden = bert(input_ids=input_ids, attention_mask=attention_mask).last_hidden_state
    out = tf_keras.Sequential(layers, name="head")(hidden)
    return tf_keras.Model({"input_ids": input_ids, "attention_mask": attention_mask}, out), bert


def from_logits_loss(labels, outputs):
    """Mean cross-entropy taking `outputs` as logits, over every position (no mask).

    tf_keras' own losses would hide the study's mismatch: given `from_logits=True` and an output made
    by a softmax layer, they warn and use the pre-softmax logits instead. A from-logits loss written
    with `tf.nn` (as custom losses are, and as any loss is once the output is masked or reshaped
    first) takes the probabilities as logits, which is the mismatch; for the linear head, whose
    outputs are logits, it is the right loss.
    """
    labels = tf.cast(labels, tf.int32)
    return tf.reduce_mean(tf.nn.sparse_softmax_cross_entropy_with_logits(labels=labels, logits=outputs))


def unmasked(data):
    """The study's labels: -100 (padding, special and continuation tokens) become 0, i.e. `O`."""
    return data.map(lambda x, y: (x, tf.where(tf.equal(y, IGNORE), tf.zeros_like(y), y)))


class FullValidation(tf_keras.callbacks.Callback):
    """After `EntityMetrics`: the predicted-class distribution on the whole validation set."""

    def __init__(self, entity_metrics, windows, labels):
        super().__init__()
        self.entity_metrics, self.windows, self.labels, self.epochs = entity_metrics, windows, labels, []

    def on_epoch_end(self, epoch, logs=None):
        r = report_from_tags(self.windows.gold, self.entity_metrics.last["pred"], self.labels)
        self.epochs.append(
            {
                "top_label": r.top_label,
                "top_share": r.top_share,
                "o_share": r.shares.get("O", 0.0),
                "classes_predicted": r.classes_predicted,
            }
        )


def run_study(head, corpora, labels, args):
    tokenizer = load_tokenizer("minilm")
    config = TrainConfig.from_dict(
        dict(head=head, batch_size=args.batch_size, epochs=args.study_epochs, learning_rate=args.study_lr, verbose=0)
    )
    tf_keras.utils.set_random_seed(args.seed)
    model, bert = study_model(head, len(labels))
    tagger = Tagger(model, bert, tokenizer, labels, config.model)
    train_w, valid_w = tagger.encode(corpora["study_train"]), tagger.encode(corpora["validation"])
    pad = tokenizer.pad_token_id or 0
    padding = dict(padding="max-length" if args.study_pad_to else "batch", max_length=args.study_pad_to or None)
    train_data = unmasked(make_dataset(train_w, args.batch_size, pad, shuffle=True, seed=args.seed, **padding))
    valid_data = unmasked(make_dataset(valid_w, 64, pad, **padding))
    model.compile(optimizer=tf_keras.optimizers.Adam(args.study_lr), loss=from_logits_loss, metrics=["accuracy"])
    entity = EntityMetrics(tagger, valid_w, prefix="val_entity_")
    full = FullValidation(entity, valid_w, labels)
    detector = LabelCollapseDetector(tagger, valid_w, action="warn", check_every_steps=args.check_every)
    stopper = tf_keras.callbacks.EarlyStopping(
        monitor="val_accuracy", mode="max", patience=3, restore_best_weights=True
    )
    start = time.perf_counter()
    history = model.fit(
        train_data,
        validation_data=valid_data,
        epochs=args.study_epochs,
        verbose=2,
        callbacks=[entity, full, detector, stopper],
    )
    seconds = time.perf_counter() - start
    final = report_from_tags(valid_w.gold, tagger.tags(valid_w, tagger.predict_logits(valid_w)), labels)
    return {
        "built_as": "study",
        "head": head,
        "head_layers": STUDY_HEADS[head],
        "train_sentences": len(corpora["study_train"].documents),
        "train_seconds": seconds,
        "history": {k: [float(v) for v in vs] for k, vs in history.history.items()},
        "full_validation": full.epochs,
        "readings": detector.readings,
        "detector": detector.outcome(),
        "final": {
            "val_f1": entity.last["f1"],
            "top_label": final.top_label,
            "top_share": final.top_share,
            "gold_o_share": 1 - final.entities_gold / final.tokens,
        },
    }


# tfner's way ---------------------------------------------------------------------------------------


def run_tfner(head, paths, n_train, args):
    out = os.path.join(RESULTS, "collapse_study", f"tfner-{head}")
    config = TrainConfig.from_dict(
        dict(
            head=head,
            train=paths[0],
            validation=paths[1],
            epochs=args.epochs,
            batch_size=args.batch_size,
            max_train_documents=args.max_train,
            max_eval_documents=args.max_valid,
            eval_before=False,
            verbose=2,
            seed=args.seed,
            output_dir=out,
            collapse_check_every_steps=args.check_every,
        )
    )
    tagger, metrics = train_module.train(config)
    with open(os.path.join(out, "history.json")) as f:
        history = json.load(f)
    windows = tagger.encode(first(read_conll(paths[1]), args.max_valid))
    pred = tagger.tags(windows, tagger.predict_logits(windows))
    final = report_from_tags(windows.gold, pred, tagger.labels)
    # the detector's epoch-end figures are in history.json
    readings = [
        {
            "epoch": e + 1,
            "progress": e + 1.0,
            "at_epoch_end": True,
            "flag": int(flag),
            "figures": {
                k[len("collapse_") :]: history[k][e]
                for k in history
                if k.startswith("collapse_") and k != "collapse_flag"
            },
            "top_label": tagger.labels[int(history["collapse_top_class"][e])],
            "reasons": ["see history"] if flag else [],
        }
        for e, flag in enumerate(history.get("collapse_flag", []))
    ]
    return {
        "built_as": "tfner",
        "head": head,
        "head_layers": f"tfner head {head!r} (logits)",
        "train_sentences": n_train,
        "train_seconds": metrics["train_seconds"],
        "history": history,
        "full_validation": [],
        "readings": readings,
        "detector": metrics.get("collapse"),
        "final": {
            "val_f1": metrics["validation"]["f1"],
            "top_label": final.top_label,
            "top_share": final.top_share,
            "gold_o_share": 1 - final.entities_gold / final.tokens,
        },
    }


# Results -------------------------------------------------------------------------------------------


def summarize(run):
    """First epoch collapsed (measured apart from the detector) and first detector alarm."""
    f1 = run["history"].get("val_entity_f1") or run["history"].get("val_f1") or []
    shares = [full["top_share"] for full in run["full_validation"]] or [  # else the detector's sample
        r["figures"]["top_share"] for r in run["readings"] if r["at_epoch_end"]
    ]
    collapsed = [e + 1 for e, (score, share) in enumerate(zip(f1, shares)) if score < 0.01 and share >= 0.99]
    alarms = [r for r in run["readings"] if r["flag"]]
    first = alarms[0] if alarms else None
    run["collapsed_epoch"] = collapsed[0] if collapsed else None
    run["first_alarm"] = (
        None
        if first is None
        else {
            "epoch": first["epoch"],
            "progress": first["progress"],
            "at_epoch_end": first["at_epoch_end"],
            "top_label": first["top_label"],
            "top_share": first["figures"]["top_share"],
        }
    )
    return run


def _alarm_text(run):
    a = run["first_alarm"]
    if a is None:
        return "none"
    where = "end" if a["at_epoch_end"] else f"{a['progress']:.2f} epochs in"
    return f"epoch {a['epoch']} ({where}): {a['top_label']} {a['top_share']:.1%}"


def plot(runs, path):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    kinds = list(dict.fromkeys(name.split()[0] for name in runs))  # one row per kind, one column per head
    heads = list(dict.fromkeys(name.split()[1] for name in runs))
    fig, axes = plt.subplots(
        len(kinds), len(heads), figsize=(4 * len(heads), 3.4 * len(kinds)), sharey=True, squeeze=False
    )
    for ax in axes.flat:
        ax.set_visible(False)
    for name, run in runs.items():
        kind, head = name.split()
        ax = axes[kinds.index(kind)][heads.index(head)]
        ax.set_visible(True)
        readings = run["readings"]
        x = [r["progress"] for r in readings]
        ax.plot(
            x,
            [r["figures"]["top_share"] for r in readings],
            "-",
            color="tab:blue",
            alpha=0.6,
            label="top class share (sample)",
        )
        ends = [r for r in readings if r["at_epoch_end"]]
        ax.plot([r["progress"] for r in ends], [r["figures"]["top_share"] for r in ends], "o", color="tab:blue")
        for r in ends:
            ax.annotate(
                r["top_label"],
                (r["progress"], r["figures"]["top_share"]),
                fontsize=8,
                textcoords="offset points",
                xytext=(0, 5),
                ha="center",
            )
        seen = [r for r in readings if r["reasons"] and not r["flag"]]
        ax.plot(
            [r["progress"] for r in seen],
            [r["figures"]["top_share"] for r in seen],
            "o",
            mfc="none",
            color="orange",
            markersize=9,
            label="collapse seen, before warm-up",
        )
        flagged = [r for r in readings if r["flag"]]
        ax.plot(
            [r["progress"] for r in flagged],
            [r["figures"]["top_share"] for r in flagged],
            "x",
            color="red",
            markersize=10,
            mew=2,
            label="detector alarm",
        )
        ax.axhline(run["final"]["gold_o_share"], color="gray", ls="--", label="gold O share")
        ax.set_title(f"{name}\nval F1 {run['final']['val_f1']:.3f}", fontsize=9)
        ax.set_xlabel("epochs trained")
        ax.set_ylim(0, 1.15)
    for row in axes:
        row[0].set_ylabel("share of the most-predicted class")
    axes[0][0].legend(fontsize=7, loc="lower left")
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def tables(runs, args):
    fmt = lambda v, f=".4f": "-" if v is None else format(v, f)
    lines = [
        f"MiniLM on CoNLL-2003, validated on valid.txt ({args.max_valid or 'all'} sentences). study: "
        f"{args.study_max_train or 'all'} training sentences, {args.study_epochs} epoch(s), Adam "
        f"{args.study_lr}, batch {args.batch_size}; tfner: {args.max_train or 'all'} sentences, "
        f"{args.epochs} epoch(s), tfner.train defaults. Detector: epoch ends and every "
        f"{args.check_every} steps, sample of 512 validation windows.",
        "",
        "| run | head | epochs run | val_accuracy (Keras, over padding) | val entity F1 | predicted on valid "
        "(top class, share) | gold O share | collapsed (F1 < 0.01, top >= 99 %) from epoch | "
        "detector's first alarm |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for name, r in runs.items():
        h = r["history"]
        lines.append(
            f"| {name} | {r['head_layers']} | {len(h.get('loss', []))} | "
            f"{fmt(h['val_accuracy'][-1]) if r['built_as'] == 'study' else '-'} | "
            f"{r['final']['val_f1']:.4f} | "
            f"{r['final']['top_label']} {r['final']['top_share']:.1%} | {r['final']['gold_o_share']:.1%} | "
            f"{r['collapsed_epoch'] or 'never'} | {_alarm_text(r)} |"
        )
    lines += [
        "",
        "Per epoch (detector figures on its validation sample; F1 on the whole validation set):",
        "",
        "| run | epoch | loss | accuracy | val_accuracy | val F1 | top class | top share | classes "
        "predicted / gold | entropy (bits) | entity tokens predicted | alarm |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for name, r in runs.items():
        h = r["history"]
        f1 = h.get("val_entity_f1") or h.get("val_f1") or []
        for i, reading in enumerate(x for x in r["readings"] if x["at_epoch_end"]):
            g = reading["figures"]
            get = lambda key: h[key][i] if key in h and i < len(h[key]) else None
            lines.append(
                f"| {name} | {reading['epoch']} | {fmt(get('loss'))} | {fmt(get('accuracy'))} | "
                f"{fmt(get('val_accuracy')) if r['built_as'] == 'study' else '-'} | "
                f"{fmt(f1[i] if i < len(f1) else None)} | {reading['top_label']} | {g['top_share']:.3f} | "
                f"{int(g['classes_predicted'])} / {int(g['classes_gold'])} | {g['entropy']:.2f} | "
                f"{int(g['entities_predicted'])} | {'yes' if reading['flag'] else 'no'} |"
            )
    return "\n".join(lines)


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--max-train", type=int, default=0, help="tfner runs: first N training sentences (0: all)")
    parser.add_argument("--epochs", type=int, default=1, help="tfner runs: epochs")
    parser.add_argument(
        "--study-max-train", type=int, default=3000, help="study runs: first N training sentences (0: all)"
    )
    parser.add_argument("--study-epochs", type=int, default=4, help="study runs: epochs (the study's 4)")
    parser.add_argument("--study-lr", type=float, default=5e-5, help="study runs: Adam learning rate")
    parser.add_argument(
        "--study-pad-to",
        type=int,
        default=0,
        help="study runs: pad every batch to this length, as a fixed-length study "
        "pipeline did (0: pad each batch to its longest sentence, faster on CPU)",
    )
    parser.add_argument("--max-valid", type=int, default=0, help="first N validation sentences (0: all)")
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--check-every", type=int, default=50, help="detector check every N steps too")
    parser.add_argument("--heads", nargs="+", default=list(HEADS), choices=HEADS)
    parser.add_argument("--runs", nargs="+", default=["study", "tfner"], choices=("study", "tfner"))
    parser.add_argument("--seed", type=int, default=42)
    args = parser.parse_args()
    paths = require_conll()
    train_corpus, valid_corpus = read_conll(paths[0]), read_conll(paths[1])
    labels = build_labels(train_corpus)
    corpora = {
        "study_train": first(train_corpus, args.study_max_train),
        "validation": first(valid_corpus, args.max_valid),
    }
    n_train = len(first(train_corpus, args.max_train).documents)
    runs = {}
    for kind in args.runs:
        for head in args.heads:
            print(f"\n=== {kind}: {head} ===", flush=True)
            if kind == "study":
                run = run_study(head, corpora, labels, args)
            else:
                run = run_tfner(head, paths, n_train, args)
            runs[f"{kind} {head}"] = summarize(run)
            tf_keras.backend.clear_session()
            gc.collect()
    os.makedirs(RESULTS, exist_ok=True)
    plot(runs, os.path.join(RESULTS, "collapse_study.png"))
    write_results("collapse_study", {"args": vars(args), "runs": runs}, tables(runs, args))
    print(f"plot: {os.path.relpath(os.path.join(RESULTS, 'collapse_study.png'))}")


if __name__ == "__main__":
    main()
