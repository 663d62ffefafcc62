"""Payload format 2.0: API Gateway HTTP API and Lambda function URLs."""

from __future__ import annotations

from typing import Any

from ..responses import HttpResult, decode_v2
from .base import (
    ACCOUNT_ID,
    API_ID,
    REGION,
    EventOptions,
    HttpRequest,
    clf_time,
    deep_merge,
    edge_headers,
    grouped,
    now_ms,
    request_id,
)
from .body import encode_body

#: The id in a function URL's host name, `<url-id>.lambda-url.<region>.on.aws`.
URL_ID = "abcdefghijklmnopqrstuvwxyz0123456"


class HttpApi:
    """API Gateway HTTP API event, payload format 2.0 (the shape of AWS's `http-api-proxy` sample)."""

    name = "http"
    front = "API Gateway HTTP API"
    domain_prefix = API_ID
    domain = f"{API_ID}.execute-api.{REGION}.amazonaws.com"
    account_id = ACCOUNT_ID

    def build(self, request: HttpRequest, options: EventOptions) -> dict[str, Any]:
        epoch = now_ms()
        cookies: list[str] = []
        pairs: list[tuple[str, str]] = []
        for name, value in request.forwarded_headers():
            if name.lower() == "cookie":
                # 2.0 moves cookies out of the headers into their own array.
                cookies.extend(c.strip() for c in value.split(";") if c.strip())
            else:
                pairs.append((name, value))
        pairs += edge_headers(self.domain, epoch, request.source_ip)
        # Names are lower-cased and repeated values comma-joined, never dropped.
        headers = {name: ",".join(values) for name, values in grouped(pairs, lower=True).items()}
        query = {name: ",".join(values) for name, values in grouped(request.query).items()}
        body, is_base64 = encode_body(request.body)
        rid = request_id()
        request_context: dict[str, Any] = {
            "accountId": self.account_id,
            "apiId": self.domain_prefix,
            "domainName": self.domain,
            "domainPrefix": self.domain_prefix,
            "http": {
                "method": request.method,
                "path": request.path,
                "protocol": "HTTP/1.1",
                "sourceIp": request.source_ip,
                "userAgent": request.header("user-agent") or "",
            },
            "requestId": rid,
            "routeKey": "$default",
            "stage": options.stage or "$default",
            "time": clf_time(epoch),
            "timeEpoch": epoch,
        }
        event: dict[str, Any] = {
            "version": "2.0",
            "routeKey": "$default",
            "rawPath": request.raw_path,
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

    def decode(self, result: Any) -> HttpResult:
        return decode_v2(result, front=self.front)


class FunctionUrl(HttpApi):
    """Lambda function URL event: payload 2.0, `$default` route and stage, `anonymous` account without IAM auth."""

    name = "function-url"
    front = "Lambda function URL"
    domain_prefix = URL_ID
    domain = f"{URL_ID}.lambda-url.{REGION}.on.aws"
    account_id = "anonymous"
