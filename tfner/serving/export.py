"""Export a trained model as a SavedModel for TF Serving.

    python -m tfner.export runs/notes --name notes                  # saved_models/notes/<next free>/
    python -m tfner.export runs/notes --name notes --version 3 --force

Layout (TF Serving's): `OUTPUT_ROOT/NAME/VERSION/` with

    saved_model.pb, variables/     the graph and the weights (LoRA adapters merged)
    assets/                        labels.json, config.json (the run config), the tokenizer files
    assets.extra/tf_serving_warmup_requests   a TFRecord of PredictionLog, one request per signature
    assets.extra/model_card.json   the model card's facts (`tfner.serving.card`)
    README.md                      the model card: labels, data, metrics, use, limits, requests

The version is written to a hidden temporary folder beside it and renamed into place, so a server
watching `NAME/` never sees half a model, with the umask's permissions (0755 under umask 022), so a
server running as another user can read it; an existing version is only replaced with `--force`. A model
whose predictions have collapsed onto one label (`tfner.collapse`) is refused unless `--force`.

Signatures: `tfner.serving.signatures` (`serving_default`, and `predict_text` where the tokenizer has an
in-graph version).
"""

import argparse
import contextlib
import json
import os
import re
import secrets
import shutil
import sys
import tempfile

import tensorflow as tf

from tfner.core.cli import UsageError, run_command
from tfner.model.decoding import add_decode_argument, write_thresholds
from tfner.serving import tokenizers
from tfner.serving.signatures import CHUNK, ServingModule
from tfner.serving.warmup import read_warmup, write_warmup  # noqa: F401  (read_warmup: part of the API)

NAME = re.compile(r"[A-Za-z0-9._-]+")


def next_version(root):
    versions = [int(d) for d in os.listdir(root) if d.isdigit()] if os.path.isdir(root) else []
    return max(versions, default=0) + 1


def _write(path, tagger, name, max_length, log, version=1, run_dir=None, chunk=CHUNK):
    from tfner.model import lora
    from tfner.serving.card import build_card, write_card

    if lora.has_lora(tagger.encoder):
        tagger = tagger.merged()
    assets = os.path.join(path, "assets")
    staging = os.path.join(path, "_tokenizer")
    tagger.tokenizer.save_pretrained(staging)
    text_tokenizer, why = tokenizers.for_tokenizer(tagger.tokenizer, staging)
    if text_tokenizer is None:
        log(f"predict_text: not exported, {why}; serve serving_default and tokenize on the client")
    module = ServingModule(tagger, text_tokenizer, max_length, chunk=chunk)
    signatures = {"serving_default": module.serve.get_concrete_function()}
    if module.predict_text is not None:
        signatures["predict_text"] = module.predict_text.get_concrete_function()
    tf.saved_model.save(module, path, signatures=signatures)
    os.makedirs(assets, exist_ok=True)
    for f in os.listdir(staging):  # the vocab asset may already be there, with the same content
        shutil.move(os.path.join(staging, f), os.path.join(assets, f))
    os.rmdir(staging)
    with open(os.path.join(assets, "labels.json"), "w") as f:
        json.dump(tagger.labels, f, indent=1)
    tagger.config.to_json(os.path.join(assets, "config.json"))
    if tagger.thresholds:
        write_thresholds(assets, tagger.thresholds, tagger.labels)
    warmup = write_warmup(path, name, module, tagger)
    if warmup is None:
        log("warm-up requests: not written (tensorflow-serving-api is not installed)")
    write_card(path, build_card(tagger, name, version, signatures, max_length, tagger.config.stride, run_dir))
    return sorted(signatures)


def check_target(name, version=None, output_root="saved_models"):
    """Refuse, before any work, a name that is not one safe folder name, a version < 1, a file as root."""
    if not isinstance(name, str) or not NAME.fullmatch(name) or name in (".", ".."):
        raise UsageError(f"--name {name!r}: use one folder name of letters, digits, '.', '_', '-' (not . or ..)")
    if version is not None and (isinstance(version, bool) or not str(version).isdigit() or int(version) < 1):
        raise UsageError(f"--version {version}: the version must be a positive integer (1, 2, ...)")
    path = os.path.abspath(os.path.join(output_root, name))
    while not os.path.exists(path):  # the deepest folder that exists must be a directory
        path = os.path.dirname(path)
    if not os.path.isdir(path):
        raise UsageError(f"--output-root {output_root}: {path} exists and is not a directory")


def export(
    tagger,
    name,
    version=None,
    output_root="saved_models",
    force=False,
    check_windows=None,
    max_length=None,
    log=print,
    run_dir=None,
    chunk=CHUNK,
):
    """Write `output_root/name/version/` atomically (see the module docstring); returns its path.
    check_windows: Windows to run the collapse check on (None: skip it).
    run_dir: the model directory the tagger was loaded from: its metrics and history go into the card.
    chunk: rows per forward pass in the graph (sorted by length first); a chunk as large as the request
    runs it in one pass padded to its longest row, as exports did before (experiments/bench_serving.py)."""
    from tfner.evaluation.collapse import check_not_collapsed

    check_target(name, version, output_root)
    limit = min(
        getattr(tagger.encoder.config, "max_position_embeddings", 512),
        getattr(tagger.tokenizer, "model_max_length", 512) or 512,
    )
    if max_length is None:  # the windows the model was trained on, as the pipeline cuts them
        max_length = min(tagger.config.max_length, limit)
    if not 0 <= tagger.config.stride < max_length - 2 or max_length > limit:
        raise UsageError(
            f"--max-length {max_length}: windows need room for the special tokens and the stride "
            f"({tagger.config.stride}) and at most the encoder's {limit} positions"
        )
    root = os.path.join(output_root, name)
    version = next_version(root) if version is None else int(version)
    final = os.path.join(root, str(version))
    if os.path.exists(final) and not force:
        raise FileExistsError(f"{final} exists; use --force to replace it or omit --version for the next one")
    if check_windows is not None:
        check_not_collapsed(tagger, check_windows, force=force)
    created = not os.path.isdir(root)
    os.makedirs(root, exist_ok=True)
    # os.mkdir, not mkdtemp (0700): the umask's mode, readable by a server running as another user
    tmp = os.path.join(root, f".tmp-{version}-{secrets.token_hex(6)}")
    try:
        os.mkdir(tmp)
        signatures = _write(tmp, tagger, name, max_length, log, version, run_dir, chunk)
        if os.path.exists(final):  # --force: swap the old one out, then remove it
            old = tempfile.mkdtemp(prefix=f".old-{version}-", dir=root)
            os.rename(final, os.path.join(old, "v"))
            os.rename(tmp, final)
            shutil.rmtree(old)
        else:
            os.rename(tmp, final)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        if created:  # leave no empty NAME/ behind (rmdir spares one another export wrote to meanwhile)
            with contextlib.suppress(OSError):
                os.rmdir(root)
        raise
    log(f"exported {final} with signatures {', '.join(signatures)}")
    return final


def build_parser(prog="tfner export"):
    parser = argparse.ArgumentParser(prog=prog, description=__doc__.splitlines()[0])
    parser.add_argument("model", help="a model directory saved by tfner train")
    parser.add_argument("--name", required=True, help="the name TF Serving serves it under (letters, digits, ._-)")
    parser.add_argument("--version", type=int, help="a positive integer version (default: the next free one)")
    parser.add_argument("--output-root", default="saved_models")
    parser.add_argument("--force", action="store_true", help="replace an existing version; export a collapsed model")
    parser.add_argument("--check-data", help="data for the collapse check (default: synthetic clinical notes)")
    parser.add_argument(
        "--max-length",
        type=int,
        help="tokens per window of predict_text (default: the model's max_length, as the pipeline)",
    )
    add_decode_argument(parser)
    return parser


def _main(argv):
    args = build_parser().parse_args(argv)
    check_target(args.name, args.version, args.output_root)  # before the model loads (seconds)

    import tfner
    from tfner.data.readers import DataError, check_labels, read_data
    from tfner.data.synthetic import clinical_notes

    tagger = tfner.load(args.model)
    if args.decode:
        tagger.set_decoding(args.decode)
    corpus = read_data(args.check_data) if args.check_data else clinical_notes(1, 50, seed=0)[1]
    windows = None
    try:
        check_labels(corpus, tagger.labels)
        windows = tagger.encode(corpus)
    except DataError as e:
        what = args.check_data or "the synthetic clinical notes (the default check data)"
        message = f"the collapse check cannot run on {what}: {e}; give --check-data FILE with the model's labels"
        if not args.force:
            raise UsageError(f"{message}, or --force to export without the check") from None
        print(f"warning: {message}; exporting without the check (--force)", file=sys.stderr)
    export(tagger, args.name, args.version, args.output_root, args.force, windows, args.max_length, run_dir=args.model)


def main(argv=None):
    from tfner.evaluation.collapse import LabelCollapseError

    return run_command(_main, argv, usage_errors=(FileExistsError, LabelCollapseError))


if __name__ == "__main__":
    sys.exit(main())
