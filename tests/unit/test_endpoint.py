"""The engine found as the docker CLI finds it (engine/endpoint.py): DOCKER_HOST, then DOCKER_CONTEXT, then the CLI's
current context, then the default socket (https://docs.docker.com/engine/manage-resources/contexts/)."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import pytest
from docker_contexts import make_context

from pytest_lambda_container.build import builder
from pytest_lambda_container.build.progress import BuildOutput
from pytest_lambda_container.engine import endpoint
from pytest_lambda_container.errors import ConfigError, EngineUnavailable


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


@pytest.fixture
def cert_path(tmp_path: Path) -> Path:
    """A DOCKER_CERT_PATH: the files need only exist until a connection is made."""
    folder = tmp_path / "certs"
    folder.mkdir()
    for pem in ("ca.pem", "cert.pem", "key.pem"):
        (folder / pem).write_text("-----BEGIN CERTIFICATE-----\n")
    return folder


@pytest.mark.parametrize("how", ["context", "DOCKER_HOST"])
def test_the_engines_ca_wins_over_requests_ca_bundle(how, config, cert_path, monkeypatch):
    # requests lets REQUESTS_CA_BUNDLE override a session's own CA (requests issue 3829): the engine's would be lost.
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", "/etc/some-system-bundle.pem")
    monkeypatch.setenv("CURL_CA_BUNDLE", "/etc/some-system-bundle.pem")
    if how == "context":
        make_context(config, "tls", "tcp://10.0.0.5:2376", tls=("ca.pem", "cert.pem", "key.pem"))
        monkeypatch.setenv("DOCKER_CONTEXT", "tls")
    else:
        monkeypatch.setenv("DOCKER_HOST", "tcp://10.0.0.5:2376")
        monkeypatch.setenv("DOCKER_TLS_VERIFY", "1")
        monkeypatch.setenv("DOCKER_CERT_PATH", str(cert_path))
    # A version given: the client asks the engine nothing (there is none at 10.0.0.5).
    made = endpoint.client(endpoint.resolve(), timeout=1, version="1.41")
    settings = made.api.merge_environment_settings("https://10.0.0.5:2376/v1.41/_ping", {}, False, None, None)
    assert settings["verify"].endswith("ca.pem") and made.api.cert[0].endswith("cert.pem")
    # An explicit per-request verify still wins, as requests has it.
    assert made.api.merge_environment_settings("https://x/", {}, False, False, None)["verify"] is False


def test_a_plain_tcp_engine_keeps_requests_own_settings(config, monkeypatch):
    monkeypatch.setenv("DOCKER_HOST", "tcp://10.0.0.5:2375")
    made = endpoint.client(endpoint.resolve(), timeout=1, version="1.41")
    assert made.api.merge_environment_settings.__func__ is type(made.api).merge_environment_settings


def test_tls_files_missing_are_one_clear_error(config, tmp_path, monkeypatch):
    monkeypatch.setenv("DOCKER_HOST", "tcp://10.0.0.5:2376")
    monkeypatch.setenv("DOCKER_TLS_VERIFY", "1")
    monkeypatch.setenv("DOCKER_CERT_PATH", str(tmp_path / "no-such-folder"))
    with pytest.raises(ConfigError, match=r"tcp://10.0.0.5:2376 \(from DOCKER_HOST\) cannot be used: .*certificate"):
        endpoint.client(endpoint.resolve(), timeout=1)


def test_an_ssh_engine_without_paramiko_says_what_to_install(config, monkeypatch):
    # The docker SDK imports paramiko for every ssh:// address, even to run the ssh client.
    monkeypatch.setitem(sys.modules, "paramiko", None)  # as if not installed: find_spec answers None
    monkeypatch.setenv("DOCKER_HOST", "ssh://ci@build-host")
    with pytest.raises(ConfigError, match=r"ssh://ci@build-host \(from DOCKER_HOST\).*pytest-lambda-container\[ssh\]"):
        endpoint.client(endpoint.resolve(), timeout=1)


@pytest.mark.parametrize(
    "how",
    [
        {"DOCKER_HOST": "tcp://10.0.0.5:2376", "DOCKER_TLS_VERIFY": "1", "DOCKER_CERT_PATH": "{certs}"},
        {"DOCKER_HOST": "ssh://ci@build-host:2222"},
        {"DOCKER_CONTEXT": "tls"},
        {"current context": "tls"},
        {"current context": "tls", "DOCKER_CONTEXT": "over-ssh"},
    ],
    ids=["DOCKER_HOST with TLS", "DOCKER_HOST ssh", "DOCKER_CONTEXT", "current context", "DOCKER_CONTEXT wins"],
)
def test_docker_buildx_is_run_against_the_same_endpoint(how, config, cert_path, tmp_path, monkeypatch):
    """The BuildKit path runs the user's `docker buildx build`: the CLI it starts, with the environment it gets,
    finds the engine (and its TLS material) the plugin uses. A stand-in `docker` records that environment."""
    make_context(config, "tls", "tcp://10.0.0.5:2376", tls=("ca.pem", "cert.pem", "key.pem"))
    make_context(config, "over-ssh", "ssh://ci@build-host")
    for name, value in how.items():
        if name == "current context":
            (config / "config.json").write_text(json.dumps({"currentContext": value}))
        else:
            monkeypatch.setenv(name, value.format(certs=cert_path))
    plugin = endpoint.resolve()
    bin_folder = tmp_path / "bin"
    bin_folder.mkdir()
    seen = tmp_path / "environment.json"
    stand_in = bin_folder / "docker"
    record = f"import json, os\nopen({str(seen)!r}, 'w').write(json.dumps(dict(os.environ)))\n"
    stand_in.write_text(f"#!{sys.executable}\n{record}")
    stand_in.chmod(0o755)
    monkeypatch.setenv("PATH", f"{bin_folder}{os.pathsep}{os.environ['PATH']}")
    request = builder.BuildRequest(
        dockerfile=tmp_path / "Dockerfile", context=tmp_path, tag="t", engine_environment=plugin.cli_environment()
    )
    result = builder.build_with_buildx(request, BuildOutput(lambda _event: None, builder.buildkit_step))
    assert result.error is None
    cli = endpoint.resolve(json.loads(seen.read_text()))
    assert (cli.address, cli.context) == (plugin.address, plugin.context)
    if not plugin.address.startswith("ssh://"):  # TLS: the same files (DOCKER_TLS_VERIFY and DOCKER_CERT_PATH too)
        ours, theirs = (endpoint.client(e, timeout=1, version="1.41").api for e in (plugin, cli))
        assert (theirs.base_url, theirs.cert, theirs.verify) == (ours.base_url, ours.cert, ours.verify)
        assert ours.base_url.startswith("https://") and ours.cert and str(ours.verify).endswith("ca.pem")


@pytest.mark.parametrize(
    "address, resolved, expected",
    [
        ("ssh://ci@buildbox:2222", "10.0.0.7", "ssh://ci@10.0.0.7:2222"),
        ("ssh://buildbox", "fd00::7", "ssh://[fd00::7]"),
        ("ssh://ci@10.0.0.7", "10.0.0.7", "ssh://ci@10.0.0.7"),
        ("tcp://docker:2376", "unused", "tcp://docker:2376"),
    ],
)
def test_an_ssh_host_is_reached_where_ssh_resolves_it(address, resolved, expected, tmp_path, monkeypatch):
    """`Host buildbox` / `HostName 10.0.0.7` in ~/.ssh/config: only ssh knows buildbox (`ssh -G` says what it
    connects to); a stand-in `ssh` answers as `ssh -G` does."""
    stand_in = tmp_path / "ssh"
    stand_in.write_text(f'#!/bin/sh\n[ "$1" = -G ] && printf "user ci\\nhostname {resolved}\\nport 22\\n"\n')
    stand_in.chmod(0o755)
    monkeypatch.setenv("PATH", f"{tmp_path}{os.pathsep}{os.environ['PATH']}")
    assert endpoint.reach_address(endpoint.Endpoint(address, "from DOCKER_HOST")) == expected


def test_without_an_ssh_client_the_address_is_as_given(tmp_path, monkeypatch):
    monkeypatch.setenv("PATH", str(tmp_path))
    found = endpoint.Endpoint("ssh://ci@buildbox", "from DOCKER_HOST")
    assert endpoint.reach_address(found) == "ssh://ci@buildbox"


@pytest.mark.parametrize(
    ("address", "reads_the_environment"),
    [("unix:///var/run/docker.sock", False), ("tcp://127.0.0.1:2375", True)],
    ids=["socket", "tcp"],
)
def test_only_a_tcp_engine_reads_proxies_and_ca_bundles_from_the_environment(address, reads_the_environment):
    """requests reads them from os.environ at every request, which fails (KeyError) when another thread changes it
    meanwhile; nothing of it applies to a socket."""
    made = endpoint.client(endpoint.Endpoint(address, "test"), timeout=1, version="1.41")
    try:
        assert made.api.trust_env is reads_the_environment
    finally:
        made.close()
