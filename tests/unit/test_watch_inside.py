"""The memory watch inside the function's container, without Docker: what each sample decides (watcher.py), where
the watch runs and on which Python, what the plan gets, and how a call is judged from the watcher's record."""

from __future__ import annotations

import ast
import json
import warnings
from collections.abc import Mapping
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from pytest_lambda_container.build.image import ImageInfo
from pytest_lambda_container.build.image_config import ImageConfig
from pytest_lambda_container.container import launch, memwatch, outcome, watch_inside, watcher
from pytest_lambda_container.container.controls import RunningControls
from pytest_lambda_container.container.inside import MOUNT as INSIDE_MOUNT
from pytest_lambda_container.container.memwatch import OomWatch
from pytest_lambda_container.container.sandbox import Sandbox
from pytest_lambda_container.container.watch_inside import InsideMemoryWatch, InsideWatch
from pytest_lambda_container.container.watcher import Judge
from pytest_lambda_container.engine import hygiene
from pytest_lambda_container.engine.reach import LOCAL, Reach
from pytest_lambda_container.errors import EngineRefused

MB = 2**20
CUSTOM = ImageInfo(
    "sha256:custom", "fn:custom", ImageConfig(entrypoint=("/usr/local/bin/python", "-m", "awslambdaric"), cmd=("a.h",))
)
AWS = ImageInfo("sha256:aws", "fn:aws", ImageConfig(entrypoint=("/lambda-entrypoint.sh",), cmd=("a.h",)))
NODE = ImageInfo("sha256:node", "fn:node", ImageConfig(entrypoint=("/usr/bin/node",), cmd=("index.js",)))
#: The emulator's answer when the runtime was killed (its Runtime.ExitError), and an ordinary error's.
KILLED = json.dumps(
    {"errorType": "Runtime.ExitError", "errorMessage": "RequestId: r1 Error: Runtime exited with error: signal: killed"}
)
RAISED = json.dumps({"errorType": "ValueError", "errorMessage": "signal: killed, said the handler"})
ELSEWHERE = Reach("docker", "0.0.0.0", None, "the engine is at tcp://docker:2375")


def never() -> int | None:
    raise AssertionError("memory.stat read below the limit")


# -- what each sample decides ------------------------------------------------------------------------------------


def test_below_the_limit_memory_stat_is_not_read_and_the_pause_follows_the_headroom() -> None:
    assert Judge(10240 * MB, own=4 * MB).sample(60 * MB, never) == (False, watcher.MAX_INTERVAL)
    judge = Judge(512 * MB, own=4 * MB)
    kill, far = judge.sample(60 * MB, never)  # 456 MB of headroom: the fastest fill takes 45 ms
    assert not kill and watcher.INTERVAL < far < watcher.MAX_INTERVAL
    kill, near = judge.sample(500 * MB, never)  # 16 MB of headroom: the fastest fill takes under 10 ms
    assert not kill and near == watcher.INTERVAL


def test_tmp_in_the_usage_is_not_the_functions_memory() -> None:
    # 450 MB in /tmp and 100 MB of heap: the usage is past 512 MB, the anonymous memory is not.
    judge = Judge(512 * MB, own=4 * MB)
    kill, pause = judge.sample(560 * MB, lambda: 104 * MB)
    assert not kill and pause == watcher.pause(412 * MB) and judge.kills == 0


def test_past_the_limit_it_kills_once_until_the_memory_is_back_under() -> None:
    judge = Judge(512 * MB, own=4 * MB)
    assert judge.sample(700 * MB, lambda: 520 * MB) == (True, watcher.INTERVAL)
    assert (judge.kills, judge.stopped) == (1, 516 * MB)  # its own 4 MB apart
    # The dying runtime still holds its memory: not killed twice.
    assert judge.sample(700 * MB, lambda: 600 * MB) == (False, watcher.INTERVAL)
    assert judge.sample(100 * MB, never)[0] is False
    assert judge.sample(700 * MB, lambda: 530 * MB)[0] is True and judge.kills == 2


@pytest.mark.parametrize(
    ("files", "found"),
    [
        # cgroup v2 (a cgroup namespace: the container's own at the root); v1 (the memory controller's own mount).
        (["sys/fs/cgroup/memory.stat", "sys/fs/cgroup/memory.current"], "sys/fs/cgroup/memory.current"),
        (["sys/fs/cgroup/memory/memory.stat", "sys/fs/cgroup/memory/memory.usage_in_bytes"], "memory.usage_in_bytes"),
        # v2 without a cgroup namespace: the host's root, which has no usage of its own: nothing to watch.
        (["sys/fs/cgroup/memory.stat"], None),
    ],
)
def test_the_containers_own_cgroup_is_found_v1_or_v2(tmp_path: Path, files: list[str], found: str | None) -> None:
    for name in files:
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text("0\n")
    result = watcher.find_cgroup(str(tmp_path))
    assert result[1].endswith(found) if result and found else result is found, result


def test_the_record_and_the_start_are_read_back() -> None:
    assert watcher.parse_record("2 546230272\n") == (2, 546230272)
    assert watcher.parse_record("") is None and watcher.parse_record("no such file") is None
    said = "watching /sys/fs/cgroup/memory/memory.stat as pid 21, 3 kills so far"
    assert watch_inside.started(0, said) == 3
    assert watch_inside.started(2, "no memory cgroup to read in /sys/fs/cgroup") is None
    assert watch_inside.started(127, 'exec: "/var/lang/bin/python3": stat: no such file or directory') is None


def test_the_watcher_is_python_38_and_standard_library_only() -> None:
    source = Path(watcher.__file__).read_text()
    tree = ast.parse(source, feature_version=(3, 8))
    imported = {a.name.split(".")[0] for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names}
    imported |= {n.module.split(".")[0] for n in ast.walk(tree) if isinstance(n, ast.ImportFrom) and n.module}
    assert imported <= {"__future__", "os", "signal", "sys", "time", "typing"}


# -- where it runs, on which Python, and the plan ----------------------------------------------------------------


def test_it_runs_inside_where_the_tests_are_not_on_the_engines_host_or_when_forced() -> None:
    assert watch_inside.runs_inside(False, {})
    assert not watch_inside.runs_inside(True, {})
    assert watch_inside.runs_inside(True, {watch_inside.FORCE_VARIABLE: "inside"})


def test_the_python_is_found_as_the_runtime_is() -> None:
    assert watch_inside.interpreter(AWS) == "/var/lang/bin/python3"
    assert watch_inside.interpreter(CUSTOM) == "/usr/local/bin/python"
    assert watch_inside.interpreter(NODE) is None


def _plan(image: ImageInfo, sandbox: Sandbox | None = None) -> launch.LaunchPlan:
    return launch.plan(
        image, labels=hygiene.labels("s1"), emulator_volume="plc-emulator-x", sandbox=sandbox or Sandbox()
    )


def test_the_plan_mounts_the_watcher_read_only_and_its_records_tmpfs(monkeypatch: pytest.MonkeyPatch) -> None:
    delivered: list[Any] = []
    monkeypatch.setattr(watch_inside, "deliver", lambda _e, b, helper_image: delivered.append(b) or b.volume)
    engine: Any = SimpleNamespace(reach=ELSEWHERE)
    plan = watch_inside.apply(_plan(CUSTOM), engine)
    assert plan.memwatch == InsideWatch("/usr/local/bin/python", 512)
    options = plan.create_options(name="plc-s1-x", port=0)
    (bundle,) = delivered
    assert bundle.mount.startswith(INSIDE_MOUNT) and [f.path for f in bundle.files] == ["watcher.py"]
    assert options["volumes"][bundle.volume] == {"bind": watch_inside.MOUNT, "mode": "ro"}
    assert options["tmpfs"][watch_inside.STATE_DIR] == watch_inside.STATE_TMPFS and "/tmp" in options["tmpfs"]
    # None of the container's PYTHON* variables (coverage's sitecustomize on PYTHONPATH), no site-packages.
    assert plan.memwatch.start_argv()[:3] == ("/usr/local/bin/python", "-I", "-S")
    assert plan.memwatch.start_argv()[-2:] == (str(512 * MB), watch_inside.STATE_DIR)


@pytest.mark.parametrize(
    ("image", "reach", "sandbox"),
    [(CUSTOM, LOCAL, Sandbox()), (CUSTOM, ELSEWHERE, Sandbox(enabled=False)), (NODE, ELSEWHERE, Sandbox())],
)
def test_no_watcher_where_the_host_watches_the_sandbox_is_off_or_there_is_no_python(
    image: ImageInfo, reach: Reach, sandbox: Sandbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv(watch_inside.FORCE_VARIABLE, raising=False)
    plan = _plan(image, sandbox)
    assert watch_inside.apply(plan, SimpleNamespace(reach=reach)) is plan  # type: ignore[arg-type]


# -- how a call is judged ----------------------------------------------------------------------------------------


class Container:
    """A container whose watcher says `started` and whose record reads `record`; it counts the reads."""

    def __init__(self, started: tuple[int, str], record: str = "0 0") -> None:
        self.id, self.name = "abc", "plc-x"
        self.started, self.record = started, record
        self.reads = 0

    def exec(self, argv: tuple[str, ...], *, workdir: str, environment: dict[str, str]) -> tuple[int, str]:
        if "watch" in argv:
            return self.started
        assert "read" in argv
        self.reads += 1
        return 0, self.record


RUNNING = (0, "watching /sys/fs/cgroup/memory/memory.stat as pid 21, 0 kills so far")


def _judge(container: Container, image: ImageInfo = CUSTOM) -> tuple[OomWatch, list[str]]:
    said: list[str] = []
    plan = _plan(image).with_memwatch(InsideWatch("/usr/local/bin/python", 512), "v", watch_inside.MOUNT, {})
    return OomWatch.of(container, "plc-x", plan, said.append, same_host=False), said


def test_a_call_the_watcher_stopped_is_out_of_memory_as_the_hosts_watch_says_it() -> None:
    container = Container(RUNNING)
    oom, said = _judge(container)
    assert isinstance(oom.memory, InsideMemoryWatch) and said == []
    with oom.watching():
        container.record = f"1 {512 * MB + 4096}"
    error = oom.over_memory(KILLED)
    assert error is not None and error.error_type == "Runtime.OutOfMemory"
    # The very words of the host's watch (memwatch.py): one judgement, whichever watch ran.
    host = memwatch.MemoryWatch(None, 512)
    host.tripped = 512 * MB + 4096
    assert error.error_message == OomWatch(host).over_memory("").error_message  # type: ignore[union-attr]
    # The next call starts afresh; a kill the watcher did not count (kill_self) is not its.
    with oom.watching():
        pass
    assert oom.over_memory(KILLED) is None


def test_an_ordinary_answer_reads_nothing() -> None:
    container = Container(RUNNING, record="1 600000000")
    oom, _ = _judge(container)
    with oom.watching():
        pass
    assert oom.over_memory('{"ok": true}') is None and oom.over_memory(RAISED) is None
    assert container.reads == 0
    assert outcome.killed_answer(KILLED) and not outcome.killed_answer(RAISED) and not outcome.killed_answer("")


def test_an_empty_answer_a_runtime_killed_in_its_init_is_read_too() -> None:
    container = Container(RUNNING, record=f"1 {515 * MB}")
    oom, _ = _judge(container)
    error = oom.over_memory("")  # the warm-up's init, which the emulator answers with nothing
    assert error is not None and "stopped at 515 MB" in error.error_message and container.reads == 1
    with oom.watching():  # told once
        pass
    assert oom.over_memory("") is None


def test_a_container_of_an_earlier_run_counts_only_new_kills() -> None:
    container = Container((0, "watching /sys/fs/cgroup/memory.stat as pid 9, 2 kills so far"), record="2 600000000")
    oom, _ = _judge(container)
    with oom.watching():
        pass
    assert oom.over_memory(KILLED) is None


def test_a_watcher_that_cannot_start_says_why_and_only_the_containers_limit_holds() -> None:
    oom, said = _judge(Container((127, 'exec: "/usr/local/bin/python": stat: no such file or directory')))
    assert oom.memory is not None and not oom.memory.available
    (line,) = said
    assert "the watch could not start in plc-x" in line and "no such file" in line
    assert "only the container's limit holds" in line and "512 MB of memory and /tmp's 512 MB" in line


class Controls(RunningControls):
    """A running container whose execs exit with `codes` in turn, and are kept."""

    def __init__(self, plan: launch.LaunchPlan, *codes: int) -> None:
        self.plan, self.id, self.name = plan, "no-such-container", "plc-x"
        self.codes = list(codes)
        self.argvs: list[tuple[str, ...]] = []

    def exec(self, argv: tuple[str, ...], *, workdir: str, environment: Mapping[str, str]) -> tuple[int, str]:
        self.argvs.append(argv)
        return self.codes.pop(0), ""


def test_a_timeout_kills_the_runtime_through_the_watcher_which_spares_itself() -> None:
    watch = InsideWatch("/usr/local/bin/python", 512)
    plan = _plan(CUSTOM).with_memwatch(watch, "v", watch_inside.MOUNT, {})
    controls = Controls(plan, 0)
    assert controls.kill_runtime() and controls.argvs == [watch.kill_argv()]
    # Nothing left to kill: said, and no kill of every process (which would end the watcher) after it.
    controls = Controls(plan, 1)
    assert not controls.kill_runtime() and controls.argvs == [watch.kill_argv()]
    # No Python after all: every process but the emulator.
    controls = Controls(plan, 127, 0)
    assert controls.kill_runtime() and controls.argvs[1] == ("sh", "-c", "kill -9 -1")
    assert Controls(_plan(CUSTOM), 0).kill_runtime()


@pytest.mark.parametrize(
    ("code", "output", "read"),
    [
        (0, "2 540000000\n", (2, 540000000)),
        (1, "Traceback (most recent call last):\nFileNotFoundError: [Errno 2] /var/x/record", "exited with status 1: "),
        (0, "", "printed no record: no output"),
        (None, "a command in container plc-x failed: 409 Conflict (container is not running)", "did not run the read"),
    ],
    ids=["record", "failed", "no-record", "engine"],
)
def test_a_read_of_the_record_is_the_record_or_why_not(code: int | None, output: str, read: object) -> None:
    found = watch_inside.read_record(code, output)
    if isinstance(read, tuple):
        assert found == read
    else:  # why, with the last line said (a traceback's is the error)
        assert isinstance(found, str) and str(read) in found
        assert all(line in found for line in output.strip().splitlines()[-1:])


class Unreadable(Container):
    """A container whose watcher started, and whose record then cannot be read: the engine refuses the exec, or the
    read fails in the container."""

    def __init__(self, refused: bool) -> None:
        super().__init__(RUNNING)
        self.refused = refused

    def exec(self, argv: tuple[str, ...], *, workdir: str, environment: dict[str, str]) -> tuple[int, str]:
        if "watch" in argv:
            return self.started
        self.reads += 1
        if self.refused:
            raise EngineRefused("a command in container plc-x failed: 409 Conflict (container is not running)")
        return 1, "Traceback (most recent call last):\nFileNotFoundError: [Errno 2] No such file: 'record'"


@pytest.mark.parametrize("refused", [True, False], ids=["engine-refused", "read-failed"])
def test_a_record_that_cannot_be_read_is_a_warning_saying_what_it_means_for_the_memory(refused: bool) -> None:
    """Not a silent "not out of memory": the call's own error stands, and a warning says why that may be wrong."""
    container = Unreadable(refused)
    oom, _ = _judge(container)
    with oom.watching():
        pass
    with pytest.warns(UserWarning) as caught:
        assert oom.over_memory(KILLED) is None
    (warning,) = caught
    text = str(warning.message)
    assert "the memory watch in container abc could not be read after a call whose runtime was killed" in text
    assert ("409 Conflict" if refused else "exited with status 1: FileNotFoundError") in text
    assert "more than its 512 MB is unknown" in text and "never as Runtime.OutOfMemory" in text
    # An ordinary answer reads nothing, so says nothing.
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert oom.over_memory('{"ok": true}') is None
    assert container.reads == 1


class LateOutput(Container):
    """A container whose first read ends well and prints nothing (Podman's exec under load), the next its record."""

    def exec(self, argv: tuple[str, ...], *, workdir: str, environment: dict[str, str]) -> tuple[int, str]:
        status, output = super().exec(argv, workdir=workdir, environment=environment)
        return (status, "") if "read" in argv and self.reads == 1 else (status, output)


def test_a_read_that_printed_nothing_is_read_again() -> None:
    container = LateOutput(RUNNING, record=f"1 {515 * MB}")
    oom, _ = _judge(container)
    with oom.watching():
        pass
    error = oom.over_memory(KILLED)
    assert error is not None and "stopped at 515 MB" in error.error_message and container.reads == 2
