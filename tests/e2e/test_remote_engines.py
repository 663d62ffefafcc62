"""Engines reached as the docker CLI reaches remote ones (issue 18): over TLS with client certificates, through a
Docker context or DOCKER_HOST + DOCKER_TLS_VERIFY + DOCKER_CERT_PATH, and over ssh; the function reached at the
engine host's address (here 127.0.0.1, published on loopback only) and no container left behind.

The engine is this machine's, behind a TLS proxy that asks for a client certificate as dockerd --tlsverify does
(https://docs.docker.com/engine/security/protect-access/), or behind a throwaway sshd (`docker system dial-stdio`
over ssh, as the CLI's ssh:// endpoints use: https://docs.docker.com/engine/security/protect-access/#use-ssh)."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from docker_contexts import make_context
from remote_engines import EngineProxy, Pems, Sshd, certificates, server_context, sshd_missing

from .conftest import ROOT

pytestmark = pytest.mark.docker

#: One small suite per transport: an invocation, the httpx client, and the container's log streamed back.
SUITE = """
def test_hello(invoke):
    assert invoke("GET", "/test1").json() == {"message": "test"}


def test_client_and_logs(lambda_client, lambda_container):
    assert lambda_client.post("/test3", params={"message": "hoge"}).json() == {"message": "hoge"}
    assert "START RequestId" in lambda_container.logs()
"""


@pytest.fixture
def suite(pytester: pytest.Pytester, lambda_image, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    """The suite on the example's Dockerfile (already built by this session: the run finds it up to date through
    the remote engine), with an empty docker CLI config and no engine set; returns the config folder."""
    dockerfile = ROOT / "example_app" / "Dockerfile"
    pytester.makeini(f"[pytest]\nlambda_dockerfile = {dockerfile}\nlambda_build_network = host\n")
    pytester.makepyfile(SUITE)
    config = tmp_path / "docker-config"
    config.mkdir()
    (config / "config.json").write_text("{}")
    monkeypatch.setenv("DOCKER_CONFIG", str(config))
    for name in ("DOCKER_HOST", "DOCKER_CONTEXT", "DOCKER_TLS_VERIFY", "DOCKER_CERT_PATH", "DOCKER_TLS"):
        monkeypatch.delenv(name, raising=False)
    return config


@pytest.fixture
def pems(tmp_path: Path) -> tuple[Pems, Pems, Pems]:
    return certificates(tmp_path / "pems")


def use_context(config: Path, name: str, host: str, client: Pems) -> None:
    """`docker context create NAME --docker host=HOST,ca=...,cert=...,key=...` then `docker context use NAME`."""
    files = {"ca.pem": client.ca, "cert.pem": client.cert, "key.pem": client.key}
    make_context(config, name, host, tls={pem: path.read_text() for pem, path in files.items()})
    (config / "config.json").write_text(json.dumps({"currentContext": name}))


def reached_on_loopback(result: pytest.RunResult, address: str) -> None:
    result.assert_outcomes(passed=2)
    text = result.stdout.str()
    assert f"the engine is at {address}: its host's address, the port published on loopback only" in text, text


@pytest.mark.parametrize("how", ["docker context", "DOCKER_HOST + DOCKER_CERT_PATH"])
def test_a_tls_engine_with_client_certificates(how, suite, pems, monkeypatch, pytester, foreign_containers):
    server, client, stranger = pems
    # Many machines point requests at their own CA bundle (REQUESTS_CA_BUNDLE): the engine's CA must still win.
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(stranger.ca))
    with EngineProxy(server_context(server)) as proxy:
        if how == "docker context":
            use_context(suite, "tls-engine", proxy.address, client)
        else:
            monkeypatch.setenv("DOCKER_HOST", proxy.address)
            monkeypatch.setenv("DOCKER_TLS_VERIFY", "1")
            monkeypatch.setenv("DOCKER_CERT_PATH", str(client.ca.parent))
        result = pytester.runpytest("--lambda-port", "0")
    reached_on_loopback(result, proxy.address)
    assert foreign_containers() == []


@pytest.mark.parametrize(
    "wrong, says",
    [
        ("client certificate", "refused this client's certificate"),
        ("engine's CA", "certificate that is not signed by the CA in"),
        ("no client certificate", "asks for a client certificate"),
    ],
)
def test_a_wrong_certificate_is_one_clear_error(wrong, says, suite, pems, pytester, foreign_containers):
    server, client, stranger = pems
    given = {
        "client certificate": Pems(client.ca, stranger.cert, stranger.key),
        "engine's CA": Pems(stranger.ca, client.cert, client.key),
        "no client certificate": None,
    }[wrong]
    with EngineProxy(server_context(server)) as proxy:
        if given is None:  # a context with the CA only
            make_context(suite, "tls-engine", proxy.address, tls={"ca.pem": client.ca.read_text()})
            (suite / "config.json").write_text(json.dumps({"currentContext": "tls-engine"}))
        else:
            use_context(suite, "tls-engine", proxy.address, given)
        result = pytester.runpytest("--lambda-port", "0")
    text = result.stdout.str()
    assert result.ret != 0
    assert says in text and "docker context tls-engine" in text, text
    assert text.count(says) == 1, text  # told once, not per test
    assert "Traceback" not in text and "Start the engine" not in text, text
    assert foreign_containers() == []


@pytest.mark.skipif(sshd_missing() is not None, reason=str(sshd_missing()))
def test_an_engine_over_ssh(suite, monkeypatch, pytester, tmp_path, foreign_containers):
    """One case (CI's budget): a context naming an ssh:// host resolves to the same address (test_endpoint.py)."""
    with Sshd(tmp_path / "sshd") as sshd:
        # The ssh client the docker SDK runs, with the test's known_hosts and key, as ~/.ssh/config would give it.
        monkeypatch.setenv("PATH", f"{sshd.bin}{os.pathsep}{os.environ['PATH']}")
        # A host name of the ssh config's: the function is reached at the address ssh resolves it to.
        monkeypatch.setenv("DOCKER_HOST", sshd.alias_address)
        result = pytester.runpytest("--lambda-port", "0")
        logins = sshd.logins()
    assert f"engine {sshd.alias_address} (from DOCKER_HOST)" in result.stdout.str()
    reached_on_loopback(result, sshd.address)
    # Connections kept, as the docker CLI keeps them (the SDK's ssh-client transport started one ssh per request:
    # 74 here, 4 kept): the connect's probe, then a few pooled ones for the session's threads.
    assert 1 < logins <= 12, logins
    assert foreign_containers() == []
