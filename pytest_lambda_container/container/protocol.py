"""The emulator's protocol, pure: what to post, and what its answers mean (a result or a typed error).

Shared by every target: the container's emulator, and the in-process function that answers the same way.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from typing import Any

from ..errors import FunctionError, FunctionTimeout, HandlerImportError, InvocationError, PayloadTooLarge

#: The Lambda Invoke API's path, which aws-lambda-rie serves.
INVOKE_PATH = "/2015-03-31/functions/function/invocations"
#: Lambda's limit on a synchronous invocation's request payload
#: (https://docs.aws.amazon.com/lambda/latest/dg/gettingstarted-limits.html: 6 MB request and response).
MAX_PAYLOAD = 6 * 1024 * 1024
#: Errors by which the runtime says it could not load the handler at all.
IMPORT_ERRORS = (
    "Runtime.ImportModuleError",
    "Runtime.HandlerNotFound",
    "Runtime.MalformedHandlerName",
    "Runtime.UserCodeSyntaxError",
)
#: The keys of the runtime's error payload; a result with other keys is a result, whatever it holds.
ERROR_KEYS = frozenset({"errorType", "errorMessage", "stackTrace", "requestId", "cause"})
TIMEOUT_PREFIX = "Task timed out after"
#: The emulator's own lines about each invocation. The runtime shares its stdout, and may leave its last line
#: unended (a logged traceback, a print(end="")): the emulator's next line then follows on the same line.
_EMULATOR_LINE = re.compile(r"(?<=[^\n])(?=(?:START|END|REPORT) RequestId: [0-9a-f]{8}-)")
#: The start of a record of the runtime's own log handler (awslambdaric's text format,
#: "[%(levelname)s]\t%(asctime)s.%(msecs)03dZ\t%(aws_request_id)s\t%(message)s\n"): a record logged with a
#: traceback ends without the newline (the format's comes before the traceback), so the next record followed on.
_RUNTIME_RECORD = re.compile(r"(?<=[^\n])(?=\[(?:DEBUG|INFO|WARNING|ERROR|CRITICAL)\]\t\d{4}-\d\d-\d\dT\d)")
#: A lone carriage return: awslambdaric ends the lines of an error it logs with one (one CloudWatch record);
#: on a terminal each would overwrite the line before it.
_LONE_CR = re.compile(r"\r(?!\n)")


def encode_event(event: Any) -> bytes:
    """The request payload for `event`; `PayloadTooLarge` over Lambda's limit, before anything is sent."""
    return check_payload(json.dumps(event).encode("utf-8"))


def check_payload(payload: bytes) -> bytes:
    """`payload` itself, or `PayloadTooLarge` when it is over Lambda's limit."""
    if len(payload) > MAX_PAYLOAD:
        raise PayloadTooLarge(
            f"the request payload is {len(payload):,} bytes; Lambda accepts at most {MAX_PAYLOAD:,} bytes "
            "for a synchronous invocation (AWS answers RequestEntityTooLargeException, and API Gateway 413)"
        )
    return payload


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
        raise FunctionTimeout(
            f"the function timed out: {text.strip()} (the limit is {timeout:g}s; raise it with "
            "--lambda-timeout or ini lambda_timeout)",
            timeout=timeout,
            payload=text,
        )
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


def split_log_lines(text: str) -> str:
    """A container log as lines a person can read: the emulator's START/END/REPORT lines and each of the runtime's
    log records on lines of their own, and the runtime's carriage-return-joined error lines on separate lines."""
    return _RUNTIME_RECORD.sub("\n", _EMULATOR_LINE.sub("\n", _LONE_CR.sub("\n", text)))
