"""What each front does around the function, rule by rule, as AWS runs it (issue 11).

Every test names its source: AWS's documentation, or an event captured from AWS. Requests go through
`LambdaTransport` to in-process handlers; the event a front built is read from the response's `lambda_event`.
"""

from __future__ import annotations

import base64
import json
import re
from types import ModuleType
from typing import Any

import httpx
import pytest
from mangum import Mangum

from pytest_lambda_container.errors import (
    CallerTimeout,
    ConfigError,
    FunctionTimeout,
    IntegrationTimeout,
    InvalidResponse,
    PayloadTooLarge,
)
from pytest_lambda_container.fronts.events import (
    FORMATS,
    eventbridge_event,
    s3_event,
    scheduled_event,
    sns_event,
    sqs_event,
)
from pytest_lambda_container.fronts.transport import LambdaTransport, make_invoke
from pytest_lambda_container.inprocess.function import InProcessFunction

PNG = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR"
OK = {"statusCode": 200, "body": "ok"}


def client(handler: Any, fmt: str = "rest", **kwargs: Any) -> httpx.Client:
    transport = LambdaTransport(InProcessFunction(handler), event_format=fmt, **kwargs)
    return httpx.Client(transport=transport, base_url="http://l")


def returning(result: Any, fmt: str = "rest", **kwargs: Any) -> httpx.Client:
    return client(lambda event, context: result, fmt, **kwargs)


def event_of(fmt: str, method: str = "GET", path: str = "/", *, options: Any = None, **kwargs: Any) -> Any:
    """The event `fmt` sends for a request."""
    response = returning(OK, fmt, options=options).request(method, path, **kwargs)
    return response.extensions["lambda_event"]


def png_result() -> dict[str, Any]:
    body = base64.b64encode(PNG).decode()
    return {"statusCode": 200, "headers": {"content-type": "image/png"}, "body": body, "isBase64Encoded": True}


# --------------------------------------------------------------------------------------------------------------
# REST API (payload 1.0)


@pytest.mark.parametrize(
    ("types", "accept", "binary"),
    [
        (None, "*/*", False),
        (["*/*"], "*/*", True),
        (["image/png"], "*/*", False),
        (["image/png"], "image/png, */*", True),
        (["image/*"], "image/webp,image/png", True),
        (["image/png"], "text/html,image/png", False),
    ],
)
def test_rest_decodes_a_base64_result_only_for_a_binary_media_type(types: Any, accept: str, binary: bool) -> None:
    """https://docs.aws.amazon.com/apigateway/latest/developerguide/api-gateway-payload-encodings.html: "API Gateway
    uses the first Accept header from clients to determine if a response should return binary media"; otherwise the
    client gets the function's base64 text."""
    options = {"binary_media_types": types} if types else None
    response = returning(png_result(), options=options).get("/logo", headers={"accept": accept})
    assert response.content == (PNG if binary else base64.b64encode(PNG))


def test_rest_binary_media_types_per_call() -> None:
    """The same rule, set per call: `invoke("GET", "/logo", binary_media_types=["*/*"])`."""
    invoke = make_invoke(returning(png_result()))
    assert invoke("GET", "/logo").content == base64.b64encode(PNG)
    assert invoke("GET", "/logo", binary_media_types=["*/*"]).content == PNG


@pytest.mark.parametrize(
    ("content_type", "body", "types", "expected"),
    [
        ("application/json", b'{"a": 1}', ["*/*"], (base64.b64encode(b'{"a": 1}').decode(), True)),
        ("application/json", b'{"a": 1}', None, ('{"a": 1}', False)),
        ("image/png", PNG, ["image/png"], (base64.b64encode(PNG).decode(), True)),
        ("image/png", PNG, None, (PNG.decode("utf-8", errors="replace"), False)),
        ("application/x-www-form-urlencoded", b"a=1", ["image/png"], ("a=1", False)),
    ],
    ids=["json-matched", "json-unmatched", "png-matched", "png-mangled", "form-unmatched"],
)
def test_rest_request_body_is_base64_only_for_a_binary_media_type(content_type, body, types, expected) -> None:
    """Same page: a request whose Content-Type is one of binaryMediaTypes arrives base64-encoded, even valid UTF-8;
    any other arrives as UTF-8 text, so binary bytes without a match arrive mangled, as on AWS."""
    options = {"binary_media_types": types} if types else None
    event = event_of("rest", "POST", "/upload", options=options, content=body, headers={"content-type": content_type})
    assert (event["body"], event["isBase64Encoded"]) == expected


@pytest.mark.parametrize(
    "result",
    [
        {"statusCode": 200, "statusDescription": "200 OK", "body": "x"},
        {"statusCode": 200, "body": "x", "cookies": ["a=1"]},
        {"body": "no status"},
    ],
    ids=["statusDescription", "cookies", "no-statusCode"],
)
def test_rest_rejects_extra_keys_and_a_missing_status_code(result: dict[str, Any]) -> None:
    """A REST API capture (2026) of a result with `statusDescription`: 502 and "Malformed Lambda proxy response" in
    the log; the proxy integration's output format has five keys only.
    https://docs.aws.amazon.com/apigateway/latest/developerguide/set-up-lambda-proxy-integrations.html"""
    response = returning(result, raise_function_errors=False).get("/")
    assert (response.status_code, response.json()) == (502, {"message": "Internal server error"})
    with pytest.raises(InvalidResponse):
        returning(result).get("/")


def test_rest_merges_headers_keeping_both_values() -> None:
    """A REST API capture (2026): a name in both `headers` and `multiValueHeaders` comes back with both values;
    an identical pair once."""
    result = {
        "statusCode": 200,
        "headers": {"X-Both": "single", "X-Same": "v"},
        "multiValueHeaders": {"X-Both": ["m1", "m2"], "X-Same": ["v"]},
    }
    response = returning(result).get("/")
    assert response.headers.get_list("x-both") == ["m1", "m2", "single"]
    assert response.headers.get_list("x-same") == ["v"]


def test_rest_path_parameters_stay_percent_encoded() -> None:
    """A captured REST event: `{"proxy": "capture/space%20value"}` for `/capture/space%20value`."""
    event = event_of("rest", "GET", "/capture/space%20value")
    assert event["pathParameters"] == {"proxy": "capture/space%20value"}
    assert event["path"] == "/capture/space%20value"


def test_rest_events_have_no_content_length_and_the_others_do() -> None:
    """Captured REST events (2026) carry no Content-Length header; HTTP API, Function URL and ALB events do."""
    rest = event_of("rest", "POST", "/", content=b"abc")
    assert not {k.lower() for k in rest["multiValueHeaders"]} & {"content-length"}
    for fmt in ("http", "function-url", "alb"):
        assert event_of(fmt, "POST", "/", content=b"abc")["headers"]["content-length"] == "3"


def test_rest_extended_request_id_has_aws_shape() -> None:
    """A captured REST event: `"extendedRequestId": "ATfSmjLgPHcESJw="`, unlike its UUID `requestId`."""
    context = event_of("rest")["requestContext"]
    assert re.fullmatch(r"[A-Za-z0-9+/]{15}=", context["extendedRequestId"])
    assert context["extendedRequestId"] != context["requestId"]


# --------------------------------------------------------------------------------------------------------------
# HTTP API, Function URL (payload 2.0), and ALB request bodies


@pytest.mark.parametrize("fmt", ["http", "function-url", "alb"])
@pytest.mark.parametrize(
    ("content_type", "textual"),
    [
        ("application/json", True),
        ("text/plain; charset=utf-8", True),
        ("application/vnd.api+json", True),
        ("application/xml", True),
        ("application/x-www-form-urlencoded", False),
        ("application/octet-stream", False),
        ("multipart/form-data; boundary=x", False),
        (None, False),
    ],
)
def test_bodies_are_base64_unless_textual(fmt: str, content_type: str | None, textual: bool) -> None:
    """ALB: https://docs.aws.amazon.com/elasticloadbalancing/latest/application/lambda-functions.html (text/*,
    application/json, application/javascript, application/xml pass as text); HTTP API and Function URL captures
    (2026): the same, a form post and a missing content type base64-encoded."""
    headers = {"content-type": content_type} if content_type else {}
    event = event_of(fmt, "POST", "/", content=b"a=1", headers=headers)
    assert event["isBase64Encoded"] is not textual
    assert event["body"] == ("a=1" if textual else base64.b64encode(b"a=1").decode())


def test_http_api_decodes_raw_path_and_function_urls_do_not() -> None:
    """HTTP API capture (2026): `"rawPath": "/capture/space value"`; Function URL capture: still encoded."""
    assert event_of("http", "GET", "/capture/space%20value")["rawPath"] == "/capture/space value"
    assert event_of("function-url", "GET", "/capture/space%20value")["rawPath"] == "/capture/space%20value"


def test_http_api_named_stage_prefixes_the_paths(example_app: ModuleType) -> None:
    """HTTP API capture on a stage `prod`: rawPath and requestContext.http.path start with `/prod`; a Mangum app then
    needs `api_gateway_base_path`, as on AWS."""
    event = event_of("http", "GET", "/test1", options={"stage": "prod"})
    assert (event["rawPath"], event["requestContext"]["http"]["path"]) == ("/prod/test1", "/prod/test1")
    assert event_of("http", "GET", "/test1")["rawPath"] == "/test1"  # $default: no prefix
    for base_path, status in (("/", 404), ("/prod", 200)):
        app = InProcessFunction(Mangum(example_app.app, lifespan="off", api_gateway_base_path=base_path))
        transport = LambdaTransport(app, event_format="http", options={"stage": "prod"})
        assert httpx.Client(transport=transport).get("http://l/test1").status_code == status


def test_http_api_request_id_has_aws_shape() -> None:
    """HTTP API capture: `"requestId": "JKJaXmPLvHcESHA="`, not a UUID (a Function URL's is a UUID, as documented)."""
    assert re.fullmatch(r"[A-Za-z0-9+/]{15}=", event_of("http")["requestContext"]["requestId"])
    assert re.fullmatch(r"[0-9a-f-]{36}", event_of("function-url")["requestContext"]["requestId"])


def test_function_urls_keep_the_cookie_header_and_add_tls_headers() -> None:
    """aws-powertools' captured lambdaFunctionUrlEventWithHeaders.json: `x-amzn-tls-version`,
    `x-amzn-tls-cipher-suite`; Function URL captures (2026) keep `cookie` next to `cookies`; HTTP API drops it."""
    url = event_of("function-url", headers={"cookie": "a=1; b=2"})
    assert url["cookies"] == ["a=1", "b=2"] and url["headers"]["cookie"] == "a=1; b=2"
    assert url["headers"]["x-amzn-tls-version"].startswith("TLSv1.")
    assert url["headers"]["x-amzn-tls-cipher-suite"]
    http = event_of("http", headers={"cookie": "a=1; b=2"})
    assert http["cookies"] == ["a=1", "b=2"] and "cookie" not in http["headers"]
    assert "x-amzn-tls-version" not in http["headers"]


# --------------------------------------------------------------------------------------------------------------
# Error answers and integration timeouts


@pytest.mark.parametrize(
    ("fmt", "status", "content_type", "body"),
    [
        ("rest", 502, "application/json", b'{"message": "Internal server error"}'),
        ("http", 500, "application/json", b'{"message":"Internal Server Error"}'),
        ("function-url", 502, "text/plain", b"Internal Server Error"),
        ("alb", 502, "text/html", b"<center><h1>502 Bad Gateway</h1></center>"),
    ],
)
def test_each_front_answers_a_function_error_its_own_way(example_app, fmt, status, content_type, body) -> None:
    """REST: https://docs.aws.amazon.com/lambda/latest/dg/services-apigateway-errors.html; HTTP API:
    https://docs.aws.amazon.com/apigateway/latest/developerguide/http-api-troubleshooting-lambda.html; Function URL:
    awsdocs/aws-lambda-developer-guide#430 ("a 502 'Internal Server Error'"); ALB: its own 502 Bad Gateway page."""
    response = client(example_app.failing_handler, fmt, raise_function_errors=False).get("/")
    assert (response.status_code, response.headers["content-type"]) == (status, content_type)
    assert body in response.content


class Slow:
    """A target that takes `seconds` and honours `timeout=` as the container does."""

    def __init__(self, seconds: float, own_timeout: float = 300.0) -> None:
        self.seconds, self.timeout, self.given = seconds, own_timeout, []

    def invoke_event(self, event: Any, *, timeout: float | None = None) -> Any:
        self.given.append(timeout)
        if timeout is not None and self.seconds > timeout:
            raise CallerTimeout(f"stopped waiting after {timeout}s", timeout=timeout)
        if self.seconds > self.timeout:
            raise FunctionTimeout("Task timed out", timeout=self.timeout)
        return OK


@pytest.mark.parametrize(
    ("fmt", "cap", "status", "body"),
    [
        ("rest", 29.0, 504, {"message": "Endpoint request timed out"}),
        ("http", 30.0, 503, {"message": "Service Unavailable"}),
    ],
)
def test_api_gateway_gives_up_after_its_integration_timeout(fmt, cap, status, body) -> None:
    """https://docs.aws.amazon.com/apigateway/latest/developerguide/limits.html (REST 29 s) and
    http-api-quotas.html (HTTP API 30 s, no more): a 40 s handler fails, whatever the function's own 300 s."""
    target = Slow(40)
    response = httpx.Client(transport=LambdaTransport(target, event_format=fmt, raise_function_errors=False)).get(
        "http://l/"
    )
    assert target.given == [cap]
    assert (response.status_code, response.json()) == (status, body)
    with pytest.raises(IntegrationTimeout, match="integration timeout"):
        httpx.Client(transport=LambdaTransport(Slow(40), event_format=fmt)).get("http://l/")


@pytest.mark.parametrize("fmt", ["function-url", "alb"])
def test_function_urls_and_albs_wait_for_the_function(fmt: str) -> None:
    """Function URLs and ALBs have no integration timeout: only the function's own (a 40 s handler answers)."""
    target = Slow(40)
    assert httpx.Client(transport=LambdaTransport(target, event_format=fmt)).get("http://l/").status_code == 200
    assert target.given == [None]


def test_a_shorter_function_timeout_is_a_function_error() -> None:
    """Same page: a function that times out before the integration does is a function error (502)."""
    target = Slow(20, own_timeout=10)
    response = httpx.Client(transport=LambdaTransport(target, raise_function_errors=False)).get("http://l/")
    assert target.given == [None] and response.status_code == 502


def test_integration_timeout_is_configurable_where_aws_allows() -> None:
    """REST APIs may be given more than 29 s (regional APIs, on request); HTTP APIs at most 30 s."""
    target = Slow(40)
    transport = LambdaTransport(target, integration_timeout=45)
    assert httpx.Client(transport=transport).get("http://l/").status_code == 200 and target.given == [45]
    with pytest.raises(ConfigError, match="over what the http front allows"):
        LambdaTransport(Slow(1), event_format="http", integration_timeout=45)


def test_a_target_without_timeout_is_called_plainly() -> None:
    """An in-process function without `timeout=` is invoked as before: no cap, no error."""
    assert returning(OK).get("/").status_code == 200


# --------------------------------------------------------------------------------------------------------------
# ALB


def test_alb_reads_the_headers_of_its_mode() -> None:
    """https://docs.aws.amazon.com/elasticloadbalancing/latest/application/lambda-functions.html#multi-value-headers:
    with multi-value headers on, the load balancer uses `multiValueHeaders`; off, `headers`."""
    result = {"statusCode": 200, "headers": {"x-one": "single"}, "multiValueHeaders": {"x-many": ["a", "b"]}}
    single = returning(result, "alb").get("/")
    multi = returning(result, "alb-multi").get("/")
    assert (single.headers.get_list("x-one"), single.headers.get_list("x-many")) == (["single"], [])
    assert (multi.headers.get_list("x-one"), multi.headers.get_list("x-many")) == ([], ["a", "b"])


def test_alb_limits_request_and_response_to_1_mb() -> None:
    """Same page: "The maximum size of the request body that you can send to a Lambda function is 1 MB" (413) and
    "The maximum size of the response JSON that the Lambda function can send is 1 MB" (502)."""
    big = b"x" * (1024 * 1024 + 1)
    quiet = returning(OK, "alb", raise_function_errors=False)
    assert quiet.post("/", content=big).status_code == 413
    with pytest.raises(PayloadTooLarge, match="1,048,576"):
        returning(OK, "alb").post("/", content=big)
    huge = {"statusCode": 200, "body": "y" * (1024 * 1024)}
    assert returning(huge, "alb", raise_function_errors=False).get("/").status_code == 502
    assert returning(huge, "http").get("/").status_code == 200  # API Gateway's limit is Lambda's 6 MB


def test_alb_status_description_is_the_reason_phrase() -> None:
    """Same page: `"statusDescription": "200 OK"` in the response sets the status line."""
    response = returning({"statusCode": 418, "statusDescription": "418 Short And Stout", "body": ""}, "alb").get("/")
    assert response.reason_phrase == "Short And Stout"


# --------------------------------------------------------------------------------------------------------------
# Region (issue 10: events follow --lambda-region)


def test_events_name_the_region_they_are_given() -> None:
    """ARNs and domain names carry the function's region (`EventOptions(region=...)`, the builders' `region=`)."""
    for fmt in FORMATS:
        event = event_of(fmt, options={"region": "eu-west-1"})
        text = json.dumps(event)
        assert "eu-west-1" in text and "us-east-1" not in text, fmt
    for event in (
        sqs_event(["a"], region="eu-west-1"),
        sns_event(["a"], region="eu-west-1"),
        s3_event(["k"], region="eu-west-1"),
        eventbridge_event({}, region="eu-west-1"),
        scheduled_event(region="eu-west-1"),
    ):
        assert "eu-west-1" in json.dumps(event) and "us-east-1" not in json.dumps(event)
    assert "us-east-1" in json.dumps(event_of("rest"))  # the default
