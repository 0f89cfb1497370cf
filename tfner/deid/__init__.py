"""De-identification of clinical notes: the PHI a detector finds is redacted, masked or replaced.

The detector is injected, so everything here works without a model:

    Detector = Callable[[list[str]], list[list[dict]]]
    # texts -> per text, entities {"label": str, "start": int, "end": int, "score": float}

- `operators.deidentify_text(text, entities, mode, surrogates=None)`: modes redact/mask/surrogate;
- `surrogates.Surrogates(key, document_id, locale)`: consistent, deterministic surrogate values
  (`dates.shift_date`: one offset per document, each date's format kept);
- `io.read_records` / `io.open_writer`: JSONL, text-per-line and folder inputs, nothing dropped;
- `run.deidentify_records(records, detector, mode, key, ...)`: batched runs; `run.Summary`;
- `audit.audit_line`, `audit.weights_hash`: an audit trail without PHI;
- `beam.run_pipeline`: the same at archive scale on Apache Beam (imported on demand);
- `cli.main`: `tfner deid --model DIR --input PATH --output PATH --mode MODE`.
"""

from tfner.deid.audit import audit_line, weights_hash
from tfner.deid.io import PathError, Record, check_paths, open_writer, read_records
from tfner.deid.operators import MODES, deidentify_text, merge_entities
from tfner.deid.run import Detector, RegexDetector, Summary, deidentify_records, summary
from tfner.deid.surrogates import Surrogates, kind_of

__all__ = [
    "MODES",
    "Detector",
    "PathError",
    "Record",
    "RegexDetector",
    "Summary",
    "Surrogates",
    "audit_line",
    "check_paths",
    "deidentify_records",
    "deidentify_text",
    "kind_of",
    "merge_entities",
    "open_writer",
    "read_records",
    "summary",
    "weights_hash",
]
