"""`invoke` and `LambdaTransport` without Docker: the function runs in-process behind the same contract."""

from __future__ import annotations

import httpx
import pytest
from mangum import Mangum

from pytest_lambda_container import FunctionError, FunctionTimeout, LambdaTransport, PayloadTooLarge, make_invoke
from pytest_lambda_container.build.image import redact_build_args
from pytest_lambda_container.inprocess.function import InProcessFunction


@pytest.fixture
def invoke(example_app):
    client = httpx.Client(base_url="http://lambda", transport=LambdaTransport(InProcessFunction(example_app.handler)))
    yield make_invoke(client)
    client.close()


def test_seed_routes_through_current_mangum(invoke):
    assert invoke("GET", "/test1").json() == {"message": "test"}
    assert invoke("post", "/test2").json() == {"message": "test2"}
    assert invoke("POST", "/test3", {"message": "hoge"}).json() == {"message": "hoge"}


def test_the_seed_hand_made_event_is_what_current_mangum_rejects(example_app):
    # The write-up's curl body: current Mangum cannot tell which front sent it. Ours it can.
    seed_event = {"path": "/test1", "httpMethod": "GET", "requestContext": {}, "multiValueQueryStringParameters": {}}
    with pytest.raises(FunctionError, match=r"unable to infer a handler|The adapter was unable to infer"):
        InProcessFunction(Mangum(example_app.app, lifespan="off")).invoke_event(seed_event)


@pytest.mark.parametrize(
    ("args", "kwargs", "message"),
    [
        (("FETCH", "/test1"), {}, "'FETCH' is not an HTTP method"),
        (("GET", "test1"), {}, "path 'test1' must start with '/'"),
        (("POST", "/items"), {"json": {"a": 1}, "body": "x"}, "give either json= or body=, not both"),
        (("GET", "/test1"), {"stage_variabls": {}}, "unknown event option"),
        (("GET", "/test1"), {"event_format": "soap"}, "unknown event format 'soap'"),
    ],
)
def test_bad_invoke_arguments_raise_value_error(invoke, args, kwargs, message):
    with pytest.raises(ValueError, match=message):
        invoke(*args, **kwargs)


def test_query_takes_strings_and_lists(invoke):
    seen = invoke("GET", "/echo", {"a": ["1", "2"], "b": "3"}).json()
    assert seen["query"] == [["a", "1"], ["a", "2"], ["b", "3"]]


def test_per_call_event_format_and_options(invoke):
    seen = invoke("GET", "/echo", event_format="http", request_context={"authorizer": {"jwt": {"claims": {}}}}).json()
    assert "http" in seen["request_context_keys"] and "authorizer" in seen["request_context_keys"]
    seen = invoke("GET", "/echo", event_format="alb").json()
    assert seen["request_context_keys"] == ["elb"]


def test_function_errors_raise_or_become_502(example_app):
    function = InProcessFunction(example_app.failing_handler)
    with pytest.raises(FunctionError) as info:
        httpx.Client(transport=LambdaTransport(function)).get("http://lambda/x")
    assert info.value.error_type == "ValueError"
    assert info.value.error_message.startswith("bad event: ['body', 'headers', 'httpMethod'")
    assert "failing_handler" in str(info.value)
    quiet = httpx.Client(transport=LambdaTransport(function, raise_function_errors=False))
    r = quiet.get("http://lambda/x")
    assert (r.status_code, r.json()) == (502, {"message": "Internal server error"})


class Failing:
    """A target whose every invocation fails with `error`."""

    def __init__(self, error: Exception) -> None:
        self.error = error

    def invoke_event(self, event):
        raise self.error


TIMEOUT = FunctionTimeout("Task timed out after 3.00 seconds", timeout=3)
TOO_LARGE = PayloadTooLarge("too long")


@pytest.mark.parametrize(
    ("fmt", "error", "status", "body"),
    [
        ("rest", TIMEOUT, 502, {"message": "Internal server error"}),
        ("rest", TOO_LARGE, 413, {"message": "Request Too Long"}),
        ("http", TIMEOUT, 500, {"message": "Internal Server Error"}),
        ("http", TOO_LARGE, 413, {"message": "Request Entity Too Large"}),
    ],
    ids=["rest-timeout", "rest-payload-too-large", "http-timeout", "http-payload-too-large"],
)
def test_every_invocation_error_the_front_answers_becomes_its_status(fmt, error, status, body):
    quiet = httpx.Client(transport=LambdaTransport(Failing(error), event_format=fmt, raise_function_errors=False))
    r = quiet.get("http://lambda/x")
    assert (r.status_code, r.json()) == (status, body)
    assert r.extensions["lambda_error"] is error
    with pytest.raises(type(error)):
        httpx.Client(transport=LambdaTransport(Failing(error), event_format=fmt)).get("http://lambda/x")


def test_secret_build_args_are_not_printed():
    assert redact_build_args({"PY": "3.11", "NPM_TOKEN": "abc", "db_password": "x"}) == {
        "PY": "3.11",
        "NPM_TOKEN": "***",
        "db_password": "***",
    }


@pytest.mark.anyio
async def test_async_transport_twin(example_app):
    from pytest_lambda_container import AsyncLambdaTransport

    transport = AsyncLambdaTransport(InProcessFunction(example_app.handler), event_format="http")
    async with httpx.AsyncClient(base_url="http://lambda", transport=transport) as client:
        assert (await client.post("/test3", params={"message": "async"})).json() == {"message": "async"}
        assert (await client.head("/test1")).content == b""
    failing = AsyncLambdaTransport(InProcessFunction(example_app.failing_handler), raise_function_errors=False)
    async with httpx.AsyncClient(transport=failing) as client:
        assert (await client.get("http://lambda/x")).status_code == 502


@pytest.fixture
def anyio_backend():
    return "asyncio"
