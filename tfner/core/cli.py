"""How every tfner command ends: 0 on success, 2 with one `error: ...` line for bad usage or bad data,
1 for a run that failed. Each command's `main(argv)` is wrapped in `run_command` and raises
`UsageError` (or a data/config error, which is a `ValueError`) for what the user must fix.

`stop_on_signals` turns SIGTERM and SIGINT into an `Interrupted` exception (a `KeyboardInterrupt`, so
the run unwinds and keeps what lets it resume), with a watchdog that ends the process if TensorFlow does
not return to Python soon after (a collective op waiting for a worker that is gone)."""

import contextlib
import os
import signal
import socket
import sys
import threading

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
    except KeyboardInterrupt as e:
        return fail(str(e).strip() or "interrupted", FAILED)
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


def check_output_dir(path, markers=(), what="output dir"):
    """Fail before any work if `path` cannot be the folder a run writes: a file, a folder inside a file,
    not writable, or a non-empty folder holding none of `markers` (the names a run of this kind writes,
    so an earlier run may be reused but not an unrelated folder)."""
    if os.path.exists(path) and not os.path.isdir(path):
        raise UsageError(f"{path}: the {what} is a file, not a folder")
    parent = path
    while not os.path.exists(parent):  # the nearest existing folder, where it would be created
        parent = os.path.dirname(os.path.abspath(parent))
    if not os.path.isdir(parent):
        raise UsageError(f"{path}: the {what} cannot be created: {parent} is a file, not a folder")
    if not os.access(parent, os.W_OK | os.X_OK):
        raise UsageError(f"{path}: the {what} is not writable ({parent} is not)")
    if parent == path and markers:
        names = sorted(os.listdir(path))
        if names and not any(m in names for m in markers):
            shown = ", ".join(names[:3]) + (", ..." if len(names) > 3 else "")
            raise UsageError(
                f"{path}: the {what} holds files that are not from an earlier run ({shown}); "
                "pick a new or an empty folder"
            )


class Interrupted(KeyboardInterrupt):
    """SIGTERM or SIGINT arrived (`stop_on_signals`); its message says which."""


_SIGNALS = (signal.SIGINT, signal.SIGTERM)
_active = []  # the stop_on_signals handler in force, at most one


def _raise_interrupted(signum, frame):
    raise Interrupted(f"stopped by {signal.Signals(signum).name}")


def reinstall_signal_handlers():
    """Take SIGTERM/SIGINT back after a library installed its own handler (TensorFlow's coordination
    service catches SIGTERM for its preemption notice once a multi-worker strategy exists, and would
    swallow it); a no-op outside `stop_on_signals`."""
    if _active and threading.current_thread() is threading.main_thread():
        for signum in _SIGNALS:
            signal.signal(signum, _raise_interrupted)


@contextlib.contextmanager
def stop_on_signals(grace=30.0, note=""):
    """SIGTERM and SIGINT raise `Interrupted` in the main thread while the block runs.

    Python runs signal handlers only between bytecodes of the main thread; an op blocked in TensorFlow
    (a collective waiting for a dead worker) would never see one. A watchdog thread woken through
    `signal.set_wakeup_fd` gives the main thread `grace` seconds to unwind, then prints one
    `error: ...` line (with `note`, e.g. how to resume) and ends the process with exit 1. Outside the
    main thread, or when already active, it does nothing.
    """
    if _active or threading.current_thread() is not threading.main_thread():
        yield
        return
    read, write = socket.socketpair()
    write.setblocking(False)
    previous = {signum: signal.getsignal(signum) for signum in _SIGNALS}
    previous_fd = signal.set_wakeup_fd(write.fileno(), warn_on_full_buffer=False)
    done = threading.Event()

    def watchdog():
        with read:
            while not done.is_set():
                data = read.recv(1)
                if data and data[0] in set(_SIGNALS) and not done.is_set():
                    break
            else:
                return
        if done.wait(grace):
            return  # the block unwound in time
        # Still inside the block: the main thread is stuck in native code.
        name = signal.Signals(data[0]).name
        message = f"error: stopped by {name}; TensorFlow did not return within {grace:g} s, so the process ends now"
        print(message + (f". {note}" if note else ""), file=sys.stderr, flush=True)
        os._exit(FAILED)

    thread = threading.Thread(target=watchdog, name="tfner-signal-watchdog", daemon=True)
    _active.append(thread)
    for signum in _SIGNALS:
        signal.signal(signum, _raise_interrupted)
    thread.start()
    try:
        yield
    finally:
        _active.clear()
        for signum, handler in previous.items():
            signal.signal(signum, handler if handler is not None else signal.SIG_DFL)
        signal.set_wakeup_fd(previous_fd)
        done.set()
        with contextlib.suppress(OSError):
            write.send(b"\0")  # wakes a watchdog still waiting for a signal
        thread.join(1.0)
        write.close()
