"""The audit trail of a de-identification run: one JSON line per record, with no PHI.

An audit line says where the record was (index, source file, location such as "notes.jsonl:7"), how many
entities of each label were replaced, with which thresholds, model weights (sha256), tfner version and
mode, and the record's error if it could not be read. It never contains text of the note or of an
entity (error messages name positions only). File paths are written as given: keep PHI out of them.

`weights_hash(model_dir)` is the sha256 of the model's `weights.h5` (the file `Tagger.save` writes; the
same as `sha256sum weights.h5`). A folder without `weights.h5` is hashed file by file: every regular
file below it in sorted relative-path order, each as its relative path, a NUL byte and its bytes.
"""

import collections
import hashlib
import json
import os

WEIGHTS = "weights.h5"


def _sha256_file(path, digest=None):
    digest = digest or hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest


def weights_hash(model_dir):
    """sha256 hex digest of `model_dir`'s weights (see the module docstring)."""
    model_dir = os.fspath(model_dir)
    weights = os.path.join(model_dir, WEIGHTS)
    if os.path.isfile(weights):
        return _sha256_file(weights).hexdigest()
    if not os.path.isdir(model_dir):
        raise FileNotFoundError(f"model directory not found: {model_dir}")
    files = []
    for root, _dirs, names in os.walk(model_dir):
        files += [os.path.relpath(os.path.join(root, n), model_dir).replace(os.sep, "/") for n in names]
    digest = hashlib.sha256()
    for rel in sorted(files):
        digest.update(rel.encode() + b"\0")
        _sha256_file(os.path.join(model_dir, *rel.split("/")), digest)
    return digest.hexdigest()


def label_counts(entities):
    """{label: number of entities}, sorted by label."""
    return dict(sorted(collections.Counter(e["label"] for e in entities).items()))


def audit_line(record, entities, thresholds, model_hash, tfner_version, mode):
    """The audit dict of one record (JSON-serialisable, no PHI)."""
    line = {
        "index": record.index,
        "source": record.source,
        "location": record.location,
        "entities": len(entities or []),
        "labels": label_counts(entities or []),
        "thresholds": thresholds,
        "model_hash": model_hash,
        "tfner_version": tfner_version,
        "mode": mode,
    }
    if record.error:
        line["error"] = record.error
    return line


def dumps(line):
    """One audit dict as a JSON line (without the newline)."""
    return json.dumps(line, ensure_ascii=False, sort_keys=False)
