"""API Gateway HTTP API with payload format 1.0: a REST-shaped event, HTTP API's rules.

https://docs.aws.amazon.com/apigateway/latest/developerguide/http-api-develop-integrations-lambda.html
"""

from __future__ import annotations

from typing import Any

from ..responses import HttpResult, decode_v1
from .base import EventOptions, HttpRequest, aws_request_id
from .body import binary_unless_textual
from .rest import RestApi


class HttpApiV1(RestApi):
    """An HTTP API's payload 1.0 event, the shape of one captured from AWS (us-east-2, 2023; in spring-cloud-function's
    `CustomRuntimeEventLoopTest`) and of AWS's documented example: `"version": "1.0"`, `resource`, `resourceId` and
    `resourcePath` `$default` on the `$default` route, the `$default` stage, `requestId` and `extendedRequestId` one
    id in API Gateway's shape, the client's Content-Length kept.

    HTTP API rules, not REST's: the body base64-encoded unless textual (HTTP APIs have no binary media types), `;`
    no query separator, keys past the five of the result ignored, a failed call a 500, an integration timeout of at
    most 30 s (a 503), and none of the known-issues page's REST header remapping (documented for REST APIs only).
    A named stage prefixes the path, as `rawPath` in payload 2.0 (not confirmed by a capture of 1.0: README)."""

    name = "http-1.0"
    front = "API Gateway HTTP API"
    default_stage = "$default"
    dropped_headers = frozenset()
    #: As payload 2.0: HTTP APIs wait 30 s for a Lambda integration by default, and cannot wait longer.
    #: https://docs.aws.amazon.com/apigateway/latest/developerguide/http-api-quotas.html
    integration_timeout: float | None = 30.0
    max_integration_timeout: float | None = 30.0

    def query(self, request: HttpRequest) -> list[tuple[str, str]]:
        return request.query

    def binary(self, request: HttpRequest, options: EventOptions) -> bool:
        return binary_unless_textual(request.header("content-type"), request.header("content-encoding"))

    def route(self, request: HttpRequest, options: EventOptions) -> tuple[str, dict[str, str] | None]:
        return (options.resource if options.resource is not None else "$default"), None

    def paths(self, request: HttpRequest, stage: str) -> tuple[str, str]:
        path = request.raw_path if stage == "$default" else f"/{stage}{request.raw_path}"
        return path, path

    def ids(self) -> tuple[str, str]:
        # One id, twice: `"requestId": "H6SdPgXtiYcEP1w="` and `"extendedRequestId": "H6SdPgXtiYcEP1w="` captured.
        rid = aws_request_id()
        return rid, rid

    def context(self, resource: str) -> dict[str, Any]:
        return {"resourceId": resource, "resourcePath": resource}

    def build(self, request: HttpRequest, options: EventOptions) -> dict[str, Any]:
        return {"version": "1.0", **super().build(request, options)}

    def decode(
        self, result: Any, request: HttpRequest | None = None, options: EventOptions | None = None
    ) -> HttpResult:
        """Format 1.0's response keys (statusCode, headers, multiValueHeaders, body, isBase64Encoded); others are
        ignored, a base64 body always decoded."""
        return decode_v1(result, front=self.front, strict_keys=False)
