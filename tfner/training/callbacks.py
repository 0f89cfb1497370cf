"""Keras callbacks for training: entity-level validation metrics, throughput, and a NaN guard.

`EntityMetrics` must come first in the callback list: it writes `val_loss`, `val_accuracy`,
`val_precision`, `val_recall` and `val_f1` into the epoch's logs, where `EarlyStopping`,
`ModelCheckpoint`, `TensorBoard`, the progress bar and `History` placed after it read them.
"""

import json
import math
import os
import time

import tf_keras

from tfner.evaluation.metrics import evaluate_tagger


class EntityMetrics(tf_keras.callbacks.Callback):
    """seqeval precision/recall/F1 (and masked loss/accuracy) on validation windows every epoch. The
    epoch's logits stay available (`predictions`), so the collapse detector reads them instead of
    predicting the validation data a second time."""

    def __init__(self, tagger, windows, batch_size=64, prefix="val_", mode="default"):
        super().__init__()
        self.tagger, self.windows, self.batch_size, self.prefix = tagger, windows, batch_size, prefix
        self.mode = mode
        self.last = None
        self._logits = (None, None)  # (epoch, logits per window)

    def predictions(self, epoch):
        """The logits of every validation window predicted at the end of `epoch`, or None."""
        return self._logits[1] if self._logits[0] == epoch else None

    def on_epoch_end(self, epoch, logs=None):
        logits = self.tagger.predict_logits(self.windows, self.batch_size)
        self._logits = (epoch, logits)
        scores = evaluate_tagger(self.tagger, self.windows, self.batch_size, self.mode, logits=logits)
        self.last = scores
        if logs is not None:
            for key in ("loss", "accuracy", "precision", "recall", "f1"):
                logs[self.prefix + key] = scores[key]


class Throughput(tf_keras.callbacks.Callback):
    """Training windows (sentences) and real tokens per second of each epoch, validation excluded."""

    def __init__(self, windows_per_epoch, tokens_per_epoch):
        super().__init__()
        self.windows_per_epoch, self.tokens_per_epoch = windows_per_epoch, tokens_per_epoch
        self.seconds = []

    def on_epoch_begin(self, epoch, logs=None):
        self._start = time.perf_counter()

    def on_train_batch_end(self, batch, logs=None):
        self._end = time.perf_counter()

    def on_epoch_end(self, epoch, logs=None):
        seconds = self._end - self._start
        self.seconds.append(seconds)
        if logs is not None:
            logs["train_sentences_per_second"] = self.windows_per_epoch / seconds
            logs["train_tokens_per_second"] = self.tokens_per_epoch / seconds


class NaNGuard(tf_keras.callbacks.Callback):
    """Stop at the first non-finite loss and say what to try (Keras' TerminateOnNaN only stops)."""

    def __init__(self):
        super().__init__()
        self.failed_at = None

    def on_train_batch_end(self, batch, logs=None):
        loss = (logs or {}).get("loss")
        if loss is not None and not math.isfinite(float(loss)):
            self.failed_at = (self.params.get("epoch", None), batch, float(loss))
            self.model.stop_training = True
            print(
                f"\nThe loss became {loss} at batch {batch}: training stopped. Try a lower "
                "--learning-rate, --clip-norm 1.0, a longer --warmup-ratio, or float32 precision."
            )


class HistoryFile(tf_keras.callbacks.Callback):
    """Write the epoch logs to a JSON file after every epoch, indexed by epoch number.

    A run resumed by `BackupAndRestore` starts again at its first unfinished epoch; with `resume`,
    the epochs already in the file are kept, so the file always holds the whole run.
    """

    def __init__(self, path, resume=False):
        super().__init__()
        self.path = path
        self.history = {}
        if resume and os.path.exists(path):
            with open(path) as f:
                self.history = json.load(f)

    def on_epoch_end(self, epoch, logs=None):
        for key, value in (logs or {}).items():
            values = self.history.setdefault(key, [])
            del values[epoch:]
            values.extend([float("nan")] * (epoch - len(values)) + [float(value)])
        with open(self.path, "w") as f:
            json.dump(self.history, f, indent=1)
