"""`python -m pytest_lambda_container serve` for real: a process of its own, started in a subfolder of a project whose
pytest.ini configures the example app as this repository's pyproject.toml does, reached over real HTTP; FastAPI's
/docs page through it; the example app's own suite run against it on the url target; Ctrl-C and SIGTERM leave no
container."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from pytest_lambda_container.engine.hygiene import LABEL_PID

from .conftest import list_ours, run_example_suite

# One worker under xdist: the tests share one `serve` process (a module fixture would start one per worker).
pytestmark = [pytest.mark.docker, pytest.mark.xdist_group("serve")]

ROOT = Path(__file__).resolve().parents[2]
SERVING = re.compile(r"serving on (http://127\.0\.0\.1:\d+)")
#: The processes import this checkout's package: run from elsewhere, an editable install of another one would win.
ENV = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))}


class Served:
    """A `serve` process and everything it has printed so far (read by a thread: a full pipe would stall it)."""

    def __init__(self, cwd: Path, *args: str) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "pytest_lambda_container", "serve", "--port", "0", *args],
            cwd=cwd,
            env=ENV,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        self.lines: list[str] = []
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()
        self.url = self.wait_for(SERVING, timeout=600).group(1)

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            self.lines.append(line.rstrip("\n"))

    @property
    def output(self) -> str:
        return "\n".join(self.lines)

    def wait_for(self, pattern: re.Pattern[str], timeout: float = 30) -> re.Match[str]:
        """The first printed line matching `pattern`; fails with the output if the process ends or time runs out."""
        deadline = time.monotonic() + timeout
        while True:
            for line in list(self.lines):
                found = pattern.search(line)
                if found:
                    return found
            assert self.proc.poll() is None or self._reader.is_alive(), f"serve ended:\n{self.output}"
            assert time.monotonic() < deadline, f"no line matching {pattern.pattern!r} in:\n{self.output}"
            time.sleep(0.05)

    def stop(self, signum: int = signal.SIGINT) -> int:
        self.proc.send_signal(signum)
        try:
            code = self.proc.wait(timeout=60)
        finally:
            self.proc.kill()  # a no-op once it has exited
        self._reader.join(timeout=10)
        return code


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A folder below a project configured like this repository: serve finds the ini file as pytest would."""
    root = tmp_path_factory.mktemp("project")
    (root / "pytest.ini").write_text(
        "[pytest]\n"
        f"lambda_dockerfile = {ROOT / 'example_app' / 'Dockerfile'}\n"
        "lambda_build_network = host\n"
        "lambda_binary_media_types = */*\n"
        "lambda_env =\n"
        "    APP_GREETING=hello from pytest\n"
    )
    (root / "sub").mkdir()
    imported = subprocess.run(
        [sys.executable, "-c", "import pytest_lambda_container as p; print(p.__file__)"],
        cwd=root / "sub",
        env=ENV,
        capture_output=True,
        text=True,
        check=True,
    )
    assert Path(imported.stdout.strip()).is_relative_to(ROOT), f"serve would run another copy: {imported.stdout}"
    return root / "sub"


@pytest.fixture(scope="module")
def served(project: Path) -> Iterator[Served]:
    server = Served(project)
    yield server
    server.stop()


def test_requests_as_curl_sends_them(served: Served) -> None:
    with httpx.Client(base_url=served.url, timeout=60) as http:
        assert http.get("/test1").json() == {"message": "test"}
        created = http.post("/items", json={"name": "pen", "price": 2.0})
        assert (created.status_code, created.json()["total"]) == (201, 2.2)
        assert http.get("/items/5", params={"q": "x y"}).json() == {"item_id": 5, "q": "x y"}
        assert http.post("/test3", params={"message": "hoge"}).json() == {"message": "hoge"}
        assert http.get("/items/404").status_code == 404
        assert http.get("/nowhere").status_code == 404
        assert http.get("/multi").headers.get_list("x-repeated") == ["one", "two"]
        # From the ini file pytest would read there: the function's environment and binary media types.
        assert http.get("/env").json()["APP_GREETING"] == "hello from pytest"
        logo = http.get("/logo", headers={"Accept": "image/png"})
        assert logo.content.startswith(b"\x89PNG")
    served.wait_for(re.compile(r"^GET /items/5\?q=x\+y 200 \d+ ms$"))
    served.wait_for(re.compile(r"^GET /nowhere 404 \d+ ms$"))


def test_fastapis_docs_page_works_through_it(served: Served) -> None:
    with httpx.Client(base_url=served.url, timeout=60) as http:
        docs = http.get("/docs")
        assert docs.status_code == 200 and docs.headers["content-type"].startswith("text/html")
        # The page's script loads the spec from the URL it names: it must come through too.
        spec_url = re.search(r"url: '([^']+)'", docs.text)
        assert spec_url, docs.text
        spec = http.get(spec_url.group(1))
    assert spec.status_code == 200
    assert {"/test1", "/items/{item_id}"} <= set(spec.json()["paths"])


def test_the_functions_own_lines_are_printed(served: Served) -> None:
    marker = f"marker-{time.time_ns()}"
    with httpx.Client(base_url=served.url, timeout=60) as http:
        assert http.get("/log", params={"line": marker}).status_code == 200
    served.wait_for(re.compile(rf"^  \| {marker}$"))
    # The emulator's made-up memory figure marked as such (issue 21, item 11).
    served.wait_for(
        re.compile(r"^  \| REPORT RequestId: .*Max Memory Used: \d+ MB \(the emulator's figure, not measured")
    )


def test_the_example_suite_passes_on_the_url_target_against_it(served: Served) -> None:
    # the url target needs no engine
    result = run_example_suite(
        "--lambda-target", "url", "--lambda-url", served.url, env={"DOCKER_HOST": "unix:///nowhere/docker.sock"}
    )
    output = result.stdout + result.stderr
    assert result.returncode == 0, output
    assert " failed" not in output and " error" not in output, output
    passed = re.search(r"(\d+) passed", output)
    assert passed and int(passed.group(1)) >= 10, output  # the suite ran, not just its skips


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM], ids=["ctrl-c", "sigterm"])
def test_stopping_it_removes_the_container(docker_client, project: Path, signum: int) -> None:
    server = Served(project, "--lambda-env", "APP_GREETING=from a flag", "--lambda-region", "eu-west-1")
    try:
        with httpx.Client(base_url=server.url, timeout=60) as http:
            # Flags replace the ini file's values, as on pytest's command line.
            assert http.get("/env").json() == {"APP_GREETING": "from a flag", "AWS_REGION": "eu-west-1"}
        running = list_ours(docker_client, **{LABEL_PID: str(server.proc.pid)})
        assert len(running) == 1, "the container is labelled as this process's"
    finally:
        code = server.stop(signum)
    assert code == 0, server.output
    assert list_ours(docker_client, **{LABEL_PID: str(server.proc.pid)}) == []
    assert server.lines[-1] == "stopped; container removed"


def test_it_prints_the_commands_that_run_the_tests_against_it(served: Served) -> None:
    # Issue 21, item 7: serve never printed the emulator's port, which the function target needs.
    served.wait_for(re.compile(rf"^run your tests against it: pytest --lambda-target url --lambda-url {served.url}$"))
    found = served.wait_for(
        re.compile(
            r"^or, through Lambda's Invoke API at the emulator: pytest --lambda-target function "
            r"--lambda-endpoint-url (http://127\.0\.0\.1:\d+/2015-03-31/functions/function/invocations)$"
        )
    )
    # The emulator itself answers there, as the Invoke API does (the function's own answer to an empty event).
    answer = httpx.post(found[1], json={}, timeout=60)
    assert answer.status_code == 200 and isinstance(answer.json(), dict), answer.text
