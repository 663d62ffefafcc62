"""The engine found as the docker CLI finds it (engine/endpoint.py): DOCKER_HOST, then DOCKER_CONTEXT, then the CLI's
current context, then the default socket (https://docs.docker.com/engine/manage-resources/contexts/)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from docker_contexts import make_context

from pytest_lambda_container.engine import endpoint
from pytest_lambda_container.errors import EngineUnavailable


@pytest.fixture
def config(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An empty docker CLI config folder (DOCKER_CONFIG), no DOCKER_HOST or DOCKER_CONTEXT."""
    folder = tmp_path / "docker-config"
    folder.mkdir()
    (folder / "config.json").write_text("{}")
    monkeypatch.setenv("DOCKER_CONFIG", str(folder))
    monkeypatch.delenv("DOCKER_HOST", raising=False)
    monkeypatch.delenv("DOCKER_CONTEXT", raising=False)
    return folder


def test_nothing_set_is_the_default_socket(config: Path):
    found = endpoint.resolve()
    assert (found.address, found.context, found.cli_environment()) == ("unix:///var/run/docker.sock", None, {})


def test_the_clis_current_context_is_used(config: Path):
    make_context(config, "remote", "tcp://10.0.0.5:2376", tls=("ca.pem", "cert.pem", "key.pem"))
    (config / "config.json").write_text(json.dumps({"currentContext": "remote"}))
    found = endpoint.resolve()
    assert found.address == "tcp://10.0.0.5:2376" and found.context == "remote"
    assert "docker context remote (the docker CLI's current context)" == found.origin
    assert found.tls is not None and found.tls.verify and found.tls.cert and found.tls.ca_cert
    # The build's docker CLI gets the same engine.
    assert found.cli_environment() == {"DOCKER_CONTEXT": "remote"}


def test_docker_context_wins_over_the_current_one_and_docker_host_over_both(config, monkeypatch):
    make_context(config, "remote", "tcp://10.0.0.5:2376")
    make_context(config, "other", "ssh://ci@build-host")
    (config / "config.json").write_text(json.dumps({"currentContext": "remote"}))
    monkeypatch.setenv("DOCKER_CONTEXT", "other")
    found = endpoint.resolve()
    assert (found.address, found.origin) == ("ssh://ci@build-host", "docker context other (DOCKER_CONTEXT)")
    monkeypatch.setenv("DOCKER_HOST", "tcp://docker:2375")
    found = endpoint.resolve()
    assert (found.address, found.origin, found.context) == ("tcp://docker:2375", "from DOCKER_HOST", None)
    assert found.cli_environment() == {"DOCKER_HOST": "tcp://docker:2375"}


def test_the_default_context_by_name_is_the_default_socket(config, monkeypatch):
    monkeypatch.setenv("DOCKER_CONTEXT", "default")
    assert endpoint.resolve().address == "unix:///var/run/docker.sock"


def test_a_context_with_only_a_ca_verifies_the_server(config, monkeypatch):
    make_context(config, "ca-only", "tcp://10.0.0.5:2376", tls=("ca.pem",))
    monkeypatch.setenv("DOCKER_CONTEXT", "ca-only")
    tls = endpoint.resolve().tls
    assert tls is not None and tls.verify and tls.cert is None and str(tls.ca_cert).endswith("ca.pem")


def test_a_missing_context_is_one_clear_error(config, monkeypatch):
    monkeypatch.setenv("DOCKER_CONTEXT", "nope")
    with pytest.raises(
        EngineUnavailable, match=r"docker context 'nope' \(DOCKER_CONTEXT\) does not exist.*docker context ls"
    ):
        endpoint.resolve()
