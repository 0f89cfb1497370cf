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
- `CollapseConfig`: the settings of the check (`--collapse-*` flags), owned here, nested in TrainConfig.
- `report_from_tags` (for evaluation, from tags already predicted), `check_tagger`, and
  `check_not_collapsed(tagger, windows, force=False)` (for export: raises unless forced).

The Keras callback that runs these checks during training is `tfner.training.collapse.LabelCollapseDetector`.
"""

import sys
from dataclasses import asdict, dataclass, field

import numpy as np

from tfner.core.config import Config, option
from tfner.data.align import IGNORE, Windows

ACTIONS = ("warn", "stop", "restore", "raise")
MAX_TOP_SHARE = 0.99  # a class taking at least this share of the predictions is "near-constant" ...
MAX_GOLD_SHARE = 0.95  # ... if the gold share of that class is at most this


@dataclass
class CollapseConfig(Config):
    """Label-collapse detection during training (`--collapse-*`)."""

    action: str = option(
        "restore",
        "When the model predicts (nearly) one class while the gold labels do "
        "not: warn and go on, stop, stop and restore the weights of the last healthy check, "
        "or raise an error (tuner trials).",
        choices=ACTIONS,
    )
    check_every_steps: int = option(0, "Also check for label collapse every N training steps (0: at epoch ends only).")
    warmup_epochs: float = option(
        1.0,
        "Epochs of training before predicting only O counts as collapse "
        "(healthy models start that way); a constant entity class counts at once.",
    )
    max_top_share: float = option(
        MAX_TOP_SHARE, "Collapse: one class takes at least this share of the predicted labelled tokens ..."
    )
    max_gold_share: float = option(MAX_GOLD_SHARE, "... while its share of the gold labels is at most this.")
    sample: int = option(512, "Validation windows (whole documents, drawn once) checked for collapse (0: all).")

    def __post_init__(self):
        super().__post_init__()
        if min(self.check_every_steps, self.warmup_epochs, self.sample) < 0:
            raise ValueError("collapse check_every_steps, warmup_epochs and sample must be >= 0")
        if not (0 < self.max_top_share <= 1 and 0 < self.max_gold_share <= 1):
            raise ValueError("collapse max_top_share and max_gold_share must be in (0, 1]")

    @property
    def thresholds(self):
        return {"max_top_share": self.max_top_share, "max_gold_share": self.max_gold_share}


class LabelCollapseError(RuntimeError):
    """Training or export refused because the model predicts (nearly) one class; `.report` says which."""

    def __init__(self, message, report=None, reading=None):
        super().__init__(message)
        self.report, self.reading = report, reading


@dataclass
class CollapseReport:
    """The predicted-class distribution on labelled tokens, and the collapse verdict (`reasons`)."""

    labels: list  # label names, index = class id
    o_index: object  # index of "O", or None when the labels have none
    tokens: int  # labelled tokens looked at
    top_class: int  # most-predicted class
    top_share: float  # its share of the predictions
    gold_share_of_top: float  # the share of that class in the gold labels
    gold_top_class: int
    gold_top_share: float
    classes_predicted: int
    classes_gold: int
    entropy: float  # of the predicted-class distribution, bits (0: one class)
    gold_entropy: float
    entities_predicted: int  # labelled tokens predicted as an entity class (not O)
    entities_gold: int
    shares: dict  # label -> share of the predictions
    reasons: tuple = ()  # "constant", "no-entity"; empty: not collapsed
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
        figures = {
            "top_share": self.top_share,
            "top_class": self.top_class,
            "classes_predicted": self.classes_predicted,
            "classes_gold": self.classes_gold,
            "entropy": self.entropy,
            "entities_predicted": self.entities_predicted,
        }
        return {prefix + k: float(v) for k, v in figures.items()}

    def summary(self):
        if not self.tokens:
            return "no labelled tokens to check"
        text = (
            f"predicts {self.top_label!r} for {self.top_share:.1%} of {self.tokens:,} labelled tokens "
            f"(gold: {self.gold_share_of_top:.1%}); {self.classes_predicted} of {len(self.labels)} "
            f"classes predicted (gold has {self.classes_gold}); entropy {self.entropy:.2f} bits "
            f"(gold {self.gold_entropy:.2f})"
        )
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


def collapse_report(
    pred_ids, gold_ids, labels, o_index="auto", max_top_share=MAX_TOP_SHARE, max_gold_share=MAX_GOLD_SHARE
):
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
        return CollapseReport(labels, o_index, 0, -1, nan, nan, -1, nan, 0, 0, nan, nan, 0, 0, {}, (), thresholds)
    pred_counts = np.bincount(pred, minlength=n).astype(np.float64)
    gold_counts = np.bincount(gold, minlength=n).astype(np.float64)
    total = float(len(gold))
    top = int(pred_counts.argmax())
    gold_top = int(gold_counts.argmax())
    report = CollapseReport(
        labels=labels,
        o_index=o_index,
        tokens=int(total),
        top_class=top,
        top_share=pred_counts[top] / total,
        gold_share_of_top=gold_counts[top] / total,
        gold_top_class=gold_top,
        gold_top_share=gold_counts[gold_top] / total,
        classes_predicted=int((pred_counts > 0).sum()),
        classes_gold=int((gold_counts > 0).sum()),
        entropy=_entropy(pred_counts),
        gold_entropy=_entropy(gold_counts),
        entities_predicted=int(total - pred_counts[o_index]) if o_index is not None else 0,
        entities_gold=int(total - gold_counts[o_index]) if o_index is not None else 0,
        shares={labels[i]: float(c / total) for i, c in enumerate(pred_counts) if c},
        thresholds=thresholds,
    )
    reasons = []
    if report.classes_gold > 1 and (
        report.classes_predicted == 1
        or (report.top_share >= max_top_share and report.gold_share_of_top <= max_gold_share)
    ):
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
    picked = sample_indices(windows, max_windows, seed)
    if picked is None:
        return windows
    chosen = sorted({int(windows.doc_index[w]) for w in picked})
    new_doc = {d: i for i, d in enumerate(chosen)}
    return Windows(
        input_ids=[windows.input_ids[w] for w in picked],
        labels=[windows.labels[w] for w in picked],
        unit_index=[windows.unit_index[w] for w in picked],
        doc_index=np.array([new_doc[int(windows.doc_index[w])] for w in picked], np.int32),
        cut=windows.cut[picked],
        prefix=windows.prefix,
        units=[windows.units[d] for d in chosen],
        gold=[windows.gold[d] for d in chosen],
        offsets=[windows.offsets[d] for d in chosen],
        documents=[windows.documents[d] for d in chosen],
        skipped=dict(windows.skipped),
        word_starts=[windows.word_starts[d] for d in chosen] if windows.word_starts else [],
    )


def sample_indices(windows, max_windows=512, seed=0):
    """The windows `sample_windows` picks, in order (None: all of them), so predictions already made on
    all the windows can be read for the sample without predicting again."""
    if not max_windows or len(windows) <= max_windows:
        return None
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
    return [w for d in chosen for w in by_doc[d]]


def check_tagger(tagger, windows, batch_size=64, logits=None, **thresholds):
    """`collapse_report` of `tagger`'s predictions on the labelled tokens of `windows` (`logits`: the
    tagger's logits per window when already predicted)."""
    if logits is None:
        logits = tagger.predict_logits(windows, batch_size)
    return collapse_report([l.argmax(-1) for l in logits], windows.labels, tagger.labels, **thresholds)


def loud_warning(report, what="this model"):
    """A banner for a collapsed model met at evaluation or export."""
    bar = "!" * 100
    return (
        f"{bar}\nWARNING: {what} is collapsed ({', '.join(report.reasons)}): it {report.summary()}.\n"
        f"Its scores are those of a constant predictor; do not deploy it. Retrain it (the "
        f"LabelCollapseDetector's diagnosis lists the causes to check).\n{bar}"
    )


def check_not_collapsed(tagger, windows, force=False, what="the model to export", **thresholds):
    """Raise `LabelCollapseError` if `tagger` is collapsed on `windows`, unless `force` (then a warning).

    Returns the report. For exporters: refuse a collapsed model unless `--force` is given.
    """
    report = check_tagger(tagger, windows, **thresholds)
    if report.collapsed:
        if not force:
            raise LabelCollapseError(
                f"{what} is collapsed: it {report.summary()}; refusing to continue (use --force to override)", report
            )
        print(loud_warning(report, what), file=sys.stderr, flush=True)
    return report
