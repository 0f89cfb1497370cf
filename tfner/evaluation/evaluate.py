"""Evaluate a saved model on labelled data: `tfner evaluate --model DIR --data PATH`.

    tfner evaluate --model runs/clinical-mlp --untrained
    tfner evaluate --model runs/conll-linear --data ../shared/datasets/conll2003/valid.txt

Prints seqeval precision/recall/F1 overall and per entity type with support, token accuracy and
masked loss, and writes them as JSON with a token-level confusion matrix (text and PNG), then an error
analysis (`tfner.evaluation.errors`): nervaluate's F1 per type and the kinds of entity errors per type
(wrong type, wrong boundary, both wrong, missed, spurious), with examples of each in
errors_examples.txt (positions; the words only with --show-text). With
`--untrained`, the same metrics for the untrained model of the same configuration (pretrained encoder,
fresh head) come first, for a before/after comparison. Without `--data`, the model is evaluated on
the synthetic clinical test notes of its run.
"""

import argparse
import dataclasses
import json
import os
import sys

from tfner.core.cli import UsageError, check_output_file, run_command
from tfner.data.readers import DataError, check_labels, read_data, summarize
from tfner.data.synthetic import clinical_notes, synthetic_scope
from tfner.evaluation.collapse import loud_warning, report_from_tags
from tfner.evaluation.errors import error_report, format_errors, format_examples, unit_text
from tfner.evaluation.html import evaluation_documents, render_evaluation, write_html
from tfner.evaluation.metrics import evaluate_tagger, format_confusion, format_scores
from tfner.evaluation.phi import format_phi, leak_text, leaks, phi_report
from tfner.evaluation.report import public, write_report
from tfner.model.decoding import add_decode_argument
from tfner.model.encoders import EncoderError
from tfner.model.tagger import Tagger


def _run_settings(model_dir):
    """The run settings evaluation reuses (seqeval mode; the synthetic test notes' count and seed),
    from the model's config.json (top-level names in nested and flat files alike); a model saved
    without its run config has none of them."""
    with open(os.path.join(model_dir, "config.json")) as f:
        saved = json.load(f)
    return {
        k: saved[k]
        for k in (
            "seqeval_mode",
            "synthetic_test",
            "seed",
            "synthetic_families",
            "synthetic_locales",
            "synthetic_label_set",
        )
        if k in saved
    }


def evaluate(
    model_dir,
    data="",
    split="test",
    output_dir=None,
    untrained=False,
    mode=None,
    max_documents=0,
    batch_size=64,
    leaks_path=None,
    show_text=False,
    html_path=None,
    misaligned_spans="error",
    error_examples=20,
    decode=None,
):
    """Scores of the saved model (and, with `untrained`, of its untrained twin) on `data`, with the
    de-identification figures (`tfner.evaluation.phi`); `leaks_path`: write every missed gold entity
    there as JSON lines (their text only with `show_text`); `html_path`: write gold and predicted entities
    side by side, errors marked, as an HTML page (`tfner.evaluation.html`); `error_examples`: how many
    examples of each error kind to write to errors_examples.txt (0: none; words only with `show_text`);
    `decode`: "argmax" or "bio" instead of the model's own decoding (models with a CRF use Viterbi)."""
    for path in (leaks_path,):
        check_output_file(path)
    check_output_file(html_path, "HTML file")
    tagger = Tagger.load(model_dir)
    if decode:
        tagger.set_decoding(decode)
    run = _run_settings(model_dir)
    if data:
        corpus = read_data(data, split)
    elif "synthetic_test" in run:
        corpus = clinical_notes(1, run["synthetic_test"], seed=run["seed"], **synthetic_scope(run))[1]
    else:
        raise UsageError(f"{model_dir}/config.json names no synthetic test notes: give --data")
    if max_documents:
        corpus = dataclasses.replace(corpus, documents=corpus.documents[:max_documents])
    check_labels(corpus, tagger.labels)
    print(summarize(corpus, "evaluation data"))
    mode = mode or run.get("seqeval_mode", "default")
    windows = tagger.encode(corpus, misaligned_spans=misaligned_spans)
    skipped = {k: v for k, v in windows.skipped.items() if v}
    if skipped:
        print("skipped: " + ", ".join(f"{k}: {v}" for k, v in skipped.items()))
    report = {"model": model_dir, "data": corpus.source, "seqeval_mode": mode, "skipped": skipped}
    if untrained:
        fresh = Tagger.build(tagger.config.without_lora(), tagger.labels, tagger.tokenizer)
        report["untrained"] = public(evaluate_tagger(fresh, windows, batch_size, mode))
        print(format_scores(report["untrained"], "untrained model:"))
        del fresh
    scores = evaluate_tagger(tagger, windows, batch_size, mode)
    report["trained"] = public(scores)
    collapse = report_from_tags(windows.gold, scores["pred"], tagger.labels)
    report["collapse"] = collapse.to_dict()
    if collapse.collapsed:
        print(loud_warning(collapse, f"the model in {model_dir}"), file=sys.stderr)
    print(format_scores(report["trained"], "trained model:"))
    if tagger.thresholds:
        report["thresholds"] = tagger.thresholds
        print(
            "decision thresholds (recall-first, tfner calibrate): "
            + ", ".join(f"{k} {v:.3g}" for k, v in sorted(tagger.thresholds.items()))
        )
    report["phi"] = phi_report(windows, scores["pred"])
    print(format_phi(report["phi"]))
    report["errors"], examples = error_report(windows, scores["pred"], error_examples)
    print(format_errors(report["errors"], report["phi"]["entity"]))
    if leaks_path:
        found = leaks(windows, scores["pred"])
        with open(leaks_path, "w", encoding="utf-8") as f:
            for leak in found:
                if show_text:
                    leak = {**leak, "text": leak_text(windows, leak)}
                f.write(json.dumps(leak, ensure_ascii=False) + "\n")
        print(f"{len(found)} leaked gold entities written to {leaks_path}" + ("" if show_text else " (no text)"))
    if html_path:
        write_html(
            html_path,
            render_evaluation(
                evaluation_documents(windows, scores["pred"]), f"tfner evaluate: {model_dir} on {corpus.source}"
            ),
        )
        print(f"gold and predicted entities written to {html_path}")
    if untrained:
        print(f"F1 before -> after fine-tuning: {report['untrained']['f1']:.4f} -> {report['trained']['f1']:.4f}")
    out = output_dir or os.path.join(model_dir, "evaluation")
    matrix = write_report(out, report, windows.gold, scores["pred"], tagger.labels)
    written, examples_path = "metrics.json, confusion.txt, confusion.png", os.path.join(out, "errors_examples.txt")
    if not error_examples and os.path.exists(examples_path):
        os.remove(examples_path)  # an earlier run's examples would not match this metrics.json
    if error_examples:
        with open(examples_path, "w", encoding="utf-8") as f:
            f.write(
                format_examples(
                    examples,
                    report["errors"],
                    source=lambda d: windows.documents[d].origin,
                    offsets=lambda d: windows.offsets[d],
                    text=(lambda d: unit_text(windows.documents[d], windows.offsets[d])) if show_text else None,
                )
            )
        written += ", errors_examples.txt" + ("" if show_text else " (positions, no text)")
    print("\n" + format_confusion(matrix, tagger.labels))
    print(f"\nwritten to {out}/ ({written})")
    return report


def build_parser(prog="tfner evaluate"):
    parser = argparse.ArgumentParser(
        prog=prog, description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--model", required=True, help="Directory written by tfner train.")
    parser.add_argument(
        "--data",
        default="",
        help="CoNLL file, JSONL span file, saved `datasets` "
        "directory or hf:NAME (default: the synthetic clinical test notes).",
    )
    parser.add_argument("--split", default="test", help="Split of a `datasets` dict (default: test).")
    parser.add_argument("--output-dir", help="Where to write the results (default: MODEL/evaluation).")
    parser.add_argument(
        "--untrained", action="store_true", help="Evaluate the untrained model of the same configuration first."
    )
    parser.add_argument(
        "--mode", choices=("default", "strict"), help="seqeval matching (default: the model's training setting)."
    )
    parser.add_argument("--max-documents", type=int, default=0, help="Evaluate the first N only.")
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument(
        "--leaks",
        metavar="FILE",
        help="Write every gold entity the model missed (a unit "
        "predicted O) as JSON lines: document, label, offsets; no text unless --show-text.",
    )
    parser.add_argument(
        "--show-text",
        action="store_true",
        help="Include text (PHI!) in the --leaks file (the leaked entities) and in errors_examples.txt (the "
        "words around each error, gold and predicted entities marked).",
    )
    parser.add_argument(
        "--html",
        metavar="FILE",
        help="Write gold and predicted entities side by side, errors "
        "marked by kind, as a self-contained HTML page (it shows the documents' text).",
    )
    parser.add_argument(
        "--misaligned-spans",
        choices=("error", "skip"),
        default="error",
        help="A span that does not fall on token boundaries: stop with an error, or skip its document and count it.",
    )
    parser.add_argument(
        "--error-examples",
        type=int,
        default=20,
        metavar="N",
        help="Write up to N examples of each error kind to OUTPUT_DIR/errors_examples.txt: document, "
        "positions and entities; their words only with --show-text (default: 20; 0: no file, an old one removed).",
    )
    add_decode_argument(parser)
    return parser


def _main(argv):
    args = build_parser().parse_args(argv)
    if args.batch_size <= 0 or args.max_documents < 0 or args.error_examples < 0:
        raise UsageError("--batch-size must be positive, --max-documents and --error-examples >= 0")
    evaluate(
        args.model,
        args.data,
        args.split,
        args.output_dir,
        args.untrained,
        args.mode,
        args.max_documents,
        args.batch_size,
        args.leaks,
        args.show_text,
        args.html,
        args.misaligned_spans,
        args.error_examples,
        args.decode,
    )


def main(argv=None):
    return run_command(_main, argv, usage_errors=(DataError, EncoderError))


if __name__ == "__main__":
    sys.exit(main())
