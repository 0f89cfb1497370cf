"""Fine-tune an encoder with a token-classification head: `tfner train` (or `python -m tfner.train`).

    tfner train --head mlp                       # embedded synthetic clinical notes
    tfner train --train ../shared/datasets/conll2003/train.txt \\
        --validation ../shared/datasets/conll2003/valid.txt --head linear --epochs 1
    tfner train --config runs/latest/config.json --epochs 5

Every flag comes from `tfner.training.config.TrainConfig` (`--help` lists them). The output directory gets the
model (`tfner.load(dir)` restores it), `history.json`, `metrics.json`, `curves.png`, the confusion matrix
of the test (or validation) data, TensorBoard logs in `logs/`, the best checkpoint, and while training
runs a `backup/` that lets a killed run resume where it stopped when started again.
"""

import argparse
import os
import random
import shutil
import sys
import time

import numpy as np
import tensorflow as tf
import tf_keras

from tfner.core.cli import run_command
from tfner.data.batching import make_dataset, real_tokens
from tfner.data.readers import Corpus, DataError, build_labels, check_labels, read_data, summarize
from tfner.data.synthetic import clinical_notes, synthetic_scope
from tfner.evaluation import plots
from tfner.evaluation.collapse import LabelCollapseError, loud_warning, report_from_tags
from tfner.evaluation.metrics import evaluate_tagger, format_scores
from tfner.evaluation.report import public, write_report
from tfner.model import lora
from tfner.model.adapters import save_adapter
from tfner.model.encoders import EncoderError
from tfner.model.tagger import Tagger
from tfner.training.callbacks import EntityMetrics, HistoryFile, NaNGuard, Throughput
from tfner.training.collapse import LabelCollapseDetector
from tfner.training.config import add_config_arguments, config_from_args
from tfner.training.distribute import OutputDir, StrategyError, is_chief, make_strategy
from tfner.training.optim import compile_tagger

BEST_CHECKPOINT = os.path.join("checkpoints", "best.h5")  # legacy h5: loads under any strategy


class TrainingError(RuntimeError):
    pass


def _holdout(corpus, fraction, seed):
    order = list(range(len(corpus.documents)))
    random.Random(seed).shuffle(order)
    cut = max(1, int(round(len(order) * fraction)))
    held, kept = sorted(order[:cut]), sorted(order[cut:])
    pick = lambda idx, name: Corpus(
        [corpus.documents[i] for i in idx], f"{corpus.source} ({name})", dict(corpus.skipped), corpus.converted_iob1
    )
    return pick(kept, f"{1 - fraction:.0%} kept for training"), pick(held, f"{fraction:.0%} held out")


def _first(corpus, n):
    if n and len(corpus.documents) > n:
        return Corpus(corpus.documents[:n], f"{corpus.source} (first {n})", corpus.skipped, corpus.converted_iob1)
    return corpus


def load_corpora(config):
    """`{"train", "validation", "test"?}` corpora as the config asks (see TrainConfig's help)."""
    if not config.train:
        train, test = clinical_notes(
            config.synthetic_train, config.synthetic_test, seed=config.seed, **synthetic_scope(config.flat())
        )
        corpora = {"test": test}
    else:
        train, corpora = read_data(config.train, "train"), {}
        if config.test:
            corpora["test"] = read_data(config.test, "test")
    if config.validation:
        corpora["validation"] = read_data(config.validation, "validation")
    elif config.train and not os.path.isfile(config.train):  # a `datasets` dict: try its validation split
        try:
            corpora["validation"] = read_data(config.train, "validation")
        except DataError:
            pass
    if "validation" not in corpora:
        train, corpora["validation"] = _holdout(train, config.validation_fraction, config.seed)
    if not train.documents:
        raise DataError(f"{train.source}: no training documents")
    corpora["train"] = _first(train, config.max_train_documents)
    for name in ("validation", "test"):
        if name in corpora:
            corpora[name] = _first(corpora[name], config.max_eval_documents)
    return corpora


def train(config, initial_epoch=0, initial_weights=None):
    """Run the whole job; returns the trained `Tagger` and the metrics written to metrics.json.

    `initial_weights` (a weights file of the same model, such as an earlier run's
    checkpoints/best.h5) and `initial_epoch` continue an earlier run: training starts from
    those weights at that epoch, the learning-rate schedule already that far along (Hyperband's
    later rounds in `tfner.tune`).
    """
    chosen = make_strategy(config.strategy, config.devices, config.tpu)  # before any other TF op
    previous_policy = tf_keras.mixed_precision.global_policy()
    tf_keras.mixed_precision.set_global_policy(config.precision)
    try:
        with OutputDir(config.output_dir) as out:
            return _train(config, chosen, out.path, initial_epoch, initial_weights)
    finally:
        tf_keras.mixed_precision.set_global_policy(previous_policy)


def _train(config, chosen, out, initial_epoch, initial_weights):
    tf_keras.utils.set_random_seed(config.seed)
    corpora = load_corpora(config)
    labels = build_labels(corpora["train"])
    for name in ("validation", "test"):
        if name in corpora:
            check_labels(corpora[name], labels)
    for name, corpus in corpora.items():
        print(summarize(corpus, name))

    print(chosen.describe(config.batch_size))
    global_batch = config.batch_size * chosen.replicas
    with chosen.strategy.scope():  # weights, LoRA wrapping, optimizers and compile all belong to it
        tagger = Tagger.build(config.model, labels)
        if initial_weights:
            tagger.model.load_weights(initial_weights)
    m = config.model
    windows = {
        name: tagger.encode(corpus, m.label_all_tokens and name == "train", config.misaligned_spans)
        for name, corpus in corpora.items()
    }
    for name, w in windows.items():
        extra = f" ({len(w)} windows of at most {m.max_length} tokens)" if len(w) != len(w.units) else ""
        skipped = ", ".join(f"{k}: {v}" for k, v in w.skipped.items() if v)
        print(f"{name}: {len(w.units)} documents encoded{extra}" + (f"; skipped {skipped}" if skipped else ""))
    trainable, total = lora.count_parameters(tagger.model)  # as PEFT counts them (pooler left out)
    how = (
        f"LoRA r={m.lora.r} alpha={m.lora.alpha:g} bias={m.lora.bias}, "
        f"{len(lora.lora_layers(tagger.encoder))} layers wrapped"
        if m.lora.enabled
        else m.finetune
    )
    print(f"encoder {m.encoder} + head {m.head} ({how}): {lora.parameter_line(tagger.model)}")
    evaluate = lambda w: evaluate_tagger(tagger, w, mode=config.seqeval_mode)

    evaluated = "test" if "test" in windows else "validation"
    metrics = {"labels": labels, "evaluated_on": evaluated}
    if config.eval_before:
        metrics["before"] = public(evaluate(windows[evaluated]))
        print(f"untrained model on {evaluated}: F1 {metrics['before']['f1']:.4f}")

    pad = tagger.tokenizer.pad_token_id or 0
    train_data = make_dataset(
        windows["train"],
        global_batch,
        pad,
        shuffle=True,
        seed=config.seed,
        padding=config.padding,
        bounds=config.bucket_bounds,
        max_length=m.max_length,
    )
    steps = int(train_data.cardinality())  # batches per epoch, for the learning-rate schedule
    with chosen.strategy.scope():
        compile_tagger(tagger, config, steps * config.epochs)
    if initial_epoch:
        for optimizer in (tagger.model.optimizer, tagger.model.head_optimizer):
            optimizer.iterations.assign(initial_epoch * steps)
    options = tf.data.Options()  # every worker reads the same shuffled batches and keeps its own share
    options.experimental_distribute.auto_shard_policy = tf.data.experimental.AutoShardPolicy.DATA
    train_data = train_data.with_options(options)
    best_path = os.path.join(out, BEST_CHECKPOINT)
    os.makedirs(os.path.dirname(best_path), exist_ok=True)
    nan_guard = NaNGuard()
    throughput = Throughput(len(windows["train"]), real_tokens(windows["train"]))
    backup = os.path.join(config.output_dir, "backup")  # every worker: Keras keeps the chief's
    history = HistoryFile(os.path.join(out, "history.json"), resume=_has_files(backup))
    detector = LabelCollapseDetector.from_config(
        tagger, windows["validation"], config.collapse, seed=config.seed, run_config=config
    )
    callbacks = [
        # first: the callbacks below read its val_* logs
        EntityMetrics(tagger, windows["validation"], mode=config.seqeval_mode),
        detector,  # second: collapse_* figures into the logs; may stop and restore healthy weights
        throughput,
        nan_guard,
        tf_keras.callbacks.ProgbarLogger(count_mode="steps") if config.verbose else None,
        tf_keras.callbacks.ModelCheckpoint(
            best_path, monitor="val_f1", mode="max", save_best_only=True, save_weights_only=True
        ),
        tf_keras.callbacks.EarlyStopping(
            monitor="val_f1", mode="max", restore_best_weights=True, patience=config.early_stopping_patience
        )
        if config.early_stopping_patience
        else None,
        tf_keras.callbacks.BackupAndRestore(backup),
        history,
        tf_keras.callbacks.TensorBoard(os.path.join(out, "logs"), write_graph=False),
    ]
    start = time.perf_counter()
    try:
        tagger.model.fit(
            train_data,
            epochs=config.epochs,
            initial_epoch=initial_epoch,
            verbose=config.verbose,
            callbacks=[c for c in callbacks if c is not None],
        )
    except LabelCollapseError:
        if is_chief():
            shutil.rmtree(backup, ignore_errors=True)  # a collapsed run is not one to resume
        raise
    seconds = time.perf_counter() - start
    if is_chief():  # Keras empties it after a finished run; drop the folder (the chief's to remove)
        shutil.rmtree(backup, ignore_errors=True)
    if nan_guard.failed_at is not None:
        raise TrainingError(
            f"training stopped: loss {nan_guard.failed_at[2]} at batch {nan_guard.failed_at[1]} (see the advice above)"
        )
    if os.path.exists(best_path):
        tagger.model.load_weights(best_path)
    tagger.save(out, config)
    if m.lora.enabled:
        save_adapter(tagger, os.path.join(out, "adapter"))

    hist = history.history
    plots.plot_history(
        hist, os.path.join(out, "curves.png"), f"{m.encoder} + {m.head} ({'LoRA' if m.lora.enabled else m.finetune})"
    )
    metrics["collapse"] = detector.outcome()
    validation = evaluate(windows["validation"])
    metrics["validation"] = public(validation)
    final_collapse = report_from_tags(windows["validation"].gold, validation["pred"], labels)
    metrics["collapse"]["final_model"] = final_collapse.to_dict()
    if final_collapse.collapsed:
        print(loud_warning(final_collapse, f"the model saved in {out}"), file=sys.stderr)
    final = evaluate(windows[evaluated])
    metrics["after"] = public(final)
    metrics["train_seconds"] = seconds
    metrics["epochs_run"] = len(hist.get("loss", []))
    metrics["trainable_params"], metrics["all_params"] = trainable, total
    if throughput.seconds:
        metrics["train_sentences_per_second"] = len(windows["train"]) / float(np.median(throughput.seconds))
    write_report(out, metrics, windows[evaluated].gold, final["pred"], labels)

    print(format_scores(metrics["after"], f"\n{evaluated} after training ({m.encoder} + {m.head}):"))
    if "before" in metrics:
        print(f"{evaluated} F1 before -> after training: {metrics['before']['f1']:.4f} -> {metrics['after']['f1']:.4f}")
    print(f"model, metrics and plots written to {out}/")
    return tagger, metrics


def _has_files(folder):
    return any(files for _, _, files in os.walk(folder))


def build_parser(prog="tfner train"):
    parser = argparse.ArgumentParser(
        prog=prog, description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    add_config_arguments(parser)
    return parser


def _main(argv):
    train(config_from_args(build_parser().parse_args(argv)))


def main(argv=None):
    return run_command(
        _main, argv, usage_errors=(DataError, EncoderError, StrategyError), failures=(TrainingError, LabelCollapseError)
    )


if __name__ == "__main__":
    sys.exit(main())
