"""The plugin's progress lines on pytest's terminal, and one progress line per file around them.

A build or a container's start speaks during a test's setup, after pytest wrote the file's name and before that
test's letter: left as it is, the name stands alone above the build's lines and the letter alone under them
(`test_app.py ` / build / `E` / `test_app.py EEE`). So a file's name is held back until its first letter, and
written again (on a line of its own) before the next letter whenever a line of ours ended the file's line.

pytest-aware, like plugin.py, which registers one `TerminalLog` for each run.
"""

from __future__ import annotations

import contextlib
import os
import threading
from pathlib import Path
from typing import Any

import pytest

NAME = "lambda_container.terminal"


class TerminalLog:
    """`log(line)`: a progress line on the terminal, past output capturing (builds take minutes: the user must see
    them), whole and at the margin; its hooks keep pytest's progress on one line per file around such lines."""

    def __init__(self, config: pytest.Config) -> None:
        self.config = config
        # A build's heartbeat speaks from its own thread: one line at a time, whole.
        self._lock = threading.Lock()
        #: The file whose name pytest was about to write, held back until its first letter (or a line of ours).
        self._held: Path | None = None
        #: Whether the last thing written is a line of ours.
        self._after_ours = False
        #: Lines said before pytest's terminal was up (a start before the conftests: collecting.py), said once it is.
        self._early: list[str] = []

    @property
    def _reporter(self) -> Any:
        return self.config.pluginmanager.get_plugin("terminalreporter")

    def _plain_progress(self) -> bool:
        """Whether pytest writes files' names and letters (not -v's one line per test, not -q's letters alone)."""
        reporter = self._reporter
        if reporter is None or self.config.pluginmanager.hasplugin("dsession"):  # xdist's controller: its own
            return False
        return reporter.verbosity <= 0 and bool(getattr(reporter, "showfspath", False))

    def __call__(self, line: str) -> None:
        reporter = self._reporter
        if reporter is None:
            with self._lock:
                self._early.append(line)
            return
        capman = self.config.pluginmanager.get_plugin("capturemanager")
        suspended = capman.global_and_fixture_disabled() if capman is not None else contextlib.nullcontext()
        with self._lock, suspended:
            if self._held is not None:
                # pytest believes the file's name is written: the line is ours to start, after a blank one as pytest
                # starts a file's (not right under a line of ours).
                self._held = None
                reporter.currentfspath = None
                if not self._after_ours:
                    reporter.write("\n")
            # pytest's progress may have left its line open (a file's name and letters; with -q, letters alone): end
            # it, so that it stays whole and this line starts at the margin.
            reporter.ensure_newline()
            if self.config.get_terminal_writer().width_of_current_line:
                reporter.write("\n")
            reporter.write_line(f"lambda-container: {line}")
            self._after_ours = True

    @pytest.hookimpl(trylast=True)
    def pytest_sessionstart(self) -> None:
        """The lines said before the terminal was up, under pytest's header."""
        with self._lock:
            early, self._early = self._early, []
        for line in early:
            self(line)

    @pytest.hookimpl(tryfirst=True)
    def pytest_runtest_logstart(self, nodeid: str, location: tuple[str, int | None, str]) -> None:
        reporter = self._reporter
        if self._plain_progress() and reporter.currentfspath is None:
            # pytest writes the name when the current name differs: it sees it written, and writes none.
            self._held = self._fspath(nodeid)
            reporter.currentfspath = self._held

    @pytest.hookimpl(tryfirst=True)
    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        """Before a letter: the file's name, if it was held back or a line of ours ended its line."""
        if not self._plain_progress():
            return
        letter = self.config.hook.pytest_report_teststatus(report=report, config=self.config)[1]
        reporter = self._reporter
        with self._lock:
            if not letter or (self._held is None and reporter.currentfspath is not None):
                return
            fspath = self._fspath(report.nodeid)
            # A line of its own, after a blank one where pytest has one (not right under a line of ours).
            if self.config.get_terminal_writer().width_of_current_line or (self._held and not self._after_ours):
                reporter.write("\n")
            self._after_ours = False
            self._held = None
            reporter.currentfspath = fspath
            reporter.write(os.path.relpath(fspath, reporter.startpath) + " ")

    def _fspath(self, nodeid: str) -> Path:
        return Path(str(self.config.rootpath)) / nodeid.split("::")[0]


def terminal_log(config: pytest.Config) -> TerminalLog:
    """The run's progress lines on the terminal, registered with pytest at the first ask."""
    log = config.pluginmanager.get_plugin(NAME)
    if not isinstance(log, TerminalLog):
        log = TerminalLog(config)
        config.pluginmanager.register(log, NAME)
    return log
