"""API Gateway REST API, Lambda proxy integration (payload format 1.0)."""

from __future__ import annotations

import dataclasses
from typing import Any
from urllib.parse import parse_qsl

from ..headers import REST_REQUEST_DROPPED, rest_answer_headers
from ..responses import HttpResult, decode_v1
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
from .body import encode_body, first_accept, matches_media_types


def last_values(groups: dict[str, list[str]]) -> dict[str, str] | None:
    """The single-value view of multi-value pairs: the last value wins, as API Gateway does; None when empty."""
    return {key: values[-1] for key, values in groups.items()} or None


def rest_query(raw_query: str) -> list[tuple[str, str]]:
    """A REST API's query parameters: "The semicolon character (;) is not supported for any request URL query string
    and results in the data being split", so `a=1;b=2` is two parameters, as `&` would make them.
    https://docs.aws.amazon.com/apigateway/latest/developerguide/api-gateway-known-issues.html"""
    return parse_qsl(raw_query.replace(";", "&"), keep_blank_values=True)


class RestApi:
    """API Gateway REST API proxy event, the shape of AWS's `aws-proxy` sample event and of events captured from
    AWS (2026): the path and `pathParameters` still percent-encoded, no Content-Length header, the body base64-encoded
    only when its Content-Type is one of the API's `binaryMediaTypes` (`EventOptions.binary_media_types`).

    Query parameters are grouped by name; their order across names is not something a REST API keeps."""

    name = "rest"
    #: API Gateway's default integration timeout for REST APIs, in seconds (regional APIs may ask for more).
    #: https://docs.aws.amazon.com/apigateway/latest/developerguide/limits.html
    integration_timeout: float | None = 29.0
    max_integration_timeout: float | None = None
    max_request_body: int | None = None

    #: The stage a request is for unless `EventOptions.stage` says (HTTP APIs: `$default`).
    default_stage = "test"
    #: Request headers the front drops: captured REST events carry no Content-Length, whatever the client sent (the
    #: other fronts keep it); the known-issues page's table drops Content-MD5, Expect, Max-Forwards and
    #: Proxy-Authenticate (REST_REQUEST_DROPPED).
    dropped_headers = REST_REQUEST_DROPPED | {"content-length"}

    def query(self, request: HttpRequest) -> list[tuple[str, str]]:
        return rest_query(request.raw_query)

    def binary(self, request: HttpRequest, options: EventOptions) -> bool:
        """Whether the request body travels base64-encoded: its Content-Type is one of the binary media types."""
        return matches_media_types(request.header("content-type"), options.binary_media_types or ())

    def route(self, request: HttpRequest, options: EventOptions) -> tuple[str, dict[str, str] | None]:
        """`(resource, pathParameters)`: the greedy `{proxy+}` resource is what `ANY /{proxy+}` deployments of ASGI
        apps use; its parameter keeps the client's percent-encoding (`{"proxy": "capture/space%20value"}` in a
        captured event)."""
        if options.resource is not None:
            return options.resource, None
        if request.path == "/":
            return "/", None
        return "/{proxy+}", {"proxy": request.raw_path.lstrip("/")}

    def paths(self, request: HttpRequest, stage: str) -> tuple[str, str]:
        """`(path, requestContext.path)`: the client's path, and the stage's name in front of it in the context."""
        return request.raw_path, f"/{stage}{request.raw_path}"

    def ids(self) -> tuple[str, str]:
        """`(requestId, extendedRequestId)`: a UUID, and API Gateway's own id in its own shape."""
        return request_id(), aws_request_id()

    def context(self, resource: str) -> dict[str, Any]:
        """The context's fields of the resource that matched."""
        return {"resourceId": "abcdef", "resourcePath": resource}

    def build(self, request: HttpRequest, options: EventOptions) -> dict[str, Any]:
        epoch = now_ms()
        stage = options.stage or self.default_stage
        domain = f"{API_ID}.execute-api.{options.aws_region}.amazonaws.com"
        resource, path_parameters = self.route(request, options)
        if options.path_parameters is not None:
            path_parameters = dict(options.path_parameters) or None
        # REST APIs keep the client's header case, and spell their own like AWS's sample: Host, X-Forwarded-For.
        edge = [("-".join(p.capitalize() for p in k.split("-")), v) for k, v in edge_headers(domain, epoch, request)]
        forwarded = request.forwarded_headers(dropped=self.dropped_headers)
        header_groups = grouped([*forwarded, *edge], fold_case=True)
        query_groups = grouped(self.query(request))
        body, is_base64 = encode_body(request.body, binary=self.binary(request, options))
        rid, extended = self.ids()
        path, context_path = self.paths(request, stage)
        request_context = {
            "accountId": ACCOUNT_ID,
            "apiId": API_ID,
            "domainName": domain,
            "domainPrefix": API_ID,
            "extendedRequestId": extended,
            "httpMethod": request.method,
            "identity": {
                "accessKey": None,
                "accountId": None,
                "caller": None,
                "cognitoAuthenticationProvider": None,
                "cognitoAuthenticationType": None,
                "cognitoIdentityId": None,
                "cognitoIdentityPoolId": None,
                "principalOrgId": None,
                "sourceIp": request.source_ip,
                "user": None,
                "userAgent": request.header("user-agent"),
                "userArn": None,
            },
            "path": context_path,
            "protocol": "HTTP/1.1",
            "requestId": rid,
            "requestTime": clf_time(epoch),
            "requestTimeEpoch": epoch,
            **self.context(resource),
            "stage": stage,
        }
        event = {
            "resource": resource,
            # REST APIs pass the path still percent-encoded (Mangum decodes it).
            "path": path,
            "httpMethod": request.method,
            "headers": last_values(header_groups),
            "multiValueHeaders": header_groups or None,
            "queryStringParameters": last_values(query_groups),
            "multiValueQueryStringParameters": query_groups or None,
            "pathParameters": path_parameters,
            "stageVariables": dict(options.stage_variables) if options.stage_variables else None,
            "requestContext": deep_merge(request_context, options.request_context),
            "body": body,
            "isBase64Encoded": is_base64,
        }
        return deep_merge(event, options.extra)

    def decode(
        self, result: Any, request: HttpRequest | None = None, options: EventOptions | None = None
    ) -> HttpResult:
        """The response: a base64 body is decoded only when the request's first Accept value is one of the API's
        binary media types ("API Gateway uses the first Accept header from clients to determine if a response should
        return binary media"); otherwise the client gets the base64 text. Its headers as the known-issues page's table
        has them (`headers.rest_answer_headers`).
        https://docs.aws.amazon.com/apigateway/latest/developerguide/api-gateway-payload-encodings.html"""
        accept = first_accept(request.header("accept")) if request is not None else None
        patterns = (options.binary_media_types if options is not None else None) or ()
        decoded = decode_v1(
            result, front="API Gateway REST API", binary=matches_media_types(accept, patterns), number_body=True
        )
        return dataclasses.replace(decoded, headers=rest_answer_headers(decoded.headers))
