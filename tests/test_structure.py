"""The package's structure: the import layers contract holds, and it would catch a backward import."""

import os
import shutil
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
LINT_IMPORTS = os.path.join(os.path.dirname(sys.executable), "lint-imports")


def lint_imports(root):
    env = {**os.environ, "PYTHONPATH": root}
    return subprocess.run(
        [LINT_IMPORTS, "--config", os.path.join(root, "pyproject.toml"), "--no-cache"],
        cwd=root,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_stages_import_only_earlier_stages_and_nothing_imports_back():
    result = lint_imports(ROOT)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "0 broken" in result.stdout


def test_the_contract_fails_on_an_import_from_an_early_stage_to_a_later_one(tmp_path):
    shutil.copytree(os.path.join(ROOT, "tfner"), tmp_path / "tfner", ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(os.path.join(ROOT, "pyproject.toml"), tmp_path / "pyproject.toml")
    readers = tmp_path / "tfner" / "data" / "readers.py"
    readers.write_text(readers.read_text() + "\nfrom tfner.training import train  # noqa: E402,F401\n")
    result = lint_imports(str(tmp_path))
    assert result.returncode != 0
    assert "tfner.data.readers -> tfner.training.train" in result.stdout


def test_the_tfner_command_lists_every_subcommand():
    from tfner.cli import COMMANDS, main, usage

    assert main(["--help"]) == 0
    for name in ("train", "evaluate", "predict", "export", "tune"):
        assert name in COMMANDS and f"  {name}" in usage()
    assert main(["no-such-command"]) == 2
