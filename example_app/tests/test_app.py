"""The end-to-end tests a user writes: the image is built, run under aws-lambda-rie, and invoked for real."""

from __future__ import annotations

import pytest

from pytest_lambda_container import FunctionError
from pytest_lambda_container.fronts.events import sqs_event

pytestmark = pytest.mark.docker


def test_hello(invoke):
    r = invoke("GET", "/test1")
    assert r.status_code == 200
    assert r.json() == {"message": "test"}


def test_post(invoke):
    assert invoke("POST", "/test2").json() == {"message": "test2"}


def test_query(invoke):
    assert invoke("POST", "/test3", {"message": "hoge"}).json() == {"message": "hoge"}


def test_client(lambda_client):
    assert lambda_client.get("/test1").json() == {"message": "test"}


def test_path_parameter_and_query(lambda_client):
    r = lambda_client.get("/items/42", params={"q": "caf\u00e9 & cr\u00e8me"})
    assert r.json() == {"item_id": 42, "q": "caf\u00e9 & cr\u00e8me"}


def test_json_body(invoke):
    r = invoke("POST", "/items", json={"name": "pen", "price": 2.5, "tags": ["a", "b"]})
    assert r.status_code == 201
    assert r.json() == {"created": {"name": "pen", "price": 2.5, "tags": ["a", "b"]}, "total": 2.75}


def test_not_found_and_validation_errors_are_http_responses(invoke):
    assert invoke("GET", "/items/404").status_code == 404
    assert invoke("GET", "/nowhere").status_code == 404
    r = invoke("GET", "/items/abc")
    assert r.status_code == 422
    assert r.json()["detail"][0]["loc"] == ["path", "item_id"]


def test_environment_from_settings(invoke):
    # pyproject.toml sets lambda_env for this repo.
    assert invoke("GET", "/env").json() == {"APP_GREETING": "hello from pytest", "AWS_REGION": "us-east-1"}


def test_repeated_query_keys_and_headers(invoke):
    r = invoke("GET", "/echo", {"tag": ["a", "b"], "one": "1"}, headers={"X-Trace": "t1"})
    seen = r.json()
    assert seen["query"] == [["tag", "a"], ["tag", "b"], ["one", "1"]]
    assert seen["headers"]["x-trace"] == "t1"
    assert seen["source_ip"] == "127.0.0.1"


def test_cookies_and_binary(lambda_client):
    r = lambda_client.get("/cookies", headers={"Cookie": "session=abc"})
    assert r.json() == {"session": "abc"}
    assert sorted(c.split(";")[0] for c in r.headers.get_list("set-cookie")) == ["flavour=oat", "seen=yes"]
    assert lambda_client.get("/binary").content == bytes(range(256))


def test_an_unhandled_app_exception_is_a_500(invoke):
    # Mangum turns the app's exception into a 500 response: the function itself did not fail.
    assert invoke("GET", "/boom").status_code == 500


def test_raw_sqs_event_to_a_second_handler(lambda_container_factory):
    raw = lambda_container_factory(handler="app.raw_handler")
    assert raw.invoke_event(sqs_event(["a", "b"])) == {
        "records": 2,
        "bodies": ["a", "b"],
        "b64": "b2s=",
    }


def test_function_error(lambda_container_factory):
    failing = lambda_container_factory(handler="app.failing_handler")
    with pytest.raises(FunctionError) as info:
        failing.invoke_event({"b": 1, "a": 2})
    assert info.value.error_type == "ValueError"
    assert info.value.error_message == "bad event: ['a', 'b']"
    assert any("failing_handler" in line for line in info.value.stack_trace)
