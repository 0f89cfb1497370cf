"""tfner.serving.export, the SavedModel export: layout, parity with the Tagger and the pipeline,
saved_model_cli, atomic writes, `tfner export`."""

import json
import os
import re
import subprocess
import sys

import numpy as np
import pytest
from helpers import ROOT, build_tagger, force_constant

from tfner.model.decoding import softmax

CLI = os.path.join(os.path.dirname(sys.executable), "saved_model_cli")
# `saved_model_cli run` loads the whole graph, predict_text's tokenizer ops included: register them first
CLI_WITH_TEXT_OPS = [
    sys.executable,
    "-c",
    "import sys, tensorflow_text; sys.argv[0] = 'saved_model_cli'; "
    "from tensorflow.python.tools.saved_model_cli import main; sys.exit(main())",
]


@pytest.fixture(scope="module")
def tagger(tiny_tagger):
    """The module's tiny random tagger (for the notes' labels); it tags plenty of entities."""
    return tiny_tagger


@pytest.fixture(scope="module")
def exported(tagger, tmp_path_factory):
    from tfner.serving.export import export

    root = tmp_path_factory.mktemp("exports")
    messages = []
    path = export(tagger, "tiny", output_root=str(root), log=messages.append)
    return path, messages


@pytest.fixture(scope="module")
def loaded(exported):
    import tensorflow as tf
    import tensorflow_text  # noqa: F401  (registers the tokenizer ops before loading)

    return tf.saved_model.load(exported[0])


def test_layout_assets_and_version(exported, tagger, labels):
    path, messages = exported
    assert os.path.basename(path) == "1" and os.path.exists(os.path.join(path, "saved_model.pb"))
    assets = os.path.join(path, "assets")
    with open(os.path.join(assets, "labels.json")) as f:
        assert json.load(f) == labels
    with open(os.path.join(assets, "config.json")) as f:
        assert json.load(f)["max_length"] == tagger.config.max_length
    for name in ("vocab.txt", "tokenizer.json", "tokenizer_config.json"):
        assert os.path.exists(os.path.join(assets, name)), name
    assert os.path.getsize(os.path.join(path, "assets.extra", "tf_serving_warmup_requests")) > 0
    assert [m for m in messages if "predict_text, serving_default" in m]
    assert [d for d in os.listdir(os.path.dirname(path))] == ["1"]  # no temporary folder left


def test_serving_default_matches_the_tagger_token_by_token(loaded, tagger, notes):
    windows = tagger.encode(notes)
    expected = tagger.predict_logits(windows)
    width = max(len(ids) for ids in windows.input_ids)
    ids = np.zeros((len(windows), width), np.int64)
    mask, types = np.zeros_like(ids), np.zeros_like(ids)
    for n, (row, starts) in enumerate(zip(windows.input_ids, windows.line_starts())):
        ids[n, : len(row)], mask[n, : len(row)], types[n, : len(row)] = row, 1, starts
    assert tagger.sees_layout and types.sum() > 0  # token_type_ids carry the line starts
    out = loaded.signatures["serving_default"](input_ids=ids, attention_mask=mask, token_type_ids=types)
    assert out["logits"].dtype.name == "float32" and out["label_ids"].dtype.name == "int64"
    special = set(tagger.tokenizer.all_special_ids)
    for n, logits in enumerate(expected):
        got = out["logits"].numpy()[n, : len(logits)]
        np.testing.assert_allclose(got, logits, atol=1e-4)
        # the model's decoding (bio: Viterbi over the words, ## pieces following their word; specials O)
        pieces = tagger.tokenizer.convert_ids_to_tokens([int(i) for i in windows.input_ids[n]])
        real = np.array([int(i) not in special for i in windows.input_ids[n]])
        after_real = np.concatenate([[False], real[:-1]])  # a window may start inside a word
        first = real & (np.array([not p.startswith("##") for p in pieces]) | ~after_real)
        labels = np.full(len(logits), tagger.labels.index("O"))
        labels[real] = tagger.decoder.tokens(softmax(logits)[real], first[real])
        np.testing.assert_array_equal(out["label_ids"].numpy()[n, : len(logits)], labels)
    np.testing.assert_allclose(out["probabilities"].numpy().sum(-1), 1.0, atol=1e-5)


def entities_from_signature(out, n):
    count = int(out["entity_count"][n])
    return [
        (
            out["entity_label"][n, k].numpy().decode(),
            int(out["entity_start"][n, k]),
            int(out["entity_end"][n, k]),
            out["entity_text"][n, k].numpy().decode(),
            float(out["entity_score"][n, k]),
        )
        for k in range(count)
    ]


def test_predict_text_gives_the_pipelines_entities(loaded, tagger, notes):
    from tfner.serving.pipeline import NERPipeline

    texts = [d.text for d in notes.documents] + ["Zoë Müller, née Ångström, seen 3/4 — café", ""]
    # windows of the model's max_length (32 tokens here): every note is cut into many
    assert max(len(tagger.tokenizer.tokenize(t)) for t in texts) > 4 * tagger.config.max_length
    expected = NERPipeline(tagger, "simple")(texts)
    out = loaded.signatures["predict_text"](text=np.array(texts, object))
    total = 0
    for n, text in enumerate(texts):
        got = entities_from_signature(out, n)
        want = expected[n]
        assert [g[:3] for g in got] == [(e["entity_group"], e["start"], e["end"]) for e in want], n
        for (_, start, end, word, score), e in zip(got, want):
            assert word == text[start:end] == e["word"]
            assert score == pytest.approx(e["score"], abs=1e-4)
        total += len(got)
    assert total > 20  # a random tiny model tags plenty: the comparison is not vacuous
    assert int(out["entity_count"][len(texts) - 1]) == 0


def test_saved_model_cli_show_lists_both_signatures(exported):
    shown = subprocess.run(
        [CLI, "show", "--all", "--dir", exported[0]], capture_output=True, text=True, check=True
    ).stdout
    assert "signature_def['serving_default']" in shown and "signature_def['predict_text']" in shown
    default = shown.split("signature_def['serving_default']")[1]
    for name in ("input_ids", "attention_mask", "token_type_ids"):
        block = default.split(f"inputs['{name}']")[1].split("name:")[0]
        assert "DT_INT64" in block and "shape: (-1, -1)" in block, name
    for name in ("logits", "probabilities", "label_ids"):
        assert f"outputs['{name}']" in default


def test_saved_model_cli_runs_the_warmup_request(exported, tmp_path):
    from tfner.serving.export import read_warmup

    requests = dict(read_warmup(os.path.join(exported[0], "assets.extra", "tf_serving_warmup_requests")))
    assert set(requests) == {"serving_default", "predict_text"}
    assert requests["predict_text"]["text"].shape == (2,)
    files = []
    for name, value in requests["serving_default"].items():
        assert value.dtype == np.int64 and value.ndim == 2
        np.save(tmp_path / f"{name}.npy", value)
        files.append(f"{name}={tmp_path / name}.npy")
    run = subprocess.run(
        CLI_WITH_TEXT_OPS
        + [
            "run",
            "--dir",
            exported[0],
            "--tag_set",
            "serve",
            "--signature_def",
            "serving_default",
            "--inputs",
            ";".join(files),
            "--outdir",
            str(tmp_path / "out"),
        ],
        capture_output=True,
        text=True,
    )
    assert run.returncode == 0, run.stderr[-2000:]
    label_ids = np.load(tmp_path / "out" / "label_ids.npy")
    assert label_ids.shape == requests["serving_default"]["input_ids"].shape
    texts = ", ".join(repr(t.decode()) for t in requests["predict_text"]["text"])
    run = subprocess.run(
        CLI_WITH_TEXT_OPS
        + [
            "run",
            "--dir",
            exported[0],
            "--tag_set",
            "serve",
            "--signature_def",
            "predict_text",
            "--input_exprs",
            f"text=[{texts}]",
        ],
        capture_output=True,
        text=True,
    )
    assert run.returncode == 0, run.stderr[-2000:]
    assert "entity_count" in run.stdout and "entity_label" in run.stdout


def test_versions_no_silent_overwrite_and_force(tagger, exported, tmp_path):
    from tfner.serving.export import export, next_version

    root = os.path.dirname(exported[0])
    assert next_version(root) == 2
    with pytest.raises(FileExistsError, match="--force"):
        export(tagger, "tiny", version=1, output_root=os.path.dirname(root), log=lambda m: None)
    before = os.path.getmtime(os.path.join(exported[0], "saved_model.pb"))
    assert os.path.getmtime(os.path.join(exported[0], "saved_model.pb")) == before


def test_interrupted_export_leaves_no_version_dir(tagger, tmp_path, monkeypatch):
    from tfner.serving import export as export_module

    def killed(*args, **kwargs):
        raise KeyboardInterrupt("killed while writing the warm-up file")

    monkeypatch.setattr(export_module, "write_warmup", killed)
    with pytest.raises(KeyboardInterrupt):
        export_module.export(tagger, "tiny", output_root=str(tmp_path), log=lambda m: None)
    assert not os.path.exists(tmp_path / "tiny")  # neither the version nor the NAME folder it created


@pytest.mark.slow  # keeps the default run short; make test-all runs it
def test_cli_refuses_a_collapsed_model_unless_forced_and_replaces_with_force(labels, tokenizer, tmp_path, capsys):
    from tfner.serving.export import main

    collapsed = build_tagger(labels, tokenizer)
    force_constant(collapsed, "O")  # every token is O
    model = tmp_path / "model"
    collapsed.save(str(model))
    args = [str(model), "--name", "notes", "--output-root", str(tmp_path / "sm")]
    assert main(args) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("error: ") and "collapsed" in err[0]
    assert not os.path.exists(tmp_path / "sm" / "notes")
    assert main(args + ["--force", "--version", "4"]) == 0
    assert os.listdir(tmp_path / "sm" / "notes") == ["4"]
    first = os.path.getmtime(tmp_path / "sm" / "notes" / "4" / "saved_model.pb")
    capsys.readouterr()
    assert main(args + ["--version", "4"]) == 2  # exists: refused without --force
    assert "exists" in capsys.readouterr().err
    assert main(args + ["--force", "--version", "4"]) == 0
    assert sorted(os.listdir(tmp_path / "sm" / "notes")) == ["4"]
    assert os.path.getmtime(tmp_path / "sm" / "notes" / "4" / "saved_model.pb") >= first


def test_lora_tagger_is_exported_merged_without_predict_text_for_non_wordpiece(
    labels, tokenizer, tmp_path, monkeypatch
):
    import tensorflow as tf

    from tfner.model import lora
    from tfner.serving import export as export_module

    tagger = build_tagger(labels, tokenizer, lora=True, lora_r=2)
    adapters = [v for v in tagger.encoder.trainable_variables if "lora_kernel_b" in v.name]
    assert adapters
    for v in adapters:  # non-zero adapters, so merging matters
        v.assign(tf.random.normal(v.shape, stddev=0.5))
    assert lora.has_lora(tagger.encoder)
    monkeypatch.setattr(export_module.tokenizers, "for_tokenizer", lambda tokenizer, folder: (None, "no tokenizer"))
    messages = []
    path = export_module.export(tagger, "lora", output_root=str(tmp_path), log=messages.append)
    assert any("predict_text: not exported" in m for m in messages)
    loaded = tf.saved_model.load(path)
    assert set(loaded.signatures) == {"serving_default"}
    ids = np.array([[101, 2198, 3044, 2001, 102]], np.int64)
    out = loaded.signatures["serving_default"](
        input_ids=ids, attention_mask=np.ones_like(ids), token_type_ids=np.zeros_like(ids)
    )
    expected = tagger.model(
        {"input_ids": ids.astype(np.int32), "attention_mask": np.ones_like(ids, np.int32)}, training=False
    ).numpy()
    np.testing.assert_allclose(out["logits"].numpy(), expected, atol=1e-4)
    names = {v.name for v in loaded.weights}
    assert len(names) > 10
    assert not [n for n in names if "lora" in n.lower()]


def test_a_table_view_models_predict_text_reads_the_view_as_the_pipeline_does(tagger, exported, loaded):
    """A model that reads the table view (`ModelConfig.table_view`, the default: the module's export is one)
    gets predict_text with the view built in the graph (tfner.serving.table_view): the same entities as the
    pipeline, on the original text, none made only of an inserted header (the random model tags headers too)."""
    import tensorflow as tf

    from tfner.data.notes import generate_notes
    from tfner.data.tables import TableView
    from tfner.serving.pipeline import NERPipeline

    assert tagger.config.table_view
    path = exported[0]
    assert set(loaded.signatures) == {"serving_default", "predict_text"}
    notes = generate_notes(12, seed=5, families=["table", "record_export", "lab_report"])
    texts = [r["text"] for r in notes] + ["Name\tAge\tWard\nÅsa Öberg\t41\tB2", "no table here", ""]
    assert sum(bool(TableView(t)) for t in texts) >= 8
    expected = NERPipeline(tagger, "simple")(texts)
    out = loaded.signatures["predict_text"](text=tf.constant(texts))
    for n, text in enumerate(texts):
        got = entities_from_signature(out, n)
        assert [g[:3] for g in got] == [(e["entity_group"], e["start"], e["end"]) for e in expected[n]], n
        for (_, start, end, word, score), e in zip(got, expected[n]):
            assert word == text[start:end] == e["word"] and end > start
            assert score == pytest.approx(e["score"], abs=1e-4)
    assert sum(len(e) for e in expected) > 20  # not vacuous
    with open(os.path.join(path, "assets", "config.json")) as f:
        assert json.load(f)["table_view"] is True
    with open(os.path.join(path, "assets.extra", "model_card.json")) as f:
        card = json.load(f)
    assert card["model"]["table_view"] is True
    assert any("tfner.serving.table_view" in note for note in card["limitations"])


def exported_tokenizer(path):
    from transformers import AutoTokenizer

    return AutoTokenizer.from_pretrained(os.path.join(path, "assets"), use_fast=True)


def test_example_client_dry_run_builds_both_formats_for_both_signatures(exported, loaded, capsys):
    import importlib.util

    path = os.path.join(ROOT, "examples", "serving_client.py")
    spec = importlib.util.spec_from_file_location("serving_client", path)
    client = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(client)
    table = "Name\tAge\tWard\nAnn Lee\t41\tB2"
    requests = client.main(["--dry-run", "--export", exported[0], "John Smith", "Seen on 3/4 by Anne Lee", table])
    printed = capsys.readouterr().out
    assert printed.count("POST http://localhost:8501/v1/models/notes:predict") == 4
    row, columnar = requests["serving_default, row"], requests["serving_default, columnar"]
    assert len({len(r["input_ids"]) for r in row["instances"]}) == 1  # one length per request
    # the model reads the table view (the default): the client sends the view's tokens
    from tfner.data.tables import TableView

    tokenizer = exported_tokenizer(exported[0])
    view_ids = tokenizer(TableView(table).text)["input_ids"]
    assert TableView(table) and row["instances"][2]["input_ids"][: len(view_ids)] == view_ids
    # the bodies are what the signatures take: run them through the loaded export
    inputs = {k: np.array(v, np.int64) for k, v in columnar["inputs"].items()}
    assert loaded.signatures["serving_default"](**inputs)["logits"].shape[:2] == inputs["input_ids"].shape
    text = requests["predict_text, columnar"]["inputs"]["text"]
    assert requests["predict_text, row"]["instances"] == [{"text": t} for t in text]
    assert loaded.signatures["predict_text"](text=np.array(text, object))["entity_count"].shape == (3,)


PLAIN_LOAD = """
import sys
import numpy as np
import tensorflow as tf
import tensorflow_text  # noqa: F401  (the only import besides TensorFlow: no tfner)
assert "tfner" not in sys.modules
model = tf.saved_model.load(sys.argv[1])
ids = np.load(sys.argv[2])
out = model.signatures["serving_default"](input_ids=ids, attention_mask=(ids > 0).astype(np.int64),
                                          token_type_ids=np.zeros_like(ids))
text = model.signatures["predict_text"](text=tf.constant(["John Smith " * 400, "Anne"]))
np.savez(sys.argv[3], logits=out["logits"].numpy(), count=text["entity_count"].numpy(),
         end=text["entity_end"].numpy())
"""


def test_plain_tensorflow_process_loads_and_runs_the_export(exported, tagger, tmp_path):
    ids = np.array([[101, 2198, 3044, 2001, 2464, 102], [101, 2198, 102, 0, 0, 0]], np.int64)
    np.save(tmp_path / "ids.npy", ids)
    script = tmp_path / "plain_load.py"
    script.write_text(PLAIN_LOAD)
    run = subprocess.run(
        [sys.executable, str(script), exported[0], str(tmp_path / "ids.npy"), str(tmp_path / "out.npz")],
        capture_output=True,
        text=True,
    )
    assert run.returncode == 0, run.stderr[-2000:]
    out = np.load(tmp_path / "out.npz")
    for n, length in enumerate((6, 3)):
        want = tagger.model(
            {"input_ids": ids[n : n + 1, :length].astype(np.int32), "attention_mask": np.ones((1, length), np.int32)},
            training=False,
        ).numpy()[0]
        np.testing.assert_allclose(out["logits"][n, :length], want, atol=1e-4)
    # predict_text reads the whole text (windows), not its first 512 positions
    assert len(tagger.tokenizer.tokenize("John Smith " * 400)) == 800
    assert out["count"][0] > 0 and out["end"][0].max() > 255 * len("John Smith ")


def test_cli_asks_for_check_data_when_the_clinical_notes_do_not_fit_the_labels(tokenizer, tmp_path, capsys):
    from tfner.serving.export import main

    model = tmp_path / "model"
    build_tagger(["O", "B-PER", "I-PER"], tokenizer).save(str(model))
    assert main([str(model), "--name", "conll", "--output-root", str(tmp_path / "sm")]) == 2
    err = capsys.readouterr().err
    assert "--check-data" in err and "does not occur" in err
    assert not os.path.exists(tmp_path / "sm")


@pytest.mark.parametrize(
    "case, message",
    [
        ("shapes differ", "input_ids and attention_mask must have the same shape"),
        ("id too large", "input_ids must be in [0, "),
        ("negative id", "input_ids must be in [0, "),
        ("mask of 2", "attention_mask must hold 0 (padding) and 1 (token) only"),
        ("too long", "tokens per row (the position limit of the encoder"),
        ("type of 2", "token_type_ids must hold 0 and 1 (line starts) only"),
        ("types shaped wrong", "token_type_ids must have the shape of input_ids"),
    ],
)
def test_serving_default_names_what_is_wrong_with_a_request(loaded, tagger, case, message):
    import tensorflow as tf

    limit = tagger.encoder.config.max_position_embeddings
    ids, mask = np.full((2, 6), 1000, np.int64), np.ones((2, 6), np.int64)
    if case == "shapes differ":
        mask = mask[:, :5]
    elif case == "id too large":
        ids[1, 3] = tagger.encoder.config.vocab_size
    elif case == "negative id":
        ids[0, 0] = -1
    elif case == "mask of 2":
        mask[0, 2] = 2
    elif case == "too long":
        ids, mask = np.full((1, limit + 1), 1000, np.int64), np.ones((1, limit + 1), np.int64)
    types = np.zeros_like(ids)
    if case == "type of 2":
        types[1, 1] = 2
    elif case == "types shaped wrong":
        types = types[:, :4]
    with pytest.raises(tf.errors.InvalidArgumentError, match=re.escape(message)):
        loaded.signatures["serving_default"](input_ids=ids, attention_mask=mask, token_type_ids=types)


@pytest.mark.parametrize("shape", [(0, 5), (3, 0), (0, 0)])
def test_serving_default_gives_empty_outputs_for_empty_requests(loaded, tagger, shape):
    ids = np.zeros(shape, np.int64)
    out = loaded.signatures["serving_default"](input_ids=ids, attention_mask=ids, token_type_ids=ids)
    assert out["logits"].shape == (*shape, len(tagger.labels)) and out["label_ids"].shape == shape
