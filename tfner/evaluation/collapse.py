"""Label collapse: a model that predicts one class (most often `O`) whatever the input.

A collapsed tagger looks healthy to token accuracy computed over padding (the share of `O` there)
and to early stopping on it, while it finds no entity at all (USERS.md, item 5). Everything here looks
at *labelled* tokens only (gold id != -100: no padding, special tokens or continuation sub-tokens):

- `collapse_report(pred_ids, gold_ids, labels)` measures the predicted-class distribution (share of
  the most-predicted class, classes predicted against classes in the gold labels, entropy, entity
  tokens predicted) and gives the verdict as `reasons`:
    * "constant":  one class predicted, or one class taking >= `max_top_share` of the predictions
      while the gold share of that class is <= `max_gold_share` - whatever the class is;
    * "no-entity": no entity class predicted on data whose gold labels have entities.
  Predicting only `O` is also how a healthy model starts, so verdicts about `O` ("no-entity", and
  "constant" on `O`) count only after a warm-up (`CollapseReport.flagged(warm)`); a constant on any
  other class counts at once.
- `LabelCollapseDetector`, a Keras callback that checks a fixed validation sample every epoch (and,
  with `check_every_steps`, every N training steps), writes its figures into the epoch logs (so the
  progress bar, TensorBoard and history.json show them) and on collapse warns, stops, stops and
  restores the last healthy weights, or raises `LabelCollapseError`, printing a diagnosis.
- `report_from_tags` (for evaluation, from tags already predicted), `check_tagger`, and
  `check_not_collapsed(tagger, windows, force=False)` (for export: raises unless forced).
"""

import sys
from dataclasses import asdict, dataclass, field

import numpy as np

from tfner import _env  # noqa: F401
import tf_keras

from tfner.data.align import IGNORE, Windows

ACTIONS = ("warn", "stop", "restore", "raise")
MAX_TOP_SHARE = 0.99   # a class taking at least this share of the predictions is "near-constant" ...
MAX_GOLD_SHARE = 0.95  # ... if the gold share of that class is at most this


class LabelCollapseError(RuntimeError):
    """Training or export refused because the model predicts (nearly) one class; `.report` says which."""

    def __init__(self, message, report=None, reading=None):
        super().__init__(message)
        self.report, self.reading = report, reading


@dataclass
class CollapseReport:
    """The predicted-class distribution on labelled tokens, and the collapse verdict (`reasons`)."""

    labels: list                 # label names, index = class id
    o_index: object              # index of "O", or None when the labels have none
    tokens: int                  # labelled tokens looked at
    top_class: int               # most-predicted class
    top_share: float             # its share of the predictions
    gold_share_of_top: float     # the share of that class in the gold labels
    gold_top_class: int
    gold_top_share: float
    classes_predicted: int
    classes_gold: int
    entropy: float               # of the predicted-class distribution, bits (0: one class)
    gold_entropy: float
    entities_predicted: int      # labelled tokens predicted as an entity class (not O)
    entities_gold: int
    shares: dict                 # label -> share of the predictions
    reasons: tuple = ()          # "constant", "no-entity"; empty: not collapsed
    thresholds: dict = field(default_factory=dict)

    @property
    def collapsed(self):
        return bool(self.reasons)

    @property
    def top_label(self):
        return self.labels[self.top_class] if self.top_class >= 0 else "?"

    @property
    def needs_warmup(self):
        """True when the verdict is only about predicting `O`, which healthy training starts with."""
        constant_on_o = "constant" in self.reasons and self.top_class == self.o_index
        return self.collapsed and ("constant" not in self.reasons or constant_on_o)

    def flagged(self, warm=True):
        """Collapsed, counting verdicts about `O` only once `warm` (after the warm-up)."""
        return self.collapsed and (warm or not self.needs_warmup)

    def logs(self, prefix="collapse_"):
        """The figures for Keras logs (numbers only; `flag` is added by the caller that knows `warm`)."""
        figures = {"top_share": self.top_share, "top_class": self.top_class,
                   "classes_predicted": self.classes_predicted, "classes_gold": self.classes_gold,
                   "entropy": self.entropy, "entities_predicted": self.entities_predicted}
        return {prefix + k: float(v) for k, v in figures.items()}

    def summary(self):
        if not self.tokens:
            return "no labelled tokens to check"
        text = (f"predicts {self.top_label!r} for {self.top_share:.1%} of {self.tokens:,} labelled tokens "
                f"(gold: {self.gold_share_of_top:.1%}); {self.classes_predicted} of {len(self.labels)} "
                f"classes predicted (gold has {self.classes_gold}); entropy {self.entropy:.2f} bits "
                f"(gold {self.gold_entropy:.2f})")
        if self.o_index is not None:
            text += f"; {self.entities_predicted:,} entity tokens predicted (gold: {self.entities_gold:,})"
        return text

    def to_dict(self):
        return {**asdict(self), "collapsed": self.collapsed, "top_label": self.top_label}


def _entropy(counts):
    p = counts[counts > 0] / counts.sum()
    return float(-(p * np.log2(p)).sum()) + 0.0  # + 0.0: no "-0.0"


def _flat(values):
    if isinstance(values, np.ndarray):
        return values.reshape(-1)
    values = list(values)
    if values and np.ndim(values[0]) > 0:
        return np.concatenate([np.asarray(v).reshape(-1) for v in values]) if values else np.zeros(0)
    return np.asarray(values).reshape(-1)


def collapse_report(pred_ids, gold_ids, labels, o_index="auto", max_top_share=MAX_TOP_SHARE,
                    max_gold_share=MAX_GOLD_SHARE):
    """The collapse figures and verdict for predicted class ids against gold class ids.

    `pred_ids` and `gold_ids` are arrays of any shape, or lists of per-window arrays, aligned
    position by position; positions whose gold id is -100 are left out. `labels` are the class
    names (index = class id). `o_index`: the class of `O` ("auto": `labels.index("O")`, None when
    absent; None turns the no-entity rule off).
    """
    labels = list(labels)
    if o_index == "auto":
        o_index = labels.index("O") if "O" in labels else None
    pred, gold = _flat(pred_ids).astype(np.int64), _flat(gold_ids).astype(np.int64)
    if pred.shape != gold.shape:
        raise ValueError(f"{pred.size} predictions for {gold.size} gold labels")
    keep = gold != IGNORE
    pred, gold = pred[keep], gold[keep]
    n = len(labels)
    thresholds = {"max_top_share": max_top_share, "max_gold_share": max_gold_share}
    if not len(gold):
        nan = float("nan")
        return CollapseReport(labels, o_index, 0, -1, nan, nan, -1, nan, 0, 0, nan, nan, 0, 0, {},
                              (), thresholds)
    pred_counts = np.bincount(pred, minlength=n).astype(np.float64)
    gold_counts = np.bincount(gold, minlength=n).astype(np.float64)
    total = float(len(gold))
    top = int(pred_counts.argmax())
    gold_top = int(gold_counts.argmax())
    report = CollapseReport(
        labels=labels, o_index=o_index, tokens=int(total), top_class=top,
        top_share=pred_counts[top] / total, gold_share_of_top=gold_counts[top] / total,
        gold_top_class=gold_top, gold_top_share=gold_counts[gold_top] / total,
        classes_predicted=int((pred_counts > 0).sum()), classes_gold=int((gold_counts > 0).sum()),
        entropy=_entropy(pred_counts), gold_entropy=_entropy(gold_counts),
        entities_predicted=int(total - pred_counts[o_index]) if o_index is not None else 0,
        entities_gold=int(total - gold_counts[o_index]) if o_index is not None else 0,
        shares={labels[i]: float(c / total) for i, c in enumerate(pred_counts) if c},
        thresholds=thresholds)
    reasons = []
    if report.classes_gold > 1 and (report.classes_predicted == 1 or (
            report.top_share >= max_top_share and report.gold_share_of_top <= max_gold_share)):
        reasons.append("constant")
    if o_index is not None and report.entities_gold > 0 and report.entities_predicted == 0:
        reasons.append("no-entity")
    report.reasons = tuple(reasons)
    return report


def report_from_tags(gold, pred, labels, **thresholds):
    """`collapse_report` from tag sequences (e.g. `windows.gold` and `Tagger.evaluate(...)["pred"]`)."""
    index = {label: i for i, label in enumerate(labels)}
    pairs = [(g, p) for gs, ps in zip(gold, pred) if gs is not None for g, p in zip(gs, ps)]
    gold_ids = np.array([index[g] for g, _ in pairs], np.int64)
    pred_ids = np.array([index[p] for _, p in pairs], np.int64)
    return collapse_report(pred_ids, gold_ids, labels, **thresholds)


def sample_windows(windows, max_windows=512, seed=0):
    """At most `max_windows` windows of whole documents drawn at random (seeded), as a valid `Windows`."""
    if not max_windows or len(windows) <= max_windows:
        return windows
    by_doc = {}
    for w, d in enumerate(windows.doc_index):
        by_doc.setdefault(int(d), []).append(w)
    chosen, count = [], 0
    for d in np.random.RandomState(seed).permutation(len(windows.units)):
        n = len(by_doc.get(int(d), ()))
        if n and count + n <= max_windows:
            chosen.append(int(d))
            count += n
        if count >= max_windows:
            break
    chosen.sort()
    picked = [w for d in chosen for w in by_doc[d]]
    new_doc = {d: i for i, d in enumerate(chosen)}
    return Windows(
        input_ids=[windows.input_ids[w] for w in picked], labels=[windows.labels[w] for w in picked],
        unit_index=[windows.unit_index[w] for w in picked],
        doc_index=np.array([new_doc[int(windows.doc_index[w])] for w in picked], np.int32),
        cut=windows.cut[picked], prefix=windows.prefix, units=[windows.units[d] for d in chosen],
        gold=[windows.gold[d] for d in chosen], offsets=[windows.offsets[d] for d in chosen],
        documents=[windows.documents[d] for d in chosen], skipped=dict(windows.skipped))


def check_tagger(tagger, windows, batch_size=64, **thresholds):
    """`collapse_report` of `tagger`'s predictions on the labelled tokens of `windows`."""
    logits = tagger.predict_logits(windows, batch_size)
    return collapse_report([l.argmax(-1) for l in logits], windows.labels, tagger.labels, **thresholds)


def loud_warning(report, what="this model"):
    """A banner for a collapsed model met at evaluation or export."""
    bar = "!" * 100
    return (f"{bar}\nWARNING: {what} is collapsed ({', '.join(report.reasons)}): it {report.summary()}.\n"
            f"Its scores are those of a constant predictor; do not deploy it. Retrain it (the "
            f"LabelCollapseDetector's diagnosis lists the causes to check).\n{bar}")


def check_not_collapsed(tagger, windows, force=False, what="the model to export", **thresholds):
    """Raise `LabelCollapseError` if `tagger` is collapsed on `windows`, unless `force` (then a warning).

    Returns the report. For exporters: refuse a collapsed model unless `--force` is given.
    """
    report = check_tagger(tagger, windows, **thresholds)
    if report.collapsed:
        if not force:
            raise LabelCollapseError(f"{what} is collapsed: it {report.summary()}; refusing to "
                                     "continue (use --force to override)", report)
        print(loud_warning(report, what), file=sys.stderr, flush=True)
    return report


def diagnosis(report, when, first_seen, action_taken, config=None):
    """What collapsed, since when, what was done, and the likely causes with the flag for each."""
    now = lambda name: f" (now {getattr(config, name)})" if hasattr(config, name) else ""
    imbalance = ""
    if report.o_index is not None and report.tokens:
        imbalance = (f" (O is {1 - report.entities_gold / report.tokens:.0%} of the gold tokens, "
                     f"{report.shares.get('O', 0.0):.0%} of the predictions)")
    return "\n".join([
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
        "sub-tokens) must be masked, as tfner.metrics.masked_loss and MaskedAccuracy do, and early "
        "stopping must watch val_f1, not val_accuracy (--early-stopping-patience watches val_f1).",
        f"  - class imbalance{imbalance}: train longer, --epochs{now('epochs')}, or on more data, "
        "--max-train-documents 0; if the model has simply not learned entities yet, lengthen "
        "--collapse-warmup-epochs.",
    ])


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
        tagger: the `Tagger` being trained (anything with `predict_logits(windows, batch_size)`,
            `labels`, and optionally `config` for the diagnosis).
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
    """

    def __init__(self, tagger, windows, action="restore", check_every_steps=0, warmup_epochs=1.0,
                 max_top_share=MAX_TOP_SHARE, max_gold_share=MAX_GOLD_SHARE, max_windows=512, seed=0,
                 batch_size=64, prefix="collapse_"):
        super().__init__()
        if action not in ACTIONS:
            raise ValueError(f"action={action!r}: expected one of {', '.join(ACTIONS)}")
        if check_every_steps < 0 or warmup_epochs < 0:
            raise ValueError("check_every_steps and warmup_epochs must be >= 0")
        self.tagger, self.action, self.max_windows, self.seed = tagger, action, max_windows, seed
        self.windows = sample_windows(windows, max_windows, seed)
        self.check_every_steps, self.warmup_epochs = int(check_every_steps), float(warmup_epochs)
        self.thresholds = {"max_top_share": max_top_share, "max_gold_share": max_gold_share}
        self.batch_size, self.prefix = batch_size, prefix
        self.readings = []  # every check of every fit, in order
        self._reset()

    def _reset(self):
        self.report = None          # the last check's report
        self.collapsed_at = None    # the reading that triggered the action
        self.healthy_at = None      # the last healthy reading (its weights are kept for "restore")
        self.healthy_weights = None
        self.first_seen = None      # first reading of the current unbroken collapsed run
        self.started_at = None      # `first_seen` when the action was taken
        self.diagnosis = None
        self._step = 0
        self._epoch = 0
        self._last = None           # the last reading of this fit

    def on_train_begin(self, logs=None):
        self._reset()

    def on_epoch_begin(self, epoch, logs=None):
        self._epoch = epoch

    def on_train_batch_end(self, batch, logs=None):
        self._step += 1
        if self.check_every_steps and self._step % self.check_every_steps == 0 and (
                self.collapsed_at is None or self.action == "warn"):
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

    def _check(self, epoch, step_in_epoch):
        report = check_tagger(self.tagger, self.windows, self.batch_size, **self.thresholds)
        progress = self._progress(epoch, step_in_epoch)
        warm = progress >= self.warmup_epochs - 1e-9
        reading = {"epoch": epoch + 1, "step_in_epoch": step_in_epoch, "step": self._step,
                   "progress": progress, "at_epoch_end": step_in_epoch is None, "warm": warm,
                   "figures": report.logs(prefix=""), "shares": report.shares,
                   "reasons": list(report.reasons), "top_label": report.top_label,
                   "flag": int(report.flagged(warm))}
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
            taken = (f"Training stopped and the weights of the last healthy check "
                     f"({_where(self.healthy_at)}) restored (action 'restore').")
        else:
            taken = ("Training stopped (action 'restore'), but no check was healthy yet: the weights "
                     "are the collapsed ones.")
        if self.action != "warn":
            self.model.stop_training = True
        if not first:  # only "warn" gets here: one line for each later collapsed check
            print(f"\nlabel collapse at {_where(reading)} too: the model {report.summary()}", flush=True)
            return
        self.diagnosis = diagnosis(report, _where(reading), _where(self.first_seen), taken,
                                   getattr(self.tagger, "config", None))
        if self.action == "raise":
            raise LabelCollapseError(self.diagnosis, report, reading)
        print("\n" + self.diagnosis, flush=True)

    def outcome(self):
        """What happened, for metrics.json: collapsed or not, where, and what the weights are now."""
        restored = (self.action == "restore" and self.collapsed_at is not None
                    and self.healthy_weights is not None)
        return {"collapsed": self.collapsed_at is not None, "action": self.action,
                "at": _where(self.collapsed_at) if self.collapsed_at else None,
                "first_seen": _where(self.started_at) if self.collapsed_at else None,
                "top_label": self.collapsed_at["top_label"] if self.collapsed_at else None,
                "top_share": self.collapsed_at["figures"]["top_share"] if self.collapsed_at else None,
                "weights_restored_from": _where(self.healthy_at) if restored else None,
                "checks": len(self.readings), "diagnosis": self.diagnosis}

    def get_config(self):
        return {"action": self.action, "check_every_steps": self.check_every_steps,
                "warmup_epochs": self.warmup_epochs, **self.thresholds, "max_windows": self.max_windows,
                "seed": self.seed, "batch_size": self.batch_size, "prefix": self.prefix}
