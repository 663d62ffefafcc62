"""The cold start, once per container, before the first call, at Lambda's rules: real images, the real emulator.

Lambda runs the init apart from the invocation: up to 10 s, not counted against the function's timeout, with a CPU
burst, and reports it as the first call's Init Duration; an init that fails fails every call
(https://docs.aws.amazon.com/lambda/latest/dg/lambda-runtime-environment.html; AWS's Lambda Web Adapter docs on
"10 seconds for function initialization with burst CPU").
"""

from __future__ import annotations

import json
import os
import random
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
from docker.models.containers import Container

from pytest_lambda_container import FunctionTimeout
from pytest_lambda_container.container.sandbox import CPU_PERIOD

pytestmark = pytest.mark.docker

IMAGES = Path(__file__).resolve().parents[1] / "images"


def test_the_handlers_module_is_imported_once_per_container_before_the_first_call(coldstart):
    # A container of its own: its whole log is these two calls' (the shared one's holds what other tests ran first,
    # and a call's REPORT line may still be on its way when the next test begins).
    fn = coldstart(env={"PROBE": "imported-once"})
    assert fn.invoke_event({})["imports"] == 1
    assert fn.invoke_event({})["imports"] == 1
    # The emulator writes a call's REPORT line after it answers: the report waits for it (stdout is one stream).
    assert fn.last_report.request_id
    log = fn.logs()
    # The init's own output stays in the log; the warm-up that ran it leaves nothing there.
    assert log.count("coldstart: module imported") == 1
    assert "UnmarshalError" not in log and "Traceback" not in log
    # Each call's lines, none of the warm-up's.
    assert fn.invocations == 2
    assert log.count("START RequestId") == 2 and log.count("REPORT RequestId") == 2


def test_the_init_is_reported_on_the_first_call_only(coldstart):
    fn = coldstart(env={"FIRST_CALL": "1"})  # a container of its own: its first call is the one below
    fn.invoke_event({})
    first = fn.last_report
    fn.invoke_event({})
    assert first.init_duration_ms is not None and first.init_duration_ms > 0
    assert fn.last_report.init_duration_ms is None


def test_the_init_runs_with_a_cpu_burst_and_the_calls_with_lambdas_share(coldstart, lambda_settings):
    result = coldstart().invoke_event({})
    limits = lambda_settings.limits
    assert int(result["init_quota"]) == int(limits.burst_vcpus * CPU_PERIOD)
    assert int(result["call_quota"]) == int(limits.vcpus * CPU_PERIOD)


def test_a_cold_start_longer_than_the_timeout_does_not_count_against_it(coldstart):
    """A 2 s init, a 1 s timeout: Lambda inits within its 10 s apart from the call, which passes, and the function's
    remaining time counts from its 1 s (the emulator, given room for the init, would tell it 11 s)."""
    fn = coldstart(env={"INIT_SLEEP": "2"}, timeout=1)
    result = fn.invoke_event({})
    assert result["imports"] == 1
    assert 0 < result["remaining_ms"] <= 1000
    # The call itself still has its 1 s, ended in Lambda's words.
    with pytest.raises(FunctionTimeout, match=r"Task timed out after 1\.00 seconds"):
        fn.invoke_event({"sleep": 3})
    # After a timeout, Lambda inits again within the call, under the function's timeout: 2 s do not fit in 1 s.
    with pytest.raises(FunctionTimeout, match=r"Task timed out after 1\.00 seconds"):
        fn.invoke_event({})


BAD_INIT = """
def test_b(invoke): pass
def test_c(lambda_container): pass
def test_plain(): pass
"""


def test_an_init_that_fails_fails_setup_once_with_the_runtimes_cause(pytester):
    shutil.copy(IMAGES / "Dockerfile.aws-coldstart", pytester.path / "Dockerfile")
    shutil.copy(IMAGES / "coldstart.py", pytester.path / "coldstart.py")
    pytester.makepyfile(BAD_INIT)
    result = pytester.runpytest("-p", "no:randomly", "--lambda-port=0", "--lambda-env", "INIT_FAIL=1")
    result.assert_outcomes(passed=1, errors=2)
    output = result.stdout.str()
    # The runtime's words, the user's frame (awslambdaric's own answer to a failed import has none: the start-up
    # check's import gives it), once; the init's log is not repeated under it.
    assert output.count("Unable to import module 'coldstart': the module failed at import, on purpose") == 1
    assert 'File "/var/task/coldstart.py", line 25, in <module>' in output
    assert output.count("coldstart: module imported") == 1


# The inner run says whether the configured function was started by collection, and what was left running at its end
# (nothing: a discarded start is removed as soon as it is done, a used one at the session's end).
EARLY_PROBE = """
import json
from pathlib import Path
from pytest_lambda_container.plugin import TARGET

def pytest_collection_finish(session):
    early = session.config.stash[TARGET].early
    Path("early.json").write_text(json.dumps({"started_by_collection": early is not None}))

def pytest_sessionfinish(session):
    target = session.config.stash[TARGET]
    seen = json.loads(Path("early.json").read_text())
    if target.early is not None:
        target.early._thread.join(60)  # what a discard leaves to finish, for this probe only
    session_ = target.opened_session
    seen["started"] = target.early is not None
    seen["running"] = len(session_.containers) if session_ is not None else 0
    Path("early.json").write_text(json.dumps(seen))
"""
EARLY_TESTS = """
from pytest_lambda_container.plugin import TARGET

def test_reaches(invoke, lambda_container, pytestconfig):
    assert pytestconfig.stash[TARGET].early.result is lambda_container  # the one started while pytest collected
    assert invoke("GET", "/test1").status_code == 200

def test_plain():
    pass
"""


@pytest.mark.parametrize(
    ("args", "outcomes", "seen"),
    [
        ((), {"passed": 2}, {"started_by_collection": True, "started": True, "running": 0}),
        # Started by collection, then removed at once: no test is left that needs it.
        (
            ("-k", "plain"),
            {"passed": 1, "deselected": 1},
            {"started_by_collection": True, "started": True, "running": 0},
        ),
        (("--co",), None, {"started_by_collection": False, "started": False, "running": 0}),
    ],
    ids=["needed", "deselected", "collect-only"],
)
def test_the_function_starts_while_pytest_collects_when_a_test_needs_it(pytester, lambda_image, args, outcomes, seen):
    pytester.makeconftest(EARLY_PROBE)
    pytester.makepyfile(EARLY_TESTS)
    result = pytester.runpytest("-p", "no:randomly", "--lambda-port=0", f"--lambda-image={lambda_image.id}", *args)
    if outcomes is not None:
        result.assert_outcomes(**outcomes)
    assert json.loads((pytester.path / "early.json").read_text()) == seen


# What the inner run saw: whether its container was started before its conftests (from the forecast of the last run
# of the same command line), whether a test used that very container, and what was left running at its end.
FORECAST_PROBE = """
import json
from pathlib import Path
from pytest_lambda_container.collecting import EARLY_TARGET
from pytest_lambda_container.plugin import TARGET

def pytest_configure(config):
    Path("seen.json").write_text(json.dumps({"before_conftests": config.stash.get(EARLY_TARGET, None) is not None}))

def pytest_sessionfinish(session):
    seen = json.loads(Path("seen.json").read_text())
    target = session.config.stash[TARGET]
    if target.early is not None:
        target.early._thread.join(60)  # what a discard leaves to finish, for this probe only
    opened = target.opened_session
    seen["running"] = len(opened.containers) if opened is not None else 0
    Path("seen.json").write_text(json.dumps(seen))
"""
NEEDS_IT = """
from pathlib import Path
from pytest_lambda_container.plugin import TARGET

def test_reaches(invoke, lambda_container, pytestconfig):
    early = pytestconfig.stash[TARGET].early
    Path("used_early.txt").write_text(str(early is not None and early.result is lambda_container))
    assert invoke("GET", "/test1").status_code == 200
"""


def test_a_command_line_whose_last_run_needed_the_function_starts_it_before_the_conftests(pytester, lambda_image):
    """Issue 17: the container starts and inits while pytest imports the conftests and collects, when the last run of
    the same command line needed it; a forecast proven wrong by collection costs a container removed at once, unseen,
    and is corrected for the next run."""
    pytester.makeconftest(FORECAST_PROBE)
    test_file = pytester.makepyfile(NEEDS_IT)
    args = ("-p", "no:randomly", "-p", "no:cacheprovider", "--lambda-port=0", f"--lambda-image={lambda_image.id}")

    # Not an xdist worker's, as this test's own process may be (a worker is given its container by the controller).
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYTEST_XDIST_")}

    def run() -> dict[str, object]:
        # The same command line each time (pytester's own runs differ by their --basetemp).
        argv = [sys.executable, "-m", "pytest", *args]
        done = subprocess.run(argv, cwd=pytester.path, env=env, capture_output=True, text=True)
        assert done.returncode == 0, done.stdout + done.stderr
        return json.loads((pytester.path / "seen.json").read_text())

    assert run() == {"before_conftests": False, "running": 0}  # nothing remembered yet: at collection
    assert (pytester.path / "used_early.txt").read_text() == "True"
    assert run() == {"before_conftests": True, "running": 0}
    assert (pytester.path / "used_early.txt").read_text() == "True"  # the very container started before

    test_file.write_text("def test_plain():\n    pass\n")  # the same command line no longer needs it
    assert run() == {"before_conftests": True, "running": 0}  # started, then removed at collection
    assert run() == {"before_conftests": False, "running": 0}  # and not started again


# A plugin pytest loads after this one (PYTEST_PLUGINS: after the installed plugins): at its import, how many
# containers the engine has for this process (given time: the start goes on while this import waits).
LOADED_LATER = """
import json, os, time
import docker

engine = docker.from_env()
found, deadline = [], time.monotonic() + float(os.environ["WAIT_FOR_IT"])
while not found and time.monotonic() < deadline:
    found = engine.containers.list(all=True, filters={"label": f"pytest-lambda-container.pid={os.getpid()}"})
    time.sleep(0.05)
engine.close()
with open("while_plugins_load.json", "w") as out:
    json.dump({"pid": os.getpid(), "found": len(found)}, out)
"""
WITH_TIMEOUT = """
from pathlib import Path
from pytest_lambda_container.plugin import TARGET

def test_reaches(invoke, lambda_container, pytestconfig):
    early = pytestconfig.stash[TARGET].early
    Path("used_early.txt").write_text(str(early is not None and early.result is lambda_container))
    Path("timeout.txt").write_text(str(lambda_container.timeout))
    assert invoke("GET", "/test1").status_code == 200
"""


def free_port() -> int:
    """A port free now, below the ephemeral range where the engine picks the ports of other tests' containers."""
    while True:
        port = random.randint(20000, 30000)
        with socket.socket() as probe:
            try:
                probe.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port


def test_the_next_run_starts_it_before_pytest_loads_its_other_plugins_with_the_last_runs_settings(
    pytester, lambda_image, docker_client
):
    """The second run of a command line that needed the function has its container created while pytest still loads
    plugins (one loaded after this one finds it), with the settings of the run before; a run whose own settings
    differ (the ini file changed) has that container removed before it starts its own on the same port; a container
    that outlives its run (kept) is not started from a memory. No run leaves a container behind but the kept one."""
    pytester.makeconftest(FORECAST_PROBE)
    pytester.makepyfile(WITH_TIMEOUT)
    pytester.makepyfile(loaded_later=LOADED_LATER)
    port = free_port()
    args = ("-p", "no:randomly", "-p", "no:cacheprovider", f"--lambda-port={port}", f"--lambda-image={lambda_image.id}")
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYTEST_XDIST_")}
    env.update(
        PYTEST_PLUGINS="loaded_later", PYTHONPATH=os.pathsep.join([str(pytester.path), env.get("PYTHONPATH", "")])
    )

    def left_by(pid: int) -> list[Container]:
        """The containers of run `pid` still there once its removals had time to end (Docker ends them after it)."""
        deadline = time.monotonic() + 10
        while True:
            left = docker_client.containers.list(all=True, filters={"label": f"pytest-lambda-container.pid={pid}"})
            if not left or time.monotonic() > deadline:
                return left
            time.sleep(0.1)

    def run(wait_for_it: float = 20) -> tuple[int, bool, str]:
        argv = [sys.executable, "-m", "pytest", *args]
        done = subprocess.run(
            argv, cwd=pytester.path, env={**env, "WAIT_FOR_IT": str(wait_for_it)}, capture_output=True, text=True
        )
        assert done.returncode == 0, done.stdout + done.stderr
        assert "is busy" not in done.stdout + done.stderr  # the run's own container got the configured port
        assert (pytester.path / "used_early.txt").read_text() == "True"
        probe = json.loads((pytester.path / "while_plugins_load.json").read_text())
        left = left_by(probe["pid"])
        for container in left:  # kept: its port is the next run's
            container.remove(force=True)
        before_conftests = json.loads((pytester.path / "seen.json").read_text())["before_conftests"]
        return probe["found"], before_conftests, (pytester.path / "timeout.txt").read_text(), len(left)

    pytester.makeini("[pytest]\nlambda_timeout = 20\n")
    # Nothing remembered: nothing while the plugins load (the probe waits 2 s), the container at collection.
    assert run(wait_for_it=2) == (0, False, "20.0", 0)
    assert run() == (1, True, "20.0", 0)
    pytester.makeini("[pytest]\nlambda_timeout = 30\n")  # the same command line, other settings
    assert run() == (1, True, "30.0", 0)  # that one removed, its own used
    pytester.makeini("[pytest]\nlambda_timeout = 30\nlambda_keep = true\n")
    assert run() == (1, True, "30.0", 1)  # the last run's, dropped; then its own, kept
    pytester.makeini("[pytest]\nlambda_timeout = 30\n")
    assert run(wait_for_it=2) == (0, True, "30.0", 0)  # a kept one is not started from the memory


RUNS_TWICE = """
import json, os, sys, time
import docker, pytest

rc = pytest.main(sys.argv[1:])
engine = docker.from_env()
deadline = time.monotonic() + 15
while True:  # the removal waits for the start's end
    left = engine.containers.list(all=True, filters={"label": f"pytest-lambda-container.pid={os.getpid()}"})
    if not left or time.monotonic() > deadline:
        break
    time.sleep(0.1)
engine.close()
print("AFTER", json.dumps({"rc": int(rc), "left": len(left)}))
"""


def test_a_run_that_fails_before_it_takes_the_early_start_removes_it(pytester, lambda_image):
    """A start from the memory, then a conftest that ends the run in its configure: the container goes with the run,
    not with the process (an IDE or a script may call `pytest.main` again)."""
    pytester.makepyfile(test_it="def test_reaches(invoke):\n    assert invoke('GET', '/test1').status_code == 200\n")
    pytester.makepyfile(loaded_later=LOADED_LATER, runs_twice=RUNS_TWICE)
    args = ("-p", "no:randomly", "-p", "no:cacheprovider", "--lambda-port=0", f"--lambda-image={lambda_image.id}")
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYTEST_XDIST_")}
    env.update(
        PYTEST_PLUGINS="loaded_later",
        PYTHONPATH=os.pathsep.join([str(pytester.path), env.get("PYTHONPATH", "")]),
    )

    def run(wait_for_it: float) -> dict[str, int]:
        argv = [sys.executable, "runs_twice.py", *args]
        env["WAIT_FOR_IT"] = str(wait_for_it)
        done = subprocess.run(argv, cwd=pytester.path, env=env, capture_output=True, text=True)
        [line] = [line for line in done.stdout.splitlines() if line.startswith("AFTER ")]
        return {**json.loads(line[6:]), "found": json.loads((pytester.path / "while_plugins_load.json").read_text())}

    assert run(wait_for_it=0)["rc"] == 0  # remembered
    pytester.makeconftest("import pytest\n\ndef pytest_configure(config):\n    raise pytest.UsageError('broken')\n")
    after = run(wait_for_it=20)
    assert after["rc"] == pytest.ExitCode.USAGE_ERROR and after["found"]["found"] == 1
    assert after["left"] == 0
