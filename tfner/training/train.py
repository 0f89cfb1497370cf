"""Fine-tune an encoder with a token-classification head: `python -m tfner.train`.

    python -m tfner.train --head mlp                       # embedded synthetic clinical notes
    python -m tfner.train --train ../shared/datasets/conll2003/train.txt \\
        --validation ../shared/datasets/conll2003/valid.txt --head linear --epochs 1
    python -m tfner.train --config runs/latest/config.json --epochs 5

Every flag comes from `tfner.config.TrainConfig` (`--help` lists them). The output directory gets the
model (`tfner.load(dir)` restores it), `history.json`, `metrics.json`, `curves.png`, the confusion matrix
of the test (or validation) data, TensorBoard logs in `logs/`, the best checkpoint, and while training
runs a `backup/` that lets a killed run resume where it stopped when started again.
"""

import argparse
import json
import os
import random
import shutil
import sys
import time

import numpy as np

from tfner import _env  # noqa: F401
import tensorflow as tf
import tf_keras

from tfner.model import lora
from tfner.evaluation import plots
from tfner.data.batching import make_dataset, real_tokens
from tfner.training.callbacks import EntityMetrics, HistoryFile, NaNGuard, Throughput
from tfner.evaluation.collapse import LabelCollapseDetector, LabelCollapseError, loud_warning, report_from_tags
from tfner.training.config import TrainConfig, add_config_arguments, config_from_args
from tfner.data.readers import Corpus, DataError, build_labels, check_labels, read_data, summarize
from tfner.model.encoders import EncoderError
from tfner.training.distribute import OutputDir, StrategyError, is_chief, make_strategy
from tfner.evaluation.metrics import confusion_matrix, format_confusion, format_scores
from tfner.data.synthetic import clinical_notes
from tfner.model.tagger import Tagger


BEST_CHECKPOINT = os.path.join("checkpoints", "best.h5")  # legacy h5: loads under any strategy


class TrainingError(RuntimeError):
    pass


def _holdout(corpus, fraction, seed):
    order = list(range(len(corpus.documents)))
    random.Random(seed).shuffle(order)
    cut = max(1, int(round(len(order) * fraction)))
    held, kept = sorted(order[:cut]), sorted(order[cut:])
    pick = lambda idx, name: Corpus([corpus.documents[i] for i in idx], f"{corpus.source} ({name})",
                                    dict(corpus.skipped), corpus.converted_iob1)
    return pick(kept, f"{1 - fraction:.0%} kept for training"), pick(held, f"{fraction:.0%} held out")


def _first(corpus, n):
    if n and len(corpus.documents) > n:
        return Corpus(corpus.documents[:n], f"{corpus.source} (first {n})", corpus.skipped,
                      corpus.converted_iob1)
    return corpus


def load_corpora(config):
    """`{"train", "validation", "test"?}` corpora as the config asks (see TrainConfig's help)."""
    if not config.train:
        train, test = clinical_notes(config.synthetic_train, config.synthetic_test, seed=config.seed)
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
        tagger = Tagger.build(config, labels)
        if initial_weights:
            tagger.model.load_weights(initial_weights)
    windows = {name: tagger.encode(corpus, config.label_all_tokens and name == "train")
               for name, corpus in corpora.items()}
    for name, w in windows.items():
        extra = f" ({len(w)} windows of at most {config.max_length} tokens)" if len(w) != len(w.units) else ""
        skipped = ", ".join(f"{k}: {v}" for k, v in w.skipped.items() if v)
        print(f"{name}: {len(w.units)} documents encoded{extra}" + (f"; skipped {skipped}" if skipped else ""))
    trainable, total = lora.count_parameters(tagger.model)  # as PEFT counts them (pooler left out)
    how = (f"LoRA r={config.lora_r} alpha={config.lora_alpha:g} bias={config.lora_bias}, "
           f"{len(lora.lora_layers(tagger.encoder))} layers wrapped" if config.lora else config.finetune)
    print(f"encoder {config.encoder} + head {config.head} ({how}): {lora.parameter_line(tagger.model)}")

    evaluated = "test" if "test" in windows else "validation"
    metrics = {"labels": labels, "evaluated_on": evaluated}
    if config.eval_before:
        metrics["before"] = _public(tagger.evaluate(windows[evaluated]))
        print(f"untrained model on {evaluated}: F1 {metrics['before']['f1']:.4f}")

    pad = tagger.tokenizer.pad_token_id or 0
    train_data = make_dataset(windows["train"], global_batch, pad, shuffle=True, seed=config.seed,
                              padding=config.padding, bounds=config.bucket_bounds, max_length=config.max_length)
    steps = int(train_data.cardinality())  # batches per epoch, for the learning-rate schedule
    with chosen.strategy.scope():
        tagger.compile(steps * config.epochs)
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
    detector = LabelCollapseDetector(
        tagger, windows["validation"], action=config.collapse_action,
        check_every_steps=config.collapse_check_every_steps, warmup_epochs=config.collapse_warmup_epochs,
        max_top_share=config.collapse_max_top_share, max_gold_share=config.collapse_max_gold_share,
        max_windows=config.collapse_sample, seed=config.seed)
    callbacks = [
        EntityMetrics(tagger, windows["validation"]),  # first: the callbacks below read its val_* logs
        detector,  # second: collapse_* figures into the logs; may stop and restore healthy weights
        throughput,
        nan_guard,
        tf_keras.callbacks.ProgbarLogger(count_mode="steps") if config.verbose else None,
        tf_keras.callbacks.ModelCheckpoint(best_path, monitor="val_f1", mode="max", save_best_only=True,
                                           save_weights_only=True),
        tf_keras.callbacks.EarlyStopping(monitor="val_f1", mode="max", restore_best_weights=True,
                                         patience=config.early_stopping_patience)
        if config.early_stopping_patience else None,
        tf_keras.callbacks.BackupAndRestore(backup),
        history,
        tf_keras.callbacks.TensorBoard(os.path.join(out, "logs"), write_graph=False),
    ]
    start = time.perf_counter()
    try:
        tagger.model.fit(train_data, epochs=config.epochs, initial_epoch=initial_epoch,
                         verbose=config.verbose, callbacks=[c for c in callbacks if c is not None])
    except LabelCollapseError:
        if is_chief():
            shutil.rmtree(backup, ignore_errors=True)  # a collapsed run is not one to resume
        raise
    seconds = time.perf_counter() - start
    if is_chief():  # Keras empties it after a finished run; drop the folder (the chief's to remove)
        shutil.rmtree(backup, ignore_errors=True)
    if nan_guard.failed_at is not None:
        raise TrainingError(f"training stopped: loss {nan_guard.failed_at[2]} at batch "
                            f"{nan_guard.failed_at[1]} (see the advice above)")
    if os.path.exists(best_path):
        tagger.model.load_weights(best_path)
    tagger.save(out)
    if config.lora:
        lora.save_adapter(tagger, os.path.join(out, "adapter"))

    hist = history.history
    plots.plot_history(hist, os.path.join(out, "curves.png"),
                       f"{config.encoder} + {config.head} ({config.finetune})")
    metrics["collapse"] = detector.outcome()
    validation = tagger.evaluate(windows["validation"])
    metrics["validation"] = _public(validation)
    final_collapse = report_from_tags(windows["validation"].gold, validation["pred"], labels)
    metrics["collapse"]["final_model"] = final_collapse.to_dict()
    if final_collapse.collapsed:
        print(loud_warning(final_collapse, f"the model saved in {out}"), file=sys.stderr)
    final = tagger.evaluate(windows[evaluated])
    metrics["after"] = _public(final)
    metrics["train_seconds"] = seconds
    metrics["epochs_run"] = len(hist.get("loss", []))
    metrics["trainable_params"], metrics["all_params"] = trainable, total
    if throughput.seconds:
        metrics["train_sentences_per_second"] = len(windows["train"]) / float(np.median(throughput.seconds))
    with open(os.path.join(out, "metrics.json"), "w") as f:
        json.dump(metrics, f, indent=1)
    matrix = confusion_matrix(windows[evaluated].gold, final["pred"], labels)
    with open(os.path.join(out, "confusion.txt"), "w") as f:
        f.write(format_confusion(matrix, labels) + "\n")
    plots.plot_confusion(matrix, labels, os.path.join(out, "confusion.png"))

    print(format_scores(metrics["after"], f"\n{evaluated} after training ({config.encoder} + {config.head}):"))
    if "before" in metrics:
        print(f"{evaluated} F1 before -> after training: {metrics['before']['f1']:.4f} -> "
              f"{metrics['after']['f1']:.4f}")
    print(f"model, metrics and plots written to {out}/")
    return tagger, metrics


def _has_files(folder):
    return any(files for _, _, files in os.walk(folder))


def _public(scores):
    return {k: v for k, v in scores.items() if k != "pred"}


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m tfner.train", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    add_config_arguments(parser)
    args = parser.parse_args(argv)
    try:
        config = config_from_args(args)
        train(config)
    except (DataError, EncoderError, TrainingError, LabelCollapseError, StrategyError, ValueError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
