"""The `serve` command: the function's container behind a local HTTP gateway, for curl, a browser, or the url target.

`python -m pytest_lambda_container serve [--port 3000]` reads the plugin's options from the ini file pytest would read
in the current folder and from the same `--lambda-*` flags, builds and starts the container as a test session does,
and serves real HTTP on 127.0.0.1: each request goes through the same transport as `lambda_client`'s (an event of
the configured front, the front's answer), with one log line per request and the function's own output. Ctrl-C or
SIGTERM stops the server and removes the container. `pytest --lambda-target url --lambda-url http://127.0.0.1:3000`
in another shell runs a suite against it.
"""

from __future__ import annotations

import argparse
import ipaddress
import socket
import sys
import threading
from pathlib import Path

from ..config.options import Option
from ..config.settings import Settings
from ..config.values import parse_port
from ..container.function import LambdaContainer
from ..container.pool import FunctionPool
from ..container.protocol import function_target_command
from ..container.session import LambdaSession
from ..engine.signals import sigterm_ends_like_ctrl_c
from ..errors import ConfigError
from ..targets import transport_for
from .gateway import Gateway
from .logfollow import LogFollower
from .settings_args import NOT_FOR_THE_CONTAINER, add_options, container_options
from .settings_args import settings_of as command_settings

DEFAULT_PORT = 3000
DEFAULT_HOST = "127.0.0.1"
INSTALL_HINT = "pip install pytest-lambda-container[serve]"
#: Options about other targets, or about pytest runs: `serve` always runs the container.
NOT_HERE = NOT_FOR_THE_CONTAINER


def options() -> tuple[Option, ...]:
    """The plugin's options that `serve` takes."""
    return container_options()


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The `serve` command's arguments: its own, and the plugin's options spelled as pytest spells them."""
    parser.add_argument(
        "--port", default=str(DEFAULT_PORT), help=f"the HTTP port (default {DEFAULT_PORT}; 0 = any free port)"
    )
    parser.add_argument(
        "--host",
        default=DEFAULT_HOST,
        help=f"the address to listen on (default {DEFAULT_HOST}: this machine only; anything else lets others in)",
    )
    add_options(
        parser,
        options(),
        "the plugin's options; their ini keys are read from the ini file pytest would read here. --lambda-port is "
        "the emulator's (here, unless given, any free one), --port the gateway's",
    )


def settings_of(args: argparse.Namespace, cwd: Path) -> Settings:
    """The settings pytest would resolve in `cwd` with these flags, but those of other targets (the target is the
    container). Unless given, the emulator gets any free port: the test run's emulator port stays free."""
    return command_settings(args, cwd, options(), defaults={"port": "0"})


def listen(host: str, port: int) -> socket.socket:
    """A socket listening on host:port (before the build: a busy port fails now, not after minutes of building)."""
    try:
        family, kind, proto, _, address = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)[0]
    except socket.gaierror as exc:
        raise ConfigError(f"--host {host}: not an address of this machine ({exc.strerror})") from None
    sock = socket.socket(family, kind, proto)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind(address)
        sock.listen(128)
    except OSError as exc:
        sock.close()
        raise ConfigError(
            f"cannot listen on {host}:{port}: {exc.strerror}; give another --port (0 = any free port)"
        ) from None
    return sock


def run(args: argparse.Namespace) -> int:
    """Serve until Ctrl-C or SIGTERM; 0 then, 1 (with the reason) when the function cannot be served."""
    try:
        import uvicorn
    except ImportError:
        print(f"error: serve needs uvicorn: {INSTALL_HINT}", file=sys.stderr)
        return 1
    try:
        port = parse_port(args.port, "--port")
    except ConfigError as exc:
        raise ValueError(str(exc)) from None
    settings = settings_of(args, Path.cwd())
    if not _is_loopback(args.host):
        say(f"warning: listening on {args.host}: anyone who reaches this machine can invoke the function")
    sock = listen(args.host, port)
    session = LambdaSession(settings, log=say, warn=lambda line: say(f"warning: {line}"))
    follower: LogFollower | None = None
    # SIGTERM (a process manager stopping it) ends it as Ctrl-C does: the container removed.
    with sigterm_ends_like_ctrl_c():
        try:
            function = session.container()
            # With --lambda-concurrency, the first container's output only: the others start and stop with the load.
            follower = LogFollower(function.primary if isinstance(function, FunctionPool) else function, say)
            follower.start()
            # What the function does wrong is the front's answer, as a real front gives it: not an exception.
            transport = transport_for(settings, function, raise_function_errors=False)
            config = uvicorn.Config(Gateway(transport, log=say), lifespan="off", access_log=False, log_level="warning")
            host, bound = sock.getsockname()[:2]
            served = _url(host, bound)
            say(f"{function.image.ref} ({settings.event_format} events) serving on {served} (Ctrl-C to stop)")
            say(f"run your tests against it: pytest --lambda-target url --lambda-url {served}")
            if isinstance(function, LambdaContainer):  # a pool's containers come and go: no one address to give
                say(f"or, through Lambda's Invoke API at the emulator: {function_target_command(function.url)}")
            # uvicorn takes SIGINT and SIGTERM while it runs, and raises them again once it has stopped.
            uvicorn.Server(config).run(sockets=[sock])
        except KeyboardInterrupt:
            pass
        finally:
            if follower is not None:
                follower.stop()
            session.close()
            sock.close()
    say("stopped; container removed" if not settings.keep else "stopped")
    return 0


_SAY = threading.Lock()


def say(line: str) -> None:
    """A progress or log line on stdout, at once (a pipe would hold it back), whole: the log follower's thread and
    the server's write lines at the same time."""
    with _SAY:
        print(line, flush=True)


def _is_loopback(host: str) -> bool:
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return host == "localhost"


def _url(host: str, port: int) -> str:
    return f"http://[{host}]:{port}" if ":" in host else f"http://{host}:{port}"
