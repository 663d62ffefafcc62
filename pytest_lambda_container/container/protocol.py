"""The emulator's protocol, pure: where and what to post, within Lambda's limits (what its answers mean is
`outcome.py`'s).

Shared by every target: the container's emulator, and the in-process function that answers the same way.
"""

from __future__ import annotations

import base64
import json
import re
from collections.abc import Mapping
from typing import Any, Protocol

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


#: A line of the emulator's own log (rapid's format, on its stderr): "07 Dec 2026 21:37:32,344 [INFO] (rapid) ...".
_EMULATOR_OWN = re.compile(r"^\d\d [A-Z][a-z]{2} \d{4} \d\d:\d\d:\d\d,\d{3} \[[A-Z]+\] ")
_CALL_LINE = re.compile(r"^(?P<kind>START|END|REPORT) RequestId: (?P<id>[0-9a-f-]{36})")
_RAPID_START = re.compile(r"INVOKE START\(requestId: (?P<id>[0-9a-f-]{36})\)")
#: The owner of the lines a log begins with, before the first line that names a call: a call that began before it.
_EARLIER = "(a call before the log began)"


def _owners(lines: list[str]) -> list[str | None]:
    """The request id of the call each line belongs to, or None (an init, the emulator's own business).

    The emulator's START/END/REPORT lines and the runtime's output share its stdout, in order: a line belongs to the
    call whose START line came last before it, until its REPORT. Rapid's lines (stderr) are a stream of their own,
    read in the same order: an INVOKE RTDONE belongs to the INVOKE START before it. Docker interleaves the two by
    the time it read them, so one call's stdout can follow the next call's INVOKE START.
    """
    owners: list[str | None] = []
    out: str | None = _EARLIER  # the call stdout is in
    rapid: str | None = _EARLIER  # the call rapid is in
    for line in lines:
        owner: str | None
        if _EMULATOR_OWN.match(line):
            started = _RAPID_START.search(line)
            if started:
                owner = rapid = started.group("id")
            elif "INVOKE RTDONE(" in line:
                owner, rapid = rapid, None
            else:
                owner = None
        elif found := _CALL_LINE.match(line):
            owner = found.group("id")
            out = None if found.group("kind") == "REPORT" else owner
        else:
            owner = out
        owners.append(owner)
    return owners


def calls_after(log: str, before: str | None) -> str:
    """The lines of `log` (split into lines, `split_log_lines`) that belong to the calls after the call `before`
    (None: every call in it): from the first line of the first of them to the last of the last (to the end, if the
    last has no REPORT line: a crash), with the lines inside that belong to no call (an init, a reset); a call whose
    END or REPORT line comes before its START line, or none, began before the log did. A call's
    lines can reach the engine after the next call began (stdout late), so a log read from a time holds some of the
    call before's (issue 17: a test's log follows its calls by their request ids)."""
    lines = log.rstrip("\n").split("\n")
    owners = _owners(lines)
    order = list(dict.fromkeys(o for o in owners if o is not None))
    earlier = {_EARLIER, *(order[: order.index(before) + 1] if before in order else ())}
    # A call whose END or REPORT line comes before its START line in it began before the log did.
    seen: dict[str, str] = {}
    for line in lines:
        if found := _CALL_LINE.match(line):
            seen.setdefault(found.group("id"), found.group("kind"))
    earlier |= {call for call, kind in seen.items() if kind != "START"}
    own = [o for o in order if o not in earlier]
    if not own:
        return "\n".join(line for line, o in zip(lines, owners, strict=True) if o is None)
    first = owners.index(own[0])
    last = max(i for i, o in enumerate(owners) if o in own)
    if not any(_CALL_LINE.match(line) and line.startswith(f"REPORT RequestId: {own[-1]}") for line in lines):
        last = len(lines) - 1
    kept = (line for line, o in zip(lines[first : last + 1], owners[first : last + 1], strict=True) if o not in earlier)
    return "\n".join(kept)


class KeptContainer(Protocol):
    """What `kept_line` reads of a container (a `LambdaContainer`)."""

    @property
    def name(self) -> str: ...

    @property
    def url(self) -> str: ...

    @property
    def image(self) -> Any: ...


def kept_line(container: KeptContainer, event_format: str) -> str:
    """What `--lambda-keep` says of a container it leaves running: how to invoke it, test it, remove it."""
    # Imported here: the event command brings the HTTP fronts, which a container's start does not need.
    from ..cli.event import curl_command

    hint = curl_command(container.url, event_format=event_format)
    return (
        f"keeping container {container.name} ({container.image.ref}) at {container.url}: invoke it "
        f"with `{hint}` (any method and path: `python -m pytest_lambda_container event --help`), "
        f"run the tests against it with `{function_target_command(container.url)}`; "
        f"remove it with `docker rm -f {container.name}`"
    )
