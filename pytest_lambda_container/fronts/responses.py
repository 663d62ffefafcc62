"""Function results turned into HTTP responses, as strictly as the real fronts do it."""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from ..errors import (
    FunctionError,
    FunctionTimeout,
    IntegrationTimeout,
    InvalidResponse,
    InvocationError,
    PayloadTooLarge,
)


@dataclass(frozen=True)
class HttpResult:
    """An HTTP response made of a function result: status, headers (repeats kept), body bytes, reason phrase."""

    status_code: int
    headers: list[tuple[str, str]] = field(default_factory=list)
    body: bytes = b""
    #: The reason phrase, where the front takes one from the result (ALB's `statusDescription`).
    reason: str | None = None


#: The keys a REST API's proxy integration accepts in a result; any other is "Malformed Lambda proxy response"
#: (a 502), as a result with `statusDescription` gets from a REST API in a capture of 2026.
#: https://docs.aws.amazon.com/apigateway/latest/developerguide/set-up-lambda-proxy-integrations.html
REST_KEYS = frozenset({"statusCode", "headers", "multiValueHeaders", "body", "isBase64Encoded"})
#: ALB's limit on the function's response JSON: "The maximum size of the response JSON that the Lambda function
#: can send is 1 MB" (the load balancer answers 502 past it).
#: https://docs.aws.amazon.com/elasticloadbalancing/latest/application/lambda-functions.html
ALB_MAX_RESPONSE = 1024 * 1024


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


def _body(result: Mapping[str, Any], front: str, *, convert: bool = True, numbers: bool = False) -> bytes:
    """The body's bytes: base64-decoded when the result says so and the front `convert`s (else the text as is); a
    number is its JSON text where the front takes `numbers`."""
    body = result.get("body")
    if body is None:
        return b""
    if numbers and isinstance(body, (int, float)) and not isinstance(body, bool):
        return json.dumps(body).encode("ascii")
    if not isinstance(body, str):
        raise _malformed(front, f"body is {type(body).__name__}, not a string", result)
    if result.get("isBase64Encoded") and convert:
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


def _header_list(result: Mapping[str, Any], key: str, front: str) -> list[tuple[str, str]]:
    if key == "headers":
        return [(n, _scalar(v, front, f"headers[{n!r}]", result)) for n, v in _mapping(result, key, front).items()]
    pairs: list[tuple[str, str]] = []
    for name, values in _mapping(result, key, front).items():
        if not isinstance(values, list):
            raise _malformed(front, f"{key}[{name!r}] is not a list", result)
        pairs.extend((name, _scalar(v, front, f"{key}[{name!r}]", result)) for v in values)
    return pairs


def _result_object(result: Any, front: str) -> Mapping[str, Any]:
    if not isinstance(result, Mapping):
        raise _malformed(front, f"the result is a JSON {type(result).__name__}, not an object", result)
    return result


def decode_v1(
    result: Any,
    *,
    front: str = "API Gateway REST API",
    binary: bool = True,
    number_body: bool = False,
    strict_keys: bool = True,
) -> HttpResult:
    """Payload format 1.0 as a REST API's proxy integration reads it: only its five keys; `headers` and
    `multiValueHeaders` merged with every value kept (an identical pair once); a base64 body decoded only when the
    response is `binary` (the request's first Accept value matched the API's binaryMediaTypes), else passed on as
    the base64 text it is. With `number_body`, a number `body` is its text, as a REST API gives it: the serverless
    SAM farm demo API returns `"body": totalSAMs` (aws-sam-cli#38), and SAM CLI, whose 502 differed from API
    Gateway's answer, was changed to accept it (aws-sam-cli#1124, #1263). Integers are what those show; a float is
    taken the same way (README: not confirmed).
    Without `strict_keys` (an HTTP API's payload 1.0), keys past the five are ignored.
    https://docs.aws.amazon.com/apigateway/latest/developerguide/lambda-proxy-binary-media.html"""
    result = _result_object(result, front)
    extra = sorted(set(result) - REST_KEYS) if strict_keys else []
    if extra:
        raise _malformed(front, f"Malformed Lambda proxy response: unexpected key(s) {', '.join(extra)}", result)
    status = _status(result, front)
    headers = _header_list(result, "multiValueHeaders", front)
    seen = {(name.lower(), value) for name, value in headers}
    headers += [(n, v) for n, v in _header_list(result, "headers", front) if (n.lower(), v) not in seen]
    return HttpResult(status, headers, _body(result, front, convert=binary, numbers=number_body))


def decode_alb(result: Any, *, multi_value: bool, front: str = "Application Load Balancer") -> HttpResult:
    """An ALB target group's reading of a result: only `multiValueHeaders` count with multi-value headers on, only
    `headers` with them off; `statusDescription` is the reason phrase; over 1 MB of JSON is a 502.
    https://docs.aws.amazon.com/elasticloadbalancing/latest/application/lambda-functions.html"""
    result = _result_object(result, front)
    size = len(json.dumps(result, default=repr).encode("utf-8"))
    if size > ALB_MAX_RESPONSE:
        raise _malformed(front, f"the response JSON is {size:,} bytes, over ALB's 1 MB limit", result)
    status = _status(result, front)
    headers = _header_list(result, "multiValueHeaders" if multi_value else "headers", front)
    description = result.get("statusDescription")
    reason = None
    if description is not None:
        reason = _scalar(description, front, "statusDescription", result)
        # "200 OK" is how ALB's documentation writes it: the phrase is what follows the code.
        code, _, phrase = reason.partition(" ")
        reason = phrase if code == str(status) else reason
    return HttpResult(status, headers, _body(result, front), reason)


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


def _answer(status: int, content_type: str, body: str, *extra: tuple[str, str]) -> HttpResult:
    return HttpResult(status, [("content-type", content_type), *extra], body.encode("utf-8"))


def _alb_page(status: int, phrase: str) -> HttpResult:
    """The HTML page an ALB answers with itself (502 Bad Gateway, 413, ...)."""
    title = f"{status} {phrase}"
    page = f"<html>\r\n<head><title>{title}</title></head>\r\n<body>\r\n<center><h1>{title}</h1></center>\r\n"
    return _answer(status, "text/html", page + "</body>\r\n</html>\r\n")


# REST API: a function error or a malformed result is 502 `{"message": "Internal server error"}` ("If the function
# runs but returns an error, or returns a response in the wrong format, API Gateway returns a 502"); past the
# integration timeout, 504 `{"message": "Endpoint request timed out"}`; a function timeout shorter than the
# integration's is a function error like any other; a request over Lambda's 6 MB limit, 413.
# https://docs.aws.amazon.com/lambda/latest/dg/services-apigateway-errors.html
# https://repost.aws/knowledge-center/api-gateway-504-errors
# Both carry `x-amzn-ErrorType: InternalServerErrorException` (curl output from AWS of a 502 and of a 504 "Endpoint
# request timed out", published in many transcripts); the 413's error type is not confirmed here, so none is given.
_REST_FAILED = ("x-amzn-ErrorType", "InternalServerErrorException")
_REST_ERROR = _answer(502, "application/json", '{"message": "Internal server error"}', _REST_FAILED)
_TOO_LONG = _answer(413, "application/json", '{"message": "Request Too Long"}')
REST_ERRORS: Mapping[type[InvocationError], HttpResult] = {
    FunctionError: _REST_ERROR,
    InvalidResponse: _REST_ERROR,
    FunctionTimeout: _REST_ERROR,
    IntegrationTimeout: _answer(504, "application/json", '{"message": "Endpoint request timed out"}', _REST_FAILED),
    PayloadTooLarge: _TOO_LONG,
}
# HTTP API: every function failure is 500 `{"message":"Internal Server Error"}` (AWS's troubleshooting page is
# titled by it); past its integration timeout, 503 `{"message":"Service Unavailable"}`, as users report from AWS
# (e.g. anomalyco/sst#2232: "API Gateway ... has already given up", the function still running).
# https://docs.aws.amazon.com/apigateway/latest/developerguide/http-api-troubleshooting-lambda.html
_HTTP_ERROR = _answer(500, "application/json", '{"message":"Internal Server Error"}')
HTTP_ERRORS: Mapping[type[InvocationError], HttpResult] = {
    FunctionError: _HTTP_ERROR,
    InvalidResponse: _HTTP_ERROR,
    FunctionTimeout: _HTTP_ERROR,
    IntegrationTimeout: _answer(503, "application/json", '{"message":"Service Unavailable"}'),
    PayloadTooLarge: _answer(413, "application/json", '{"message":"Request Entity Too Large"}'),
}
# Function URL: 502 with the plain text "Internal Server Error" (awsdocs/aws-lambda-developer-guide#430: a result
# the URL cannot read "will be a 502 'Internal Server Error'"); no integration timeout, only the function's own.
_URL_ERROR = _answer(502, "text/plain", "Internal Server Error")
URL_ERRORS: Mapping[type[InvocationError], HttpResult] = {
    FunctionError: _URL_ERROR,
    InvalidResponse: _URL_ERROR,
    FunctionTimeout: _URL_ERROR,
    PayloadTooLarge: _answer(413, "text/plain", "Request Entity Too Large"),
}
# ALB: its own HTML pages; 502 for a failed or malformed (or over 1 MB) result, 413 for a request body over 1 MB.
# https://docs.aws.amazon.com/elasticloadbalancing/latest/application/load-balancer-troubleshooting.html
_BAD_GATEWAY = _alb_page(502, "Bad Gateway")
ALB_ERRORS: Mapping[type[InvocationError], HttpResult] = {
    FunctionError: _BAD_GATEWAY,
    InvalidResponse: _BAD_GATEWAY,
    FunctionTimeout: _BAD_GATEWAY,
    PayloadTooLarge: _alb_page(413, "Request Entity Too Large"),
}
#: What each front answers in the function's place when an invocation fails, by error type (the first match
#: along the error's class hierarchy). One table: the values per front are refined here, and only here.
ERROR_RESPONSES: Mapping[str, Mapping[type[InvocationError], HttpResult]] = {
    "rest": REST_ERRORS,
    "http": HTTP_ERRORS,
    "http-1.0": HTTP_ERRORS,
    "function-url": URL_ERRORS,
    "alb": ALB_ERRORS,
    "alb-multi": ALB_ERRORS,
}


def error_result(front: str, error: InvocationError) -> HttpResult | None:
    """The response `front` gives in place of the function when the invocation failed with `error`, or None."""
    table = ERROR_RESPONSES.get(front, {})
    for cls in type(error).__mro__:
        if cls in table:
            return table[cls]
    return None
