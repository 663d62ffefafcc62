"""ssh:// engines through the ssh client with connections kept (engine/ssh.py); tests/e2e/test_remote_engines.py
counts the logins of a real session (74 with the docker SDK's transport, 4 kept)."""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import sys
from collections.abc import Iterator

import pytest

pytest.importorskip("paramiko")  # the docker SDK's ssh module imports it

from pytest_lambda_container.engine import ssh


def test_every_request_path_shares_one_pool():
    # The SDK keyed pools by each request's URL: a new ssh process for every new path.
    adapter = ssh.KeptSSHAdapter("ssh://ci@build-host:2222", timeout=5)
    first = adapter.get_connection("http+docker://ssh/v1.41/containers/json")
    assert adapter.get_connection("http+docker://ssh/v1.41/images/x/json") is first
    adapter.close()


@pytest.fixture
def ended() -> Iterator[ssh._KeptSocket]:
    """A kept connection whose ssh process has ended (the engine closed it)."""
    sock = ssh._KeptSocket("ci@build-host:2222")
    sock.proc = subprocess.Popen([sys.executable, "-c", ""], stdin=subprocess.PIPE, stdout=subprocess.PIPE)
    sock.proc.wait()
    yield sock
    sock.proc.stdout.close()
    with contextlib.suppress(OSError):  # what close wrote, flushed into the ended process
        sock.proc.stdin.close()
    socket.socket.close(sock)


def test_a_connection_whose_ssh_ended_looks_dropped_and_closes_quietly(ended):
    import select

    stdout = ended.makefile("rb")  # a response's, still held (http.client flushes it after the connection closed)
    # urllib3 polls fileno() before reusing a connection: the ended process's pipe is readable (end of file).
    assert ended.fileno() == ended.proc.stdout.fileno()
    assert select.select([ended], [], [], 0)[0] == [ended]
    ended.close()  # the SDK's close writes to ssh's stdin: a broken pipe, not an error here
    stdout.flush()
    assert ended.proc.returncode == 0 and ended.proc.stdout.closed
    assert stdout.read() == stdout.readline() == b"" and stdout.readinto(bytearray(4)) == 0  # the end of the file


def test_a_responses_file_leaves_the_pipe_open(ended):
    stdout = ended.makefile("rb")
    stdout.close()  # as http.client closes each response's file
    assert not ended.proc.stdout.closed and stdout.read() == b""


@pytest.mark.parametrize(
    "status, says, fix",
    [
        (255, "Host key verification failed.", "its host key in known_hosts"),
        (255, "ci@build-host: Permission denied (publickey).", "a key the host accepts"),
        (127, "bash: line 1: docker: command not found", "the docker CLI must be on that user's PATH"),
    ],
)
def test_an_ssh_engine_that_does_not_answer_says_what_ssh_said(status, says, fix, tmp_path, monkeypatch):
    """The SDK's connection ends at once (ssh exits): one EngineUnavailable with ssh's own words and the fix, asked
    again the way the SDK asks but with BatchMode (no prompt), not an I/O error on a closed pipe."""
    from pytest_lambda_container.engine.client import connect
    from pytest_lambda_container.errors import EngineUnavailable

    stand_in = tmp_path / "ssh"
    stand_in.write_text(f"#!/bin/sh\necho '{says}' >&2\nexit {status}\n")
    stand_in.chmod(0o755)
    monkeypatch.setenv("PATH", f"{tmp_path}{os.pathsep}{os.environ['PATH']}")
    monkeypatch.setenv("DOCKER_HOST", "ssh://ci@build-host:2222")
    with pytest.raises(EngineUnavailable) as raised:
        connect(timeout=5)
    message = str(raised.value)
    assert message.startswith("no Docker engine answers at ssh://ci@build-host:2222 (from DOCKER_HOST): ")
    assert says in message and fix in message and "Start the engine" not in message


def test_ssh_never_waits_at_a_prompt(tmp_path, monkeypatch):
    """pytest captures the terminal: a host key or passphrase prompt would wait unseen. BatchMode, and a session of
    its own (no terminal to ask on, out of Ctrl-C's process group)."""
    seen = tmp_path / "seen"
    stand_in = tmp_path / "ssh"
    stand_in.write_text(f'#!/bin/sh\necho "$@" > {seen}\nps -o sid= -p $$ >> {seen}\n')
    stand_in.chmod(0o755)
    monkeypatch.setenv("PATH", f"{tmp_path}{os.pathsep}{os.environ['PATH']}")
    sock = ssh._KeptSocket("ci@build-host:2222")
    sock.connect()
    sock.proc.wait()
    args, sid = seen.read_text().splitlines()
    assert args == "-o BatchMode=yes -l ci -p 2222 -- build-host docker system dial-stdio"
    assert int(sid) == sock.proc.pid != os.getsid(0)
    sock.close()
    socket.socket.close(sock)
