"""One class per target (`make_target`), each keyed on the resolved function: the same function asked for two ways
is one function, and a deployed target refuses any function but the deployed one."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from pytest_lambda_container import FunctionSpec, NotOnTarget, Settings
from pytest_lambda_container.targets import (
    ContainerTarget,
    Endpoint,
    FunctionTarget,
    InProcessTarget,
    UrlTarget,
    make_target,
)

URL = "https://abc.execute-api.us-east-1.amazonaws.com/prod"


def no_session():
    raise AssertionError("no session is opened by this test")


@pytest.mark.parametrize(
    ("fields", "kind"),
    [
        ({}, ContainerTarget),
        ({"target": "inprocess"}, InProcessTarget),
        ({"target": "url", "url": URL}, UrlTarget),
        ({"target": "function", "function": "fn"}, FunctionTarget),
    ],
)
def test_each_target_has_its_class_name_and_header(fields, kind):
    target = make_target(Settings(rootdir=Path("."), **fields), no_session)
    assert type(target) is kind and target.name == (fields.get("target") or "container")
    assert target.header()[0].startswith(f"lambda-container: target {target.name}")
    assert target.opened_session is None


@pytest.mark.usefixtures("plain_python")
def test_only_the_container_target_has_a_session():
    target = make_target(Settings(rootdir=Path("."), target="url", url=URL), no_session)
    with pytest.raises(NotOnTarget, match=r"needs Docker.*the target is url"):
        target.session()


@pytest.mark.usefixtures("plain_python")
def test_the_url_target_reaches_the_one_deployed_function_however_it_is_asked_for(tmp_path: Path):
    target = make_target(Settings(rootdir=tmp_path, target="url", url=URL, timeout=5), no_session)
    endpoint = target.function()
    assert isinstance(endpoint, Endpoint) and endpoint.url == URL
    # The configured function, asked for by its fields: the same one.
    assert target.function(FunctionSpec.of(tmp_path, dockerfile="Dockerfile", timeout=5)) is endpoint
    with pytest.raises(NotOnTarget, match=r"reaches the one deployed function; this asks for another \(handler="):
        target.function(FunctionSpec(handler="app.other"))
    target.close()


def test_the_inprocess_target_makes_one_function_per_resolved_function(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    # The in-process function puts its scoped environ in place of os.environ: the original comes back after.
    monkeypatch.setattr(os, "environ", os.environ)
    (tmp_path / "app.py").write_text("def handler(event, context):\n    return {'seen': event}\n")
    (tmp_path / "Dockerfile").write_text('FROM python:3.11-slim\nCOPY app.py ./\nCMD ["app.handler"]\n')
    target = make_target(Settings(rootdir=tmp_path, target="inprocess", timeout=4), no_session)
    try:
        first = target.function()
        assert target.function(FunctionSpec.of(tmp_path, dockerfile="Dockerfile", timeout=4)) is first
        other = target.function(FunctionSpec(env=(("X", "1"),)))
        assert other is not first and other.env["X"] == "1"
        assert first.invoke_event({"a": 1}) == {"seen": {"a": 1}}
    finally:
        target.close()


@pytest.mark.usefixtures("plain_python")
def test_the_url_target_refuses_a_raw_event_whatever_the_caller_sends():
    endpoint = make_target(Settings(rootdir=Path("."), target="url", url=URL), no_session).function()
    with pytest.raises(NotOnTarget, match="raw event"):
        endpoint.invoke_event({}, tenant_id="blue")
