"""Which format a path holds, from its kind, extension and first record, for `read_data`'s dispatch.

- a directory: `hf` with a `dataset_dict.json` / `dataset_info.json` (datasets' save_to_disk), `brat`
  with `.ann` files in it;
- `.json`: `labelstudio` when the content is a JSON list (an export of tasks), else span JSONL;
- `.jsonl` (and a `.json` of lines): `doccano` when the first record has `label` or `entities` and
  no `ner_tags`/`spans`, else `jsonl` (tfner's span JSONL);
- anything else: `conll`.

Only the start of a file is looked at; the reader then checks every record.
"""

from __future__ import annotations

import json
import os

from tfner.data.formats.base import DataError
from tfner.data.formats.brat import has_ann

HF_MARKERS = ("dataset_dict.json", "dataset_info.json")
SPAN_EXTENSIONS = (".jsonl", ".json")


def _head(path, size=1 << 16):
    try:
        with open(path, "rb") as f:
            return f.read(size).decode("utf-8", errors="replace").lstrip("\ufeff")
    except OSError as e:
        raise DataError(f"{path}: cannot read file ({e.strerror or e})") from None


def _first_record(path):
    for line in _head(path).split("\n"):
        if line.strip():
            try:
                return json.loads(line)
            except (json.JSONDecodeError, RecursionError):
                return None
    return None


def detect_format(path) -> str:
    """`conll`, `jsonl`, `brat`, `labelstudio`, `doccano` or `hf` for an existing file or directory."""
    path = str(path)
    if os.path.isdir(path):
        if any(os.path.exists(os.path.join(path, m)) for m in HF_MARKERS):
            return "hf"
        if has_ann(path):
            return "brat"
        raise DataError(
            f"{path}: is a directory but not a dataset saved with save_to_disk (no "
            f"{' or '.join(HF_MARKERS)} in it) nor a brat corpus (no .ann files in it)"
        )
    lower = path.lower()
    if lower.endswith(".ann"):
        raise DataError(f"{path}: a brat .ann file; give the directory holding the .txt and .ann files")
    if not lower.endswith(SPAN_EXTENSIONS):
        return "conll"
    if lower.endswith(".json") and _head(path).lstrip().startswith("["):
        return "labelstudio"
    first = _first_record(path)
    if isinstance(first, dict) and not {"ner_tags", "spans"} & set(first) and {"label", "entities"} & set(first):
        return "doccano"
    return "jsonl"
