"""What each front does around the function, second round (issue 20): REST's answer headers and number bodies, the
fronts' request-id headers, X-Forwarded-For, `;` in REST query strings.

Every test names its source, as tests/unit/test_fronts.py does; requests go through `LambdaTransport` to in-process
handlers, Mangum as the oracle where an app reads the event.
"""

from __future__ import annotations

import re
from typing import Any

import httpx
import pytest

from pytest_lambda_container.fronts.transport import LambdaTransport
from pytest_lambda_container.inprocess.function import InProcessFunction

KNOWN_ISSUES = "https://docs.aws.amazon.com/apigateway/latest/developerguide/api-gateway-known-issues.html"
OK = {"statusCode": 200, "body": "ok"}


def client(handler: Any, fmt: str = "rest", **kwargs: Any) -> httpx.Client:
    return httpx.Client(
        transport=LambdaTransport(InProcessFunction(handler), event_format=fmt, **kwargs), base_url="http://l"
    )


def returning(result: Any, fmt: str = "rest", **kwargs: Any) -> httpx.Client:
    return client(lambda event, context: result, fmt, **kwargs)


def failing(event: Any, context: Any) -> Any:
    raise RuntimeError("boom")


# --------------------------------------------------------------------------------------------------------------
# REST answers


@pytest.mark.parametrize(("body", "text"), [(42, b"42"), (1.5, b"1.5"), (0, b"0")])
def test_rest_number_body_is_its_text(body: Any, text: bytes) -> None:
    """AWS's serverless SAM farm demo (aws-samples) returns `"body": totalSAMs`, a number, through a REST API; SAM CLI
    was changed to accept it (aws-sam-cli#1124). A boolean or list body stays a 502."""
    assert returning({"statusCode": 200, "body": body}).get("/").content == text
    for bad in (True, [1]):
        response = returning({"statusCode": 200, "body": bad}, raise_function_errors=False).get("/")
        assert response.status_code == 502


def test_rest_answer_without_content_type_gets_application_json() -> None:
    """Known-issues page: "API Gateway includes a Content-Type header for all integration responses. By default,
    the content type is application/json." A given one is kept."""
    assert returning(OK).get("/").headers.get_list("content-type") == ["application/json"]
    given = {"statusCode": 200, "headers": {"Content-Type": "text/html"}, "body": "<p>"}
    assert returning(given).get("/").headers.get_list("content-type") == ["text/html"]


def test_rest_remaps_and_drops_headers_as_its_table_says() -> None:
    """Known-issues page, the table's Response column for `lambda`: WWW-Authenticate, Authorization, Connection,
    Content-MD5, Date, Max-Forwards, Server and User-Agent are remapped to `X-Amzn-Remapped-<name>`; Expect, Host,
    Proxy-Authenticate, TE, Trailer, Transfer-Encoding, Upgrade and Via are dropped; the rest pass through."""
    headers = {
        "WWW-Authenticate": 'Bearer realm="api"',
        "Authorization": "a",
        "Date": "Mon, 01 Jan 2024 00:00:00 GMT",
        "Server": "app",
        "User-Agent": "ua",
        "Content-MD5": "m",
        "Max-Forwards": "3",
        "Via": "1.1 proxy",
        "Upgrade": "h2c",
        "Proxy-Authenticate": "Basic",
        "Age": "5",
        "X-Own": "kept",
    }
    response = returning({"statusCode": 401, "headers": headers, "body": ""}).get("/")
    assert response.headers["x-amzn-remapped-www-authenticate"] == 'Bearer realm="api"'
    assert "www-authenticate" not in response.headers
    for name in ("Authorization", "Date", "Server", "User-Agent", "Content-MD5", "Max-Forwards"):
        assert response.headers[f"x-amzn-Remapped-{name}"] == headers[name]
        assert name not in response.headers
    for name in ("Via", "Upgrade", "Proxy-Authenticate"):
        assert name not in response.headers
        assert f"x-amzn-remapped-{name}" not in response.headers
    assert (response.headers["age"], response.headers["x-own"]) == ("5", "kept")


@pytest.mark.parametrize("fmt", ["http", "function-url", "alb"])
def test_other_fronts_pass_www_authenticate_through(fmt: str) -> None:
    """AWS documents the remapping for REST APIs only (known-issues page); the other fronts pass the header on
    (README: reports of function URLs remapping it are not confirmed here)."""
    result = {"statusCode": 401, "headers": {"WWW-Authenticate": "Bearer"}, "body": ""}
    assert returning(result, fmt).get("/").headers["www-authenticate"] == "Bearer"


def test_rest_drops_the_request_headers_its_table_drops() -> None:
    """Known-issues page, the Request column for `lambda`: Content-MD5, Expect, Max-Forwards and Proxy-Authenticate
    are dropped; Via and Referer pass through."""
    response = returning(OK).get(
        "/",
        headers={
            "Content-MD5": "m",
            "Max-Forwards": "2",
            "Proxy-Authenticate": "Basic",
            "Via": "1.1 x",
            "Referer": "r",
        },
    )
    names = {name.lower() for name in response.extensions["lambda_event"]["multiValueHeaders"]}
    assert not names & {"content-md5", "max-forwards", "proxy-authenticate"}
    assert {"via", "referer"} <= names


def test_rest_splits_query_strings_on_semicolons() -> None:
    """Known-issues page: "The semicolon character (;) is not supported for any request URL query string and
    results in the data being split." HTTP APIs have no such note: `;` stays part of the value there."""
    event = returning(OK).get("/?a=1;b=2&c=3").extensions["lambda_event"]
    assert event["multiValueQueryStringParameters"] == {"a": ["1"], "b": ["2"], "c": ["3"]}
    http = returning(OK, "http").get("/?a=1;b=2").extensions["lambda_event"]
    assert http["queryStringParameters"] == {"a": "1;b=2"}


# --------------------------------------------------------------------------------------------------------------
# Request ids


def test_rest_answers_carry_its_request_ids() -> None:
    """curl output from AWS (awsdocs/amazon-api-gateway-developer-guide#71): `x-amzn-requestid` (the event's UUID
    requestId) and `x-amz-apigw-id` (its extendedRequestId) on every answer."""
    response = returning(OK).get("/")
    context = response.extensions["lambda_event"]["requestContext"]
    assert response.headers["x-amzn-requestid"] == context["requestId"]
    assert response.headers["x-amz-apigw-id"] == context["extendedRequestId"]
    assert "x-amzn-errortype" not in response.headers


def test_rest_errors_carry_the_error_type() -> None:
    """curl output from AWS of a REST API's 502 and 504: `x-amzn-ErrorType: InternalServerErrorException` next to
    `x-amzn-RequestId`."""
    response = client(failing, raise_function_errors=False).get("/")
    assert response.status_code == 502
    assert response.headers["x-amzn-errortype"] == "InternalServerErrorException"
    assert response.headers["x-amzn-requestid"] == response.extensions["lambda_event"]["requestContext"]["requestId"]


@pytest.mark.parametrize("handler", [lambda e, c: OK, failing], ids=["answer", "error"])
def test_http_api_answers_carry_apigw_requestid(handler: Any) -> None:
    """HTTP API answers from AWS carry `Apigw-Requestid: WSg1ihmdliAEJXA=`: the event's requestId, in API Gateway's
    own shape; its error answers too."""
    response = client(handler, "http", raise_function_errors=False).get("/")
    assert response.headers["apigw-requestid"] == response.extensions["lambda_event"]["requestContext"]["requestId"]
    assert re.fullmatch(r"[A-Za-z0-9+/]{15}=", response.headers["apigw-requestid"])


def test_the_fronts_request_id_replaces_the_functions() -> None:
    """The front's word is last: a function's own `x-amzn-RequestId` does not reach the client beside it."""
    result = {"statusCode": 200, "headers": {"x-amzn-RequestId": "mine"}, "body": ""}
    response = returning(result).get("/")
    assert response.headers.get_list("x-amzn-requestid") != ["mine"]
    assert len(response.headers.get_list("x-amzn-requestid")) == 1


# --------------------------------------------------------------------------------------------------------------
# X-Forwarded-For


@pytest.mark.parametrize("fmt", ["alb", "alb-multi", "rest", "http", "function-url"])
def test_x_forwarded_for_keeps_the_clients_chain_and_appends_its_address(fmt: str) -> None:
    """ALB: "the load balancer appends the client IP address to the existing header value", one value
    (https://docs.aws.amazon.com/elasticloadbalancing/latest/application/x-forwarded-headers.html); REST: AWS's
    sample proxy event has one value `127.0.0.1, 127.0.0.2` in both header maps (tests/data/aws-samples)."""
    event = returning(OK, fmt).get("/", headers={"X-Forwarded-For": "203.0.113.7"}).extensions["lambda_event"]
    if fmt == "alb-multi":
        assert event["multiValueHeaders"]["x-forwarded-for"] == ["203.0.113.7, 127.0.0.1"]
        return
    headers = {k.lower(): v for k, v in event["headers"].items()}
    assert headers["x-forwarded-for"] == "203.0.113.7, 127.0.0.1"
    if fmt == "rest":
        multi = {k.lower(): v for k, v in event["multiValueHeaders"].items()}
        assert multi["x-forwarded-for"] == ["203.0.113.7, 127.0.0.1"]


def test_x_forwarded_for_without_a_chain_is_the_clients_address() -> None:
    """No chain from the client: the front's own value is the connecting address alone, as in AWS's samples."""
    event = returning(OK, "alb").get("/").extensions["lambda_event"]
    assert event["headers"]["x-forwarded-for"] == "127.0.0.1"
