"""`tfner deid`: de-identify clinical notes with a saved tfner model.

    tfner deid --model runs/notes --input notes.jsonl --output deid.jsonl --mode surrogate \\
        --key "$DEID_KEY" --audit audit.jsonl
    tfner deid ... --runner DirectRunner --direct_num_workers 4 --direct_running_mode multi_processing

(`python -m tfner.deid` is the same command.) The model's recall-first thresholds (`thresholds.json`,
from `tfner calibrate`) decide what is PHI, and the audit records them. Without `--runner` the run
is single-process (`run.deidentify_records`); with it, the Beam pipeline (`beam.run_pipeline`) writes
sharded JSONL under the output prefix, and `--beam-options "..."` as well as any option this parser
does not know are passed to Beam. Paths are checked before the model is loaded.

The surrogate key: `--key K`, else `--seed N` (key "seed:N", reproducible by anyone: for tests), else
the environment variable TFNER_DEID_KEY, else a random key (surrogates then differ between runs).
`detector_from_model(model_dir)` (from `run`) builds the detector of a saved model.
Exit status: 0 done (records that could not be read are reported, and written as failed records); 1 the
run failed; 2 a usage or data error (one line "error: ..." on stderr). The summary printed (stdout) and
the audit hold counts and locations, never text.
"""

import argparse
import json
import os
import secrets
import shlex
import sys

from tfner.core.cli import UsageError
from tfner.deid import audit, io, run
from tfner.deid.operators import MODES
from tfner.deid.run import detector_from_model  # the Detector of a saved model (tests replace it)
from tfner.deid.surrogates import check_locale


class _Parser(argparse.ArgumentParser):
    def error(self, message):
        raise UsageError(message)


def build_parser():
    p = _Parser(prog="tfner deid", description="De-identify clinical notes (see tfner.deid).", allow_abbrev=False)
    p.add_argument("--model", required=True, help="a model folder saved by tfner (weights.h5 ...)")
    p.add_argument("--input", required=True, help="a .jsonl file, a text file (one note per line) or a folder of .txt")
    p.add_argument("--output", required=True, help="output file or folder (with --runner: a shard prefix)")
    p.add_argument("--mode", required=True, choices=MODES)
    p.add_argument("--text-field", default="text", help="the JSONL field holding the text (default: text)")
    key = p.add_mutually_exclusive_group()
    key.add_argument("--seed", type=int, help="reproducible surrogates from a public seed (tests, demos)")
    key.add_argument("--key", help="secret key of the surrogates (default: $TFNER_DEID_KEY, else random)")
    p.add_argument("--audit", help="write one JSON line per record here (no PHI); with --runner a shard prefix")
    p.add_argument("--batch-size", type=int, default=32)
    p.add_argument("--locale", default="en_US", help="faker locale of the surrogates (default: en_US)")
    p.add_argument("--runner", help="run as an Apache Beam pipeline on this runner (e.g. DirectRunner)")
    p.add_argument("--beam-options", default="", help="more Beam pipeline options, as one quoted string")
    return p


def _key(args):
    if args.key:
        return args.key
    if args.seed is not None:
        return f"seed:{args.seed}"
    if os.environ.get("TFNER_DEID_KEY"):
        return os.environ["TFNER_DEID_KEY"]
    if args.mode == "surrogate":
        print(
            "warning: no --key or TFNER_DEID_KEY: a random key was used, the surrogates will differ from run to run",
            file=sys.stderr,
        )
    return secrets.token_hex(32)


def _print_summary(counts, failed=()):
    labels = " ".join(f"{label}={n}" for label, n in counts["labels"].items()) or "none"
    print(
        f"records: {counts['records']}  errors: {counts['errors']}  empty: {counts['empty']}  "
        f"entities: {counts['entities']} ({labels})"
    )
    for location, error in list(failed)[:20]:
        print(f"warning: {location}: {error}", file=sys.stderr)
    if len(failed) > 20:
        print(
            f"warning: ... and {len(failed) - 20} more records that could not be read (see the audit)", file=sys.stderr
        )


def main(argv=None):
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv[:1] == ["deid"]:
        argv = argv[1:]
    parser = build_parser()
    try:
        args, extra = parser.parse_known_args(argv)
        if extra and not args.runner:
            raise UsageError(f"unrecognized arguments: {' '.join(extra)}")
        if args.batch_size < 1:
            raise UsageError(f"--batch-size must be at least 1, got {args.batch_size}")
        check_locale(args.locale)
        if not os.path.isfile(os.path.join(args.model, "labels.json")):
            raise UsageError(f"{args.model}: not a saved tfner model (no labels.json)")
        thresholds = run.model_thresholds(args.model)
        if args.runner:
            from tfner.deid import beam

            beam.check_paths(args.input, args.output, args.audit)
            beam_args = ["--runner", args.runner] + shlex.split(args.beam_options) + extra
        else:
            _, out_kind = io.check_paths(args.input, args.output, args.audit)
    except SystemExit as e:  # --help
        return e.code if isinstance(e.code, int) else 0
    except (UsageError, ValueError, ImportError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    key = _key(args)
    try:
        import tfner

        model_hash = audit.weights_hash(args.model)
        if args.runner:
            counts = beam.run_pipeline(
                args.input,
                args.output,
                beam.ModelFactory(args.model),
                args.mode,
                key,
                audit_prefix=args.audit,
                beam_args=beam_args,
                text_field=args.text_field,
                batch_size=args.batch_size,
                thresholds=thresholds,
                locale=args.locale,
                model_hash=model_hash,
                tfner_version=tfner.__version__,
            )
            _print_summary(counts)
            return 0
        detector = detector_from_model(args.model)
        thresholds = getattr(detector, "thresholds", thresholds)
        counts = run.Summary()
        records = io.read_records(args.input, args.text_field)
        results = run.deidentify_records(records, detector, args.mode, key, args.batch_size, args.locale)
        audit_file = None
        if args.audit:
            os.makedirs(os.path.dirname(os.path.abspath(args.audit)), exist_ok=True)
            audit_file = open(args.audit, "w", encoding="utf-8")
        try:
            with io.open_writer(out_kind, args.output, args.text_field) as writer:
                for record, text, entities in results:
                    writer.write(record, text, entities)
                    counts.add(record, entities)
                    if audit_file:
                        line = audit.audit_line(record, entities, thresholds, model_hash, tfner.__version__, args.mode)
                        audit_file.write(audit.dumps(line) + "\n")
                if audit_file:
                    audit_file.write(json.dumps({"summary": counts.as_dict()}) + "\n")
        finally:
            if audit_file:
                audit_file.close()
    except Exception as e:  # noqa: BLE001 - a failed run is reported in one line, exit status 1
        print(f"error: run failed: {type(e).__name__}: {e}", file=sys.stderr)
        return 1
    _print_summary(counts.as_dict(), counts.failed)
    return 0


if __name__ == "__main__":
    sys.exit(main())
