"""ssh:// engines through the user's `ssh` client, with connections kept between requests.

The docker SDK's ssh-client transport (docker/transport/sshconn.py, `use_ssh_client=True`) starts one `ssh HOST
docker system dial-stdio` per request: it makes a new connection pool for every request, and the connection could
not be reused anyway, since http.client closes each response's file, which is the ssh process's stdout itself, and
urllib3 polls an unconnected socket to tell whether a kept connection dropped. Measured against a local sshd: 1.2 s
per request (an ssh handshake and a docker CLI start each), 25 s for a two-test session. The docker CLI keeps its
connection. Here the same transport keeps its processes, one per pooled connection, as the CLI does: a response's
file leaves the pipe open, and the pipe tells whether ssh is gone.
"""

from __future__ import annotations

import contextlib
import subprocess
from typing import Any

from docker.transport import sshconn

# The SDK's classes, as untyped as the SDK's own use of them (its stubs type a socket's makefile, not this one's).
SSHSocket: Any = sshconn.SSHSocket
SSHConnection: Any = sshconn.SSHConnection
SSHConnectionPool: Any = sshconn.SSHConnectionPool
SSHHTTPAdapter: Any = sshconn.SSHHTTPAdapter


class _Stdout:
    """The ssh process's stdout for one response: closing it (http.client does) leaves the pipe open."""

    def __init__(self, pipe: Any) -> None:
        self._pipe = pipe

    def close(self) -> None:
        pass

    def __getattr__(self, name: str) -> Any:
        return getattr(self._pipe, name)


class _KeptSocket(SSHSocket):  # type: ignore[misc]
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
            with contextlib.suppress(OSError):
                self.proc.stdin.close()
            # Its stdout stays open: http.client still flushes the response's file after closing the connection, and
            # a stream read from another thread sees the end of the file rather than a closed one.


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
