"""Which engine to talk to, found as the docker CLI finds it: DOCKER_HOST, then DOCKER_CONTEXT, then the current
context of the CLI's config (`currentContext` in $DOCKER_CONFIG/config.json, ~/.docker by default), then the default
socket (https://docs.docker.com/engine/manage-resources/contexts/).

docker-py's `from_env` reads DOCKER_HOST only; its `ContextAPI` reads a context's metadata
(contexts/meta/<sha256 of the name>/meta.json) and TLS material (contexts/tls/<sha256>/docker/{ca,cert,key}.pem),
so it does the reading here. An ssh:// endpoint runs the `ssh` client, as the CLI does (your ~/.ssh/config applies),
its connections kept (engine/ssh.py); the docker SDK still imports paramiko for any ssh:// address: the `ssh` extra.
"""

from __future__ import annotations

import importlib.util
import os
import subprocess
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from ..errors import ConfigError, EngineUnavailable

if TYPE_CHECKING:  # the docker SDK loads only where a context is read or a client made: the header reads this too
    import docker
    from docker.tls import TLSConfig

DEFAULT_SOCKET = "unix:///var/run/docker.sock"


@dataclass(frozen=True)
class Endpoint:
    """An engine's address, where that came from, and what it takes to connect."""

    address: str
    #: Where it came from, for messages: "from DOCKER_HOST", "context remote (DOCKER_CONTEXT)", ...
    origin: str
    #: The context's name, when it came from one.
    context: str | None = None
    tls: TLSConfig | None = None

    def cli_environment(self) -> dict[str, str]:
        """What the docker CLI (`docker buildx build`) needs in its environment to use this same engine."""
        if self.context is not None:
            return {"DOCKER_CONTEXT": self.context}
        return {"DOCKER_HOST": self.address} if self.origin == "from DOCKER_HOST" else {}

    def tls_material(self) -> tuple[str, str]:
        """Where this endpoint's TLS files are, and how they are set: for the message that says which to fix."""
        if self.context is not None:
            how = f"docker context update {self.context} --docker host={self.address},ca=CA,cert=CERT,key=KEY"
            return f"docker context {self.context}", f"`{how}` sets its files"
        folder = os.environ.get("DOCKER_CERT_PATH") or os.path.join("~", ".docker")
        return f"DOCKER_CERT_PATH ({folder})", "its ca.pem, cert.pem, key.pem; DOCKER_TLS_VERIFY=1 checks the engine"


def resolve(environ: Mapping[str, str] | None = None) -> Endpoint:
    """The engine the docker CLI would use with `environ` (default: os.environ)."""
    env = os.environ if environ is None else environ
    if env.get("DOCKER_HOST"):
        return Endpoint(env["DOCKER_HOST"], "from DOCKER_HOST")
    name = env.get("DOCKER_CONTEXT")
    origin = "DOCKER_CONTEXT"
    if not name:
        name = _current_context()
        origin = "the docker CLI's current context"
    if not name or name == "default":
        return Endpoint(DEFAULT_SOCKET, "the default socket; DOCKER_HOST is not set")
    from docker.context import ContextAPI

    try:
        context = ContextAPI.get_context(name)
    except Exception as exc:
        raise EngineUnavailable(f"docker context {name!r} ({origin}) cannot be read: {exc}") from None
    if context is None:
        raise EngineUnavailable(
            f"docker context {name!r} ({origin}) does not exist; `docker context ls` lists them, "
            "`docker context use default` (or unsetting DOCKER_CONTEXT) goes back to the local engine"
        )
    host = context.Host or DEFAULT_SOCKET
    return Endpoint(host, f"docker context {name} ({origin})", context=name, tls=_tls(context))


def reach_address(endpoint: Endpoint) -> str:
    """The endpoint's address with the host ssh really connects to, for where the tests reach the function
    (engine/reach.py): an ssh:// host is often an alias of the ssh config (`Host buildbox` / `HostName 10.0.0.7`)
    that only ssh resolves; `ssh -G` says what it resolves to, reading the config and connecting nowhere."""
    parts = urlsplit(endpoint.address)
    if parts.scheme != "ssh" or not parts.hostname:
        return endpoint.address
    command = ["ssh", "-G", *(["-p", str(parts.port)] if parts.port else []), "--", parts.hostname]
    try:
        done = subprocess.run(command, capture_output=True, text=True, timeout=10, stdin=subprocess.DEVNULL)
    except (OSError, subprocess.SubprocessError):  # no ssh client: the SDK's connection says so
        return endpoint.address
    found = next((line.split(" ", 1)[1] for line in done.stdout.splitlines() if line.startswith("hostname ")), "")
    if not found or found == parts.hostname:
        return endpoint.address
    host = f"[{found}]" if ":" in found else found
    user = f"{parts.username}@" if parts.username else ""
    return f"ssh://{user}{host}" + (f":{parts.port}" if parts.port else "")


def ssh_trouble(endpoint: Endpoint) -> str | None:
    """After an ssh:// engine did not answer: what ssh, or docker on the engine's host, says when asked the way the
    SDK asks (`docker system dial-stdio` needs the same login and the same docker CLI), without prompting for
    anything; None when that works, or for another kind of endpoint."""
    parts = urlsplit(endpoint.address)
    if parts.scheme != "ssh" or not parts.hostname:
        return None
    login = [*(["-l", parts.username] if parts.username else []), *(["-p", str(parts.port)] if parts.port else [])]
    command = ["ssh", *login, "-o", "BatchMode=yes", "--", parts.hostname, "docker version --format ok"]
    try:
        done = subprocess.run(command, capture_output=True, text=True, timeout=30, stdin=subprocess.DEVNULL)
    except (OSError, subprocess.SubprocessError) as exc:
        return f"`ssh` cannot be run here ({exc}): the docker SDK reaches ssh:// engines through it"
    said = " ".join(line.strip() for line in done.stderr.strip().splitlines()[-2:]) or f"exit status {done.returncode}"
    if done.returncode == 0:
        return None
    if done.returncode == 255:  # ssh's own failure: https://man.openbsd.org/ssh#EXIT_STATUS
        return (
            f"ssh to {parts.hostname} failed ({said}): `ssh {' '.join([*login, parts.hostname])}` must log in "
            "without a prompt (a key the host accepts, through ssh-agent or IdentityFile in ~/.ssh/config, and its "
            "host key in known_hosts)"
        )
    if done.returncode == 127:
        return (
            f"{parts.hostname} has no `docker` command for that login ({said}): the engine is reached through "
            "`docker system dial-stdio` there, so the docker CLI must be on that user's PATH"
        )
    return f"docker on {parts.hostname} failed ({said})"


def _current_context() -> str | None:
    from docker.context.config import get_current_context_name

    return str(get_current_context_name() or "") or None


def _tls(context: Any) -> TLSConfig | None:
    """The context's TLS: its client certificate and CA (docker-py's reading), or its CA alone."""
    from docker.tls import TLSConfig

    found = context.TLSConfig
    if found is not None:
        return found  # type: ignore[no-any-return]
    endpoint = (context.endpoints or {}).get("docker") or {}
    folder = os.path.join(context.tls_path or "", "docker")
    ca = os.path.join(folder, "ca.pem")
    if str(endpoint.get("Host", "")).startswith("tcp://") and os.path.isfile(ca):
        return TLSConfig(ca_cert=ca, verify=not endpoint.get("SkipTLSVerify", False))
    return None


def client(endpoint: Endpoint, *, timeout: int, version: str | None = None) -> docker.DockerClient:
    """A docker SDK client of `endpoint` at API `version` (None: the oldest the SDK speaks, to ask the engine its
    own); `ConfigError` when its address or TLS material cannot even be used. It asks the engine nothing: the SDK's
    own version query would run before the engine's CA is kept (tls.keep_engine_ca)."""
    import docker
    from docker.constants import MINIMUM_DOCKER_API_VERSION
    from docker.errors import DockerException

    ssh = endpoint.address.startswith("ssh://")
    if ssh:
        if importlib.util.find_spec("paramiko") is None:
            raise ConfigError(
                f"the engine {endpoint.address} ({endpoint.origin}) is reached over ssh, and the docker SDK needs "
                "paramiko for that (it imports it even to run your ssh client): pip install "
                "'pytest-lambda-container[ssh]' (or paramiko)"
            )
        from .sdk import with_ssh

        with_ssh()  # an SDK loaded without its SSH transport (engine/sdk.py) gets it now
    options: dict[str, Any] = {"version": version or MINIMUM_DOCKER_API_VERSION, "use_ssh_client": ssh}
    try:
        if endpoint.origin == "from DOCKER_HOST":
            # from_env reads DOCKER_TLS_VERIFY and DOCKER_CERT_PATH with it, as the CLI does.
            made = docker.from_env(timeout=timeout, **options)
        else:
            made = docker.DockerClient(base_url=endpoint.address, tls=endpoint.tls or False, timeout=timeout, **options)
    except DockerException as exc:
        raise ConfigError(f"the engine {endpoint.address} ({endpoint.origin}) cannot be used: {exc}") from None
    if endpoint.address.startswith(("unix://", "npipe://")) or ssh:
        # No proxy, CA bundle or netrc applies to a socket or an ssh tunnel, and requests reads them all from
        # os.environ at every request: a read that meets another thread changing it (pytest sets
        # PYTEST_CURRENT_TEST at each test's phases) fails with KeyError; seen in CI from the start that runs while
        # pytest collects and sets up (collecting.py). A tcp engine keeps them: a proxy may be its way.
        made.api.trust_env = False
    from .tls import keep_engine_ca  # ssl: only where a client is made (the header reads this module too)

    keep_engine_ca(made.api)
    if ssh:
        from .ssh import keep_connections

        keep_connections(made.api, endpoint.address)
    return made


def tls_trouble(endpoint: Endpoint, made: docker.DockerClient) -> ConfigError | None:
    """After `made` (a client of `endpoint`) got no answer: the TLS misfit that explains it, as one error saying
    which file to fix; None when TLS is not the trouble."""
    from .tls import diagnose

    where, how = endpoint.tls_material()
    found = diagnose(made.api, where)
    if found is None:
        return None
    return ConfigError(f"the Docker engine at {endpoint.address} ({endpoint.origin}) {found} ({how})")
