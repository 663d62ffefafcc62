"""API Gateway REST API, Lambda proxy integration (payload format 1.0)."""

from __future__ import annotations

from typing import Any

from ..responses import HttpResult, decode_v1
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


def last_values(groups: dict[str, list[str]]) -> dict[str, str] | None:
    """The single-value view of multi-value pairs: the last value wins, as API Gateway does; None when empty."""
    return {key: values[-1] for key, values in groups.items()} or None


class RestApi:
    """API Gateway REST API proxy event, the shape of AWS's `aws-proxy` sample event."""

    name = "rest"

    def build(self, request: HttpRequest, options: EventOptions) -> dict[str, Any]:
        epoch = now_ms()
        stage = options.stage or "test"
        domain = f"{API_ID}.execute-api.{REGION}.amazonaws.com"
        path = request.path
        # The greedy `{proxy+}` resource is what `ANY /{proxy+}` deployments of ASGI apps use.
        if options.resource is not None:
            resource, path_parameters = options.resource, None
        elif path == "/":
            resource, path_parameters = "/", None
        else:
            resource, path_parameters = "/{proxy+}", {"proxy": path.lstrip("/")}
        if options.path_parameters is not None:
            path_parameters = dict(options.path_parameters) or None
        # REST APIs keep the client's header case, and spell their own like AWS's sample: Host, X-Forwarded-For.
        edge = [
            ("-".join(p.capitalize() for p in k.split("-")), v)
            for k, v in edge_headers(domain, epoch, request.source_ip)
        ]
        headers = [*request.forwarded_headers(), *edge]
        header_groups = grouped(headers, fold_case=True)
        query_groups = grouped(request.query)
        body, is_base64 = encode_body(request.body)
        rid = request_id()
        request_context = {
            "accountId": ACCOUNT_ID,
            "apiId": API_ID,
            "domainName": domain,
            "domainPrefix": API_ID,
            "extendedRequestId": rid,
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
            "path": f"/{stage}{request.raw_path}",
            "protocol": "HTTP/1.1",
            "requestId": rid,
            "requestTime": clf_time(epoch),
            "requestTimeEpoch": epoch,
            "resourceId": "abcdef",
            "resourcePath": resource,
            "stage": stage,
        }
        event = {
            "resource": resource,
            # REST APIs pass the path still percent-encoded (Mangum decodes it); pathParameters are decoded.
            "path": request.raw_path,
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

    def decode(self, result: Any) -> HttpResult:
        return decode_v1(result, front="API Gateway REST API")
