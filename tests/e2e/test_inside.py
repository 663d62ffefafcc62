"""Inside the function's container without changing the image: the example suite's coverage measured in the
container matches the in-process run's, line for line."""

from __future__ import annotations

import json
import os
import re
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from .conftest import ROOT

pytestmark = pytest.mark.docker


def example_suite(*args: str, coverage_file: Path) -> tuple[int, str, int]:
    """pytest on example_app/tests with `args`, in a process of its own: exit code, output, pid."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-p", "no:randomly", *args, "example_app/tests"],
        cwd=ROOT,
        env={**os.environ, "COVERAGE_FILE": str(coverage_file)},
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    output, _ = proc.communicate(timeout=600)
    return proc.returncode, output, proc.pid


def app_line(output: str) -> tuple[int, str]:
    """The coverage report's line of app.py: its percentage and its missed lines."""
    found = re.search(r"^example_app/app\.py\s+\d+\s+\d+\s+(\d+)%\s*(.*)$", output, re.MULTILINE)
    assert found, output
    return int(found.group(1)), found.group(2).strip()


def test_coverage_from_inside_the_container_matches_the_in_process_run(tmp_path, containers_of_pid) -> None:
    report = ("--cov=app", "--cov-report=term-missing")
    code, output, pid = example_suite(
        *report, "--lambda-coverage", "--lambda-port=0", coverage_file=tmp_path / "container.coverage"
    )
    assert code == 0, output
    assert "coverage measured in the containers merged into the tests' coverage" in output, output
    container_percent, container_missed = app_line(output)
    code, inprocess_output, _ = example_suite(
        *report, "--lambda-target", "inprocess", coverage_file=tmp_path / "inprocess.coverage"
    )
    assert code == 0, inprocess_output
    # Partly covered: the example app has routes no test calls, and each is listed as missed.
    assert 0 < container_percent < 100, output
    assert container_missed, output
    assert (container_percent, container_missed) == app_line(inprocess_output)
    assert containers_of_pid(pid) == []


def test_lambda_coverage_without_a_measuring_coverage_says_what_is_missing(tmp_path) -> None:
    code, output, _ = example_suite(
        "--lambda-coverage", "--lambda-port=0", "-x", "-k", "hello", coverage_file=tmp_path / "none.coverage"
    )
    assert code != 0
    assert "--lambda-coverage merges into the tests' coverage, and none is measuring: pass --cov" in output, output


class DapClient:
    """An editor, as far as attaching goes: the Debug Adapter Protocol over a socket
    (https://microsoft.github.io/debug-adapter-protocol/overview: Content-Length framed JSON)."""

    def __init__(self, port: int) -> None:
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=30)
        self.seq = 0
        self.buffer = b""

    def request(self, command: str, **arguments: object) -> int:
        self.seq += 1
        body = json.dumps({"seq": self.seq, "type": "request", "command": command, "arguments": arguments}).encode()
        self.sock.sendall(b"Content-Length: %d\r\n\r\n" % len(body) + body)
        return self.seq

    def message(self) -> dict:
        while b"\r\n\r\n" not in self.buffer:
            self._more()
        header, self.buffer = self.buffer.split(b"\r\n\r\n", 1)
        length = int(re.search(rb"Content-Length: (\d+)", header).group(1))
        while len(self.buffer) < length:
            self._more()
        body, self.buffer = self.buffer[:length], self.buffer[length:]
        return json.loads(body)

    def _more(self) -> None:
        data = self.sock.recv(65536)
        if not data:
            raise ConnectionResetError("the debug adapter closed the connection")
        self.buffer += data

    def wait_for(self, kind: str, name: str) -> dict:
        """The next response to `name` (kind "response") or event `name` (kind "event")."""
        while True:
            msg = self.message()
            if msg.get("type") == kind and (msg.get("command") or msg.get("event")) == name:
                return msg

    def close(self) -> None:
        self.sock.close()


def attach(
    port: int, local_root: Path, remote_root: str, breakpoint: tuple[Path, int], within: float = 180.0
) -> DapClient:
    """Attach as VS Code's launch.json does, with a breakpoint in the user's file, once the runtime listens (until then
    the engine's port proxy accepts and drops the connection)."""
    deadline = time.monotonic() + within
    while True:
        try:
            client = DapClient(port)
            client.request("initialize", clientID="tests", adapterID="debugpy", pathFormat="path", linesStartAt1=True)
            assert client.wait_for("response", "initialize")["success"]
            client.request(
                "attach", justMyCode=True, pathMappings=[{"localRoot": str(local_root), "remoteRoot": remote_root}]
            )
            client.wait_for("event", "initialized")
            file, line = breakpoint
            client.request("setBreakpoints", source={"path": str(file)}, breakpoints=[{"line": line}])
            assert client.wait_for("response", "setBreakpoints")["success"]
            client.request("configurationDone")
            assert client.wait_for("response", "configurationDone")["success"]
            return client
        except OSError:
            assert time.monotonic() < deadline, "the function's debugger never answered"
            time.sleep(0.5)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.mark.parametrize(
    ("selected", "remote_root"), [("not aws", "/function"), ("aws", "/var/task")], ids=["custom", "aws-base"]
)
def test_an_editor_attaches_to_the_function_in_its_container_and_the_test_then_passes(
    selected, remote_root, containers_of_pid
) -> None:
    port = free_port()
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "pytest",
            "-p",
            "no:cacheprovider",
            "-p",
            "no:randomly",
            "--lambda-port=0",
            f"--lambda-debug-port={port}",
            "-k",
            f"test_hello and {selected}",
            "example_app/tests",
        ],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    app = ROOT / "example_app" / "app.py"
    line = (
        app.read_text().splitlines().index('    return {"message": "test"}') + 1
    )  # GET /test1, which test_hello calls
    try:
        client = attach(port, ROOT / "example_app", remote_root, (app, line))
        # The call stops at the breakpoint, in the user's own file (the path mapping works), and goes on when told.
        stopped = client.wait_for("event", "stopped")["body"]
        assert stopped["reason"] == "breakpoint"
        client.request("stackTrace", threadId=stopped["threadId"])
        frame = client.wait_for("response", "stackTrace")["body"]["stackFrames"][0]
        assert (frame["source"]["path"], frame["line"]) == (str(app), line)
        client.request("continue", threadId=stopped["threadId"])
        output, _ = proc.communicate(timeout=300)
        client.close()
    finally:
        proc.kill()
    assert proc.returncode == 0, output
    assert (
        f"debugger: attach to 127.0.0.1:{port} (debugpy, path mapping {remote_root} -> {ROOT / 'example_app'})"
        in output
    )
    assert "1 passed" in output, output
    assert containers_of_pid(proc.pid) == []


def test_the_debugger_is_refused_with_concurrency(tmp_path) -> None:
    code, output, _ = example_suite(
        "--lambda-debug-port=5678", "--lambda-concurrency=2", "-k", "hello", coverage_file=tmp_path / "x"
    )
    assert code != 0
    assert "--lambda-debug-port attaches a debugger to one container" in output, output
