"""De-identification of an archive with Apache Beam: the same records and outputs as `run.py`, sharded.

    from tfner.deid.beam import ModelFactory, run_pipeline
    summary = run_pipeline("notes.jsonl", "out/deid", ModelFactory("runs/notes"), "surrogate", key,
                           audit_prefix="out/audit", beam_args=["--runner", "DirectRunner",
                           "--direct_num_workers", "4", "--direct_running_mode", "multi_processing"])

The input (a JSONL or text file, or a directory of .txt files) is read with `io.read_records` (a file per
element of a `beam.Create`, so each record keeps its index, location and read error exactly as in a
single-process run), reshuffled over the workers, batched (`BatchElements`, at most `batch_size`
records) and de-identified by a `DoFn` whose `setup()` builds the detector ONCE per worker from a
picklable factory: `ModelFactory(model_dir)` for a saved tfner model, or any zero-argument callable
(e.g. `functools.partial(RegexDetector, patterns)` in tests). Outputs are sharded JSONL
(`WriteToText`): each line is the single-process JSONL record plus "_source": {"index", "location"}
(shards are unordered; `read_shards` sorts them back), and the audit lines go to a second sharded
output. Counts come back as Beam metrics (namespace "tfner.deid") and are returned as a summary.

Surrogates are seeded by key and location only, so the output does not depend on the runner, the
number of workers or how records were batched. Any runner works: `beam_args` are Beam pipeline options,
passed through as given (`--runner DirectRunner` by default).
"""

import glob
import json
import os

try:
    import apache_beam as beam
    from apache_beam.metrics.metric import Metrics, MetricsFilter
    from apache_beam.options.pipeline_options import PipelineOptions
except ImportError as e:  # pragma: no cover - depends on the environment
    raise ImportError(
        "tfner.deid.beam needs Apache Beam: pip install apache-beam==2.77.0 (it needs pillow<13, "
        "protobuf<7, pyarrow<26 and python-dateutil<3: pillow==12.3.0 protobuf==6.33.6 pyarrow==25.0.1 "
        f"python-dateutil==2.9.0.post0 were tested). The single-process run needs no Beam. ({e})"
    ) from e

from tfner.deid import audit, io, run

NAMESPACE = "tfner.deid"


class ModelFactory:
    """Picklable factory of the detector of a saved tfner model (`run.detector_from_model`)."""

    def __init__(self, model_dir):
        self.model_dir = os.fspath(model_dir)

    def __call__(self):
        return run.detector_from_model(self.model_dir)


class DeidentifyFn(beam.DoFn):
    """Batches of records -> JSONL output lines, and audit lines on the "audit" output (`thresholds`: the
    model's recall-first thresholds, recorded in the audit)."""

    def __init__(
        self,
        detector_factory,
        mode,
        key,
        text_field="text",
        thresholds=None,
        locale="en_US",
        model_hash=None,
        tfner_version=None,
    ):
        self.detector_factory, self.mode, self.key = detector_factory, mode, key
        self.text_field, self.thresholds, self.locale = text_field, thresholds, locale
        self.model_hash, self.tfner_version = model_hash, tfner_version
        self.detector = None

    def setup(self):
        self.detector = self.detector_factory()

    def process(self, batch):
        results = run.deidentify_records(
            batch, self.detector, self.mode, self.key, batch_size=max(1, len(batch)), locale=self.locale
        )
        for record, text, entities in results:
            Metrics.counter(NAMESPACE, "records").inc()
            if record.error:
                Metrics.counter(NAMESPACE, "errors").inc()
            elif record.text == "":
                Metrics.counter(NAMESPACE, "empty").inc()
            for e in entities:
                Metrics.counter(NAMESPACE, "label:" + e["label"]).inc()
            obj = {
                "_source": {"index": record.index, "location": record.location},
                **io.output_record(record, text, entities, self.text_field),
            }
            yield json.dumps(obj, ensure_ascii=False)
            line = audit.audit_line(record, entities, self.thresholds, self.model_hash, self.tfner_version, self.mode)
            yield beam.pvalue.TaggedOutput("audit", audit.dumps(line))


def _read_file(path, text_field):
    return io.read_records(path, text_field)


def _read_dir_file(item, folder):
    index, rel = item
    return io.read_text_file(folder, rel, index)


def build(
    pipeline,
    input_path,
    output_prefix,
    detector_factory,
    mode,
    key,
    audit_prefix=None,
    text_field="text",
    batch_size=32,
    thresholds=None,
    locale="en_US",
    model_hash=None,
    tfner_version=None,
    num_shards=0,
):
    """Add the de-identification steps to `pipeline`; returns the main output PCollection of JSON lines."""
    input_path = os.fspath(input_path)
    if io.input_kind(input_path) == "dir":
        items = list(enumerate(io.list_text_files(input_path)))
        records = (
            pipeline | "Files" >> beam.Create(items, reshuffle=False) | "Read" >> beam.Map(_read_dir_file, input_path)
        )
    else:
        records = (
            pipeline
            | "Files" >> beam.Create([input_path], reshuffle=False)
            | "Read" >> beam.FlatMap(_read_file, text_field)
        )
    outputs = (
        records
        | "Spread" >> beam.Reshuffle()
        | "Batch" >> beam.BatchElements(min_batch_size=1, max_batch_size=batch_size)
        | "Deidentify"
        >> beam.ParDo(
            DeidentifyFn(detector_factory, mode, key, text_field, thresholds, locale, model_hash, tfner_version)
        ).with_outputs("audit", main="records")
    )
    outputs.records | "Write" >> beam.io.WriteToText(
        os.fspath(output_prefix), file_name_suffix=".jsonl", num_shards=num_shards
    )
    if audit_prefix is not None:
        outputs.audit | "WriteAudit" >> beam.io.WriteToText(
            os.fspath(audit_prefix), file_name_suffix=".jsonl", num_shards=num_shards
        )
    return outputs.records


def check_paths(input_path, output_prefix, audit_prefix=None):
    """PathError for a missing input, or an output/audit prefix that is a directory or the input."""
    io.input_kind(input_path)
    for prefix, name in ((output_prefix, "output"), (audit_prefix, "audit")):
        if prefix is None:
            continue
        if os.path.isdir(prefix):
            raise io.PathError(
                f"{name} {prefix} is a directory; Beam writes shards {prefix}-NNNNN-of-NNNNN.jsonl: give a file prefix"
            )
        if os.path.realpath(prefix) == os.path.realpath(input_path):
            raise io.PathError(f"{name} {prefix} is the input; write to another prefix")
    if audit_prefix is not None and os.path.realpath(audit_prefix) == os.path.realpath(output_prefix):
        raise io.PathError(f"audit {audit_prefix} is the output prefix; give another prefix")


def run_pipeline(
    input_path,
    output_prefix,
    detector_factory,
    mode,
    key,
    audit_prefix=None,
    beam_args=("--runner", "DirectRunner"),
    **kwargs,
):
    """Build and run the pipeline (keyword arguments as `build`); returns the summary
    {"records", "errors", "empty", "entities", "labels"} from the pipeline's metrics."""
    check_paths(input_path, output_prefix, audit_prefix)
    if mode == "surrogate" and not key:
        raise ValueError("mode 'surrogate' needs a key")
    for prefix in (output_prefix, audit_prefix):
        if prefix is not None and os.path.dirname(os.path.abspath(prefix)):
            os.makedirs(os.path.dirname(os.path.abspath(prefix)), exist_ok=True)
    args = list(beam_args or [])
    if not any(a == "--runner" or a.startswith("--runner=") for a in args):
        args = ["--runner", "DirectRunner"] + args
    pipeline = beam.Pipeline(options=PipelineOptions(args))
    build(pipeline, input_path, output_prefix, detector_factory, mode, key, audit_prefix, **kwargs)
    result = pipeline.run()
    result.wait_until_finish()
    counts = {}
    for counter in result.metrics().query(MetricsFilter().with_namespace(NAMESPACE))["counters"]:
        value = counter.committed if counter.committed is not None else counter.attempted
        counts[counter.key.metric.name] = counts.get(counter.key.metric.name, 0) + (value or 0)
    labels = {k[len("label:") :]: v for k, v in sorted(counts.items()) if k.startswith("label:")}
    return {
        "records": counts.get("records", 0),
        "errors": counts.get("errors", 0),
        "empty": counts.get("empty", 0),
        "entities": sum(labels.values()),
        "labels": labels,
    }


def read_shards(prefix):
    """The JSON objects of the shards written under `prefix`, sorted by their record index."""
    objs = []
    for path in sorted(glob.glob(glob.escape(os.fspath(prefix)) + "-*-of-*")):
        with open(path, encoding="utf-8") as f:
            objs += [json.loads(line) for line in f if line.strip()]
    return sorted(objs, key=lambda o: o.get("_source", {}).get("index", o.get("index", 0)))
