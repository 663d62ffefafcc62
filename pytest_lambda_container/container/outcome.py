"""What an invocation ended with, as the plugin's errors: the one mapping every target uses (the container's
emulator, the in-process function, the deployed function's Invoke API).

    how the invocation ended                               the error raised
    a result                                               none: the result
    an error payload (errorType, errorMessage...)          FunctionError
      ... one of the runtime's import errors               HandlerImportError
    "Task timed out after" (emulator, in-process),         FunctionTimeout
      `Sandbox.Timedout` (Lambda)
    `Runtime.OutOfMemory` (Lambda), a kill with the        FunctionOutOfMemory
      cgroup's OOM count up, the memory watch tripped
    the caller stopped waiting first (`timeout=`)          CallerTimeout
    an empty answer or not JSON: the runtime exited        InvocationError
      (or never started)

Each wording is built here, once: a test that fails says the same thing whichever target ran it.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Collection, Mapping
from typing import Any

from ..errors import (
    CallerTimeout,
    FunctionError,
    FunctionOutOfMemory,
    FunctionTimeout,
    HandlerImportError,
    InvocationError,
)

#: How Lambda and the emulator start a timeout's message ("Task timed out after 3.00 seconds").
TIMEOUT_PREFIX = "Task timed out after"
#: Lambda's error type for a timeout in the Invoke API's payload.
SANDBOX_TIMEOUT = "Sandbox.Timedout"
OUT_OF_MEMORY = "Runtime.OutOfMemory"
#: Errors by which the runtime says it could not load the handler at all.
IMPORT_ERRORS = (
    "Runtime.ImportModuleError",
    "Runtime.HandlerNotFound",
    "Runtime.MalformedHandlerName",
    "Runtime.UserCodeSyntaxError",
)
#: The keys of the runtime's error payload; a result with other keys is a result, whatever it holds.
ERROR_KEYS = frozenset({"errorType", "errorMessage", "stackTrace", "requestId", "cause"})
TIMEOUT_HINT = "raise it with --lambda-timeout or ini lambda_timeout"
MEMORY_HINT = "Raise --lambda-memory, or use less."


def decode_answer(status: int, text: str, headers: Mapping[str, str], *, timeout: float) -> Any:
    """The function's result from the emulator's answer, or the `InvocationError` it stands for.

    The emulator answers HTTP 200 in every case: a function error is a JSON error payload (without the
    `X-Amz-Function-Error` header Lambda's Invoke API adds), a timeout is plain text, and a runtime that died
    leaves an empty body.
    """
    if not text.strip():
        raise InvocationError(
            f"the emulator returned an empty response (HTTP {status}): the runtime process exited during the "
            "invocation, or never started. Does the image start a Lambda runtime client "
            "(e.g. ENTRYPOINT python -m awslambdaric, CMD app.handler)?"
        )
    if text.startswith(TIMEOUT_PREFIX):
        raise timed_out(text.strip(), timeout=timeout, payload=text)
    try:
        result = json.loads(text)
    except ValueError:
        raise InvocationError(
            f"the emulator answered HTTP {status} with something that is not JSON: {text[:500]!r}", payload=text
        ) from None
    error = function_error(result, function_error_header=headers.get("X-Amz-Function-Error"))
    if error is not None:
        raise error
    return result


def canceled_by_a_reset(text: str) -> bool:
    """Whether the emulator refused the call because it was still resetting the runtime after a timeout or a crash
    (`Sandbox.Failure` "Error: ErrGateCanceled"; its log says "Invoke failed error=ErrGateCanceled" and "Reset
    initiated: ReleaseFail"). The runtime never got the event, so the call can be sent again."""
    if "ErrGateCanceled" not in text:  # the usual answer is decided by a substring test
        return False
    try:
        result = json.loads(text)
    except ValueError:
        return False
    return (
        isinstance(result, dict)
        and result.get("errorType") == "Sandbox.Failure"
        and "ErrGateCanceled" in str(result.get("errorMessage", ""))
    )


#: The emulator's verdict on a call that did not end well, in its log: "Invoke failed error=WHY InvokeID=REQUEST".
_INVOKE_FAILED = re.compile(r"Invoke failed error=(.*?) InvokeID=(\S+)")
#: The request id in the answer to a call refused during a reset.
_REFUSED_REQUEST = re.compile(r"RequestId: (\S+) Error: ErrGateCanceled")


def refused_request(text: str) -> str | None:
    """The request id of a call refused during a reset (`canceled_by_a_reset`), as its answer names it."""
    found = _REFUSED_REQUEST.search(text) if canceled_by_a_reset(text) else None
    return found.group(1) if found else None


def refused_in_log(log: str, *, told: Collection[str] = ()) -> tuple[bool, str] | None:
    """Whether the emulator's log since a call began says it refused that call while it reset the runtime (its log's
    "Invoke failed error=ErrGateCanceled"), where its answer said nothing (an empty HTTP 502, seen after a timeout's
    reset); and the call's request id. None while the log holds no verdict but those of the calls in `told` (earlier
    calls', whose lines may reach the engine's log late, as this call's may)."""
    verdicts = [(m.group(1), m.group(2)) for m in _INVOKE_FAILED.finditer(log) if m.group(2) not in told]
    if not verdicts:
        return None
    why, request = verdicts[-1]
    return why == "ErrGateCanceled", request


def function_error(result: Any, *, function_error_header: str | None = None) -> FunctionError | None:
    """The `FunctionError` a result stands for (an `errorType`/`errorMessage` payload), or None."""
    if not isinstance(result, dict):
        if function_error_header:
            return FunctionError(function_error_header, json.dumps(result), payload=result)
        return None
    looks_like_error = "errorMessage" in result and set(result) <= ERROR_KEYS
    if not (looks_like_error or function_error_header):
        return None
    error_type = str(result.get("errorType") or function_error_header or "Error")
    stack = result.get("stackTrace")
    stack_lines = [str(s) for s in stack] if isinstance(stack, list) else ([str(stack)] if stack else [])
    # The import system's frozen frames say nothing the user can act on; the payload keeps them.
    stack_lines = [s for s in stack_lines if not s.lstrip().startswith('File "<frozen importlib')]
    cls = HandlerImportError if error_type.startswith(IMPORT_ERRORS) else FunctionError
    return cls(error_type, str(result.get("errorMessage", "")), stack_lines, payload=result)


def timeout_line(timeout: float) -> str:
    """The line Lambda gives for a function stopped at `timeout` seconds (in-process says it as Lambda does)."""
    return f"{TIMEOUT_PREFIX} {timeout:.2f} seconds"


def timed_out(detail: str, *, timeout: float, deployed: bool = False, payload: Any = None) -> FunctionTimeout:
    """The function ran past its own timeout; `detail` is what the runtime or Lambda said. A deployed function's
    limit is its own configuration, which `timeout` (`--lambda-timeout`) only repeats."""
    limit = (
        "the limit is the deployed function's own timeout" if deployed else f"the limit is {timeout:g}s; {TIMEOUT_HINT}"
    )
    return FunctionTimeout(f"the function timed out: {detail} ({limit})", timeout=timeout, payload=payload)


def no_answer(function: str, *, waited: float, timeout: float) -> FunctionTimeout:
    """A deployed function that did not answer within its `--lambda-timeout` and a margin: its own is longer."""
    return FunctionTimeout(
        f"{function} did not answer within {waited:g}s, well past its timeout of {timeout:g}s: the deployed "
        "function's own timeout is longer; give it as --lambda-timeout",
        timeout=timeout,
    )


def caller_timeout(waited: float, *, timeout: float, then: str) -> CallerTimeout:
    """The caller stopped waiting after `waited` seconds (`invoke_event(timeout=)`), before the function's own
    `timeout`; `then` says what becomes of the call still running."""
    return CallerTimeout(
        f"stopped waiting after {waited:g}s, this call's limit (the function's own timeout is {timeout:g}s): {then}",
        timeout=waited,
    )


def out_of_memory(
    error: FunctionError | None = None, *, memory: int | None = None, stopped: int | None = None
) -> FunctionOutOfMemory:
    """Lambda's `Runtime.OutOfMemory`: the kernel killed the runtime (`error`, the emulator's `Runtime.ExitError`),
    or the memory watch saw it go past its `memory` (files in /tmp apart) and killed it, `stopped` at so many MB."""
    if stopped is not None:
        cause = (
            f"The function ran out of memory: it went past its {memory} MB (stopped at {stopped} MB; files in /tmp "
            "apart) and was killed, as Lambda would kill it."
        )
    else:
        limit = f"its {memory} MB of memory and the files in /tmp" if memory else "the container's memory limit"
        cause = (
            f"The function ran out of memory: it used more than {limit} together, and the kernel killed it, as "
            "Lambda would."
        )
    message = f"{error.error_message}\n{cause} {MEMORY_HINT}" if error is not None else f"{cause} {MEMORY_HINT}"
    stack = error.stack_trace if error is not None else []
    return FunctionOutOfMemory(OUT_OF_MEMORY, message, stack, payload=error.payload if error is not None else None)


def was_killed(error: FunctionError) -> bool:
    """Whether the emulator says the runtime was killed (by the kernel for memory, or by anything else)."""
    return error.error_type == "Runtime.ExitError" and "signal: killed" in error.error_message


def killed_answer(text: str) -> bool:
    """Whether the emulator's answer to a call says the runtime was killed (`was_killed`)."""
    if "signal: killed" not in text:  # the usual answer is decided by a substring test
        return False
    try:
        error = function_error(json.loads(text))
    except ValueError:
        return False
    return error is not None and was_killed(error)


def as_lambda_reports_it(
    error: FunctionError,
    *,
    timeout: float,
    deployed: bool = False,
    oom_killed: Callable[[], bool] | None = None,
    memory: int | None = None,
    explain: Callable[[FunctionError], FunctionError] | None = None,
) -> InvocationError:
    """A function error as Lambda reports it, whichever target answered.

    Lambda reports a timeout (`Sandbox.Timedout`, "Task timed out after") and a kill for memory
    (`Runtime.OutOfMemory`) as function errors; the emulator reports a kill for memory as any kill, so `oom_killed`
    (asked only for a killed runtime) says whether the kernel's OOM count rose. Any other error goes through
    `explain` (under the sandbox, `sandbox.explain`: an EROFS or EACCES error says the sandbox is its likely cause).
    """
    if error.error_type == SANDBOX_TIMEOUT or TIMEOUT_PREFIX in error.error_message:
        return timed_out(error.error_message, timeout=timeout, deployed=deployed, payload=error.payload)
    if error.error_type == OUT_OF_MEMORY:
        return FunctionOutOfMemory(error.error_type, error.error_message, error.stack_trace, payload=error.payload)
    if was_killed(error) and oom_killed is not None and oom_killed():
        return out_of_memory(error, memory=memory)
    return explain(error) if explain is not None else error
