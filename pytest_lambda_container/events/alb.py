"""Application Load Balancer target events, with and without multi-value headers."""

from __future__ import annotations

from typing import Any

from ..responses import HttpResult, decode_v1
from .base import ACCOUNT_ID, REGION, EventOptions, HttpRequest, deep_merge, edge_headers, grouped, now_ms
from .body import encode_body
from .rest import last_values

TARGET_GROUP_ARN = f"arn:aws:elasticloadbalancing:{REGION}:{ACCOUNT_ID}:targetgroup/lambda-target/49e9d65c45c6791a"
DOMAIN = f"lambda-alb-123578498.{REGION}.elb.amazonaws.com"


class Alb:
    """ALB event: names lower-cased, query values passed on still percent-encoded (ALB does not decode them)."""

    def __init__(self, *, multi_value: bool) -> None:
        self.multi_value = multi_value
        self.name = "alb-multi" if multi_value else "alb"

    def build(self, request: HttpRequest, options: EventOptions) -> dict[str, Any]:
        epoch = now_ms()
        pairs = [
            # ALB forwards Connection (its sample event shows `connection: keep-alive`).
            *request.forwarded_headers(keep_connection=True),
            *edge_headers(DOMAIN, epoch, request.source_ip, https=False),
        ]
        headers = grouped(pairs, lower=True)
        raw_query = [tuple(part.split("=", 1)) if "=" in part else (part, "") for part in request.raw_query.split("&")]
        query = grouped([(k, v) for k, v in raw_query if k or v]) if request.raw_query else {}
        body, is_base64 = encode_body(request.body)
        event: dict[str, Any] = {
            "requestContext": {"elb": {"targetGroupArn": TARGET_GROUP_ARN}},
            "httpMethod": request.method,
            "path": request.raw_path,
        }
        if self.multi_value:
            event["multiValueQueryStringParameters"] = query
            event["multiValueHeaders"] = headers
        else:
            # Without multi-value headers enabled, ALB passes the last value of each.
            event["queryStringParameters"] = last_values(query) or {}
            event["headers"] = last_values(headers) or {}
        event["body"] = body or ""
        event["isBase64Encoded"] = is_base64
        event["requestContext"] = deep_merge(event["requestContext"], options.request_context)
        return deep_merge(event, options.extra)

    def decode(self, result: Any) -> HttpResult:
        return decode_v1(result, front="Application Load Balancer")
