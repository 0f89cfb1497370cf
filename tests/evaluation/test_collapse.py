"""tfner.evaluation.collapse: the collapse figures and verdict, the window sample, the export guard.
The Keras callback that runs these checks during training is tested in tests/training/test_collapse_detector.py."""

import numpy as np
import pytest
from helpers import SMALLEST, build_tagger, force_constant

LABELS = ["O", "B-PER", "I-PER", "B-LOC", "I-LOC"]


# The figures and the verdict (pure numpy) ---------------------------------------------------------


def _gold(n=1000, o_share=0.8, seed=0):
    rng = np.random.RandomState(seed)
    return np.where(rng.rand(n) < o_share, 0, rng.randint(1, len(LABELS), n))


def test_constant_o_is_collapse_after_warmup_only():
    from tfner.evaluation.collapse import collapse_report

    r = collapse_report(np.zeros(1000, int), _gold(), LABELS)
    assert r.reasons == ("constant", "no-entity")
    assert (r.top_label, r.top_share, r.classes_predicted, r.entropy) == ("O", 1.0, 1, 0.0)
    assert r.entities_predicted == 0
    assert r.classes_gold == 5 and r.gold_share_of_top == pytest.approx(0.8, abs=0.03)
    assert r.needs_warmup and r.flagged(warm=True) and not r.flagged(warm=False)


def test_constant_entity_class_is_collapse_at_once():
    from tfner.evaluation.collapse import collapse_report

    r = collapse_report(np.full(1000, 3), _gold(), LABELS)
    assert r.reasons == ("constant",) and r.top_label == "B-LOC" and r.top_share == 1.0
    assert not r.needs_warmup and r.flagged(warm=False)


def test_near_constant_is_collapse_and_a_spread_is_not():
    from tfner.evaluation.collapse import collapse_report

    gold = _gold()
    near = np.zeros(1000, int)
    near[:5] = 1  # 99.5 % O, 2 classes predicted
    r = collapse_report(near, gold, LABELS)
    assert r.reasons == ("constant",) and r.classes_predicted == 2 and r.entities_predicted == 5
    healthy = collapse_report(gold, gold, LABELS)
    assert healthy.reasons == () and not healthy.flagged()
    assert healthy.entropy == pytest.approx(healthy.gold_entropy)
    assert set(healthy.logs()) == {
        "collapse_top_share",
        "collapse_top_class",
        "collapse_classes_predicted",
        "collapse_classes_gold",
        "collapse_entropy",
        "collapse_entities_predicted",
    }


def test_only_labelled_tokens_count():
    from tfner.evaluation.collapse import collapse_report

    gold = [np.array([-100, 0, 1, 2, -100, -100]), np.array([-100, 0, 3, -100])]
    pred = [np.array([0, 0, 1, 2, 0, 0]), np.array([0, 0, 3, 0])]  # O at every ignored position
    r = collapse_report(pred, gold, LABELS)
    assert r.tokens == 5 and r.top_share == pytest.approx(0.4) and r.reasons == ()


def test_mostly_o_gold_needs_entities_not_spread():
    from tfner.evaluation.collapse import collapse_report

    gold = _gold(o_share=0.98)
    all_o = collapse_report(np.zeros(1000, int), gold, LABELS)
    assert all_o.reasons == ("constant", "no-entity")  # one class predicted of several
    mostly_o = gold.copy()
    mostly_o[np.nonzero(gold)[0][::2]] = 0  # half the entity tokens missed: 99 % O, gold 98 %
    assert collapse_report(mostly_o, gold, LABELS).reasons == ()
    assert collapse_report(np.zeros(50, int), np.zeros(50, int), LABELS).reasons == ()  # gold all O


def test_report_from_tags_matches_ids():
    from tfner.evaluation.collapse import collapse_report, report_from_tags

    gold = [["B-PER", "I-PER", "O"], None, ["O", "B-LOC"]]
    pred = [["O", "O", "O"], ["O"], ["O", "O"]]
    r = report_from_tags(gold, pred, LABELS)
    assert r.to_dict() == collapse_report([0, 0, 0, 0, 0], [1, 2, 0, 0, 3], LABELS).to_dict()
    assert r.tokens == 5 and r.collapsed


def test_sample_windows_keeps_whole_documents(tokenizer):
    from tfner.data.align import encode
    from tfner.data.readers import build_labels
    from tfner.data.synthetic import clinical_notes
    from tfner.evaluation.collapse import sample_windows

    corpus = clinical_notes(1, 30, seed=3)[1]
    labels = build_labels(corpus)
    windows = encode(corpus, tokenizer, labels, max_length=32, stride=8)
    sample = sample_windows(windows, 40, seed=1)
    assert 30 <= len(sample) <= 40 and len(sample.units) < len(windows.units)
    assert sorted(set(sample.doc_index)) == list(range(len(sample.units)))
    from tfner.data.align import merge  # the sample maps back onto its documents like any Windows

    merged = merge(sample, sample.labels, fill=0)
    for doc, gold in zip(merged, sample.gold):
        assert [labels[i] for i in doc] == gold
    assert sample_windows(windows, 0) is windows


@pytest.fixture(scope="module")
def smallest(tokenizer):
    """(a tagger on the one-layer, 16-wide random encoder, labelled validation windows)."""
    from tfner.data.readers import build_labels
    from tfner.data.synthetic import clinical_notes

    train, valid = clinical_notes(12, 6, seed=5)
    tagger = build_tagger(build_labels(train), tokenizer, encoder_overrides=SMALLEST)
    return tagger, tagger.encode(valid)


def test_collapse_config_defaults_validation_and_flat_names():
    from tfner.evaluation.collapse import MAX_GOLD_SHARE, MAX_TOP_SHARE, CollapseConfig
    from tfner.training.config import TrainConfig

    c = CollapseConfig()
    assert (c.action, c.check_every_steps, c.warmup_epochs, c.sample) == ("restore", 0, 1.0, 512)
    assert c.thresholds == {"max_top_share": MAX_TOP_SHARE, "max_gold_share": MAX_GOLD_SHARE}
    assert TrainConfig().collapse == c
    nested = TrainConfig.from_dict({"collapse_action": "raise", "collapse_max_top_share": 0.9}).collapse
    assert (nested.action, nested.max_top_share) == ("raise", 0.9)
    for bad, message in (
        (dict(action="ignore"), "action='ignore'"),
        (dict(sample=-1), "must be >= 0"),
        (dict(max_top_share=0.0), r"in \(0, 1\]"),
        (dict(max_gold_share=1.5), r"in \(0, 1\]"),
    ):
        with pytest.raises(ValueError, match=message):
            CollapseConfig(**bad)


def test_export_guard_refuses_a_collapsed_model_unless_forced(smallest, capsys):
    from tfner.evaluation.collapse import LabelCollapseError, check_not_collapsed

    tagger, valid_w = smallest
    assert not check_not_collapsed(tagger, valid_w).collapsed  # random weights: a spread of classes
    force_constant(tagger, "O")
    with pytest.raises(LabelCollapseError, match="'O' for 100.0%.*--force"):
        check_not_collapsed(tagger, valid_w)
    report = check_not_collapsed(tagger, valid_w, force=True)
    assert report.collapsed and "WARNING" in capsys.readouterr().err
