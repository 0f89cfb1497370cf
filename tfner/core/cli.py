"""How every tfner command ends: 0 on success, 2 with one `error: ...` line for bad usage or bad data,
1 for a run that failed. Each command's `main(argv)` is wrapped in `run_command` and raises
`UsageError` (or a data/config error, which is a `ValueError`) for what the user must fix."""

import os
import sys

OK, FAILED, USAGE = 0, 1, 2


class UsageError(ValueError):
    """Bad flags, paths or data: the user's to fix. Printed as one `error: ...` line, exit 2."""


def fail(message, code=USAGE):
    print(f"error: {message}", file=sys.stderr)
    return code


def run_command(main, argv=None, usage_errors=(), failures=()):
    """Call `main(argv)` and turn its errors into the exit convention.

    `usage_errors`: exception types that mean bad input (exit 2, besides `UsageError`, `ValueError`,
    `FileNotFoundError`, `IsADirectoryError`, `NotADirectoryError`); `failures`: types that mean the
    run itself failed (exit 1 with one line). Anything else propagates with its traceback (a bug).
    """
    try:
        code = main(argv)
    except KeyboardInterrupt:
        return fail("interrupted", FAILED)
    except (UsageError, FileNotFoundError, IsADirectoryError, NotADirectoryError, *usage_errors) as e:
        return fail(str(e).strip() or type(e).__name__)
    except failures as e:
        return fail(str(e).strip() or type(e).__name__, FAILED)
    except ValueError as e:
        return fail(str(e).strip() or type(e).__name__)
    return OK if code is None else code


def check_output_file(path, what="output file"):
    """Fail before any work if `path` cannot be written as a file: a folder, or a missing parent folder."""
    if not path:
        return
    if os.path.isdir(path):
        raise UsageError(f"{path}: the {what} is a directory")
    parent = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(parent):
        raise UsageError(f"{path}: the {what}'s folder {parent} does not exist")
    if not os.access(parent, os.W_OK) or (os.path.exists(path) and not os.access(path, os.W_OK)):
        raise UsageError(f"{path}: the {what} is not writable")
