"""SIGTERM ends a test run and `serve` as Ctrl-C does (one helper, `engine.signals.sigterm_ends_like_ctrl_c`), so their
containers are removed on the way out; a handler someone else set is left alone. Run in a child process: signal
handlers are process-wide, and the test run's own must not change."""

from __future__ import annotations

import subprocess
import sys

import pytest

SCRIPT = """
import os, signal
from pytest_lambda_container.engine.signals import sigterm_ends_like_ctrl_c

{setup}
try:
    with sigterm_ends_like_ctrl_c():
        os.kill(os.getpid(), signal.SIGTERM)
        print("not interrupted")
except KeyboardInterrupt as exc:
    print("interrupted:", exc, "| then:", signal.getsignal(signal.SIGTERM) is signal.SIG_DFL)
print("after:", signal.getsignal(signal.SIGTERM) is signal.SIG_DFL)
"""


def run(setup: str = "") -> list[str]:
    done = subprocess.run(
        [sys.executable, "-c", SCRIPT.format(setup=setup)], capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr
    return done.stdout.splitlines()


def test_sigterm_is_a_keyboard_interrupt_and_a_second_one_kills() -> None:
    assert run() == [
        "interrupted: pytest-lambda-container: ending on signal 15 | then: True",  # the next SIGTERM: Python's default
        "after: True",
    ]


def test_a_handler_someone_else_set_is_left_alone() -> None:
    setup = "signal.signal(signal.SIGTERM, lambda signum, frame: print('their handler'))"
    assert run(setup) == ["their handler", "not interrupted", "after: False"]


@pytest.mark.parametrize("module", ["pytest_lambda_container.plugin", "pytest_lambda_container.cli.serve"])
def test_the_test_run_and_serve_use_the_one_helper(module: str) -> None:
    """Neither sets a SIGTERM handler of its own."""
    import importlib
    import inspect

    source = inspect.getsource(importlib.import_module(module))
    assert "signal.signal(" not in source and "with sigterm_ends_like_ctrl_c():" in source
