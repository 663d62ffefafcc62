"""What a test's report says about the plugin's errors: a session-fixture failure told in full once, and in one line
pointing at it by every other test; tracebacks that end at the user's code; the container's log attached.

pytest-aware, like plugin.py, which registers `Reports` for each run.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable, Generator, Iterator
from types import FrameType, TracebackType
from typing import TYPE_CHECKING, Any

import pytest

from .config.settings import Settings
from .container.sandbox import cause_in
from .errors import BuildFailed, EngineUnavailable, HandlerImportError, LambdaContainerError, NotOnTarget, Unreachable
from .skipping import NotOnTargetSkip

if TYPE_CHECKING:  # not at run time: importing the plugin must not import the HTTP stack or docker (issue 17)
    import httpx

    from .container.metrics import LazyReport
    from .container.session import LambdaSession

#: The attribute by which a pytest outcome made of a plugin error (`outcome_of`) carries that error.
ERROR_ATTRIBUTE = "lambda_error"
#: What every test after the first says of a failure the first told in full.
UNAVAILABLE = "lambda container unavailable: see the first error above"
#: The most log lines attached to a failed test's report.
LOG_LINES = 200
#: Fixtures after which a failed test gets the container's log attached.
CONTAINER_FIXTURES = {"lambda_container", "lambda_client", "invoke", "lambda_container_factory"}
#: Packages whose frames a plugin error's traceback leaves out: the plugin's, and the HTTP stack under the transport.
HIDDEN_PACKAGES = frozenset({"pytest_lambda_container", "httpx", "httpcore", "anyio"})
STARTED = pytest.StashKey[float]()
CALLS = pytest.StashKey[dict[str, int]]()
#: The last call on each container before the test started (a report, by container id).
CALLED_BEFORE = pytest.StashKey[dict[str, "LazyReport | None"]]()
#: How many 5xx answers the run's clients had got when the test started.
SERVER_ERRORS = pytest.StashKey[int]()
#: Set on a report's excinfo that points at an error told in full before: it gets no log of its own.
POINTER = "lambda_pointer"


def error_of(call: pytest.CallInfo[None]) -> LambdaContainerError | None:
    """The plugin's error that ended this phase, raised as it is or turned into a pytest outcome."""
    value = call.excinfo.value if call.excinfo is not None else None
    if isinstance(value, LambdaContainerError):
        return value
    found = getattr(value, ERROR_ATTRIBUTE, None)
    return found if isinstance(found, LambdaContainerError) else None


def log_section(logs: str) -> str:
    """A container log as a report section: its last LOG_LINES lines, the emulator's made-up figures marked."""
    from .container.metrics import mark_emulator_figures  # a failed container test's; not at every start (issue 17)

    lines = mark_emulator_figures(logs.strip()).splitlines()
    if len(lines) > LOG_LINES:
        lines = [f"... {len(lines) - LOG_LINES} earlier lines left out ...", *lines[-LOG_LINES:]]
    return "\n".join(lines)


def _hidden(frame: FrameType) -> bool:
    return str(frame.f_globals.get("__name__", "")).partition(".")[0] in HIDDEN_PACKAGES


def without_hidden_frames(excinfo: pytest.ExceptionInfo[BaseException]) -> pytest.ExceptionInfo[BaseException]:
    """`excinfo` with the frames of HIDDEN_PACKAGES left out of its traceback (as it is when all are hidden).

    A new traceback chain rather than a filtered `excinfo.traceback`: pytest cuts the traceback at the test
    function by going back to the raw chain, which would bring every frame back.
    """
    frames: list[TracebackType] = []
    tb: TracebackType | None = excinfo.tb
    while tb is not None:
        frames.append(tb)
        tb = tb.tb_next
    kept = [tb for tb in frames if not _hidden(tb.tb_frame)]
    if len(kept) == len(frames) or not kept:
        return excinfo
    chain: TracebackType | None = None
    for tb in reversed(kept):
        chain = TracebackType(chain, tb.tb_frame, tb.tb_lasti, tb.tb_lineno)
    return pytest.ExceptionInfo.from_exc_info((excinfo.type, excinfo.value, chain))  # type: ignore[arg-type]


def _pointer(text: str) -> pytest.ExceptionInfo[BaseException]:
    try:
        pytest.fail(text, pytrace=False)
    except pytest.fail.Exception as exc:
        setattr(exc, POINTER, True)
        return pytest.ExceptionInfo.from_current()


def _same_story(error: LambdaContainerError) -> tuple[str, str] | None:
    """What makes two errors one story, told once: a handler that cannot load, or an address where nothing answers,
    fails each call in the same words (a call's error is a new object each time)."""
    return (type(error).__name__, str(error)) if isinstance(error, (HandlerImportError, Unreachable)) else None


def skipped(report: pytest.TestReport, item: pytest.Item, reason: str) -> None:
    """Make `report` a skip for `reason`: what the run's target cannot do is not a failure of the test (as pytest's own
    skipping plugin turns an xfail's report)."""
    path, lineno, _ = item.reportinfo()
    report.outcome = "skipped"
    report.longrepr = (str(path), (lineno or 0) + 1, f"Skipped: {reason}")


class Reports:
    """The report hooks of one pytest run; `session()` is its `LambdaSession`, once the fixture made it."""

    def __init__(self, session: Callable[[], LambdaSession | None]) -> None:
        self.session = session
        #: Errors told in full so far (by id: the same object comes back from a cached fixture), and by which test.
        self.told: dict[int, tuple[LambdaContainerError, str]] = {}
        #: ... and by their story (`_same_story`), for errors that come back as new objects.
        self.told_stories: dict[tuple[str, str], str] = {}
        #: 5xx answers the run's clients got (`note_response`).
        self.server_errors = 0

    def note_response(self, response: httpx.Response) -> None:
        """An httpx response hook of the plugin's clients: counts 5xx answers, whose test then gets the sandbox's
        likely part in them told (a 500 from the app says nothing of the read-only filesystem behind it)."""
        if response.status_code >= 500:
            self.server_errors += 1

    @pytest.hookimpl(hookwrapper=True)
    def pytest_fixture_setup(self, fixturedef: pytest.FixtureDef[Any]) -> Generator[None, Any, None]:
        """The `lambda_client` (the plugin's or the user's own) counts its 5xx answers (`note_response`)."""
        outcome = yield
        client = outcome.get_result() if fixturedef.argname == "lambda_client" and not outcome.excinfo else None
        if client is None:
            return
        import httpx

        if isinstance(client, httpx.Client) and self.note_response not in client.event_hooks["response"]:
            client.event_hooks["response"] = [*client.event_hooks["response"], self.note_response]

    @pytest.hookimpl(tryfirst=True)
    def pytest_runtest_setup(self, item: pytest.Item) -> None:
        item.stash[STARTED] = time.time()
        session = self.session()
        containers = session.containers if session else []
        item.stash[CALLS] = {c.id: c.invocations for c in containers}
        item.stash[CALLED_BEFORE] = {c.id: c.latest_report for c in containers}
        item.stash[SERVER_ERRORS] = self.server_errors

    @pytest.hookimpl(hookwrapper=True, tryfirst=True)
    def pytest_runtest_makereport(self, item: pytest.Item, call: pytest.CallInfo[None]) -> Generator[None, Any, None]:
        error = error_of(call)
        raised = call.excinfo.value if call.excinfo is not None else None
        if isinstance(error, NotOnTarget) or isinstance(raised, NotOnTargetSkip):
            outcome = yield
            skipped(outcome.get_result(), item, str(error or raised))
            return
        if error is not None and call.excinfo is not None and not call.excinfo.errisinstance(pytest.skip.Exception):
            self._tell_once(item, call, error)
        outcome = yield
        self._attach_logs(item, call, outcome.get_result())

    def _tell_once(self, item: pytest.Item, call: pytest.CallInfo[None], error: LambdaContainerError) -> None:
        """The first report of `error` tells it, its traceback ending at the user's code; later ones point at it."""
        assert call.excinfo is not None
        told = self.told.get(id(error))
        if told is not None and told[0] is error:
            # A failed session fixture is cached by pytest and raised again for every test that needs it.
            call.excinfo = _pointer(f"{UNAVAILABLE} ({type(error).__name__}, at {told[1]})")
            return
        story = _same_story(error)
        if story is not None and story in self.told_stories:
            call.excinfo = _pointer(f"{UNAVAILABLE} ({type(error).__name__}, at {self.told_stories[story]})")
            return
        self.told[id(error)] = (error, f"{call.when} of {item.nodeid}")
        if story is not None:
            self.told_stories[story] = f"{call.when} of {item.nodeid}"
        # httpx's frames and ours tell the user nothing they can act on: the message and the user's lines do.
        call.excinfo = without_hidden_frames(call.excinfo)

    def _attach_logs(self, item: pytest.Item, call: pytest.CallInfo[None], report: pytest.TestReport) -> None:
        """A failed test's report gets the container's log: once, from the error when it carries it, else the lines
        of each container the test invoked, of the test's own calls (by their request ids, `calls_after`)."""
        if not report.failed or (call.excinfo is not None and getattr(call.excinfo.value, POINTER, False)):
            return  # passed, or told in full by another test, its log with it
        from .container.protocol import calls_after  # a failed container test's; not at every start (issue 17)

        shown = set()
        error = error_of(call)
        if error is not None and error.logs.strip():
            what = (
                f"build log {error.dockerfile}"
                if isinstance(error, BuildFailed)
                else f"container log {error.container}"
                if error.container
                else "function log"
            )
            title = f"Captured lambda {what} ({call.when})".replace("  ", " ")
            report.sections.append((title, log_section(error.logs)))
            shown.add(error.container)
        session = self.session()
        if session is None or not CONTAINER_FIXTURES & set(getattr(item, "fixturenames", ())):
            return
        since = item.stash.get(STARTED, None)
        calls_before = item.stash.get(CALLS, {})
        called_before = item.stash.get(CALLED_BEFORE, {})
        for container in session.containers:
            if container.name in shown or calls_before.get(container.id) == container.invocations:
                continue  # shown already, or this test did not invoke it: its log would only be noise
            last = container.last_report
            if last is not None:
                # The engine takes a call's lines in after it answers (later on a loaded machine): once its REPORT
                # line is in (waited for a moment at most), so are the function's own lines before it.
                last.resolve()
            # Read from the test's start, the log can still hold the call before's last lines (the engine takes
            # them in late on a loaded machine): they are told apart by that call's request id.
            previous = called_before.get(container.id)
            before = previous.resolve() if previous is not None else None
            log = calls_after(container.logs(since=since), before.request_id if before is not None else None)
            section = log_section(log)
            if section:
                report.sections.append((f"Captured lambda container log {container.name} ({call.when})", section))
                self._tell_sandbox_cause(item, report, section)

    def _tell_sandbox_cause(self, item: pytest.Item, report: pytest.TestReport, log: str) -> None:
        """Under a failure with a 5xx answer, the log line that shows the sandbox at work and what to do about it:
        the app answered 500 for an `OSError` the test would otherwise only see as `assert 500 == 200`."""
        if self.server_errors <= item.stash.get(SERVER_ERRORS, self.server_errors):
            return
        found = cause_in(log)
        if found is None:
            return
        line, hint = found
        text = f"a 5xx answer, and the function's log says:\n    {line}\n{hint}"
        title = "lambda sandbox: the likely cause"
        add = getattr(report.longrepr, "addsection", None)  # a traceback's: shown under it, before the captured output
        if callable(add):
            add(title, text)
        else:
            report.sections.append((title, text))


def outcome_of(exc: LambdaContainerError, settings: Settings) -> BaseException:
    """The pytest outcome for a plugin error: a skip (no engine, when asked) or a failure without traceback."""
    try:
        if isinstance(exc, NotOnTarget):
            pytest.skip(str(exc))
        if isinstance(exc, EngineUnavailable) and settings.skip_no_docker:
            pytest.skip(f"no Docker engine: {exc}")
        pytest.fail(f"{type(exc).__name__}: {exc}", pytrace=False)
    except BaseException as outcome:  # pytest's outcomes are BaseExceptions
        setattr(outcome, ERROR_ATTRIBUTE, exc)  # its container log goes into the report
        return outcome


@contextlib.contextmanager
def surfaced(settings: Settings) -> Iterator[None]:
    """Plugin errors raised within, as pytest outcomes (`outcome_of`)."""
    try:
        yield
    except LambdaContainerError as exc:
        # `from None`: the message says it all; docker's traceback under it would only bury it.
        raise outcome_of(exc, settings) from None
