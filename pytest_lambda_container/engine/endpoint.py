"""Which engine to talk to, found as the docker CLI finds it: DOCKER_HOST, then DOCKER_CONTEXT, then the current
context of the CLI's config (`currentContext` in $DOCKER_CONFIG/config.json, ~/.docker by default), then the default
socket (https://docs.docker.com/engine/manage-resources/contexts/).

docker-py's `from_env` reads DOCKER_HOST only; its `ContextAPI` reads a context's metadata
(contexts/meta/<sha256 of the name>/meta.json) and TLS material (contexts/tls/<sha256>/docker/{ca,cert,key}.pem),
so it does the reading here. An ssh:// endpoint runs the `ssh` client, as the CLI does (your ~/.ssh/config applies,
and paramiko is not needed).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from ..errors import EngineUnavailable

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


def client(endpoint: Endpoint, *, timeout: int) -> docker.DockerClient:
    """A docker SDK client of `endpoint`; `EngineUnavailable` when its address cannot even be used."""
    import docker
    from docker.errors import DockerException

    if endpoint.address.startswith("ssh://"):
        from .sdk import with_ssh

        with_ssh()  # an SDK loaded without its SSH transport (engine/sdk.py) gets it now
    try:
        if endpoint.origin == "from DOCKER_HOST":
            # from_env reads DOCKER_TLS_VERIFY and DOCKER_CERT_PATH with it, as the CLI does.
            return docker.from_env(timeout=timeout, use_ssh_client=endpoint.address.startswith("ssh://"))
        return docker.DockerClient(
            base_url=endpoint.address,
            tls=endpoint.tls or False,
            timeout=timeout,
            use_ssh_client=endpoint.address.startswith("ssh://"),
        )
    except DockerException as exc:
        raise EngineUnavailable(f"{endpoint.address} ({endpoint.origin}): {exc}", reason=str(exc)[:300]) from None
