"""The README as a new user runs it: every command of its shell blocks, one test each, in README order.

The cheap ones run as written (in-process, from a scratch folder that has the repository's `examples/` and a
tiny random model as `runs/clinical`): `--help`, `tfner check`/`convert` on the shipped examples, the
synthetic-notes generator, `tfner predict`/`evaluate`/`calibrate`/`deid` with `runs/clinical`, `tfner tune
--show-space`. The others (training, searches, exports, data under ../shared) are parsed by their command's
own argparse parser without running, so a flag that does not exist or a literal `...` fails; `make`
targets must exist in the Makefile, scripts and `examples/` files in the repository, `python -c` code
must compile, and the imports of every Python block must resolve. A command nothing here knows how to
check (a new program) fails until it is given a rule.
"""

import argparse
import ast
import os
import re
import shlex
import threading

import helpers
import pytest

README = os.path.join(helpers.ROOT, "README.md")

# Programs the README shows that cannot be checked here, and why.
EXTERNAL = {
    "docker": "TF Serving runs in Docker, not installed here",
    ".venv/bin/saved_model_cli": "TensorFlow's own tool; needs an export",
}

# Commands known to fail as written (checked, not required): none left.
KNOWN = {}


def blocks(lang):
    """(line, section, text) of every fenced block of `lang` in the README."""
    out, section, inside, start, lines = [], "", None, 0, []
    with open(README, encoding="utf-8") as f:
        for number, line in enumerate(f, 1):
            if inside is None and line.startswith("## "):
                section = line[3:].strip()
            if line.startswith("```"):
                if inside is None:
                    inside, start, lines = line[3:].strip(), number, []
                else:
                    if inside == lang:
                        out.append((start, section, "".join(lines)))
                    inside = None
            elif inside is not None:
                lines.append(line)
    return out


def commands():
    """(line, section, text, tokens) of each command: continuations joined, variables the block sets
    expanded, comments dropped; assignments (`ARGS=...`, `export A=1`) only set variables."""
    out = []
    for start, section, text in blocks("bash"):
        variables, pending = {}, []
        for number, line in enumerate(text.splitlines(), start + 1):
            pending.append((number, line))
            if line.endswith("\\"):
                continue
            number = pending[0][0]
            line = " ".join(l[:-1].strip() if l.endswith("\\") else l.strip() for _, l in pending)
            pending = []
            expand = lambda m, variables=variables: variables.get(m.group(1), m.group(0))
            tokens = shlex.split(re.sub(r"\$\{?(\w+)\}?", expand, line), comments=True)
            if tokens[:1] == ["export"]:
                tokens = tokens[1:]
            env = 0
            while env < len(tokens) and re.match(r"^[A-Za-z_]\w*=", tokens[env]):
                env += 1
            if tokens and env == len(tokens):
                variables.update(t.split("=", 1) for t in tokens)
            elif tokens:
                out.append((number, section, line.split(" #")[0].strip(), tokens[env:]))
    return out


class Parsed(Exception):
    """Raised by the patched argparse once the command's parser has parsed its arguments."""


@pytest.fixture
def parse_only(monkeypatch):
    """argparse patched to stop with `Parsed(namespace, extras)` right after parsing."""
    state = threading.local()
    parse_args, parse_known_args = argparse.ArgumentParser.parse_args, argparse.ArgumentParser.parse_known_args

    def patched_parse_args(self, args=None, namespace=None):
        state.inside = True
        try:
            namespace = parse_args(self, args, namespace)
        finally:
            state.inside = False
        raise Parsed(namespace, [])

    def patched_parse_known_args(self, args=None, namespace=None):
        namespace, extras = parse_known_args(self, args, namespace)
        if getattr(state, "inside", False):
            return namespace, extras
        raise Parsed(namespace, extras)

    monkeypatch.setattr(argparse.ArgumentParser, "parse_args", patched_parse_args)
    monkeypatch.setattr(argparse.ArgumentParser, "parse_known_args", patched_parse_known_args)


@pytest.fixture(scope="module")
def workdir(tmp_path_factory):
    """A scratch folder with the repository's examples/ and a tiny random model as runs/clinical."""
    from tfner.model.tagger import Tagger

    root = tmp_path_factory.mktemp("readme")
    os.symlink(os.path.join(helpers.ROOT, "examples"), root / "examples")
    config = helpers.tiny_config(
        root / "clinical",
        encoder_overrides=dict(helpers.SMALLEST),
        synthetic_test=4,
        output_dir=str(root / "runs/clinical"),
    )
    Tagger.build(config.model, helpers.note_labels()).save(config.output_dir, config)
    return root


def tfner_argv(tokens):
    """The `tfner` argv of a `tfner ...` or `python -m tfner.X ...` command, else None."""
    if tokens[0] == "tfner":
        return tokens[1:]
    if tokens[0] in ("python", ".venv/bin/python") and tokens[1:2] == ["-m"] and tokens[2].startswith("tfner."):
        return [tokens[2].split(".", 1)[1], *tokens[3:]]
    return None


def runs_here(argv):
    """Whether a `tfner` command is cheap enough to run here: on the shipped examples, the generated
    notes or the tiny runs/clinical, never on ../shared data, never training or a search."""
    if argv[:1] in (["--help"], ["check"], ["convert"]):
        return not any(a.startswith("../") for a in argv)
    if argv[:1] == ["tune"]:
        return argv[1:] == ["--show-space"]
    return argv[:1] in (["predict"], ["evaluate"], ["calibrate"], ["deid"]) and "runs/clinical" in argv


def parse(argv, main):
    """Run `main(argv)` until its parser has parsed; the parsed namespace, or fail with what argparse said."""
    try:
        code = main(argv)
    except Parsed as parsed:
        namespace, extras = parsed.args
        if extras and not getattr(namespace, "runner", None):  # only `tfner deid --runner` passes flags on
            pytest.fail(f"unrecognized arguments: {extras}")
        return namespace
    except SystemExit as e:
        code = e.code
    pytest.fail(f"the parser refused it (exit {code}): see stderr")


def check_paths(tokens):
    """Repository files a command names (examples/, experiments/, the script it runs) must exist."""
    for token in tokens:
        for value in token.split("="):
            if value.startswith(("examples/", "experiments/")) and not value.endswith("/"):
                assert os.path.exists(os.path.join(helpers.ROOT, value)), f"{value} is not in the repository"


COMMANDS = commands()


@pytest.mark.parametrize(
    "line, section, text, tokens",
    [
        pytest.param(*c, marks=[pytest.mark.xfail(reason=KNOWN[c[2]], strict=False)] if c[2] in KNOWN else [])
        for c in COMMANDS
    ],
    ids=[f"{line}: {text[:60]}" for line, _, text, _ in COMMANDS],
)
def test_readme_command(line, section, text, tokens, workdir, monkeypatch, capsys, request):
    assert "..." not in tokens, "a literal `...` in a command"
    check_paths(tokens)
    program, redirect = tokens[0], None
    if ">" in tokens:
        at = tokens.index(">")
        tokens, redirect = tokens[:at], tokens[at + 1]
    tokens = [t for t in tokens if t != "&"]
    argv = tfner_argv(tokens)
    monkeypatch.chdir(workdir)
    if program in EXTERNAL:
        pytest.skip(f"{program}: {EXTERNAL[program]}")
    elif program == "make":
        with open(os.path.join(helpers.ROOT, "Makefile")) as f:
            targets = re.findall(r"^([\w-]+):", f.read(), re.M)
        assert set(tokens[1:]) <= set(targets)
    elif program == ".":
        assert tokens[1] == ".venv/bin/activate"  # made by the set-up commands
    elif argv is not None:
        from tfner.cli import main

        if runs_here(argv):
            code = main(argv)
            out = capsys.readouterr()
            assert code == 0, out.err[-2000:]
            if redirect:
                (workdir / redirect).write_text(out.out)
        else:
            request.getfixturevalue("parse_only")
            parse(argv, main)
    elif program in ("python", ".venv/bin/python") and tokens[1] == "-c":
        code = tokens[2]
        compile(code, "<python -c>", "exec")
        if "generate_notes" in code:  # the notes later commands read
            exec(code, {})
            # Calibrating a random model is the slow worst case (no threshold reaches the target, so the
            # whole grid is tried): 8 of the 200 validation notes keep it to seconds.
            lines = (workdir / "val.jsonl").read_text().splitlines(keepends=True)
            (workdir / "val.jsonl").write_text("".join(lines[:8]))
    elif program in ("python", ".venv/bin/python") and tokens[1].endswith(".py"):
        script = os.path.join(helpers.ROOT, tokens[1])
        assert os.path.isfile(script)
        namespace = {"__name__": "readme_script", "__file__": script}
        exec(compile(open(script).read(), script, "exec"), namespace)
        request.getfixturevalue("parse_only")
        monkeypatch.setattr("sys.argv", [script, *tokens[2:]])  # scripts whose main() reads sys.argv
        parse(tokens[2:], lambda argv: namespace["main"](*([argv] if namespace["main"].__code__.co_argcount else [])))
    else:
        pytest.fail(f"no rule for {program!r}: run it, parse it, or name it in EXTERNAL")


PYTHON_BLOCKS = blocks("python")


@pytest.mark.parametrize("line, section, text", PYTHON_BLOCKS, ids=[f"{b[0]}" for b in PYTHON_BLOCKS])
def test_readme_python_block_compiles_and_its_imports_resolve(line, section, text):
    tree = ast.parse(text, f"README.md:{line}")
    imports = [node for node in tree.body if isinstance(node, (ast.Import, ast.ImportFrom))]
    exec(compile(ast.Module(body=imports, type_ignores=[]), f"README.md:{line}", "exec"), {})
