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
import contextlib
import math
import os
import random
import shutil
import sys
import time

import numpy as np
import tensorflow as tf
import tf_keras

from tfner.core.cli import UsageError, check_output_dir, reinstall_signal_handlers, run_command, stop_on_signals
from tfner.data.batching import default_max_tokens, make_dataset, real_tokens
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
from tfner.training.distribute import OutputDir, StrategyError, holds_files, is_chief, make_strategy, tf_config
from tfner.training.optim import compile_tagger, lazy_embeddings

BEST_CHECKPOINT = os.path.join("checkpoints", "best.h5")  # legacy h5: loads under any strategy
RUN_FILES = ("config.json", "history.json", "weights.h5", "backup")  # an output dir holding one is a run's
# What a collective op raises on the workers left when another one dies or hangs up.
LOST_PEER = (tf.errors.UnavailableError, tf.errors.AbortedError, tf.errors.CancelledError, tf.errors.InternalError)
LOST_PEER += (tf.errors.DeadlineExceededError,)


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
        given = len(train.documents)
        train, corpora["validation"] = _holdout(train, config.validation_fraction, config.seed)
        if given and not train.documents:
            raise DataError(
                f"{config.train or 'the synthetic notes'}: no training documents left: "
                f"{'its only document' if given == 1 else f'all {given} documents'} went to the validation "
                f"hold-out (--validation-fraction {config.validation_fraction:g}, at least one document). "
                "Give validation data with --validation FILE, or more training documents."
            )
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
    # Paths and data first: they need no TensorFlow op, so they fail at once, even before a cluster forms.
    check_output_dir(config.output_dir, RUN_FILES)
    corpora = load_corpora(config)
    labels = build_labels(corpora["train"])
    for name in ("validation", "test"):
        if name in corpora:
            check_labels(corpora[name], labels)
    for name, corpus in corpora.items():
        print(summarize(corpus, name))
    resume = f"{os.path.join(config.output_dir, 'backup')} keeps the last finished epoch: the same command resumes"
    with stop_on_signals(note=resume):
        chosen = make_strategy(config.strategy, config.devices, config.tpu, config.cluster_timeout)
        reinstall_signal_handlers()  # TensorFlow's multi-worker runtime takes SIGTERM for itself
        previous_policy = tf_keras.mixed_precision.global_policy()
        tf_keras.mixed_precision.set_global_policy(config.precision)
        try:
            existed = os.path.exists(config.output_dir)
            with OutputDir(config.output_dir) as out:
                result = _train(config, chosen, out.path, corpora, labels, initial_epoch, initial_weights)
            if not is_chief() and not existed:  # Keras' backup made it; a worker leaves nothing behind
                _remove_empty(config.output_dir)
            return result
        finally:
            tf_keras.mixed_precision.set_global_policy(previous_policy)


def _best(values):
    finite = [v for v in values if math.isfinite(v)]
    return max(finite) if finite else None


def _cause(error):
    """The informative line of a collective op's error (TensorFlow puts "Graph execution error:" first)."""
    lines = [l.strip() for l in str(error).splitlines() if l.strip()]
    useful = [l for l in lines if "execution error" not in l and not l.startswith(("Detected at node", "File "))]
    return ((useful or lines or [type(error).__name__])[0])[:300]


def _drop_backup(backup):
    """Remove the BackupAndRestore folder after the run ended, each worker its own part.

    Keras has deleted the chief's checkpoint (`backup/chief`) and a worker's `backup/workertemp_N`
    may still be written by a worker finishing its last epoch: every process removes its own part and
    then the folder once it is empty, so a slower worker's files never vanish under it.
    """
    config = tf_config()
    if not config:
        shutil.rmtree(backup, ignore_errors=True)
        return
    mine = "chief" if is_chief(config) else f"workertemp_{config['task'].get('index', 0)}"
    shutil.rmtree(os.path.join(backup, mine), ignore_errors=True)
    for name in os.listdir(backup) if os.path.isdir(backup) else []:
        with contextlib.suppress(OSError):  # a folder still in use by another worker is not empty
            os.rmdir(os.path.join(backup, name))
    with contextlib.suppress(OSError):
        os.rmdir(backup)


def _remove_empty(folder):
    if os.path.isdir(folder) and not holds_files(folder):
        shutil.rmtree(folder, ignore_errors=True)


def train_batching(config, replicas):
    """`make_dataset`'s batching arguments for the training windows. `--batch-size` and `--max-tokens`
    are per replica, so both are multiplied by the replicas (the strategy splits each global batch among
    them); the default budget follows from the global batch size."""
    tokens = config.padding == "tokens" and config.max_tokens
    return dict(
        batch_size=config.batch_size * replicas,
        padding=config.padding,
        bounds=config.bucket_bounds,
        max_length=config.model.max_length,
        max_tokens=config.max_tokens * replicas if tokens else None,
        fixed_shapes=config.fixed_shapes or config.jit_compile,
        sort_by_length=config.sort_by_length,
    )


def _train(config, chosen, out, corpora, labels, initial_epoch, initial_weights):
    tf_keras.utils.set_random_seed(config.seed)
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
    if config.lazy_embeddings and not lazy_embeddings(config) and not m.lora.enabled:
        print("--jit-compile: the word embeddings get AdamW's dense update (XLA cannot compile the lazy one)")
    evaluate = lambda w: evaluate_tagger(tagger, w, mode=config.seqeval_mode)

    evaluated = "test" if "test" in windows else "validation"
    metrics = {"labels": labels, "evaluated_on": evaluated}
    if config.eval_before:
        metrics["before"] = public(evaluate(windows[evaluated]))
        print(f"untrained model on {evaluated}: F1 {metrics['before']['f1']:.4f}")

    pad = tagger.tokenizer.pad_token_id or 0
    batching = train_batching(config, chosen.replicas)
    # line starts for models that see layout; word-level data has none (the model reads no types as zeros)
    line_starts = tagger.sees_layout and any(s is not None for s in windows["train"].word_starts)
    train_data = make_dataset(
        windows["train"], pad_id=pad, shuffle=True, seed=config.seed, line_starts=line_starts, **batching
    )
    steps = int(train_data.cardinality())  # batches per epoch, for the learning-rate schedule
    metrics["train_steps_per_epoch"] = steps
    if config.padding == "tokens":
        budget = batching["max_tokens"] or default_max_tokens(
            windows["train"], global_batch, config.bucket_bounds, m.max_length
        )
        metrics["train_max_tokens"] = budget
        given = f"--max-tokens {config.max_tokens}" if config.max_tokens else f"default: batch {config.batch_size}"
        print(f"token budget {budget} tokens a batch ({given} x {chosen.replicas} replica(s)): {steps} steps per epoch")
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
    history = HistoryFile(os.path.join(out, "history.json"), resume=holds_files(backup))
    entity_metrics = EntityMetrics(tagger, windows["validation"], mode=config.seqeval_mode)
    detector = LabelCollapseDetector.from_config(
        tagger,
        windows["validation"],
        config.collapse,
        seed=config.seed,
        run_config=config,
        predictions=entity_metrics.predictions,  # one prediction pass per validation
    )
    callbacks = [
        # first: the callbacks below read its val_* logs and the detector its logits
        entity_metrics,
        detector,  # second: collapse_* figures into the logs; may stop and restore healthy weights
        throughput,
        nan_guard,
        tf_keras.callbacks.ProgbarLogger(count_mode="steps") if config.verbose else None,
        tf_keras.callbacks.ModelCheckpoint(
            best_path,
            monitor="val_f1",
            mode="max",
            save_best_only=True,
            save_weights_only=True,
            # a resumed run knows the best epoch before it, so best.h5 is never replaced by a worse one
            initial_value_threshold=_best(history.history.get("val_f1", [])),
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
        _drop_backup(backup)  # a collapsed run is not one to resume
        raise
    except LOST_PEER as e:
        if chosen.name != "multi-worker":
            raise
        # TensorFlow cannot take a restarted worker back into a running job: every worker stops, and the
        # whole job, started again, resumes from the backup (BackupAndRestore).
        raise TrainingError(
            f"lost the multi-worker cluster ({type(e).__name__}: {_cause(e)}); {backup} keeps the last "
            "finished epoch: start the same command on every worker again to resume"
        ) from None
    seconds = time.perf_counter() - start
    _drop_backup(backup)  # so that no later run here "resumes" a finished job
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


def build_parser(prog="tfner train"):
    parser = argparse.ArgumentParser(
        prog=prog, description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    add_config_arguments(parser)
    parser.add_argument(
        "--force",
        action="store_true",
        help="With --config RUN/config.json and no --output-dir: train into RUN's output dir even though it "
        "holds a trained model, which is overwritten.",
    )
    return parser


def _main(argv):
    args = build_parser().parse_args(argv)
    config = config_from_args(args)
    out = config.output_dir
    if args.config and not hasattr(args, "output_dir") and not args.force:
        finished = os.path.exists(os.path.join(out, "config.json")) and not holds_files(os.path.join(out, "backup"))
        if finished:
            raise UsageError(
                f"--config {args.config}: its output_dir {out} holds a trained model, which this run would "
                f"overwrite; pass --output-dir NEW_DIR (or --force to overwrite it)"
            )
    train(config)


def main(argv=None):
    return run_command(
        _main, argv, usage_errors=(DataError, EncoderError, StrategyError), failures=(TrainingError, LabelCollapseError)
    )


if __name__ == "__main__":
    sys.exit(main())
