"""`tfner calibrate`: per-type thresholds that reach the target recall on the data they were fitted on."""

import json
import os

import numpy as np

from tfner.data.align import IGNORE
from tfner.evaluation.calibrate import calibrate
from tfner.evaluation.phi import token_scores


class NoisyTagger:
    """A stand-in tagger whose logits favour the gold label by a margin, with noise: argmax misses part of
    every type, and lower thresholds recover it."""

    def __init__(self, tagger, seed=0):
        self.labels, self.tokenizer, self.config, self._tagger = tagger.labels, tagger.tokenizer, tagger.config, tagger
        self.rng = np.random.RandomState(seed)

    def predict_logits(self, windows, batch_size=64):
        out = []
        for labels in windows.labels:
            z = self.rng.normal(0, 0.5, (len(labels), len(self.labels))).astype(np.float32)
            gold = np.where(labels == IGNORE, 0, labels)
            z[np.arange(len(labels)), gold] += 3.0
            z[:, 0] += self.rng.uniform(1.0, 4.0, len(labels))  # O often wins the argmax: recall is low
            out.append(z)
        return out


def test_calibration_reaches_its_target_where_it_says_so(tiny_tagger, notes):
    windows = tiny_tagger.encode(notes)
    fake = NoisyTagger(tiny_tagger)
    logits = fake.predict_logits(windows)
    tiny_tagger.set_thresholds(None)
    before = token_scores(windows.gold, tiny_tagger.tags(windows, logits))["per_type"]
    thresholds, figures = calibrate(fake, windows, target_recall=0.95, logits=logits)
    tiny_tagger.set_thresholds(thresholds)
    try:
        after = token_scores(windows.gold, tiny_tagger.tags(windows, logits))["per_type"]
    finally:
        tiny_tagger.set_thresholds(None)
    assert any(row["reached"] for row in figures.values())
    for kind, row in figures.items():
        assert row["threshold"] <= 0.5
        assert after[kind]["recall"] == row["recall"]
        assert after[kind]["recall"] >= before[kind]["recall"]
        if row["reached"]:
            assert after[kind]["recall"] >= 0.95


def test_the_command_writes_thresholds_that_loading_applies(trained_run, notes, tmp_path):
    import shutil

    from tfner.data.synthetic import write_jsonl
    from tfner.evaluation.calibrate import main
    from tfner.model.tagger import Tagger

    model = str(tmp_path / "model")
    shutil.copytree(trained_run.output_dir, model)
    data = str(tmp_path / "val.jsonl")
    write_jsonl([{"text": d.text, "ner_tags": [list(s) for s in d.spans]} for d in notes.documents], data)
    assert main(["--model", model, "--data", data, "--target-recall", "0.9"]) == 0
    saved = json.load(open(os.path.join(model, "thresholds.json")))
    assert saved["target_recall"] == 0.9 and set(saved["thresholds"]) <= set(saved["per_type"])
    assert Tagger.load(model).thresholds == saved["thresholds"]
    assert main(["--model", model, "--data", data, "--target-recall", "1.5"]) == 2
    assert main(["--model", str(tmp_path / "none"), "--data", data]) == 2
