"""ssh:// engines through the user's `ssh` client, with connections kept between requests.

The docker SDK's ssh-client transport (docker/transport/sshconn.py, `use_ssh_client=True`) starts one `ssh HOST
docker system dial-stdio` per request: it makes a new connection pool for every request, and the connection could
not be reused anyway, since http.client closes each response's file, which is the ssh process's stdout itself, and
urllib3 polls an unconnected socket to tell whether a kept connection dropped. Measured against a local sshd: 1.2 s
per request (an ssh handshake and a docker CLI start each), 25 s for a two-test session. The docker CLI keeps its
connection. Here the same transport keeps its processes, one per pooled connection, as the CLI does: a response's
file leaves the pipe open, and the pipe tells whether ssh is gone; and ssh never prompts (BatchMode, no terminal).
"""

from __future__ import annotations

import contextlib
import os
import subprocess
from typing import Any

from docker.transport import sshconn

# The SDK's classes, as untyped as the SDK's own use of them (its stubs type a socket's makefile, not this one's).
SSHSocket: Any = sshconn.SSHSocket
SSHConnection: Any = sshconn.SSHConnection
SSHConnectionPool: Any = sshconn.SSHConnectionPool
SSHHTTPAdapter: Any = sshconn.SSHHTTPAdapter


class _Stdout:
    """The ssh process's stdout for one response: closing it (http.client does) leaves the pipe open; once the
    connection closed the pipe, it reads as the end of the file (http.client still flushes after that close, and a
    stream may be read from another thread)."""

    def __init__(self, pipe: Any) -> None:
        self._pipe = pipe

    def close(self) -> None:
        pass

    def flush(self) -> None:
        pass

    def read(self, *args: Any) -> bytes:
        return b"" if self._pipe.closed else bytes(self._pipe.read(*args))

    def read1(self, *args: Any) -> bytes:
        return b"" if self._pipe.closed else bytes(self._pipe.read1(*args))

    def readline(self, *args: Any) -> bytes:
        return b"" if self._pipe.closed else bytes(self._pipe.readline(*args))

    def readinto(self, buffer: Any) -> int:
        return 0 if self._pipe.closed else int(self._pipe.readinto(buffer))

    def __getattr__(self, name: str) -> Any:
        return getattr(self._pipe, name)


class _KeptSocket(SSHSocket):  # type: ignore[misc]
    def connect(self, **_: Any) -> None:
        # As the SDK's (its command, its environment), but never waiting at a prompt nobody sees (pytest captures
        # the terminal): BatchMode, and a session of its own, with no terminal to ask on and out of Ctrl-C's reach
        # (the SDK ignored SIGINT in a preexec_fn, which is unsafe where threads run, as the session's do).
        command = ["ssh", "-o", "BatchMode=yes"]
        command += [*(["-l", self.user] if self.user else []), *(["-p", self.port] if self.port else [])]
        env = {k: v for k, v in os.environ.items() if k not in ("LD_LIBRARY_PATH", "SSL_CERT_FILE")}
        process: Any = subprocess.Popen(
            [*command, "--", self.host, "docker system dial-stdio"],
            env=env,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            start_new_session=True,
        )
        self.proc = process

    def fileno(self) -> int:
        # urllib3 polls this before reusing a pooled connection: the pipe is readable between requests only when
        # ssh exited (end of file), where the SDK's unconnected socket would always look dropped.
        return int(self.proc.stdout.fileno()) if self.proc else int(super().fileno())

    def makefile(self, mode: str) -> Any:
        return _Stdout(super().makefile(mode))

    def close(self) -> None:
        # The SDK's close tells ssh to end by writing to it: where ssh already ended (the engine closed that
        # connection: urllib3 found it dropped, and closes it), that write is a broken pipe, and nothing to do.
        with contextlib.suppress(OSError):
            super().close()
        if self.proc is not None:  # reaped: no zombie left for the collector
            with contextlib.suppress(OSError, subprocess.TimeoutExpired):
                self.proc.wait(timeout=5)
            for pipe in (self.proc.stdin, self.proc.stdout):
                with contextlib.suppress(OSError):
                    pipe.close()


class _KeptConnection(SSHConnection):  # type: ignore[misc]
    def connect(self) -> None:
        sock = _KeptSocket(self.ssh_host)
        sock.settimeout(self.timeout)
        sock.connect()
        self.sock = sock


class _KeptPool(SSHConnectionPool):  # type: ignore[misc]
    def _new_conn(self) -> _KeptConnection:
        return _KeptConnection(None, self.timeout, self.ssh_host)


class KeptSSHAdapter(SSHHTTPAdapter):  # type: ignore[misc]
    """The SDK's ssh-client adapter with one pool for the engine, whose connections (ssh processes) are reused.
    (The SDK's paramiko transport keys its pools by each request's whole URL: a new channel per path.)"""

    def __init__(self, base_url: str, timeout: int) -> None:
        super().__init__(base_url, timeout, shell_out=True)

    def get_connection(self, url: Any, proxies: Any = None) -> _KeptPool:
        with self.pools.lock:
            pool: _KeptPool | None = self.pools.get(self.ssh_host)
            if pool is None:
                pool = _KeptPool(timeout=self.timeout, maxsize=self.max_pool_size, host=self.ssh_host)
                self.pools[self.ssh_host] = pool
        return pool


def keep_connections(api: Any, address: str) -> None:
    """Give `api` (a docker SDK APIClient of the ssh:// engine `address`, through the ssh client) kept
    connections."""
    api.mount("http+docker://ssh", KeptSSHAdapter(address, int(api.timeout or 60)))
