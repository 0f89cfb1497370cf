"""Recall-first decision thresholds: `tfner calibrate --model DIR --data VALIDATION --target-recall 0.99`.

For each entity type, the model's probability of that type (P(B-T) + P(I-T)) is compared with a
threshold instead of taking the argmax (`tfner.model.decoding`; with `bio` decoding, as the bonus
log((1 - t) / t) inside the Viterbi). Calibration picks, per type, the
highest threshold on a fixed grid whose token-level recall of that type on the validation data reaches
the target (so, among those that reach it, the one with the best precision), holding the other types at
their current thresholds, and goes over the types twice so that their interplay is accounted for. Types
that cannot reach the target get the threshold with the best recall, and are reported. The thresholds go
to `DIR/thresholds.json`, which every prediction path then applies: `Tagger.tags` (and so `tfner
evaluate`), the pipeline (`tfner predict`, `tfner deid`) and the SavedModel's signatures (`tfner export`).

Token-level recall is the measure (the share of a type's gold words, or tokens for span data, predicted
as that type, decided as the model decodes: for span data with `bio`, per word): it falls monotonically
as a threshold rises, unlike exact-boundary entity recall, and it is the PHI recall of the
de-identification literature. Entity-level scores before and after are printed too. Calibrate on
validation data, never on the test data you report.
"""

import argparse
import dataclasses
import sys

import numpy as np

from tfner.core.cli import UsageError, run_command
from tfner.data import align
from tfner.data.readers import DataError, check_labels, read_data, summarize
from tfner.evaluation.metrics import entity_scores
from tfner.evaluation.phi import token_scores
from tfner.model.decoding import Decoder, softmax, write_thresholds
from tfner.model.encoders import EncoderError
from tfner.model.tagger import Tagger

# Candidate thresholds, highest first: 0.5 (where a lone type's rule meets the argmax) down to 1e-4.
GRID = tuple(np.round(np.concatenate([np.arange(0.5, 0.05, -0.025), np.geomspace(0.05, 1e-4, 16)]), 6))


def _probabilities(windows, logits):
    return align.merge(windows, [softmax(l) for l in logits], fill=0.0)


def _tags(probabilities, labels, thresholds, decode="argmax", word_starts=None):
    """Tags under `thresholds`, decided as `Tagger.tags` decides them (`Decoder.documents`)."""
    return [
        [labels[i] for i in ids] for ids in Decoder(labels, thresholds, decode).documents(probabilities, word_starts)
    ]


def calibrate(tagger, windows, target_recall=0.99, batch_size=64, rounds=2, logits=None):
    """Per-type thresholds reaching `target_recall` (token level) on `windows`; returns (thresholds,
    figures per type). `logits`: the tagger's logits on `windows`, when already computed."""
    if not 0 < target_recall <= 1:
        raise ValueError(f"target recall must be in (0, 1], got {target_recall}")
    if logits is None:
        logits = tagger.predict_logits(windows, batch_size)
    probabilities = _probabilities(windows, logits)
    gold = [g for g in windows.gold if g is not None]
    probabilities = [p for g, p in zip(windows.gold, probabilities) if g is not None]
    starts = [s for g, s in zip(windows.gold, windows.word_starts) if g is not None] if windows.word_starts else None
    decode = tagger.config.decode

    def tags(thresholds):
        return _tags(probabilities, tagger.labels, thresholds, decode, starts)

    types = Decoder(tagger.labels).types
    present = set(token_scores(gold, gold)["per_type"])
    thresholds = {t: GRID[0] for t in types}
    for _ in range(rounds):
        for kind in types:
            if kind not in present:
                continue
            best = None
            for value in GRID:  # highest first: the first that reaches the target has the best precision
                trial = {**thresholds, kind: float(value)}
                row = token_scores(gold, tags(trial))["per_type"][kind]
                if best is None or row["recall"] > best[1]["recall"] + 1e-12:
                    best = (float(value), row)
                if row["recall"] >= target_recall:
                    best = (float(value), row)
                    break
            thresholds[kind] = best[0]
    final = token_scores(gold, tags(thresholds))["per_type"]
    figures = {
        k: {
            "threshold": thresholds[k],
            **final.get(k, {}),
            "reached": bool(k in final and final[k]["recall"] >= target_recall),
        }
        for k in types
    }
    return thresholds, figures


def _main(argv):
    parser = argparse.ArgumentParser(
        prog="tfner calibrate", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--model", required=True, help="a model directory saved by tfner train")
    parser.add_argument("--data", required=True, help="labelled validation data (CoNLL, JSONL spans, datasets)")
    parser.add_argument("--split", default="validation", help="split of a `datasets` dict")
    parser.add_argument("--target-recall", type=float, default=0.99, help="token-level recall per type to reach")
    parser.add_argument("--max-documents", type=int, default=0, help="use the first N documents only")
    parser.add_argument("--batch-size", type=int, default=64)
    args = parser.parse_args(argv)
    if not 0 < args.target_recall <= 1:
        raise UsageError(f"--target-recall must be in (0, 1], got {args.target_recall}")
    if args.batch_size <= 0 or args.max_documents < 0:
        raise UsageError("--batch-size must be positive and --max-documents >= 0")
    tagger = Tagger.load(args.model)
    if tagger.model.crf_layer is not None:
        raise UsageError(
            f"--model {args.model}: the model has a CRF, which decodes whole sequences with Viterbi; per-token "
            "probability thresholds do not apply to it (calibrate a model trained without --crf)"
        )
    corpus = read_data(args.data, args.split)
    if args.max_documents:
        corpus = dataclasses.replace(corpus, documents=corpus.documents[: args.max_documents])
    check_labels(corpus, tagger.labels)
    print(summarize(corpus, "calibration data"))
    windows = tagger.encode(corpus)
    logits = tagger.predict_logits(windows, args.batch_size)
    tagger.set_thresholds(None)
    before_tags = tagger.tags(windows, logits)
    before, before_tokens = entity_scores(windows.gold, before_tags), token_scores(windows.gold, before_tags)
    thresholds, figures = calibrate(tagger, windows, args.target_recall, logits=logits)
    tagger.set_thresholds(thresholds)
    after = entity_scores(windows.gold, tagger.tags(windows, logits))
    print(f"\n{'type':<12}{'threshold':>10}{'recall':>9}{'precision':>11}   (token level; argmax before)")
    for kind, row in figures.items():
        old = before_tokens["per_type"].get(kind, {})
        print(
            f"{kind:<12}{row['threshold']:>10.4g}{row.get('recall', float('nan')):>9.4f}"
            f"{row.get('precision', float('nan')):>11.4f}   (before {old.get('recall', float('nan')):.4f} / "
            f"{old.get('precision', float('nan')):.4f})" + ("" if row["reached"] else "   target NOT reached")
        )
    print(
        f"entity F1 {before['f1']:.4f} -> {after['f1']:.4f}, recall {before['recall']:.4f} -> "
        f"{after['recall']:.4f}, precision {before['precision']:.4f} -> {after['precision']:.4f}"
    )
    path = write_thresholds(
        args.model,
        thresholds,
        tagger.labels,
        target_recall=args.target_recall,
        measure="token-level recall per type",
        data=corpus.source,
        per_type=figures,
        entity_before={k: before[k] for k in ("precision", "recall", "f1")},
        entity_after={k: after[k] for k in ("precision", "recall", "f1")},
    )
    print(f"written to {path}")
    missed = [k for k, row in figures.items() if not row["reached"]]
    if missed:
        print(f"warning: the target recall was not reached for {', '.join(missed)}", file=sys.stderr)


def main(argv=None):
    return run_command(_main, argv, usage_errors=(DataError, EncoderError))


if __name__ == "__main__":
    sys.exit(main())
