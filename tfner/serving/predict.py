"""Entities in raw text with a saved model: one JSON line per text.

    tfner predict --model runs/notes "Seen by Dr. Smith on 3/4/2021." "Another text"
    tfner predict --model runs/notes --file notes.txt            # one text per line
    tfner predict --model runs/notes --jsonl notes.jsonl --text-field text --output out.jsonl

Each line is `{"text": ..., "entities": [{"entity_group", "score", "word", "start", "end"}, ...]}`
(see `tfner.pipeline` for the aggregations).
"""

import argparse
import json
import sys

from tfner.core.cli import UsageError, check_output_file, run_command
from tfner.evaluation.html import render_predictions, write_html
from tfner.model.decoding import add_decode_argument
from tfner.serving.pipeline import AGGREGATIONS


def read_texts(args):
    """Texts from the arguments, --file (one per line) and --jsonl; bad files exit naming file and line."""
    texts = list(args.texts)
    for path, jsonl in ((args.file, False), (args.jsonl, True)):
        if not path:
            continue
        try:
            with open(path, encoding="utf-8") as f:
                lines = f.read().splitlines()
        except (OSError, UnicodeDecodeError) as e:
            raise UsageError(f"{path}: cannot read it as UTF-8 text ({e})") from None
        if not jsonl:
            texts += lines
            continue
        for n, line in enumerate(lines, 1):
            if not line.strip():
                continue
            try:
                record = json.loads(line)
            except json.JSONDecodeError as e:
                raise UsageError(f"{path}:{n}: not valid JSON ({e})") from None
            if not isinstance(record, dict) or args.text_field not in record:
                raise UsageError(f"{path}:{n}: no field {args.text_field!r} (use --text-field)")
            if not isinstance(record[args.text_field], str):
                raise UsageError(
                    f"{path}:{n}: field {args.text_field!r} is a "
                    f"{type(record[args.text_field]).__name__}, expected a string"
                )
            texts.append(record[args.text_field])
    return texts


def build_parser(prog="tfner predict"):
    parser = argparse.ArgumentParser(prog=prog, description=__doc__.splitlines()[0])
    parser.add_argument("texts", nargs="*", help="texts to tag")
    parser.add_argument("--model", required=True, help="a model directory saved by tfner train")
    parser.add_argument("--file", help="a text file, one text per line")
    parser.add_argument("--jsonl", help="a JSONL file, one record per line")
    parser.add_argument("--text-field", default="text", help="the field of --jsonl records holding the text")
    parser.add_argument("--aggregation", default="simple", choices=AGGREGATIONS)
    parser.add_argument("--ignore-labels", default="O", help="comma-separated entity types to leave out")
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--output", help="write JSON lines here instead of stdout")
    parser.add_argument(
        "--html",
        metavar="FILE",
        help="also write the entities over the texts as a self-contained HTML page (colours by type, scores on hover)",
    )
    add_decode_argument(parser)
    return parser


def _main(argv):
    args = build_parser().parse_args(argv)
    texts = read_texts(args)
    if not texts:
        raise UsageError("no texts: give TEXT arguments, --file or --jsonl")
    check_output_file(args.html, "HTML file")

    import tfner
    from tfner.serving.pipeline import NERPipeline

    ignore = tuple(l for l in args.ignore_labels.split(",") if l)
    tagger = tfner.load(args.model)
    if args.decode:
        tagger.set_decoding(args.decode)
    pipe = NERPipeline(tagger, args.aggregation, ignore, args.batch_size)
    results = pipe(texts)
    out = open(args.output, "w", encoding="utf-8") if args.output else sys.stdout
    try:
        for text, entities in zip(texts, results):
            out.write(json.dumps({"text": text, "entities": entities}, ensure_ascii=False) + "\n")
    finally:
        if args.output:
            out.close()
    if args.html:
        write_html(args.html, render_predictions(list(zip(texts, results))))
        print(f"HTML written to {args.html}", file=sys.stderr)


def main(argv=None):
    return run_command(_main, argv)


if __name__ == "__main__":
    sys.exit(main())
