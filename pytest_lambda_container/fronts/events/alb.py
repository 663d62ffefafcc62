"""Application Load Balancer target events, with and without multi-value headers."""

from __future__ import annotations

from typing import Any

from ..responses import HttpResult, decode_alb
from .base import ACCOUNT_ID, EventOptions, HttpRequest, deep_merge, edge_headers, grouped, now_ms
from .body import binary_unless_textual, encode_body
from .rest import last_values


class Alb:
    """ALB event: names lower-cased, query values passed on still percent-encoded (ALB does not decode them), the
    body base64-encoded unless textual; the result read in the target group's header mode.
    https://docs.aws.amazon.com/elasticloadbalancing/latest/application/lambda-functions.html"""

    #: No integration timeout: the load balancer waits for the function's own.
    integration_timeout: float | None = None
    max_integration_timeout: float | None = None
    #: "The maximum size of the request body that you can send to a Lambda function is 1 MB" (413 past it).
    max_request_body: int | None = 1024 * 1024

    def __init__(self, *, multi_value: bool) -> None:
        self.multi_value = multi_value
        self.name = "alb-multi" if multi_value else "alb"

    def build(self, request: HttpRequest, options: EventOptions) -> dict[str, Any]:
        epoch = now_ms()
        region = options.aws_region
        domain = f"lambda-alb-123578498.{region}.elb.amazonaws.com"
        target_group = f"arn:aws:elasticloadbalancing:{region}:{ACCOUNT_ID}:targetgroup/lambda-target/49e9d65c45c6791a"
        pairs = [
            # ALB forwards Connection (its sample event shows `connection: keep-alive`).
            *request.forwarded_headers(keep_connection=True),
            *edge_headers(domain, epoch, request, https=False),
        ]
        headers = grouped(pairs, lower=True)
        raw_query = [tuple(part.split("=", 1)) if "=" in part else (part, "") for part in request.raw_query.split("&")]
        query = grouped([(k, v) for k, v in raw_query if k or v]) if request.raw_query else {}
        binary = binary_unless_textual(request.header("content-type"), request.header("content-encoding"))
        body, is_base64 = encode_body(request.body, binary=binary)
        event: dict[str, Any] = {
            "requestContext": {"elb": {"targetGroupArn": target_group}},
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

    def decode(
        self, result: Any, request: HttpRequest | None = None, options: EventOptions | None = None
    ) -> HttpResult:
        return decode_alb(result, multi_value=self.multi_value)
