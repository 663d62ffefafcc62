"""Every front, end to end: the real container answers each event format the way the app meant."""

from __future__ import annotations

import pytest

from pytest_lambda_container import FORMATS
from pytest_lambda_container.fronts.events import s3_event, sns_event, sqs_event

pytestmark = pytest.mark.docker


@pytest.fixture(params=list(FORMATS))
def call(request, invoke):
    def call_in_format(*args, **kwargs):
        return invoke(*args, event_format=request.param, **kwargs)

    call_in_format.format = request.param
    return call_in_format


def test_binary_download(call):
    r = call("GET", "/binary")
    assert r.status_code == 200
    assert r.content == bytes(range(256))
    assert r.headers["content-type"] == "application/octet-stream"


def test_cookies_set_and_read(call):
    r = call("GET", "/cookies", headers={"Cookie": "session=s3cr3t; theme=dark"})
    assert r.json() == {"session": "s3cr3t"}
    assert sorted(c.split(";")[0] for c in r.headers.get_list("set-cookie")) == ["flavour=oat", "seen=yes"]


def test_repeated_query_keys(call):
    seen = call("GET", "/echo", {"tag": ["x", "y z", "\u00fc"], "one": "1"}).json()
    if call.format == "alb":  # without multi-value headers ALB passes the last value of each key
        assert seen["query"] == [["tag", "\u00fc"], ["one", "1"]]
    else:
        assert seen["query"] == [["tag", "x"], ["tag", "y z"], ["tag", "\u00fc"], ["one", "1"]]


def test_repeated_response_headers(call):
    r = call("GET", "/multi")
    assert r.text == "multi"
    values = r.headers.get_list("x-repeated")
    # Payload 2.0 carries headers as one comma-joined string per name.
    assert values == (["one,two"] if call.format in ("http", "function-url") else ["one", "two"])


def test_404_and_422(call):
    assert call("GET", "/nowhere").status_code == 404
    assert call("GET", "/items/404").json() == {"detail": "Item not found"}
    r = call("POST", "/items", json={"name": "no price"})
    assert r.status_code == 422
    assert r.json()["detail"][0]["loc"] == ["body", "price"]


def test_methods(call):
    assert call("HEAD", "/test1").content == b""
    assert call("OPTIONS", "/test1").status_code == 405
    assert call("DELETE", "/test1").status_code == 405
    assert call("PATCH", "/test1").status_code == 405


def test_trigger_events_reach_a_raw_handler(lambda_container_factory):
    raw = lambda_container_factory(handler="app.raw_handler")
    assert raw.invoke_event(sqs_event(["a", {"b": 1}]))["bodies"] == ["a", '{"b": 1}']
    assert raw.invoke_event(sns_event(["m"]))["records"] == 1
    assert raw.invoke_event(s3_event(["k1", "k2"]))["records"] == 2
