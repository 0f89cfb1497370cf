"""Convert NER data between formats: `tfner convert IN OUT --to FORMAT`.

    tfner convert notes.jsonl notes_brat --to brat
    tfner convert export.json notes.conll --to conll --tag-scheme BILOU --encoder minilm
    tfner convert train.conll train.jsonl --to jsonl

IN is anything `--train` accepts (CoNLL in any tag scheme, span JSONL, a brat directory, a Label Studio
JSON export, doccano JSONL, a saved `datasets` directory). FORMAT is conll, jsonl, brat (OUT is a
directory), labelstudio or doccano. Between span formats nothing is lost; CoNLL becomes text by joining
its tokens with single spaces; text becomes CoNLL words through the encoder's pre-tokenizer, and what
that loses (spacing, spans cutting a word) is reported with its document. See `tfner.data.convert`.
"""

import argparse
import os
import sys

from tfner.core.cli import UsageError, check_output_file, run_command
from tfner.data import formats
from tfner.data import tags as tag_schemes
from tfner.data.convert import convert, summarize_losses
from tfner.data.readers import DataError, read_data, summarize
from tfner.model.encoders import EncoderError, load_tokenizer


def build_parser(prog="tfner convert"):
    parser = argparse.ArgumentParser(
        prog=prog,
        description=__doc__.splitlines()[0],
        epilog="\n".join(__doc__.splitlines()[2:]),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("input", metavar="IN", help="the data to convert")
    parser.add_argument("output", metavar="OUT", help="the file (a directory for brat) to write")
    parser.add_argument("--to", required=True, choices=formats.FORMATS, help="the format to write")
    parser.add_argument(
        "--tag-scheme", default="IOB2", help="tag scheme of CoNLL output: IOB1, IOB2, IOBES or BILOU (default: IOB2)"
    )
    parser.add_argument("--from-scheme", help="tag scheme of CoNLL input (default: detected from the tags)")
    parser.add_argument(
        "--encoder",
        default="minilm",
        help="encoder whose pre-tokenizer splits text into "
        "CoNLL words (default: minilm; 'none': words and punctuation by a regular expression)",
    )
    parser.add_argument("--split", default="train", help="split of a `datasets` dict (default: train)")
    parser.add_argument("--show", type=int, default=10, help="losses listed per kind (default: 10; 0: all)")
    return parser


def _check_output(args):
    if os.path.abspath(args.output) == os.path.abspath(args.input):
        raise UsageError(f"{args.output}: the output would overwrite the input")
    if args.to != "brat":
        check_output_file(args.output)
    elif os.path.isfile(args.output):
        raise UsageError(f"{args.output}: brat output is a directory, and this is a file")
    elif os.path.isdir(args.output) and any(n.endswith((".txt", ".ann")) for n in os.listdir(args.output)):
        raise UsageError(f"{args.output}: the directory already holds .txt/.ann files; give a new or empty one")
    elif not os.path.isdir(os.path.dirname(os.path.abspath(args.output))):
        raise UsageError(f"{args.output}: the folder it would be created in does not exist")


def _main(argv):
    args = build_parser().parse_args(argv)
    scheme = tag_schemes.scheme_name(args.tag_scheme)
    from_scheme = tag_schemes.scheme_name(args.from_scheme) if args.from_scheme else None
    if args.show < 0:
        raise UsageError("--show must be >= 0")
    _check_output(args)
    corpus = read_data(args.input, args.split, tag_scheme=from_scheme)
    print(summarize(corpus, "read"))
    tokenizer = None
    if args.to == "conll" and any(d.is_spans for d in corpus.documents) and args.encoder.lower() != "none":
        tokenizer = load_tokenizer(args.encoder)
    converted, losses = convert(corpus, args.to, tokenizer)
    formats.write(converted, args.output, args.to, scheme)
    what = f"{args.to} ({scheme})" if args.to == "conll" else args.to
    print(f"wrote {len(converted.documents):,} documents as {what} to {args.output}")
    if not losses:
        print("nothing lost in the conversion")
        return
    counts = summarize_losses(losses)
    print("lost in the conversion: " + ", ".join(f"{k} {v:,}" for k, v in sorted(counts.items())))
    for kind in sorted(counts):
        items = [p for p in losses if p.kind == kind]
        shown = items if not args.show else items[: args.show]
        if kind == "spacing":
            continue  # one line per document says nothing more than the count
        print(f"{kind}:" + (f" (first {len(shown)}; --show 0 lists all)" if len(shown) < len(items) else ""))
        for p in shown:
            print(f"  {p}")


def main(argv=None):
    return run_command(_main, argv, usage_errors=(DataError, EncoderError))


if __name__ == "__main__":
    sys.exit(main())
