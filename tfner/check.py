"""Check NER data before training: `tfner check DATA [--validation V] [--test T]`.

    tfner check data/train.conll --validation data/dev.conll
    tfner check notes.jsonl --encoder minilm --max-length 256 --json > check.json

Reads every split leniently (any format `--train` accepts) and reports, each with its file and line or
record: sizes and entities per split and type; labels of validation/test unseen in training and rare
labels; tag-scheme violations; overlapping and nested spans; spans the encoder's tokenizer cannot align
and words it drops; documents longer than --max-length sub-tokens; empty documents; documents shared
between splits, exactly or nearly (leakage). See `tfner.data.check`.

Exit status: 1 when an error was found, 0 with warnings only, 2 for bad usage.
"""

import argparse
import json
import os
import sys
from collections import Counter

from tfner.core.cli import FAILED, OK, UsageError, run_command
from tfner.data import tags as tag_schemes
from tfner.data.check import check, finding, read_split
from tfner.data.readers import DataError
from tfner.data.tables import ON_BY_DEFAULT as TABLE_VIEW
from tfner.model.encoders import EncoderError, load_tokenizer


def build_parser(prog="tfner check"):
    parser = argparse.ArgumentParser(
        prog=prog,
        description=__doc__.splitlines()[0],
        epilog="\n".join(__doc__.splitlines()[2:]),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "data",
        help="training data: CoNLL, JSONL, brat directory, Label Studio or doccano "
        "export, saved `datasets` directory or hf:NAME",
    )
    parser.add_argument("--validation", help="validation data, checked against the training data")
    parser.add_argument("--test", help="test data, checked against the training data")
    parser.add_argument(
        "--tag-scheme", help="tag scheme of CoNLL files: IOB1, IOB2, IOBES or BILOU (default: detected from the tags)"
    )
    parser.add_argument(
        "--encoder",
        default="minilm",
        help="encoder whose tokenizer is checked against the data (default: minilm); 'none' skips the tokenizer checks",
    )
    parser.add_argument(
        "--max-length", type=int, default=128, help="sub-tokens per window, special tokens included (default: 128)"
    )
    parser.add_argument("--stride", type=int, default=32, help="overlap of windows, to count them (default: 32)")
    parser.add_argument(
        "--table-view",
        action=argparse.BooleanOptionalAction,
        default=TABLE_VIEW,
        help="tokenize raw text as a model that reads the table view does (tfner.data.tables), as training "
        f"does by default (default: {TABLE_VIEW})",
    )
    parser.add_argument("--rare", type=int, default=5, help="a label with fewer training entities is rare (default: 5)")
    parser.add_argument(
        "--near",
        type=float,
        default=0.9,
        help="Jaccard similarity of word 5-shingles from which two documents are near duplicates (default: 0.9)",
    )
    parser.add_argument("--limit", type=int, default=10, help="findings shown per kind (default: 10; 0: all)")
    parser.add_argument("--json", action="store_true", help="print the whole report as JSON")
    return parser


def _table(stats):
    """Sizes and entities per split as aligned text columns."""
    names = list(stats)
    types = sorted({t for s in stats.values() for t in s["entities"]})
    rows = [
        ("", *names),
        ("source", *(s["source"] for s in stats.values())),
        ("format", *(f"{s['format']} {s['tag_scheme'] or ''}".strip() for s in stats.values())),
    ]
    for key in ("documents", "words"):
        rows.append((key, *(f"{s[key]:,}" for s in stats.values())))
    if all("subtokens" in s for s in stats.values()):
        rows.append(
            ("sub-tokens (max)", *(f"{s['subtokens']['total']:,} ({s['subtokens']['max']})" for s in stats.values()))
        )
    rows.append(("entities", *(f"{sum(s['entities'].values()):,}" for s in stats.values())))
    rows += [(f"  {t}", *(f"{s['entities'].get(t, 0):,}" for s in stats.values())) for t in types]
    rows.append(("repeated documents", *(f"{s['duplicates_within']:,}" for s in stats.values())))
    rows.append(("skipped", *(f"{sum(s['skipped'].values()):,}" for s in stats.values())))
    widths = [max(len(str(r[i])) for r in rows) for i in range(len(rows[0]))]
    lines = [
        "  ".join(str(c).ljust(w) if i == 0 else str(c).rjust(w) for i, (c, w) in enumerate(zip(r, widths)))
        for r in rows
    ]
    for s in stats.values():
        for reason, n in sorted(s["skipped"].items()):
            lines.append(f"  skipped in {s['source']}: {reason}: {n:,}")
    return "\n".join(line.rstrip() for line in lines)


def format_report(stats, findings, limit=10):
    """The human-readable report: the table, then findings grouped by severity and kind."""
    out = [_table(stats), ""]
    errors = sum(f.severity == "error" for f in findings)
    kinds = Counter((f.severity, f.kind) for f in findings)
    out.append(f"findings: {errors:,} error(s), {len(findings) - errors:,} warning(s)")
    for severity, kind in sorted(kinds, key=lambda k: (k[0] != "error", k[1])):
        items = [f for f in findings if (f.severity, f.kind) == (severity, kind)]
        shown = items if not limit else items[:limit]
        more = f" (first {len(shown)} shown; --limit 0 shows all)" if len(shown) < len(items) else ""
        out.append(f"\n{severity} {kind}: {len(items):,}{more}")
        out += [f"  {f.where}: {f.message}" for f in shown]
    return "\n".join(out)


def _main(argv):
    args = build_parser().parse_args(argv)
    if args.max_length <= 2 or not 0 <= args.stride < args.max_length - 2:
        raise UsageError("--max-length must be above 2 and --stride in [0, max-length - 2)")
    if args.rare < 0 or not 0 < args.near <= 1 or args.limit < 0:
        raise UsageError("--rare and --limit must be >= 0 and --near in (0, 1]")
    if args.tag_scheme:
        tag_schemes.scheme_name(args.tag_scheme)
    specs = [(n, s) for n, s in (("train", args.data), ("validation", args.validation), ("test", args.test)) if s]
    for _, spec in specs:
        if not os.path.exists(spec) and (os.sep in spec or "/" in spec or "." in os.path.basename(spec)):
            raise UsageError(f"{spec}: no such file or directory")
    tokenizer = None if args.encoder.lower() == "none" else load_tokenizer(args.encoder)
    splits, unreadable = [], []
    for name, spec in specs:
        try:
            splits.append(read_split(name, spec, args.tag_scheme))
        except DataError as e:
            if not os.path.exists(spec):
                raise  # a dataset name that does not load: bad usage, not bad data
            unreadable.append(finding("unreadable", spec, f"cannot be read: {e}", name))
    has_train = bool(splits) and splits[0].name == "train"
    stats, findings = check(
        splits, tokenizer, args.max_length, args.stride, args.rare, args.near, has_train, args.table_view
    )
    findings = unreadable + findings
    if args.json:
        print(
            json.dumps(
                {
                    "splits": stats,
                    "errors": sum(f.severity == "error" for f in findings),
                    "warnings": sum(f.severity == "warning" for f in findings),
                    "findings": [f.to_dict() for f in findings],
                },
                indent=1,
                ensure_ascii=False,
            )
        )
    else:
        print(format_report(stats, findings, args.limit))
    return FAILED if any(f.severity == "error" for f in findings) else OK


def main(argv=None):
    return run_command(_main, argv, usage_errors=(DataError, EncoderError))


if __name__ == "__main__":
    sys.exit(main())
