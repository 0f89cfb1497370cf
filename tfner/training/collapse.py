"""`LabelCollapseDetector`: the Keras callback that checks a fixed validation sample for label collapse
every epoch (and, with `check_every_steps`, every N training steps), writes its figures into the epoch
logs (so the progress bar, TensorBoard and history.json show them) and on collapse warns, stops, stops
and restores the last healthy weights, or raises `LabelCollapseError`, printing a diagnosis. The
measurement itself is `tfner.evaluation.collapse`.
"""

import tf_keras

from tfner.evaluation.collapse import (
    ACTIONS,
    MAX_GOLD_SHARE,
    MAX_TOP_SHARE,
    LabelCollapseError,
    check_tagger,
    sample_indices,
    sample_windows,
)


def diagnosis(report, when, first_seen, action_taken, config=None):
    """What collapsed, since when, what was done, and the likely causes with the flag for each."""
    now = lambda name: f" (now {getattr(config, name)})" if hasattr(config, name) else ""
    imbalance = ""
    if report.o_index is not None and report.tokens:
        imbalance = (
            f" (O is {1 - report.entities_gold / report.tokens:.0%} of the gold tokens, "
            f"{report.shares.get('O', 0.0):.0%} of the predictions)"
        )
    return "\n".join(
        [
            f"Label collapse ({', '.join(report.reasons)}) at {when}: the model {report.summary()}.",
            f"First seen at {first_seen}. {action_taken}",
            "Likely causes, most common first, and the flag to change for each:",
            "  - learning rate too high for the head or the encoder: lower "
            f"--learning-rate{now('learning_rate')} or --head-learning-rate{now('head_learning_rate')}; "
            f"keep --warmup-ratio above 0{now('warmup_ratio')} and --clip-norm 1.0{now('clip_norm')}.",
            "  - softmax fed to a from-logits loss: a head's last layer must output logits (every tfner "
            "--head does); a custom head needs no activation on its last Dense, or a loss with "
            "from_logits=False, never softmax and from_logits=True together.",
            "  - unmasked padding in the loss or metrics: labels -100 (padding, special tokens, continuation "
            "sub-tokens) must be masked, as tfner.model.losses.masked_loss and MaskedAccuracy do, and early "
            "stopping must watch val_f1, not val_accuracy (--early-stopping-patience watches val_f1).",
            f"  - class imbalance{imbalance}: train longer, --epochs{now('epochs')}, or on more data, "
            "--max-train-documents 0; if the model has simply not learned entities yet, lengthen "
            "--collapse-warmup-epochs.",
        ]
    )


def _where(reading):
    if reading is None:
        return "?"
    if reading["at_epoch_end"]:
        return f"the end of epoch {reading['epoch']}"
    return f"epoch {reading['epoch']}, step {reading['step_in_epoch']} (global step {reading['step']})"


class LabelCollapseDetector(tf_keras.callbacks.Callback):
    """Check a fixed validation sample for label collapse every epoch (and every N steps if asked).

    Place it after `EntityMetrics` and before ProgbarLogger, ModelCheckpoint, EarlyStopping and
    HistoryFile: at every epoch end it writes `collapse_top_share`, `collapse_top_class`,
    `collapse_classes_predicted`, `collapse_classes_gold`, `collapse_entropy`,
    `collapse_entities_predicted` and `collapse_flag` (0/1) into the logs those callbacks read
    (entropy in bits; entities predicted counts labelled tokens given a class other than `O`).
    Step checks are kept in `readings` (every check, with its figures) but not in the logs.

    Args:
        tagger: the `Tagger` being trained (anything with `predict_logits(windows, batch_size)` and
            `labels`).
        windows: labelled validation `Windows`; a fixed sample of `max_windows` of them is checked.
        action: str. On collapse: "warn" (print and go on), "stop" (print and stop training),
            "restore" (print, put back the weights of the last healthy check, and stop; the weights
            are kept if no check was healthy yet), or "raise" (`LabelCollapseError`).
        check_every_steps: int. Also check every N training steps (0: at epoch ends only).
        warmup_epochs: float. Verdicts about `O` (no entity predicted; near-constant `O`) count
            only from this many epochs of training on (a healthy model predicts only `O` for its
            first steps). A near-constant other class counts at once.
        max_top_share: float. A class predicted for at least this share of labelled tokens ...
        max_gold_share: float. ... is a collapse if its gold share is at most this.
        max_windows: int. Size of the validation sample (whole documents, drawn once with `seed`).
        batch_size: int. Prediction batch size.
        run_config: the run's `TrainConfig` (optional): the diagnosis quotes its settings.
    """

    def __init__(
        self,
        tagger,
        windows,
        action="restore",
        check_every_steps=0,
        warmup_epochs=1.0,
        max_top_share=MAX_TOP_SHARE,
        max_gold_share=MAX_GOLD_SHARE,
        max_windows=512,
        seed=0,
        batch_size=64,
        prefix="collapse_",
        run_config=None,
        predictions=None,
    ):
        super().__init__()
        if action not in ACTIONS:
            raise ValueError(f"action={action!r}: expected one of {', '.join(ACTIONS)}")
        if check_every_steps < 0 or warmup_epochs < 0:
            raise ValueError("check_every_steps and warmup_epochs must be >= 0")
        self.tagger, self.action, self.max_windows, self.seed = tagger, action, max_windows, seed
        self.windows = sample_windows(windows, max_windows, seed)
        self.sample = sample_indices(windows, max_windows, seed)  # where the sample sits in `windows`
        self.predictions = predictions
        self.check_every_steps, self.warmup_epochs = int(check_every_steps), float(warmup_epochs)
        self.thresholds = {"max_top_share": max_top_share, "max_gold_share": max_gold_share}
        self.batch_size, self.prefix = batch_size, prefix
        self.run_config = run_config  # the TrainConfig, whose settings the diagnosis quotes
        self.readings = []  # every check of every fit, in order
        self._reset()

    def _reset(self):
        self.report = None  # the last check's report
        self.collapsed_at = None  # the reading that triggered the action
        self.healthy_at = None  # the last healthy reading (its weights are kept for "restore")
        self.healthy_weights = None
        self.first_seen = None  # first reading of the current unbroken collapsed run
        self.started_at = None  # `first_seen` when the action was taken
        self.diagnosis = None
        self._step = 0
        self._epoch = 0
        self._last = None  # the last reading of this fit

    def on_train_begin(self, logs=None):
        self._reset()

    def on_epoch_begin(self, epoch, logs=None):
        self._epoch = epoch

    def on_train_batch_end(self, batch, logs=None):
        self._step += 1
        if (
            self.check_every_steps
            and self._step % self.check_every_steps == 0
            and (self.collapsed_at is None or self.action == "warn")
        ):
            self._check(self._epoch, batch + 1)

    def on_epoch_end(self, epoch, logs=None):
        acted = self.collapsed_at is not None and self.action != "warn"
        if acted and self.collapsed_at["epoch"] == epoch + 1:
            reading = self.collapsed_at  # acted on at a step check: report that, not the restored model
        elif self._last is not None and self._last["step"] == self._step and self._last["epoch"] == epoch + 1:
            reading = self._last  # a step check ran after the last batch: the same weights
            reading["at_epoch_end"] = True
        else:
            reading = self._check(epoch, None)
        if logs is not None:
            logs.update({self.prefix + k: v for k, v in reading["figures"].items()})
            logs[self.prefix + "flag"] = float(reading["flag"])

    def _progress(self, epoch, step_in_epoch):
        """Epochs of training done: fractional at step checks when the steps per epoch are known."""
        steps = (self.params or {}).get("steps")
        if step_in_epoch is None:
            return epoch + 1.0
        return epoch + (min(step_in_epoch / steps, 1.0) if steps else 0.0)

    def _epoch_logits(self, epoch):
        """The sample's logits from the predictions another callback made at this epoch's end, or None."""
        full = self.predictions(epoch) if self.predictions is not None else None
        if full is None:
            return None
        return full if self.sample is None else [full[w] for w in self.sample]

    def _check(self, epoch, step_in_epoch):
        logits = self._epoch_logits(epoch) if step_in_epoch is None else None
        report = check_tagger(self.tagger, self.windows, self.batch_size, logits=logits, **self.thresholds)
        progress = self._progress(epoch, step_in_epoch)
        warm = progress >= self.warmup_epochs - 1e-9
        reading = {
            "epoch": epoch + 1,
            "step_in_epoch": step_in_epoch,
            "step": self._step,
            "progress": progress,
            "at_epoch_end": step_in_epoch is None,
            "warm": warm,
            "figures": report.logs(prefix=""),
            "shares": report.shares,
            "reasons": list(report.reasons),
            "top_label": report.top_label,
            "flag": int(report.flagged(warm)),
        }
        self.report, self._last = report, reading
        self.readings.append(reading)
        if report.collapsed:
            self.first_seen = self.first_seen or reading
        else:
            self.first_seen = None
            self.healthy_at = reading
            if self.action == "restore":
                self.healthy_weights = self.model.get_weights()
        if reading["flag"]:
            self._act(report, reading)
        return reading

    def _act(self, report, reading):
        first = self.collapsed_at is None
        if first:
            self.collapsed_at, self.started_at = reading, self.first_seen
        if self.action == "warn":
            taken = "Training goes on (action 'warn')."
        elif self.action == "stop":
            taken = "Training stopped (action 'stop'); the weights are the collapsed ones."
        elif self.action == "raise":
            taken = "Training aborted (action 'raise')."
        elif self.healthy_weights is not None:
            self.model.set_weights(self.healthy_weights)
            taken = (
                f"Training stopped and the weights of the last healthy check "
                f"({_where(self.healthy_at)}) restored (action 'restore')."
            )
        else:
            taken = (
                "Training stopped (action 'restore'), but no check was healthy yet: the weights are the collapsed ones."
            )
        if self.action != "warn":
            self.model.stop_training = True
        if not first:  # only "warn" gets here: one line for each later collapsed check
            print(f"\nlabel collapse at {_where(reading)} too: the model {report.summary()}", flush=True)
            return
        self.diagnosis = diagnosis(report, _where(reading), _where(self.first_seen), taken, self.run_config)
        if self.action == "raise":
            raise LabelCollapseError(self.diagnosis, report, reading)
        print("\n" + self.diagnosis, flush=True)

    def outcome(self):
        """What happened, for metrics.json: collapsed or not, where, and what the weights are now."""
        restored = self.action == "restore" and self.collapsed_at is not None and self.healthy_weights is not None
        return {
            "collapsed": self.collapsed_at is not None,
            "action": self.action,
            "at": _where(self.collapsed_at) if self.collapsed_at else None,
            "first_seen": _where(self.started_at) if self.collapsed_at else None,
            "top_label": self.collapsed_at["top_label"] if self.collapsed_at else None,
            "top_share": self.collapsed_at["figures"]["top_share"] if self.collapsed_at else None,
            "weights_restored_from": _where(self.healthy_at) if restored else None,
            "checks": len(self.readings),
            "diagnosis": self.diagnosis,
        }

    @classmethod
    def from_config(cls, tagger, windows, config, seed=0, batch_size=64, run_config=None, predictions=None):
        """A detector with the settings of a `CollapseConfig` (`run_config`: the run's, for the diagnosis;
        `predictions`: epoch -> the logits of all `windows` predicted at that epoch's end, or None, e.g.
        `EntityMetrics.predictions`, so each validation is predicted once)."""
        return cls(
            tagger,
            windows,
            config.action,
            config.check_every_steps,
            config.warmup_epochs,
            config.max_top_share,
            config.max_gold_share,
            config.sample,
            seed,
            batch_size,
            run_config=run_config,
            predictions=predictions,
        )

    def get_config(self):
        return {
            "action": self.action,
            "check_every_steps": self.check_every_steps,
            "warmup_epochs": self.warmup_epochs,
            **self.thresholds,
            "max_windows": self.max_windows,
            "seed": self.seed,
            "batch_size": self.batch_size,
            "prefix": self.prefix,
        }
