"""Damaged saved models and adapter folders: `Tagger.load` (`tfner.load`) and `load_adapter` raise
`FileNotFoundError` or `ModelFileError` naming the file and what was expected, never a library's error;
`tfner evaluate` and `tfner predict` print that as one `error: ...` line and exit 2."""

import json
import os
import shutil

import helpers
import pytest

LABELS = ["O", "B-X", "I-X"]


@pytest.fixture(scope="module")
def saved(tmp_path_factory):
    """A tiny saved model, and the tagger it came from."""
    tagger = helpers.build_tagger(LABELS, encoder_overrides=dict(helpers.SMALLEST))
    path = str(tmp_path_factory.mktemp("model") / "model")
    tagger.save(path)
    return tagger, path


@pytest.fixture(scope="module")
def adapter(tmp_path_factory):
    """A tiny LoRA tagger and its saved adapter folder."""
    from tfner.model.adapters import save_adapter

    tagger = helpers.build_tagger(LABELS, encoder_overrides=dict(helpers.SMALLEST), lora=True, lora_r=2)
    return tagger, save_adapter(tagger, str(tmp_path_factory.mktemp("adapter") / "adapter"))


def damaged(source, tmp_path, damage):
    path = str(tmp_path / "damaged")
    shutil.copytree(source, path)
    damage(path)
    return path


def truncate(name, size=None):
    def damage(path):
        file = os.path.join(path, name)
        with open(file, "r+b") as f:
            f.truncate(os.path.getsize(file) // 2 if size is None else size)

    return damage


def write(name, content):
    def damage(path):
        with open(os.path.join(path, name), "wb") as f:
            f.write(content)

    return damage


def remove(name):
    def damage(path):
        target = os.path.join(path, name)
        shutil.rmtree(target) if os.path.isdir(target) else os.remove(target)

    return damage


def edit_json(name, change):
    def damage(path):
        with open(os.path.join(path, name)) as f:
            value = json.load(f)
        change(value)
        with open(os.path.join(path, name), "w") as f:
            json.dump(value, f)

    return damage


def a_folder_instead(name):
    def damage(path):
        os.remove(os.path.join(path, name))
        os.mkdir(os.path.join(path, name))

    return damage


def nan_in_weights(path):
    import h5py

    with h5py.File(os.path.join(path, "weights.h5"), "r+") as f:
        names = []
        f.visititems(lambda name, item: names.append(name) if isinstance(item, h5py.Dataset) else None)
        values = f[names[0]][()]
        values.flat[0] = float("nan")
        f[names[0]][...] = values


# (case, damage, error type, the file named, what the message says was expected or found)
MODEL_CASES = [
    ("weights truncated", truncate("weights.h5"), "ModelFileError", "weights.h5", "damaged or truncated"),
    ("weights empty", truncate("weights.h5", 0), "ModelFileError", "weights.h5", "not a readable HDF5"),
    ("weights garbage", write("weights.h5", b"not hdf5 " * 64), "ModelFileError", "weights.h5", "not a readable HDF5"),
    ("weights NaN", nan_in_weights, "ModelFileError", "weights.h5", "NaN or infinite"),
    ("weights a folder", a_folder_instead("weights.h5"), "ModelFileError", "weights.h5", "expected a file"),
    ("weights missing", remove("weights.h5"), "FileNotFoundError", "model", "missing weights.h5"),
    ("labels invalid JSON", write("labels.json", b'["O", '), "ModelFileError", "labels.json", "not valid JSON"),
    ("labels not UTF-8", write("labels.json", b'["O\xe9"]'), "ModelFileError", "labels.json", "not valid JSON"),
    ("labels an object", write("labels.json", b'{"O": 0}'), "ModelFileError", "labels.json", "found a JSON dict"),
    ("labels without O", write("labels.json", b'["B-X", "I-X", "B-Y"]'), "ModelFileError", "labels.json", 'no "O"'),
    ("labels repeated", write("labels.json", b'["O", "O", "B-X"]'), "ModelFileError", "labels.json", "unique"),
    ("labels too few", write("labels.json", b'["O", "B-X"]'), "ModelFileError", "weights.h5", "(2 labels)"),
    ("labels missing", remove("labels.json"), "FileNotFoundError", "model", "missing labels.json"),
    ("config invalid JSON", write("config.json", b"{oops"), "ModelFileError", "config.json", "not valid JSON"),
    ("config a list", write("config.json", b"[1, 2]"), "ModelFileError", "config.json", "found a JSON list"),
    (
        "config unknown head",
        write("config.json", b'{"model": {"head": "nope"}}'),
        "ModelFileError",
        "config.json",
        "head='nope'",
    ),
    (
        "config head of another model",
        edit_json("config.json", lambda c: c["model"].update(head="mlp")),
        "ModelFileError",
        "weights.h5",
        "head 'mlp'",
    ),
    ("encoder config invalid", write("encoder/config.json", b"{oops"), "ModelFileError", "encoder/config.json", ""),
    ("encoder config empty", write("encoder/config.json", b"{}"), "ModelFileError", "encoder/config.json", ""),
    (
        "encoder config of another size",
        edit_json("encoder/config.json", lambda c: c.update(hidden_size=32, intermediate_size=64)),
        "ModelFileError",
        "weights.h5",
        "do not fit",
    ),
    ("encoder config missing", remove("encoder/config.json"), "FileNotFoundError", "model", "encoder/config.json"),
    ("tokenizer damaged", write("tokenizer/tokenizer.json", b"{oops"), "ModelFileError", "tokenizer", "tokenizer"),
    (
        "tokenizer emptied",
        lambda path: [os.remove(os.path.join(path, "tokenizer", f)) for f in os.listdir(f"{path}/tokenizer")],
        "ModelFileError",
        "tokenizer",
        "not a readable fast tokenizer",
    ),
    (
        "tokenizer larger than the encoder",
        edit_json("encoder/config.json", lambda c: c.update(vocab_size=1000)),
        "ModelFileError",
        "tokenizer",
        "different models",
    ),
    ("tokenizer missing", remove("tokenizer"), "FileNotFoundError", "model", "missing tokenizer"),
    ("thresholds invalid JSON", write("thresholds.json", b"{oops"), "ValueError", "thresholds.json", "not valid JSON"),
]


@pytest.mark.parametrize("case, damage, error, file, expected", MODEL_CASES, ids=[c[0] for c in MODEL_CASES])
def test_a_damaged_model_names_its_file(saved, tmp_path, case, damage, error, file, expected):
    import tfner

    path = damaged(saved[1], tmp_path, damage)
    with pytest.raises(ValueError if error != "FileNotFoundError" else FileNotFoundError) as caught:
        tfner.load(path)
    assert type(caught.value).__name__ == error
    message = str(caught.value)
    where = path if file == "model" else os.path.join(path, file)
    assert message.startswith(where + ":") or message.startswith(where + "/"), message
    assert expected in message


def test_the_intact_model_still_loads_and_predicts_the_same(saved):
    import tfner
    from tfner.data.readers import Corpus, Document

    tagger, path = saved
    corpus = Corpus([Document(tokens=["Seen", "by", "John", "Smith", "."], tags=["O"] * 5)], "test")
    loaded = tfner.load(path)
    assert loaded.labels == LABELS and loaded.predict(corpus) == tagger.predict(corpus)


@pytest.mark.parametrize("command", ["evaluate", "predict"])
def test_the_commands_print_one_error_line_for_a_damaged_model(saved, tmp_path, capsys, command):
    from tfner.evaluation.evaluate import main as evaluate
    from tfner.serving.predict import main as predict

    path = damaged(saved[1], tmp_path, truncate("weights.h5"))
    capsys.readouterr()
    if command == "evaluate":
        code = evaluate(["--model", path])
    else:
        code = predict(["--model", path, "Seen by John Smith."])
    err = capsys.readouterr().err
    errors = [l for l in err.splitlines() if l.startswith("error: ")]
    assert code == 2 and "Traceback" not in err
    assert errors == [errors[0]] and errors[0].startswith(f"error: {path}/weights.h5: not a readable HDF5")


ADAPTER_CASES = [
    ("weights truncated", truncate("adapter_model.safetensors"), "adapter_model.safetensors", "truncated"),
    ("weights empty", truncate("adapter_model.safetensors", 0), "adapter_model.safetensors", "not a readable"),
    ("weights garbage", write("adapter_model.safetensors", b"x" * 64), "adapter_model.safetensors", "not a readable"),
    ("weights missing", remove("adapter_model.safetensors"), "adapter_model.safetensors", "missing"),
    ("config invalid JSON", write("adapter_config.json", b"{oops"), "adapter_config.json", "not valid JSON"),
    ("config a list", write("adapter_config.json", b"[1]"), "adapter_config.json", "tfner-lora-adapter"),
    (
        "config without labels",
        edit_json("adapter_config.json", lambda m: m.pop("labels")),
        "adapter_config.json",
        "lacks labels",
    ),
    (
        "config checksum a string",
        edit_json("adapter_config.json", lambda m: m.update(base_checksum="x")),
        "adapter_config.json",
        "base_checksum",
    ),
    (
        "config LoRA rank negative",
        edit_json("adapter_config.json", lambda m: m["lora"].update(r=-1)),
        "adapter_config.json",
        "LoRA r",
    ),
    (
        "config labels of another model",
        edit_json("adapter_config.json", lambda m: m.update(labels=["O", "B-X"])),
        "adapter_model.safetensors",
        "2 labels in adapter_config.json",
    ),
    ("config missing", remove("adapter_config.json"), "adapter", "no adapter_config.json"),
]


@pytest.mark.parametrize("case, damage, file, expected", ADAPTER_CASES, ids=[c[0] for c in ADAPTER_CASES])
def test_a_damaged_adapter_names_its_file_and_leaves_the_base_alone(adapter, tmp_path, case, damage, file, expected):
    from tfner.model.adapters import load_adapter
    from tfner.model.lora import variable_paths

    tagger, source = adapter
    before = {k: v.numpy().copy() for k, v in variable_paths(tagger.encoder).items()}
    path = damaged(source, tmp_path, damage)
    with pytest.raises((ValueError, FileNotFoundError)) as caught:
        load_adapter(path, base=tagger)
    assert type(caught.value).__name__ in ("ModelFileError", "FileNotFoundError")
    message = str(caught.value)
    assert message.startswith(path if file == "adapter" else os.path.join(path, file)) and expected in message
    after = variable_paths(tagger.encoder)
    assert set(after) == set(before) and all((after[k].numpy() == v).all() for k, v in before.items())
