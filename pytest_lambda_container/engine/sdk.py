"""The docker SDK, imported without its SSH transport unless the engine may be reached over SSH; httpx, without its
command line.

Where paramiko is installed (it comes with many tools), `import docker` imports it for the SDK's own SSH transport
(docker/transport/sshconn.py), and paramiko imports `invoke` when that is installed too: ~0.2 s of every run that
starts a container, on its critical path (issue 17), for an engine that is almost always a local socket. The SDK
imports that transport in a `try: ... except ImportError`, so with its module marked absent for the moment of the
import the SDK loads whole but for SSH (paramiko stays importable by anyone). An ssh:// engine, named or possibly
named (a docker context), gets the transport: at the import, or added to an SDK loaded without it (`with_ssh`).

httpx's own `import` tries its command line (`httpx._main`: click, pygments and rich where installed, 0.01-0.05 s
of the start), which nothing in a test process runs; marked absent the same way, httpx puts a stub in its place.

And cheap to leave: the SDK and its HTTP stack double the objects a full garbage collection walks, and pytest 9 runs
two at a run's end (its unraisableexception plugin), then Python its last at exit: 0.07-0.1 s of a one-test run
after its test (0.2-0.5 s at exit on a busy 2-core machine). So once the SDK is loaded, what exists then (pytest's,
the plugin's and the SDK's modules and objects, alive as long as the process anyway) goes to the collector's
permanent generation (`gc.freeze`): later collections walk only what the tests made since; the cost is that a
garbage cycle made before then is never freed, which pytest's start makes few of. And the collector is frozen at
exit (after the atexit handlers registered later, ours among them): the memory goes back to the system whole.
Python does not promise to finalize objects still alive at exit anyway (the `object.__del__` docs).
"""

from __future__ import annotations

import atexit
import gc
import json
import os
import sys
import threading
from collections.abc import Mapping
from importlib import import_module
from pathlib import Path

SSH_TRANSPORT = "docker.transport.sshconn"
HTTPX_CLI = "httpx._main"
_LOCK = threading.Lock()


def may_use_ssh(environ: Mapping[str, str] | None = None) -> bool:
    """Whether the engine the docker CLI would use may be an ssh:// one (engine/endpoint.py finds which): DOCKER_HOST
    says; a context (DOCKER_CONTEXT, or the CLI config's `currentContext`) may, so it counts as yes."""
    env = os.environ if environ is None else environ
    if env.get("DOCKER_HOST"):
        return env["DOCKER_HOST"].startswith("ssh://")
    if env.get("DOCKER_CONTEXT", "default") != "default":
        return True
    config = Path(env.get("DOCKER_CONFIG") or Path.home() / ".docker") / "config.json"
    try:
        current = json.loads(config.read_text()).get("currentContext")
    except (OSError, ValueError, AttributeError):
        return False  # no config, or one the CLI cannot read either: the default context
    return current not in (None, "", "default")


def load(environ: Mapping[str, str] | None = None) -> None:
    """Import the docker SDK, without its SSH transport unless `may_use_ssh`, and httpx without its command line
    (idempotent, thread-safe)."""
    with _LOCK:
        if "httpx" not in sys.modules:
            _import_without(HTTPX_CLI, "httpx")
        if "docker" in sys.modules:
            return
        atexit.register(gc.freeze)
        if may_use_ssh(environ):
            import docker  # noqa: F401
        else:
            _import_without(SSH_TRANSPORT, "docker")
        gc.freeze()  # what exists now lives as long as the process: no collection walks it again


def _import_without(absent: str, name: str) -> None:
    """Import `name` with the module `absent` marked so for the moment (its importer's `except ImportError` runs)."""
    sys.modules[absent] = None  # type: ignore[assignment]  # import machinery: "absent"
    try:
        import_module(name)
    finally:
        if sys.modules.get(absent, 0) is None:
            del sys.modules[absent]


def preload(*modules: str) -> None:
    """Import `modules` in a background thread, now: call it as a thread starts waiting on the engine (a container's
    create and start, ~0.3 s), so that their imports run while it waits, off the critical path (one interpreter lock:
    a thread waiting on a socket leaves it free). Whoever imports them meanwhile waits for that import, whole."""
    missing = [name for name in modules if name not in sys.modules]
    if missing:
        threading.Thread(target=_import_all, args=(missing,), name="lambda-container-preload", daemon=True).start()


def _import_all(modules: list[str]) -> None:
    for name in modules:
        try:
            import_module(name)
        except ImportError:
            continue  # whoever needs it raises its own error where it is used


def with_ssh() -> None:
    """Make sure the loaded SDK has its SSH transport (an ssh:// engine after all)."""
    import docker.api.client
    import docker.transport

    if hasattr(docker.transport, "SSHHTTPAdapter"):
        return
    from docker.transport.sshconn import SSHHTTPAdapter

    # Where the SDK looks it up: the client's module reads the name it imported in its own try/except.
    docker.transport.SSHHTTPAdapter = SSHHTTPAdapter  # type: ignore[misc]
    docker.api.client.SSHHTTPAdapter = SSHHTTPAdapter  # type: ignore[attr-defined]
