"""Function results turned into HTTP responses, as strictly as the real fronts do it."""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from .errors import FunctionError, FunctionTimeout, InvalidResponse, InvocationError, PayloadTooLarge


@dataclass(frozen=True)
class HttpResult:
    """An HTTP response made of a function result: status, headers (repeats kept) and body bytes."""

    status_code: int
    headers: list[tuple[str, str]] = field(default_factory=list)
    body: bytes = b""


def _malformed(front: str, why: str, result: Any) -> InvalidResponse:
    shown = json.dumps(result, default=repr)
    if len(shown) > 500:
        shown = shown[:500] + "..."
    return InvalidResponse(
        f"{front} cannot turn the function's result into an HTTP response ({why}); on AWS the caller gets "
        f"502 Internal server error. The function returned: {shown}",
        payload=result,
    )


def _status(result: Mapping[str, Any], front: str) -> int:
    if "statusCode" not in result:
        raise _malformed(front, "no statusCode", result)
    status = result["statusCode"]
    if isinstance(status, bool) or not isinstance(status, int):
        if isinstance(status, str) and status.isdigit():
            status = int(status)
        else:
            raise _malformed(front, f"statusCode {status!r} is not an integer", result)
    if not 100 <= status <= 599:
        raise _malformed(front, f"statusCode {status} is not an HTTP status", result)
    return status


def _scalar(value: Any, front: str, where: str, result: Any) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return str(value)
    if isinstance(value, bool):
        return "true" if value else "false"
    raise _malformed(front, f"{where} is {type(value).__name__}, not a string", result)


def _body(result: Mapping[str, Any], front: str) -> bytes:
    body = result.get("body")
    if body is None:
        return b""
    if not isinstance(body, str):
        raise _malformed(front, f"body is {type(body).__name__}, not a string", result)
    if result.get("isBase64Encoded"):
        try:
            return base64.b64decode(body, validate=True)
        except (binascii.Error, ValueError):
            raise _malformed(front, "isBase64Encoded is true but body is not base64", result) from None
    return body.encode("utf-8")


def _mapping(result: Mapping[str, Any], key: str, front: str) -> Mapping[str, Any]:
    value = result.get(key)
    if value is None:
        return {}
    if not isinstance(value, Mapping):
        raise _malformed(front, f"{key} is {type(value).__name__}, not an object", result)
    return value


def decode_v1(result: Any, *, front: str = "API Gateway REST API") -> HttpResult:
    """Payload format 1.0 (REST API, ALB): `headers` merged with `multiValueHeaders`, repeats kept."""
    if not isinstance(result, Mapping):
        raise _malformed(front, f"the result is a JSON {type(result).__name__}, not an object", result)
    status = _status(result, front)
    headers: list[tuple[str, str]] = []
    multi_names: set[str] = set()
    for name, values in _mapping(result, "multiValueHeaders", front).items():
        if not isinstance(values, list):
            raise _malformed(front, f"multiValueHeaders[{name!r}] is not a list", result)
        multi_names.add(name.lower())
        headers.extend((name, _scalar(v, front, f"multiValueHeaders[{name!r}]", result)) for v in values)
    # API Gateway merges both maps; where a name is in both, the multi-value list is what counts.
    for name, value in _mapping(result, "headers", front).items():
        if name.lower() not in multi_names:
            headers.append((name, _scalar(value, front, f"headers[{name!r}]", result)))
    return HttpResult(status, headers, _body(result, front))


def decode_v2(result: Any, *, front: str = "API Gateway HTTP API") -> HttpResult:
    """Payload format 2.0 (HTTP API, Function URL): `cookies` become Set-Cookie; a bare value is a 200 JSON body."""
    if not (isinstance(result, Mapping) and "statusCode" in result):
        # HTTP API's documented inference: no envelope means 200 with the result as a JSON body.
        return HttpResult(200, [("content-type", "application/json")], json.dumps(result).encode("utf-8"))
    status = _status(result, front)
    headers = [
        (name, _scalar(value, front, f"headers[{name!r}]", result))
        for name, value in _mapping(result, "headers", front).items()
    ]
    cookies = result.get("cookies") or []
    if not isinstance(cookies, list):
        raise _malformed(front, "cookies is not a list", result)
    headers.extend(("set-cookie", _scalar(c, front, "a cookie", result)) for c in cookies)
    return HttpResult(status, headers, _body(result, front))


def _json(status: int, body: Mapping[str, Any]) -> HttpResult:
    return HttpResult(status, [("content-type", "application/json")], json.dumps(body).encode("utf-8"))


# A Lambda proxy integration answers 502 when the function fails or returns a malformed result; a function
# timeout shorter than the integration's own (29 s) is a function error like any other; a request over
# Lambda's 6 MB limit is refused with 413.
# https://docs.aws.amazon.com/apigateway/latest/developerguide/set-up-lambda-proxy-integrations.html
# https://docs.aws.amazon.com/lambda/latest/dg/gettingstarted-limits.html
_INTERNAL_ERROR = _json(502, {"message": "Internal server error"})
_TOO_LONG = _json(413, {"message": "Request Too Long"})
_PROXY_ERRORS: Mapping[type[InvocationError], HttpResult] = {
    FunctionError: _INTERNAL_ERROR,
    InvalidResponse: _INTERNAL_ERROR,
    FunctionTimeout: _INTERNAL_ERROR,
    PayloadTooLarge: _TOO_LONG,
}
#: What each front answers in the function's place when an invocation fails, by error type (the first match
#: along the error's class hierarchy). One table: the values per front are refined here, and only here.
ERROR_RESPONSES: Mapping[str, Mapping[type[InvocationError], HttpResult]] = {
    "rest": _PROXY_ERRORS,
    "http": _PROXY_ERRORS,
    "function-url": _PROXY_ERRORS,
    "alb": _PROXY_ERRORS,
    "alb-multi": _PROXY_ERRORS,
}


def error_result(front: str, error: InvocationError) -> HttpResult | None:
    """The response `front` gives in place of the function when the invocation failed with `error`, or None."""
    table = ERROR_RESPONSES.get(front, {})
    for cls in type(error).__mro__:
        if cls in table:
            return table[cls]
    return None
