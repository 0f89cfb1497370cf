"""Evaluate a saved model on labelled data: `python -m tfner.evaluate --model DIR --data PATH`.

    python -m tfner.evaluate --model runs/clinical-mlp --data notes.jsonl --untrained
    python -m tfner.evaluate --model runs/conll-linear --data ../shared/datasets/conll2003/valid.txt

Prints seqeval precision/recall/F1 overall and per entity type with support, token accuracy and
masked loss, and writes them as JSON with a token-level confusion matrix (text and PNG). With
`--untrained`, the same metrics for the untrained model of the same configuration (pretrained encoder,
fresh head) come first, for a before/after comparison. Without `--data`, the model is evaluated on
the synthetic clinical test notes.
"""

import argparse
import dataclasses
import json
import os
import sys

from tfner import _env  # noqa: F401

from tfner.evaluation import plots
from tfner.evaluation.collapse import loud_warning, report_from_tags
from tfner.data.readers import DataError, check_labels, read_data, summarize
from tfner.model.encoders import EncoderError
from tfner.evaluation.metrics import confusion_matrix, format_confusion, format_scores
from tfner.data.synthetic import clinical_notes
from tfner.model.tagger import Tagger


def evaluate(model_dir, data="", split="test", output_dir=None, untrained=False, mode=None,
             max_documents=0, batch_size=64):
    """Scores of the saved model (and, with `untrained`, of its untrained twin) on `data`."""
    tagger = Tagger.load(model_dir)
    if data:
        corpus = read_data(data, split)
    else:
        corpus = clinical_notes(1, tagger.config.synthetic_test, seed=tagger.config.seed)[1]
    if max_documents:
        corpus = dataclasses.replace(corpus, documents=corpus.documents[:max_documents])
    check_labels(corpus, tagger.labels)
    print(summarize(corpus, "evaluation data"))
    mode = mode or tagger.config.seqeval_mode
    windows = tagger.encode(corpus)
    report = {"model": model_dir, "data": corpus.source, "seqeval_mode": mode}
    if untrained:
        fresh = Tagger.build(tagger.config, tagger.labels, tagger.tokenizer)
        report["untrained"] = {k: v for k, v in fresh.evaluate(windows, batch_size, mode).items() if k != "pred"}
        print(format_scores(report["untrained"], "untrained model:"))
        del fresh
    scores = tagger.evaluate(windows, batch_size, mode)
    report["trained"] = {k: v for k, v in scores.items() if k != "pred"}
    collapse = report_from_tags(windows.gold, scores["pred"], tagger.labels)
    report["collapse"] = collapse.to_dict()
    if collapse.collapsed:
        print(loud_warning(collapse, f"the model in {model_dir}"), file=sys.stderr)
    print(format_scores(report["trained"], "trained model:"))
    if untrained:
        print(f"F1 before -> after fine-tuning: {report['untrained']['f1']:.4f} -> {report['trained']['f1']:.4f}")
    matrix = confusion_matrix(windows.gold, scores["pred"], tagger.labels)
    print("\n" + format_confusion(matrix, tagger.labels))
    out = output_dir or os.path.join(model_dir, "evaluation")
    os.makedirs(out, exist_ok=True)
    report["confusion"] = {"labels": tagger.labels, "matrix": matrix.tolist()}
    with open(os.path.join(out, "metrics.json"), "w") as f:
        json.dump(report, f, indent=1)
    with open(os.path.join(out, "confusion.txt"), "w") as f:
        f.write(format_confusion(matrix, tagger.labels) + "\n")
    plots.plot_confusion(matrix, tagger.labels, os.path.join(out, "confusion.png"))
    print(f"\nwritten to {out}/ (metrics.json, confusion.txt, confusion.png)")
    return report


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m tfner.evaluate", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", required=True, help="Directory written by tfner.train.")
    parser.add_argument("--data", default="", help="CoNLL file, JSONL span file, saved `datasets` "
                        "directory or hf:NAME (default: the synthetic clinical test notes).")
    parser.add_argument("--split", default="test", help="Split of a `datasets` dict (default: test).")
    parser.add_argument("--output-dir", help="Where to write the results (default: MODEL/evaluation).")
    parser.add_argument("--untrained", action="store_true",
                        help="Evaluate the untrained model of the same configuration first.")
    parser.add_argument("--mode", choices=("default", "strict"), help="seqeval matching (default: "
                        "the model's training setting).")
    parser.add_argument("--max-documents", type=int, default=0, help="Evaluate the first N only.")
    parser.add_argument("--batch-size", type=int, default=64)
    args = parser.parse_args(argv)
    try:
        evaluate(args.model, args.data, args.split, args.output_dir, args.untrained, args.mode,
                 args.max_documents, args.batch_size)
    except (DataError, EncoderError, FileNotFoundError, ValueError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
