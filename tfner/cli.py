"""The `tfner` command: one entry point for every tool, `tfner COMMAND [ARGS]`.

Each command is also `python -m tfner.COMMAND`. Commands are imported only when run, so `tfner --help`
answers at once (TensorFlow takes seconds to import).
"""

import importlib
import sys

from tfner.core.cli import USAGE

# name -> (module whose `main(argv)` runs it, one line of help)
COMMANDS = {
    "train": ("tfner.training.train", "fine-tune an encoder with a token-classification head"),
    "evaluate": ("tfner.evaluation.evaluate", "score a saved model on labelled data"),
    "calibrate": ("tfner.evaluation.calibrate", "recall-first decision thresholds per entity type"),
    "predict": ("tfner.serving.predict", "entities in raw text with a saved model, as JSON lines"),
    "export": ("tfner.serving.export", "write a SavedModel for TF Serving"),
    "deid": ("tfner.deid.cli", "de-identify notes: redact, mask or replace the PHI a model finds"),
    "tune": ("tfner.tune.cli", "hyperparameter search with keras-tuner"),
    "check": ("tfner.check", "check data before training: labels, schemes, spans, lengths, leakage"),
    "convert": ("tfner.convert", "convert data between CoNLL, JSONL, brat, Label Studio and doccano"),
}


def usage():
    width = max(map(len, COMMANDS))
    lines = [
        "usage: tfner COMMAND [ARGS ...]",
        "",
        "Named-entity recognition on Hugging Face TensorFlow encoders.",
        "",
        "commands:",
    ]
    lines += [f"  {name:<{width}}  {description}" for name, (_, description) in COMMANDS.items()]
    lines += ["", "`tfner COMMAND --help` explains a command; `python -m tfner.COMMAND` is the same command."]
    return "\n".join(lines)


def main(argv=None):
    argv = sys.argv[1:] if argv is None else list(argv)
    if not argv or argv[0] in ("-h", "--help"):
        print(usage())
        return 0 if argv else USAGE
    if argv[0] == "--version":
        from tfner import __version__

        print(f"tfner {__version__}")
        return 0
    name, rest = argv[0], argv[1:]
    if name not in COMMANDS:
        print(usage(), file=sys.stderr)
        print(f"\nerror: unknown command {name!r}; expected one of {', '.join(COMMANDS)}", file=sys.stderr)
        return USAGE
    module = importlib.import_module(COMMANDS[name][0])
    return module.main(rest)


if __name__ == "__main__":
    sys.exit(main())
