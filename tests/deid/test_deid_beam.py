"""The Beam pipeline (DirectRunner) gives the same records as the single-process run."""

import json
import os
import random
import subprocess
import sys

import pytest

pytest.importorskip("apache_beam")

from tfner.deid import beam as deid_beam  # noqa: E402
from tfner.deid import cli, io, run  # noqa: E402

PATTERNS = {
    "PATIENT": r"(?<=Patient )[A-Z][a-z]+ [A-Z][a-z]+|(?<=Mr\. )[A-Z][a-z]+|(?<=Ms\. )[A-Z][a-z]+",
    "DOCTOR": r"(?<=Dr\. )[A-Z][a-z]+",
    "DATE": r"\d{4}-\d{2}-\d{2}|\d{1,2}/\d{1,2}/\d{4}|(?:January|March|May|July|October) \d{1,2}, \d{4}",
    "PHONE": r"\(\d{3}\) \d{3}-\d{4}",
    "ID": r"(?<=MRN )\d{7}",
    "AGE": r"\d{1,3}(?= years old)",
    "LOC": r"(?<=lives in )[A-Z][a-z]+",
}
FIRST = ["John", "Mary", "Peter", "Anna", "Omar", "Lena", "Carlos", "Yuki"]
LAST = ["Smith", "Jones", "Garcia", "Berg", "Okafor", "Novak", "Tanaka", "Moreau"]
CITIES = ["Boston", "Lyon", "Osaka", "Lagos", "Denver"]


def notes(n=50, seed=0):
    rng = random.Random(seed)
    out = []
    for i in range(n):
        first, last, doc = rng.choice(FIRST), rng.choice(LAST), rng.choice(LAST)
        title = "Mr." if first in ("John", "Peter", "Omar", "Carlos") else "Ms."
        y, m, d = rng.randint(2015, 2024), rng.randint(1, 12), rng.randint(1, 28)
        date = rng.choice([f"{y}-{m:02d}-{d:02d}", f"{m}/{d}/{y}", f"March {d}, {y}"])
        out.append(
            f"Patient {first} {last}, {rng.randint(1, 99)} years old, MRN {rng.randint(10**6, 10**7 - 1)}, "
            f"seen on {date} by Dr. {doc}. {title} {last} lives in {rng.choice(CITIES)} and can be reached at "
            f"({rng.randint(200, 999)}) {rng.randint(200, 999)}-{rng.randint(0, 9999):04d}."
            + ("" if i % 7 else f" Follow-up on {m}/{d}/{y + 1}.")
        )
    return out


@pytest.fixture(scope="module")
def archive(tmp_path_factory):
    folder = tmp_path_factory.mktemp("archive")
    lines = [json.dumps({"id": i, "text": t}).encode() for i, t in enumerate(notes())]
    lines[10:10] = [b'{"id": "bad", "text": ', b'{"id": "latin", "text": "Caf\xe9"}']
    lines.append(json.dumps({"id": "empty", "text": ""}).encode())
    path = folder / "notes.jsonl"
    path.write_bytes(b"\n".join(lines) + b"\n")
    return path


def single_process(path, mode, key):
    detector = run.RegexDetector(PATTERNS)
    results = list(run.deidentify_records(io.read_records(path), detector, mode, key, batch_size=8))
    return [io.output_record(r, text, ents) for r, text, ents in results], run.summary(results)


# Runs one pipeline in a fresh Python and prints its summary (see `beam_run`).
RUNNER = """
import functools, json, sys
from tfner.deid import beam, run
a = json.loads(sys.argv[1])
summary = beam.run_pipeline(
    a["input"], a["output"], functools.partial(run.RegexDetector, a["patterns"]), a["mode"], a["key"],
    audit_prefix=a["audit"], batch_size=5, num_shards=3, beam_args=a["beam_args"],
)
print(json.dumps(summary))
"""


def beam_run(path, tmp_path, mode, key, *options):
    """The DirectRunner pipeline over `path` -> (output shards, audit lines, summary), run in a fresh
    Python: Beam's gRPC apart from the TensorFlow that other tests load into a pytest worker (a CI run
    lost a worker inside this pipeline once, with no trace), and a crash prints its stack (faulthandler)."""
    args = {
        "input": str(path),
        "output": str(tmp_path / "out" / "deid"),
        "audit": str(tmp_path / "out" / "audit"),
        "patterns": PATTERNS,
        "mode": mode,
        "key": key,
        "beam_args": ["--runner", "DirectRunner", *options],
    }
    command = [sys.executable, "-X", "faulthandler", "-c", RUNNER, json.dumps(args)]
    done = subprocess.run(command, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-5000:]
    summary = json.loads(done.stdout.strip().splitlines()[-1])
    shards = deid_beam.read_shards(tmp_path / "out" / "deid")
    return shards, deid_beam.read_shards(tmp_path / "out" / "audit"), summary


@pytest.mark.parametrize("mode", ["surrogate", "redact"])
def test_direct_runner_output_equals_single_process_output(archive, tmp_path, mode):
    expected, counts = single_process(archive, mode, "archive-key")
    shards, audit_lines, summary = beam_run(archive, tmp_path, mode, "archive-key", "--direct_num_workers", "2")
    assert len(list((tmp_path / "out").glob("deid-*-of-00003.jsonl"))) == 3
    assert [s["_source"]["index"] for s in shards] == list(range(len(expected)))
    assert [{k: v for k, v in s.items() if k != "_source"} for s in shards] == expected
    assert summary == counts and counts["records"] == 53 and counts["errors"] == 2 and counts["empty"] == 1
    assert [a["index"] for a in audit_lines] == list(range(53)) and audit_lines[10]["error"].startswith("line 11")
    dumped = json.dumps(audit_lines)
    assert not any(name in dumped for name in FIRST + LAST + CITIES)


def test_cli_runner_on_a_directory(tmp_path, monkeypatch, capsys):
    folder = tmp_path / "notes"
    for i, text in enumerate(notes(12, seed=1)):
        (folder / f"ward{i % 3}").mkdir(parents=True, exist_ok=True)
        (folder / f"ward{i % 3}" / f"{i}.txt").write_text(text)
    model = tmp_path / "model"
    model.mkdir()
    (model / "weights.h5").write_bytes(b"w")
    (model / "labels.json").write_text('["O", "B-NAME", "I-NAME"]')
    for module in (run, cli):  # Beam's ModelFactory calls run's; the single-process run cli's
        monkeypatch.setattr(module, "detector_from_model", lambda d: run.RegexDetector(PATTERNS))
    argv = [
        "deid",
        "--model",
        str(model),
        "--input",
        str(folder),
        "--output",
        str(tmp_path / "beam" / "deid"),
        "--mode",
        "mask",
        "--audit",
        str(tmp_path / "beam" / "audit"),
        "--runner",
        "DirectRunner",
        "--batch-size",
        "4",
        "--direct_num_workers",
        "1",
    ]
    assert cli.main(argv) == 0
    assert "records: 12  errors: 0  empty: 0" in capsys.readouterr().out
    shards = deid_beam.read_shards(tmp_path / "beam" / "deid")
    mirrored = tmp_path / "mirror"
    assert cli.main(argv[:5] + ["--output", str(mirrored)] + argv[7:9]) == 0
    for s in shards:
        assert (mirrored / s["_source"]["location"]).read_text() == s["text"]
    assert cli.main(argv[:5] + ["--output", str(folder)] + argv[7:]) == 2  # a folder, not a prefix


class CountingFactory:
    """Builds the regex detector and notes the process that built it (a model would load here)."""

    def __init__(self, log):
        self.log = str(log)

    def __call__(self):
        with open(self.log, "a") as f:
            f.write(f"{os.getpid()}\n")
        return run.RegexDetector(PATTERNS)


def test_multi_processing_workers_load_the_detector_once_each(archive, tmp_path, monkeypatch):
    expected, _ = single_process(archive, "surrogate", "k")
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join([os.path.dirname(__file__), os.environ.get("PYTHONPATH", "")]))
    log = tmp_path / "loads.txt"
    summary = deid_beam.run_pipeline(
        archive,
        tmp_path / "deid",
        CountingFactory(log),
        "surrogate",
        "k",
        batch_size=2,
        beam_args=["--direct_num_workers", "2", "--direct_running_mode", "multi_processing"],
    )
    shards = deid_beam.read_shards(tmp_path / "deid")
    assert [{k: v for k, v in s.items() if k != "_source"} for s in shards] == expected
    assert summary["records"] == 53
    pids = log.read_text().split()
    assert str(os.getpid()) not in pids and len(set(pids)) == len(pids) <= 2, pids  # once per worker process
