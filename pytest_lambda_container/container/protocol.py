"""The emulator's protocol, pure: where and what to post, within Lambda's limits (what its answers mean is
`outcome.py`'s).

Shared by every target: the container's emulator, and the in-process function that answers the same way.
"""

from __future__ import annotations

import base64
import json
import re
from collections.abc import Mapping
from typing import Any

from ..errors import PayloadTooLarge

#: Where custom images get the emulator: a volume (container/delivery.py) mounted read-only, never a host path.
RIE_DIR = "/aws-lambda"
RIE_MOUNT = f"{RIE_DIR}/aws-lambda-rie"
#: The Lambda Invoke API's path, which aws-lambda-rie serves.
INVOKE_PATH = "/2015-03-31/functions/function/invocations"
INVOKE_HEADERS = {"Content-Type": "application/json"}
#: Lambda's limit on a synchronous invocation's request payload
#: (https://docs.aws.amazon.com/lambda/latest/dg/gettingstarted-limits.html: 6 MB request and response).
MAX_PAYLOAD = 6 * 1024 * 1024
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


def emulator_base(endpoint_url: str | None) -> str | None:
    """The base URL of aws-lambda-rie when `endpoint_url` is its invoke URL, else None. The emulator serves one
    function, named `function`, at INVOKE_PATH and checks no signature (https://github.com/aws/aws-lambda-runtime-
    interface-emulator: "curl ... /2015-03-31/functions/function/invocations"); LocalStack and others serve many."""
    url = (endpoint_url or "").rstrip("/")
    return url[: -len(INVOKE_PATH)] if url.endswith(INVOKE_PATH) and "://" in url[: -len(INVOKE_PATH)] else None


def function_target_command(emulator_url: str) -> str:
    """The pytest command that runs the suite against the emulator at `emulator_url` through Lambda's Invoke API."""
    return f"pytest --lambda-target function --lambda-endpoint-url {emulator_url.rstrip('/')}{INVOKE_PATH}"


def encode_event(event: Any) -> bytes:
    """The request payload for `event`; `PayloadTooLarge` over Lambda's limit, before anything is sent."""
    return check_payload(json.dumps(event).encode("utf-8"))


def caller_headers(*, tenant_id: str | None = None, client_context: Mapping[str, Any] | None = None) -> dict[str, str]:
    """The Invoke API's headers for what the caller sends beside the event, as aws-lambda-rie reads them
    (internal/lambda/rie/handlers.go: `X-Amz-Tenant-Id` becomes the runtime's tenant id, `X-Amz-Client-Context` is
    base64 of the client context's JSON), and as Lambda's Invoke API names them (TenantId, ClientContext)."""
    headers = {}
    if tenant_id is not None:
        headers["X-Amz-Tenant-Id"] = tenant_id
    if client_context is not None:
        headers["X-Amz-Client-Context"] = client_context_header(client_context)
    return headers


def client_context_header(client_context: Mapping[str, Any]) -> str:
    """A client context as the Invoke API carries it: base64 of its JSON."""
    return base64.b64encode(json.dumps(dict(client_context)).encode("utf-8")).decode("ascii")


def check_payload(payload: bytes) -> bytes:
    """`payload` itself, or `PayloadTooLarge` when it is over Lambda's limit."""
    if len(payload) > MAX_PAYLOAD:
        raise PayloadTooLarge(
            f"the request payload is {len(payload):,} bytes; Lambda accepts at most {MAX_PAYLOAD:,} bytes "
            "for a synchronous invocation (AWS answers RequestEntityTooLargeException, and API Gateway 413)"
        )
    return payload


def split_log_lines(text: str) -> str:
    """A container log as lines a person can read: the emulator's START/END/REPORT lines and each of the runtime's
    log records on lines of their own, and the runtime's carriage-return-joined error lines on separate lines."""
    return _RUNTIME_RECORD.sub("\n", _EMULATOR_LINE.sub("\n", _LONE_CR.sub("\n", text)))


def hide_invocation(log: str, request_id: str) -> str:
    """`log` without the lines of one invocation that ran no handler (the plugin's warm-up, `warmup`): those naming
    its request id, the emulator's INVOKE RTDONE line after its INVOKE START, and the runtime's unmarshal error (with
    the traceback header awslambdaric logs under it). The init's lines, the user's module among them, stay."""
    kept: list[str] = []
    rtdone_due = unmarshal_due = header_due = False
    for line in log.split("\n"):
        dropped_header, header_due = header_due and line == "Traceback (most recent call last):", False
        if request_id in line:
            rtdone_due = rtdone_due or "INVOKE START" in line
            unmarshal_due = unmarshal_due or line.startswith("START RequestId")
        elif rtdone_due and "INVOKE RTDONE(" in line:
            rtdone_due = False
        elif unmarshal_due and line.startswith("[ERROR] Runtime.UnmarshalError"):
            unmarshal_due, header_due = False, True
        elif not dropped_header:
            kept.append(line)
    return "\n".join(kept)
