"""The headers a front changes on their way through it: what a REST API drops or remaps in requests and answers, the
Content-Type it gives an answer without one, each API Gateway front's request-id headers, and X-Forwarded-For."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

#: API Gateway's known-issues page: "The following table lists the headers that may be dropped, remapped, or
#: otherwise modified when sent to your integration endpoint or sent back by your integration endpoint" ("Remapped"
#: means the name becomes `X-Amzn-Remapped-<name>`). The `lambda` column of its "Response" side: remapped...
#: https://docs.aws.amazon.com/apigateway/latest/developerguide/api-gateway-known-issues.html
REST_REMAPPED = frozenset(
    {"authorization", "connection", "content-md5", "date", "max-forwards", "server", "user-agent", "www-authenticate"}
)
#: ... and dropped.
REST_DROPPED = frozenset(
    {"expect", "host", "proxy-authenticate", "te", "trailer", "transfer-encoding", "upgrade", "via"}
)
#: Its "Request" side, `lambda` column: dropped before the event is made (Connection, TE, Trailer, Transfer-Encoding
#: and Upgrade are hop-by-hop, which every front drops already).
REST_REQUEST_DROPPED = frozenset({"content-md5", "expect", "max-forwards", "proxy-authenticate"})
REMAPPED_PREFIX = "x-amzn-Remapped-"
#: Same page: "API Gateway includes a Content-Type header for all integration responses. By default, the content
#: type is application/json."
REST_DEFAULT_CONTENT_TYPE = "application/json"


def rest_answer_headers(headers: Iterable[tuple[str, str]]) -> list[tuple[str, str]]:
    """A REST API's answer headers of the function's: the table's remapped ones renamed, its dropped ones gone, and
    `Content-Type: application/json` when the function gave none."""
    out: list[tuple[str, str]] = []
    for name, value in headers:
        lowered = name.lower()
        if lowered in REST_DROPPED:
            continue
        out.append((REMAPPED_PREFIX + name if lowered in REST_REMAPPED else name, value))
    if not any(name.lower() == "content-type" for name, _ in out):
        out.append(("content-type", REST_DEFAULT_CONTENT_TYPE))
    return out


def _context(event: Mapping[str, Any]) -> Mapping[str, Any]:
    context = event.get("requestContext") if isinstance(event, Mapping) else None
    return context if isinstance(context, Mapping) else {}


def _rest_ids(event: Mapping[str, Any]) -> list[tuple[str, str]]:
    # A REST API's answers, its own error answers as much as the function's, carry the event's requestId and its
    # extendedRequestId (curl output from AWS: awsdocs/amazon-api-gateway-developer-guide#71, `x-amzn-requestid:
    # 68c4fad4-...`, `x-amz-apigw-id: LIxCyGd7SK4FjEg=`; a 502 in the same shape in many published transcripts).
    context = _context(event)
    pairs = [("x-amzn-RequestId", context.get("requestId")), ("x-amz-apigw-id", context.get("extendedRequestId"))]
    return [(name, str(value)) for name, value in pairs if value]


def _http_api_ids(event: Mapping[str, Any]) -> list[tuple[str, str]]:
    # HTTP APIs answer with `apigw-requestid`, the event's requestId in API Gateway's shape (HTTPie and curl output
    # from AWS published with APIs it serves, e.g. `Apigw-Requestid: WSg1ihmdliAEJXA=`).
    value = _context(event).get("requestId")
    return [("apigw-requestid", str(value))] if value else []


#: The request-id headers each front adds to every answer, by format name. Function URLs and ALBs: none confirmed by
#: a capture here, so none are added (README says so).
_ID_HEADERS = {"rest": _rest_ids, "http": _http_api_ids, "http-1.0": _http_api_ids}


def front_headers(front: str, event: Mapping[str, Any]) -> list[tuple[str, str]]:
    """The headers `front` adds to its answer to the request whose event is `event` (its request ids)."""
    make = _ID_HEADERS.get(front)
    return make(event) if make is not None else []


def with_front_headers(headers: Iterable[tuple[str, str]], added: list[tuple[str, str]]) -> list[tuple[str, str]]:
    """`headers` with the front's own `added` ones, which replace any of the same name (the front's word is last)."""
    names = {name.lower() for name, _ in added}
    return [*((n, v) for n, v in headers if n.lower() not in names), *added]


def forwarded_for(client_chain: Iterable[str], source_ip: str) -> str:
    """X-Forwarded-For as a front passes it: the chain the client sent, the connecting address appended, one value.

    ALB: "If the request already has an X-Forwarded-For header, the load balancer appends the client IP address to
    the existing header value" (`203.0.113.7, 10.0.0.5`).
    https://docs.aws.amazon.com/elasticloadbalancing/latest/application/x-forwarded-headers.html
    REST: AWS's sample proxy event (tests/data/aws-samples/AwsProxy.json) has one value `127.0.0.1, 127.0.0.2`,
    in `multiValueHeaders` too."""
    chain = [part.strip() for value in client_chain for part in value.split(",") if part.strip()]
    return ", ".join([*chain, source_ip])
