"""SIGTERM and SIGINT (tfner.core.cli.stop_on_signals): an `Interrupted` error in the main thread, one
`error: stopped by SIGTERM` line and exit 1, and a watchdog for a process stuck in native code."""

import os
import signal
import subprocess
import sys
import textwrap
import time

import pytest
from helpers import subprocess_env

from tfner.core.cli import Interrupted, run_command, stop_on_signals


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT])
def test_a_signal_raises_interrupted_and_the_handlers_are_put_back(signum):
    before = signal.getsignal(signum)
    with pytest.raises(Interrupted, match=f"stopped by {signal.Signals(signum).name}"):
        with stop_on_signals():
            os.kill(os.getpid(), signum)
            time.sleep(5)  # the handler raises long before this ends
    assert signal.getsignal(signum) == before
    assert signal.set_wakeup_fd(-1) == -1  # the wake-up descriptor was given back too


def test_run_command_reports_the_signal_on_one_line_and_exits_1(capsys):
    def main(argv):
        with stop_on_signals():
            os.kill(os.getpid(), signal.SIGTERM)
            time.sleep(5)

    assert run_command(main) == 1
    assert capsys.readouterr().err == "error: stopped by SIGTERM\n"


def test_nested_and_quiet_blocks_leave_the_handlers_alone():
    before = signal.getsignal(signal.SIGTERM)
    with stop_on_signals():
        inner = signal.getsignal(signal.SIGTERM)
        with stop_on_signals():  # the outer one stays in charge
            assert signal.getsignal(signal.SIGTERM) == inner
        assert signal.getsignal(signal.SIGTERM) == inner
    assert signal.getsignal(signal.SIGTERM) == before


STUCK = """
import ctypes, signal, sys
from tfner.core.cli import run_command, stop_on_signals

def main(argv):
    with stop_on_signals(grace=1.0, note="the backup lets the same command resume"):
        # As a collective op waiting for a dead worker: native code that does not return to Python.
        # With the signal blocked here the kernel delivers it to another thread, so sleep() runs on.
        signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGTERM})
        sleep = ctypes.CDLL(None).sleep
        print("stuck", flush=True)
        sleep(60)

sys.exit(run_command(main))
"""


def test_the_watchdog_ends_a_process_stuck_in_native_code(tmp_path):
    script = tmp_path / "stuck.py"
    script.write_text(textwrap.dedent(STUCK))
    proc = subprocess.Popen(
        [sys.executable, str(script)], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=subprocess_env()
    )
    try:
        assert proc.stdout.readline() == "stuck\n"
        time.sleep(0.5)  # into sleep(): a signal before it would be handled at once, in Python
        sent = time.monotonic()
        proc.send_signal(signal.SIGTERM)
        _, err = proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 1, err
    assert 1.0 <= time.monotonic() - sent < 15, err
    assert err.strip() == (
        "error: stopped by SIGTERM; TensorFlow did not return within 1 s, so the process ends now. "
        "the backup lets the same command resume"
    )
