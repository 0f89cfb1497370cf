"""`tfner export` hardening: safe model names, positive versions and a directory as output root, all
refused before the model loads; exports readable by other users (the umask's permissions); no empty
model folder left behind by a failed export."""

import os
import stat

import pytest

BAD_NAMES = ["../escape", "", "a/b", ".", "..", "a b", "x\\y", "name\n"]


@pytest.fixture
def no_load(monkeypatch):
    """Fail the test if the CLI loads the model: the flag checks must come first."""
    import tfner

    def load(path):
        raise AssertionError(f"the model was loaded ({path}) before the flags were checked")

    monkeypatch.setattr(tfner, "load", load)


def one_error_line(capsys):
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("error: "), err
    return err[0]


def entries(folder):
    return sorted(os.path.relpath(os.path.join(d, f), folder) for d, ds, fs in os.walk(folder) for f in ds + fs)


@pytest.mark.parametrize("name", BAD_NAMES + ["ABSOLUTE"])
def test_cli_refuses_unsafe_names_before_loading(name, tmp_path, capsys, no_load):
    from tfner.serving.export import main

    if name == "ABSOLUTE":
        name = str(tmp_path / "elsewhere")
    root = tmp_path / "area" / "saved_models"
    assert main([str(tmp_path / "no-such-model"), "--name", name, "--output-root", str(root)]) == 2
    line = one_error_line(capsys)
    assert line.startswith("error: --name ") and "letters, digits" in line
    assert entries(tmp_path) == []  # nothing written: not the root, not `escape`, not `elsewhere`


@pytest.mark.parametrize("name", BAD_NAMES + ["/abs/dir", None, 3])
def test_export_refuses_unsafe_names(name, tmp_path):
    from tfner.core.cli import UsageError
    from tfner.serving.export import export

    with pytest.raises(UsageError, match="letters, digits"):  # a ValueError, checked before the tagger is used
        export(None, name, output_root=str(tmp_path / "sm"), log=lambda m: None)
    assert entries(tmp_path) == []
    assert issubclass(UsageError, ValueError)


@pytest.mark.parametrize("name", ["notes", "notes-v2.1", "A_b", "..."])
def test_safe_names_pass_the_check(name, tmp_path):
    from tfner.serving.export import check_target

    check_target(name, 1, str(tmp_path / "sm"))
    check_target(name, None, str(tmp_path / "sm"))


@pytest.mark.parametrize("version", ["0", "-1"])
def test_cli_refuses_a_version_below_1_before_loading(version, tmp_path, capsys, no_load):
    from tfner.serving.export import main

    argv = [str(tmp_path / "no-such-model"), "--name", "notes", "--version", version]
    assert main(argv + ["--output-root", str(tmp_path / "sm")]) == 2
    assert one_error_line(capsys) == f"error: --version {version}: the version must be a positive integer (1, 2, ...)"
    assert entries(tmp_path) == []


@pytest.mark.parametrize("version", [0, -3, "0", True])
def test_export_refuses_a_version_below_1(version, tmp_path):
    from tfner.serving.export import export

    with pytest.raises(ValueError, match="positive integer"):
        export(None, "notes", version=version, output_root=str(tmp_path / "sm"), log=lambda m: None)
    assert entries(tmp_path) == []


@pytest.mark.parametrize("where", ["root", "name", "parent"])
def test_cli_refuses_a_file_as_output_root_before_loading(where, tmp_path, capsys, no_load):
    from tfner.serving.export import main

    blocker = tmp_path / "taken"
    blocker.write_text("not a folder")
    root = {"root": blocker, "name": tmp_path, "parent": blocker / "sub"}[where]
    name = "taken" if where == "name" else "notes"
    assert main([str(tmp_path / "no-such-model"), "--name", name, "--output-root", str(root)]) == 2
    assert one_error_line(capsys) == f"error: --output-root {root}: {blocker} exists and is not a directory"
    assert blocker.read_text() == "not a folder" and entries(tmp_path) == ["taken"]


def test_a_failed_export_leaves_no_empty_name_folder(tiny_tagger, tmp_path, monkeypatch):
    from tfner.serving import export as export_module

    def broken(path, *args):
        open(os.path.join(path, "saved_model.pb"), "w").close()  # half written
        raise RuntimeError("disk full")

    monkeypatch.setattr(export_module, "_write", broken)
    with pytest.raises(RuntimeError, match="disk full"):
        export_module.export(tiny_tagger, "notes", output_root=str(tmp_path), log=lambda m: None)
    assert entries(tmp_path) == []  # neither the version's temporary folder nor notes/
    (tmp_path / "kept" / "1").mkdir(parents=True)  # a model folder that was there before is kept
    with pytest.raises(RuntimeError, match="disk full"):
        export_module.export(tiny_tagger, "kept", output_root=str(tmp_path), log=lambda m: None)
    assert entries(tmp_path) == ["kept", os.path.join("kept", "1")]


def test_good_cli_export_is_readable_by_other_users(tiny_tagger, tmp_path, capsys):
    from tfner.serving.export import main

    model = tmp_path / "model"
    tiny_tagger.save(str(model))
    root = tmp_path / "sm"
    old = os.umask(0o022)
    try:
        assert main([str(model), "--name", "notes", "--output-root", str(root)]) == 0
    finally:
        os.umask(old)
    version = root / "notes" / "1"
    assert f"exported {version} with signatures predict_text, serving_default" in capsys.readouterr().out
    assert os.listdir(root / "notes") == ["1"]
    mode = lambda path: stat.S_IMODE(os.stat(path).st_mode)
    assert mode(version) == 0o755
    assert mode(version / "saved_model.pb") == 0o644 and mode(version / "assets" / "labels.json") == 0o644
    for rel in entries(version):  # everything inside: folders 0755, files 0644 (readable, not writable)
        path = version / rel
        assert mode(path) == (0o755 if path.is_dir() else 0o644), rel
