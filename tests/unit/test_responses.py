"""Function results → HTTP responses: decode_v1 (REST, ALB) and decode_v2 (HTTP API, function URLs), strictly."""

from __future__ import annotations

import base64
import json
from typing import Any

import httpx
import pytest

from pytest_lambda_container.errors import FunctionError, InvalidResponse
from pytest_lambda_container.fronts.events import FORMATS
from pytest_lambda_container.fronts.responses import HttpResult, decode_v1, decode_v2
from pytest_lambda_container.fronts.transport import LambdaTransport
from pytest_lambda_container.inprocess.function import InProcessFunction


def lower(result: HttpResult) -> list[tuple[str, str]]:
    return [(k.lower(), v) for k, v in result.headers]


# --------------------------------------------------------------------------------------------------------------
# Payload 1.0


def test_v1_headers_and_multi_value_headers_merge_keeping_repeats() -> None:
    result = decode_v1(
        {
            "statusCode": 201,
            "headers": {"Content-Type": "text/plain", "X-Single": "1"},
            "multiValueHeaders": {"Set-Cookie": ["a=1", "b=2"], "X-Multi": ["x", "y", "x"]},
            "body": "created",
        }
    )
    assert result.status_code == 201
    assert sorted(result.headers) == sorted(
        [
            ("Content-Type", "text/plain"),
            ("X-Single", "1"),
            ("Set-Cookie", "a=1"),
            ("Set-Cookie", "b=2"),
            ("X-Multi", "x"),
            ("X-Multi", "y"),
            ("X-Multi", "x"),
        ]
    )
    # Repeats keep their order.
    assert [v for k, v in result.headers if k == "X-Multi"] == ["x", "y", "x"]
    assert result.body == b"created"


@pytest.mark.parametrize("single_name", ["X-Both", "x-both", "X-BOTH"])
def test_v1_keeps_both_values_for_a_name_in_both(single_name: str) -> None:
    """REST API: where a header is in both maps, every value is kept (an identical pair once; see test_fronts)."""
    result = decode_v1(
        {"statusCode": 200, "headers": {single_name: "single"}, "multiValueHeaders": {"X-Both": ["m1", "m2"]}}
    )
    assert [v for k, v in lower(result) if k == "x-both"] == ["m1", "m2", "single"]


def test_v1_scalar_header_values_become_strings() -> None:
    result = decode_v1({"statusCode": 200, "headers": {"X-N": 5, "X-F": 1.5, "X-B": True}})
    assert dict(result.headers) == {"X-N": "5", "X-F": "1.5", "X-B": "true"}


def test_v1_empty_and_missing_parts() -> None:
    assert decode_v1({"statusCode": 204}) == HttpResult(204, [], b"")
    assert decode_v1({"statusCode": 200, "headers": None, "multiValueHeaders": None, "body": None}) == HttpResult(
        200, [], b""
    )


@pytest.mark.parametrize("decode", [decode_v1, decode_v2])
def test_base64_bodies_are_decoded(decode: Any) -> None:
    raw = bytes(range(256))
    result = decode({"statusCode": 200, "body": base64.b64encode(raw).decode(), "isBase64Encoded": True})
    assert result.body == raw


@pytest.mark.parametrize("decode", [decode_v1, decode_v2])
def test_text_bodies_are_utf8(decode: Any) -> None:
    assert decode({"statusCode": 200, "body": "héllo ✓", "isBase64Encoded": False}).body == "héllo ✓".encode()


# --------------------------------------------------------------------------------------------------------------
# Payload 2.0


def test_v2_cookies_become_set_cookie_headers() -> None:
    result = decode_v2(
        {
            "statusCode": 200,
            "headers": {"content-type": "text/plain", "x-joined": "a,b"},
            "cookies": ["a=1; Path=/", "b=2; Expires=Wed, 21 Oct 2037 07:28:00 GMT"],
            "body": "ok",
        }
    )
    assert result.headers == [
        ("content-type", "text/plain"),
        ("x-joined", "a,b"),  # a comma-joined value stays one header
        ("set-cookie", "a=1; Path=/"),
        ("set-cookie", "b=2; Expires=Wed, 21 Oct 2037 07:28:00 GMT"),
    ]
    response = httpx.Response(result.status_code, headers=result.headers, content=result.body)
    assert response.headers.get_list("set-cookie") == ["a=1; Path=/", "b=2; Expires=Wed, 21 Oct 2037 07:28:00 GMT"]


@pytest.mark.parametrize(
    "value",
    [
        {"message": "hello"},
        {"body": "not an envelope without statusCode", "headers": {"x": "y"}},
        [1, "two", {"three": 3}],
        "a bare string",
        42,
        3.5,
        True,
        None,
    ],
    ids=["dict", "dict-without-statusCode", "list", "string", "int", "float", "bool", "null"],
)
def test_v2_bare_value_is_a_200_json_body(value: Any) -> None:
    """HTTP API's inference: no statusCode means 200, content-type application/json, the value as the body."""
    result = decode_v2(value)
    assert result.status_code == 200
    assert [(k.lower(), v) for k, v in result.headers] == [("content-type", "application/json")]
    assert json.loads(result.body) == value


def test_v2_envelope_without_headers_or_body() -> None:
    assert decode_v2({"statusCode": 302, "headers": {"location": "/x"}}) == HttpResult(302, [("location", "/x")], b"")


# --------------------------------------------------------------------------------------------------------------
# Malformed results: an InvalidResponse that says what the function returned, never a silent pass.

MALFORMED_V1 = [
    pytest.param({"body": "no status"}, "no statusCode", id="missing-statusCode"),
    pytest.param({"statusCode": "abc"}, "is not an integer", id="string-status"),
    pytest.param({"statusCode": 200.0}, "is not an integer", id="float-status"),
    pytest.param({"statusCode": True}, "is not an integer", id="bool-status"),
    pytest.param({"statusCode": None}, "is not an integer", id="null-status"),
    pytest.param({"statusCode": 99}, "is not an HTTP status", id="status-too-small"),
    pytest.param({"statusCode": 600}, "is not an HTTP status", id="status-too-large"),
    pytest.param({"statusCode": 200, "body": {"a": 1}}, "body is dict, not a string", id="dict-body"),
    pytest.param({"statusCode": 200, "body": 5}, "body is int, not a string", id="int-body"),
    pytest.param({"statusCode": 200, "body": "%%%", "isBase64Encoded": True}, "not base64", id="bad-base64"),
    pytest.param({"statusCode": 200, "headers": ["a", "b"]}, "headers is list, not an object", id="list-headers"),
    pytest.param({"statusCode": 200, "headers": {"x": ["a"]}}, "not a string", id="list-header-value"),
    pytest.param({"statusCode": 200, "multiValueHeaders": {"x": "a"}}, "is not a list", id="multi-not-list"),
    pytest.param(["not", "an", "object"], "not an object", id="list-result"),
    pytest.param("just a string", "not an object", id="string-result"),
    pytest.param(None, "not an object", id="null-result"),
    pytest.param(42, "not an object", id="int-result"),
]
MALFORMED_V2 = [
    pytest.param({"statusCode": "abc"}, "is not an integer", id="string-status"),
    pytest.param({"statusCode": 1.5}, "is not an integer", id="float-status"),
    pytest.param({"statusCode": 200, "body": {"a": 1}}, "body is dict, not a string", id="dict-body"),
    pytest.param({"statusCode": 200, "body": "%%%", "isBase64Encoded": True}, "not base64", id="bad-base64"),
    pytest.param({"statusCode": 200, "cookies": "a=1"}, "cookies is not a list", id="cookies-not-list"),
    pytest.param({"statusCode": 200, "cookies": [{"a": 1}]}, "not a string", id="cookie-not-string"),
    pytest.param({"statusCode": 200, "headers": "x"}, "headers is str, not an object", id="string-headers"),
]


def assert_says_what_was_returned(exc: InvalidResponse, result: Any, why: str, front: str) -> None:
    message = str(exc)
    assert why in message
    assert front in message
    assert "502" in message
    assert json.dumps(result, default=repr) in message
    assert exc.payload == result


@pytest.mark.parametrize(("result", "why"), MALFORMED_V1)
def test_v1_malformed_results_raise_invalid_response(result: Any, why: str) -> None:
    with pytest.raises(InvalidResponse) as info:
        decode_v1(result, front="API Gateway REST API")
    assert_says_what_was_returned(info.value, result, why, "API Gateway REST API")


@pytest.mark.parametrize(("result", "why"), MALFORMED_V2)
def test_v2_malformed_results_raise_invalid_response(result: Any, why: str) -> None:
    with pytest.raises(InvalidResponse) as info:
        decode_v2(result, front="Lambda function URL")
    assert_says_what_was_returned(info.value, result, why, "Lambda function URL")


def test_a_long_result_is_shortened_in_the_message() -> None:
    result = {"body": "x" * 5000}
    with pytest.raises(InvalidResponse) as info:
        decode_v1(result)
    assert len(str(info.value)) < 1000
    assert str(info.value).endswith("...")
    assert info.value.payload == result  # the whole result stays available


@pytest.mark.parametrize(
    ("fmt", "front"),
    [
        ("rest", "API Gateway REST API"),
        ("http", "API Gateway HTTP API"),
        ("function-url", "Lambda function URL"),
        ("alb", "Application Load Balancer"),
        ("alb-multi", "Application Load Balancer"),
    ],
)
def test_each_format_names_its_front_in_the_error(fmt: str, front: str) -> None:
    with pytest.raises(InvalidResponse, match=front):
        FORMATS[fmt].decode({"statusCode": "nope"})


# --------------------------------------------------------------------------------------------------------------
# Through LambdaTransport: raised by default, the front's 502 with raise_function_errors=False.


def returning(result: Any) -> InProcessFunction:
    return InProcessFunction(lambda event, context: result)


def failing(event: Any, context: Any) -> Any:
    raise ValueError("boom")


ALB_502 = (
    b"<html>\r\n<head><title>502 Bad Gateway</title></head>\r\n<body>\r\n"
    b"<center><h1>502 Bad Gateway</h1></center>\r\n</body>\r\n</html>\r\n"
)
#: What each front answers when the function failed or its result cannot be read (see responses.ERROR_RESPONSES).
FUNCTION_FAILED = {
    "rest": (502, b'{"message": "Internal server error"}'),
    "http": (500, b'{"message":"Internal Server Error"}'),
    "http-1.0": (500, b'{"message":"Internal Server Error"}'),
    "function-url": (502, b"Internal Server Error"),
    "alb": (502, ALB_502),
    "alb-multi": (502, ALB_502),
}


@pytest.mark.parametrize("fmt", list(FORMATS))
def test_transport_raises_invalid_response_by_default(fmt: str) -> None:
    transport = LambdaTransport(returning({"statusCode": "abc"}), event_format=fmt)
    with pytest.raises(InvalidResponse, match="statusCode 'abc' is not an integer"):
        httpx.Client(transport=transport, base_url="http://l").get("/")


@pytest.mark.parametrize("fmt", list(FORMATS))
@pytest.mark.parametrize(
    "result",
    [{"body": "no status"}, {"statusCode": "abc"}, {"statusCode": 200, "body": [1]}],
    ids=["missing-statusCode", "non-integer-status", "non-string-body"],
)
def test_transport_turns_malformed_results_into_the_fronts_error(fmt: str, result: Any) -> None:
    transport = LambdaTransport(returning(result), event_format=fmt, raise_function_errors=False)
    response = httpx.Client(transport=transport, base_url="http://l").get("/")
    if fmt in ("http", "function-url") and "statusCode" not in result:
        # Payload 2.0 has no malformed bare value: it is a 200 JSON body (see test_v2_bare_value_*).
        assert response.status_code == 200
        assert response.json() == result
        return
    assert (response.status_code, response.content) == FUNCTION_FAILED[fmt]
    error = response.extensions["lambda_error"]
    assert isinstance(error, InvalidResponse)
    assert json.dumps(result) in str(error)
    assert "lambda_event" in response.extensions


@pytest.mark.parametrize("fmt", list(FORMATS))
def test_transport_turns_function_errors_into_the_fronts_error(fmt: str) -> None:
    transport = LambdaTransport(InProcessFunction(failing), event_format=fmt, raise_function_errors=False)
    response = httpx.Client(transport=transport, base_url="http://l").get("/")
    assert (response.status_code, response.content) == FUNCTION_FAILED[fmt]
    assert isinstance(response.extensions["lambda_error"], FunctionError)
    with pytest.raises(FunctionError, match="ValueError: boom"):
        httpx.Client(transport=LambdaTransport(InProcessFunction(failing), event_format=fmt)).get("http://l/")


def test_transport_passes_a_good_result_through() -> None:
    result = {
        "statusCode": 418,
        "multiValueHeaders": {"x-tea": ["earl", "grey"]},
        "body": base64.b64encode(b"\x00\xff").decode(),
        "isBase64Encoded": True,
    }
    # The client accepts the binary type the API lists, so the REST API decodes the body.
    transport = LambdaTransport(returning(result), options={"binary_media_types": ["*/*"]})
    response = httpx.Client(transport=transport, base_url="http://l").get("/")
    assert response.status_code == 418
    assert response.headers.get_list("x-tea") == ["earl", "grey"]
    assert response.content == b"\x00\xff"
    assert response.extensions["lambda_result"] == result
