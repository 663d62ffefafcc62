"""Payload format 2.0: API Gateway HTTP API and Lambda function URLs."""

from __future__ import annotations

from typing import Any

from ..responses import HttpResult, decode_v2
from .base import (
    ACCOUNT_ID,
    API_ID,
    EventOptions,
    HttpRequest,
    aws_request_id,
    clf_time,
    deep_merge,
    edge_headers,
    grouped,
    now_ms,
    request_id,
)
from .body import binary_unless_textual, encode_body

#: The id in a function URL's host name, `<url-id>.lambda-url.<region>.on.aws`.
URL_ID = "abcdefghijklmnopqrstuvwxyz0123456"
#: What captured Function URL events carry about the client's TLS (aws-powertools' lambdaFunctionUrlEventWithHeaders).
TLS_HEADERS = (("x-amzn-tls-version", "TLSv1.2"), ("x-amzn-tls-cipher-suite", "ECDHE-RSA-AES128-GCM-SHA256"))


class HttpApi:
    """API Gateway HTTP API event, payload format 2.0 (the shape of AWS's `http-api-proxy` sample and of events
    captured from AWS in 2026): `rawPath` percent-decoded and, on a named stage, prefixed with `/<stage>`; the body
    base64-encoded unless its Content-Type is textual; cookies moved out of the headers; an id in AWS's shape."""

    name = "http"
    front = "API Gateway HTTP API"
    domain_prefix = API_ID
    account_id = ACCOUNT_ID
    #: HTTP APIs wait 30 s for a Lambda integration by default, and cannot wait longer.
    #: https://docs.aws.amazon.com/apigateway/latest/developerguide/http-api-quotas.html
    integration_timeout: float | None = 30.0
    max_integration_timeout: float | None = 30.0
    max_request_body: int | None = None

    def domain(self, options: EventOptions) -> str:
        return f"{API_ID}.execute-api.{options.aws_region}.amazonaws.com"

    def paths(self, request: HttpRequest, stage: str) -> tuple[str, str]:
        """`(rawPath, requestContext.http.path)`: both decoded, and a named stage's name in front of them."""
        prefix = "" if stage == "$default" else f"/{stage}"
        return prefix + request.path, prefix + request.path

    def request_id(self) -> str:
        return aws_request_id()

    def split_cookies(self, request: HttpRequest) -> tuple[list[str], list[tuple[str, str]]]:
        """`(cookies, other headers)`: 2.0 moves cookies out of the headers into their own array."""
        cookies: list[str] = []
        pairs: list[tuple[str, str]] = []
        for name, value in request.forwarded_headers():
            if name.lower() == "cookie":
                cookies.extend(c.strip() for c in value.split(";") if c.strip())
            else:
                pairs.append((name, value))
        return cookies, pairs

    def build(self, request: HttpRequest, options: EventOptions) -> dict[str, Any]:
        epoch = now_ms()
        domain = self.domain(options)
        stage = options.stage or "$default"
        cookies, pairs = self.split_cookies(request)
        pairs += edge_headers(domain, epoch, request)
        # Names are lower-cased and repeated values comma-joined, never dropped.
        headers = {name: ",".join(values) for name, values in grouped(pairs, lower=True).items()}
        query = {name: ",".join(values) for name, values in grouped(request.query).items()}
        binary = binary_unless_textual(request.header("content-type"), request.header("content-encoding"))
        body, is_base64 = encode_body(request.body, binary=binary)
        raw_path, http_path = self.paths(request, stage)
        request_context: dict[str, Any] = {
            "accountId": self.account_id,
            "apiId": self.domain_prefix,
            "domainName": domain,
            "domainPrefix": self.domain_prefix,
            "http": {
                "method": request.method,
                "path": http_path,
                "protocol": "HTTP/1.1",
                "sourceIp": request.source_ip,
                "userAgent": request.header("user-agent") or "",
            },
            "requestId": self.request_id(),
            "routeKey": "$default",
            "stage": stage,
            "time": clf_time(epoch),
            "timeEpoch": epoch,
        }
        event: dict[str, Any] = {
            "version": "2.0",
            "routeKey": "$default",
            "rawPath": raw_path,
            "rawQueryString": request.raw_query,
        }
        if cookies:
            event["cookies"] = cookies
        event["headers"] = headers
        if query:
            event["queryStringParameters"] = query
        event["requestContext"] = deep_merge(request_context, options.request_context)
        if body is not None:
            event["body"] = body
        if options.path_parameters:
            event["pathParameters"] = dict(options.path_parameters)
        event["isBase64Encoded"] = is_base64
        if options.stage_variables:
            event["stageVariables"] = dict(options.stage_variables)
        return deep_merge(event, options.extra)

    def decode(
        self, result: Any, request: HttpRequest | None = None, options: EventOptions | None = None
    ) -> HttpResult:
        return decode_v2(result, front=self.front)


class FunctionUrl(HttpApi):
    """Lambda function URL event: payload 2.0, `$default` route and stage, `anonymous` account without IAM auth.

    Unlike an HTTP API it keeps `rawPath` percent-encoded, keeps the `cookie` header next to the `cookies` array,
    adds the client's TLS version and cipher suite, and has no integration timeout: only the function's own."""

    name = "function-url"
    front = "Lambda function URL"
    domain_prefix = URL_ID
    account_id = "anonymous"
    integration_timeout: float | None = None
    max_integration_timeout: float | None = None

    def domain(self, options: EventOptions) -> str:
        return f"{URL_ID}.lambda-url.{options.aws_region}.on.aws"

    def paths(self, request: HttpRequest, stage: str) -> tuple[str, str]:
        # A function URL has no stages; its rawPath is the client's, still percent-encoded.
        return request.raw_path, request.path

    def request_id(self) -> str:
        # The documented function URL event's requestId is a UUID (e1506fd5-9e7b-434f-bd42-4f8fa224b599).
        return request_id()

    def split_cookies(self, request: HttpRequest) -> tuple[list[str], list[tuple[str, str]]]:
        cookies, pairs = super().split_cookies(request)
        kept = [(k, v) for k, v in request.forwarded_headers() if k.lower() == "cookie"]
        return cookies, [*pairs, *kept, *TLS_HEADERS]
