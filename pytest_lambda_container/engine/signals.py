"""SIGTERM while containers may exist: the one handler the test run and `serve` share. Light (no docker, no httpx):
the plugin imports it at load."""

from __future__ import annotations

import contextlib
import signal
import threading
from collections.abc import Iterator
from types import FrameType


@contextlib.contextmanager
def sigterm_ends_like_ctrl_c() -> Iterator[None]:
    """While containers may exist, SIGTERM (CI cancelling a job, `timeout`, `docker stop`, a process manager) ends the
    process as Ctrl-C does, with a `KeyboardInterrupt`, so whatever started them removes them on the way out; Python's
    default is to die on the spot and leave them behind. A second SIGTERM kills for real. Used by the test run and by
    `serve`.

    Off the main thread (where no handler can be set), or where someone (xdist, the user) already decided what
    SIGTERM does, nothing changes."""
    if (
        threading.current_thread() is not threading.main_thread()
        or signal.getsignal(signal.SIGTERM) is not signal.SIG_DFL
    ):
        yield
        return

    def interrupt(signum: int, frame: FrameType | None) -> None:
        signal.signal(signal.SIGTERM, signal.SIG_DFL)  # a second SIGTERM kills for real
        raise KeyboardInterrupt(f"pytest-lambda-container: ending on signal {signum}")

    signal.signal(signal.SIGTERM, interrupt)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, signal.SIG_DFL)
