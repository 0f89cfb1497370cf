"""The figures (tfner.evaluation.plots): epochs ticked as whole numbers, one epoch drawn as marked points
on a readable axis, a search's trial labels inside the figure without overlapping each other or the
title, and a LoRA run's curves titled LoRA."""

import random

import pytest

from tfner.evaluation import plots


def visible_ticks(ax):
    low, high = ax.get_xlim()
    return [t for t in ax.get_xticks() if low <= t <= high]


def test_one_epoch_is_marked_points_on_the_epoch_1_axis():
    history = {"loss": [2.5], "val_loss": [2.45], "val_precision": [0.0], "val_recall": [0.0], "val_f1": [0.0]}
    fig = plots.history_figure(history, "minilm + linear (LoRA)")
    for ax in fig.axes:
        assert ax.get_xlim() == (0.5, 1.5) and visible_ticks(ax) == [1]
        assert ax.lines and all(line.get_marker() not in (None, "", "None") for line in ax.lines)
    # each point carries its value, and the three series lying on each other at 0 use three markers
    assert {"2.5", "2.45"} <= {t.get_text() for t in fig.axes[0].texts}
    assert len({line.get_marker() for line in fig.axes[1].lines}) == 3
    plots.plt.close(fig)


@pytest.mark.parametrize("epochs", [2, 3, 7, 40])
def test_epochs_are_ticked_as_whole_numbers(epochs):
    history = {"loss": [1.0 / (e + 1) for e in range(epochs)], "val_f1": [e / epochs for e in range(epochs)]}
    fig = plots.history_figure(history)
    for ax in fig.axes:
        ticks = visible_ticks(ax)
        assert ticks and all(float(t).is_integer() for t in ticks), ticks
    plots.plt.close(fig)


def overlaps(a, b):
    return a.x0 < b.x1 and b.x0 < a.x1 and a.y0 < b.y1 and b.y0 < a.y1


@pytest.mark.parametrize("count", [3, 10, 30])
def test_trial_labels_stay_in_the_figure_apart_from_each_other_and_the_title(count):
    rng = random.Random(0)
    trials = [
        {"trial_id": f"{i:02d}", "status": "FAILED" if i % 7 == 3 else "COMPLETED", "score": rng.random()}
        for i in range(count)
    ]
    for t in trials:
        t["score"] = t["score"] if t["status"] == "COMPLETED" else None
    labels = [
        f"{rng.choice(['mlp', 'replace-last'])} lora lora_r=16 lr={rng.random() / 1e3:.2g} batch_size=16 "
        f"dropout={rng.random() / 3:.2g} warmup_ratio=0.1 epochs=2"
        for _ in trials
    ]
    title = "bayesian search: val_f1 per trial (max)\n(a second line of title)"
    fig = plots.trials_figure(trials, "val_f1", title, labels=labels)
    renderer = fig.canvas.get_renderer()
    figure_box = fig.bbox
    ax = fig.axes[0]
    ticks = [t for t in ax.get_xticklabels() if t.get_text()]
    assert [t.get_text().split()[0] for t in ticks] == [t["trial_id"] for t in trials]
    assert all(label[:40] in tick.get_text() for label, tick in zip(labels, ticks))
    boxes = [t.get_window_extent(renderer) for t in ticks]
    title_box = ax.title.get_window_extent(renderer)
    for box in boxes + [title_box]:
        assert (
            figure_box.x0 <= box.x0 and box.x1 <= figure_box.x1 and figure_box.y0 <= box.y0 <= box.y1 <= figure_box.y1
        )
    assert not any(overlaps(a, b) for i, a in enumerate(boxes) for b in boxes[i + 1 :])
    assert not any(overlaps(box, title_box) for box in boxes)
    assert not ax.texts  # no labels beside the points, where they ran into each other
    failed = [tick for tick, t in zip(ticks, trials) if t["status"] != "COMPLETED"]
    assert all(tick.get_color() == "tab:red" for tick in failed)
    plots.plt.close(fig)


def test_a_lora_runs_curves_are_titled_lora(tmp_path, monkeypatch):
    import helpers

    from tfner.training import train

    titles = []
    monkeypatch.setattr(train.plots, "plot_history", lambda history, path, title="": titles.append(title))
    helpers.train_tiny(
        tmp_path, encoder_overrides=dict(helpers.SMALLEST), lora=True, lora_r=2, synthetic_train=16, synthetic_test=4
    )
    assert len(titles) == 1 and "LoRA" in titles[0] and "full" not in titles[0]
