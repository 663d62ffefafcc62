"""What an invocation ended with, mapped to the plugin's errors in one place (container/outcome.py), for every
outcome and every target: a function error, a timeout, the caller's timeout, a kill for memory, a runtime that exited.

Lambda's shapes: a timeout is `Sandbox.Timedout` with "Task timed out after N seconds" and a kill for memory is
`Runtime.OutOfMemory` (https://docs.aws.amazon.com/lambda/latest/dg/troubleshooting-invocation.html); the emulator
answers a timeout as plain text and a kill as `Runtime.ExitError` "signal: killed"."""

from __future__ import annotations

import time

import httpx
import pytest

from pytest_lambda_container import (
    CallerTimeout,
    FunctionError,
    FunctionOutOfMemory,
    FunctionTimeout,
    HandlerImportError,
    IntegrationTimeout,
    InvocationError,
    LambdaContainerError,
)
from pytest_lambda_container.container import metrics, outcome
from pytest_lambda_container.container.function import LambdaContainer

KILLED = FunctionError("Runtime.ExitError", "RequestId: r1 Error: Runtime exited with error: signal: killed")


def test_a_result_is_a_result_and_an_error_payload_a_function_error() -> None:
    assert outcome.decode_answer(200, '{"errorMessage": "x", "note": 1}', {}, timeout=3) == {
        "errorMessage": "x",
        "note": 1,
    }
    error = outcome.function_error({"errorType": "KeyError", "errorMessage": "'a'", "stackTrace": ["  File x"]})
    assert type(error) is FunctionError and error.error_type == "KeyError" and error.stack_trace == ["  File x"]
    assert outcome.as_lambda_reports_it(error, timeout=3) is error
    assert isinstance(
        outcome.function_error({"errorType": "Runtime.HandlerNotFound", "errorMessage": "x"}), HandlerImportError
    )


@pytest.mark.parametrize(
    "error",
    [
        FunctionError("Sandbox.Timedout", "RequestId: 6f1a Error: Task timed out after 3.00 seconds"),
        FunctionError("Error", "2024-05-01T10:00:00.000Z 6f1a Task timed out after 3.00 seconds"),
    ],
)
def test_lambdas_timeout_is_a_function_timeout(error: FunctionError) -> None:
    timeout = outcome.as_lambda_reports_it(error, timeout=3, deployed=True)
    assert type(timeout) is FunctionTimeout and timeout.timeout == 3
    assert "Task timed out after 3.00 seconds" in str(timeout) and "deployed function's own timeout" in str(timeout)


def test_every_target_words_a_timeout_the_same() -> None:
    """The emulator's plain-text answer and the in-process function's own timeout read alike."""
    with pytest.raises(FunctionTimeout) as emulator:
        outcome.decode_answer(200, "Task timed out after 2.00 seconds", {}, timeout=2)
    in_process = outcome.timed_out(outcome.timeout_line(2), timeout=2)
    assert str(emulator.value) == str(in_process)
    assert str(in_process) == (
        "the function timed out: Task timed out after 2.00 seconds (the limit is 2s; raise it with --lambda-timeout "
        "or ini lambda_timeout)"
    )


def test_the_callers_timeout_is_its_own_error_not_the_functions() -> None:
    error = outcome.caller_timeout(29, timeout=300, then="the call runs on")
    assert isinstance(error, CallerTimeout) and isinstance(error, InvocationError)
    assert not isinstance(error, FunctionTimeout) and error.timeout == 29
    assert "stopped waiting after 29s" in str(error) and "own timeout is 300s" in str(error)
    # The front's integration timeout is a caller's timeout: the front was the caller.
    assert issubclass(IntegrationTimeout, CallerTimeout) and issubclass(CallerTimeout, LambdaContainerError)


def test_lambdas_out_of_memory_is_kept_as_it_is() -> None:
    error = FunctionError("Runtime.OutOfMemory", "RequestId: r Error: Runtime exited with error: signal: killed")
    oom = outcome.as_lambda_reports_it(error, timeout=3, deployed=True)
    assert type(oom) is FunctionOutOfMemory and oom.error_message == error.error_message


def test_a_kill_with_the_oom_count_up_is_out_of_memory() -> None:
    asked: list[bool] = []

    def oom_killed() -> bool:
        asked.append(True)
        return True

    oom = outcome.as_lambda_reports_it(KILLED, timeout=3, oom_killed=oom_killed, memory=512)
    assert isinstance(oom, FunctionOutOfMemory) and oom.error_type == "Runtime.OutOfMemory"
    assert "signal: killed" in str(oom) and "512 MB" in str(oom) and "--lambda-memory" in str(oom)
    assert asked == [True]


def test_the_memory_watch_that_tripped_is_out_of_memory() -> None:
    oom = outcome.out_of_memory(memory=128, stopped=300)
    assert oom.error_type == "Runtime.OutOfMemory"
    assert "went past its 128 MB (stopped at 300 MB; files in /tmp apart)" in oom.error_message


def test_a_runtime_that_exited_otherwise_stays_the_emulators_error() -> None:
    """Killed with the OOM count unchanged, or exited on its own: `Runtime.ExitError`, as the emulator says."""
    assert outcome.as_lambda_reports_it(KILLED, timeout=3, oom_killed=lambda: False) is KILLED
    exited = FunctionError("Runtime.ExitError", "RequestId: r Error: Runtime exited with error: exit status 3")
    never: list[bool] = []
    assert outcome.as_lambda_reports_it(exited, timeout=3, oom_killed=lambda: never.append(True) or True) is exited
    assert never == []  # only a killed runtime has its OOM count read
    with pytest.raises(InvocationError, match=r"empty response.*runtime process exited") as empty:
        outcome.decode_answer(200, "", {}, timeout=3)
    assert type(empty.value) is InvocationError


def test_other_errors_go_through_the_targets_explanation() -> None:
    error = FunctionError("OSError", "[Errno 30] Read-only file system")
    seen: list[FunctionError] = []
    assert outcome.as_lambda_reports_it(error, timeout=3, explain=lambda e: seen.append(e) or e) is error
    assert seen == [error]


#: aws-lambda-rie's log of a call refused during the reset after a timeout, answered with an empty HTTP 502 (captured
#: here: an AWS base image, a 1 s timeout, its init ended at 1 s, the next call at once).
REFUSED_LOG = """\
07 Dec 2026 21:25:31,684 [WARNING] (rapid) Reset initiated: Timeout
START RequestId: 916a9ee8-90ee-4946-bdb6-925928dfc0df Version: $LATEST
07 Dec 2026 21:25:31,861 [INFO] (rapid) INIT START(type: on-demand, phase: invoke)
07 Dec 2026 21:25:31,862 [INFO] (rapid) INVOKE START(requestId: 916a9ee8-90ee-4946-bdb6-925928dfc0df)
07 Dec 2026 21:25:31,862 [ERROR] (rapid) Invoke failed error=ErrGateCanceled \
InvokeID=916a9ee8-90ee-4946-bdb6-925928dfc0df
07 Dec 2026 21:25:31,862 [ERROR] (rapid) Invoke DONE failed: Sandbox.Failure
07 Dec 2026 21:25:31,862 [WARNING] (rapid) Reset initiated: ReleaseFail
"""
#: Its log of a runtime that exited during the call (captured: `sys.exit(3)` in the handler).
EXITED_LOG = """\
07 Dec 2026 21:28:04,795 [INFO] (rapid) INVOKE START(requestId: b3ad185b-5d62-4c43-977a-26156070df05)
07 Dec 2026 21:28:04,797 [ERROR] (rapid) Invoke failed error=Runtime exited with error: exit status 3 \
InvokeID=b3ad185b-5d62-4c43-977a-26156070df05
07 Dec 2026 21:28:04,797 [ERROR] (rapid) Invoke DONE failed: Runtime.ExitError
"""


def test_a_refusal_during_a_reset_that_the_answer_does_not_say_is_read_from_the_log() -> None:
    """An empty 502 is a refusal (sent again: the function never saw the event) only where the log says so for that
    call; a runtime that exited ran the event (never sent again); no verdict yet is None (the log is waited for)."""
    refused = "916a9ee8-90ee-4946-bdb6-925928dfc0df"
    assert outcome.refused_in_log(REFUSED_LOG) == (True, refused)
    assert outcome.refused_in_log(EXITED_LOG) == (False, "b3ad185b-5d62-4c43-977a-26156070df05")
    assert outcome.refused_in_log("START RequestId: r Version: $LATEST\n") is None
    # An earlier call's refusal, read late in this call's log, is not this call's.
    assert outcome.refused_in_log(REFUSED_LOG, told={refused}) is None
    assert outcome.refused_in_log(REFUSED_LOG + EXITED_LOG, told={refused})[0] is False  # type: ignore[index]


def test_a_call_the_emulator_refused_during_a_reset_is_told_apart() -> None:
    """aws-lambda-rie's answer to a call that arrives while it still resets the runtime after a timeout (captured from
    its log: "Invoke failed error=ErrGateCanceled", "Reset initiated: ReleaseFail"): the function never saw it."""
    refused = '{"errorType": "Sandbox.Failure", "errorMessage": "RequestId: 89fd8a37 Error: ErrGateCanceled"}'
    assert outcome.canceled_by_a_reset(refused)
    assert outcome.refused_request(refused) == "89fd8a37"
    assert not outcome.canceled_by_a_reset('{"errorType": "Sandbox.Failure", "errorMessage": "RequestId: r Error: x"}')
    assert not outcome.canceled_by_a_reset('{"statusCode": 200, "body": "ErrGateCanceled"}')  # a result that says it
    assert not outcome.canceled_by_a_reset("ErrGateCanceled")


class Logged:
    """A container whose log since any time is `log`, its reads counted."""

    def __init__(self, log: str) -> None:
        self.log, self.reads = log, 0

    def logs(self, *, tail: int | None = None, since: float | None = None) -> str:
        self.reads += 1
        return self.log


def _refused(answer: httpx.Response, log: str, told: set[str]) -> tuple[bool, int]:
    container = object.__new__(LambdaContainer)  # only what `_refused` reads: the current container's log
    container._current = Logged(log)  # type: ignore[assignment]
    return container._refused(answer, time.time(), told), container._current.reads  # type: ignore[union-attr]


def test_a_call_is_sent_again_only_where_the_answer_or_the_log_says_it_was_refused(monkeypatch) -> None:
    monkeypatch.setattr(metrics, "REPORT_WAIT", 0.1)
    told: set[str] = set()
    refused = '{"errorType": "Sandbox.Failure", "errorMessage": "RequestId: 89fd8a37 Error: ErrGateCanceled"}'
    assert _refused(httpx.Response(502, text=refused), "", told) == (True, 0) and told == {"89fd8a37"}
    assert _refused(httpx.Response(502, text=""), REFUSED_LOG, told) == (True, 1)
    assert "916a9ee8-90ee-4946-bdb6-925928dfc0df" in told
    # The runtime exited with the event: never sent again; nor an answer with a body, read without the log.
    assert _refused(httpx.Response(502, text=""), EXITED_LOG, set()) == (False, 1)
    assert _refused(httpx.Response(200, text='{"ok": 1}'), REFUSED_LOG, set()) == (False, 0)
    # A log that never tells (the container gone): waited for a moment, then not refused.
    found, reads = _refused(httpx.Response(502, text=""), "", set())
    assert found is False and reads > 1
