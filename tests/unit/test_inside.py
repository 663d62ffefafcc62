"""Coverage inside the container: what the plan adds, how paths map back, the merge into the tests' coverage, and the
hook that saves after every call (pure logic; tests/e2e/test_inside.py runs it for real)."""

from __future__ import annotations

import dataclasses
import sys
from pathlib import Path
from types import SimpleNamespace

import coverage
import httpx
import pytest
from coverage import CoverageData

from pytest_lambda_container.build.image import ImageInfo
from pytest_lambda_container.build.image_config import ImageConfig
from pytest_lambda_container.config.settings import Settings
from pytest_lambda_container.config.values import parse_debug_port
from pytest_lambda_container.container import inside_boot, launch
from pytest_lambda_container.container.inside import DATA_DIR, MOUNT, Harvest, Inside, package_bundle
from pytest_lambda_container.container.instruments import DEBUG_TIMEOUT, Instruments
from pytest_lambda_container.container.measure import Collector, PathMap
from pytest_lambda_container.container.sandbox import Sandbox
from pytest_lambda_container.errors import ConfigError
from pytest_lambda_container.fronts.transport import LambdaTransport
from pytest_lambda_container.targets import transport_for

CUSTOM = ImageInfo(
    "sha256:c",
    "fn:c",
    ImageConfig(
        entrypoint=("python", "-m", "awslambdaric"),
        cmd=("app.handler",),
        env={"PYTHONPATH": "/deps"},
        workdir="/function",
    ),
)


def test_container_paths_under_the_import_root_map_to_the_source_folder(tmp_path: Path) -> None:
    mapping = PathMap("/function", tmp_path)
    assert mapping.to_host("/function/app.py") == str(tmp_path / "app.py")
    assert mapping.to_host("/function/pkg/mod.py") == str(tmp_path / "pkg" / "mod.py")
    assert mapping.to_host("/functional/app.py") == "/functional/app.py"
    assert mapping.to_host("/usr/lib/python3.11/json/__init__.py") == "/usr/lib/python3.11/json/__init__.py"


def test_only_what_the_source_folder_holds_is_measured(tmp_path: Path) -> None:
    for name in ("app.py", "pkg/__init__.py", ".venv/x.py", "requirements.txt", "__pycache__/app.pyc"):
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text("")
    # The user's module and package, not dependencies a `pip install -t` puts next to them in the container.
    assert PathMap("/var/task", tmp_path).include() == ("/var/task/app.py", "/var/task/pkg/*")


def test_the_hook_goes_first_on_pythonpath_before_the_function_s_own() -> None:
    inside = Inside(coverage_include=("/function/app.py",), branch=True)
    env = inside.environment({"PYTHONPATH": "/deps"})
    assert env["PYTHONPATH"] == f"{MOUNT}/boot:{MOUNT}/coverage:/deps"
    assert env[inside_boot.COVERAGE_DIR] == DATA_DIR
    assert env[inside_boot.COVERAGE_INCLUDE] == "/function/app.py"
    assert env[inside_boot.COVERAGE_BRANCH] == "1"
    assert inside.tmpfs == {DATA_DIR: "size=32m,mode=1777"}
    assert [b.kind for b in inside.bundles()] == ["inside", "coverage"]


def test_the_plan_mounts_the_bundles_adds_a_tmpfs_of_its_own_and_keeps_the_sandbox_s() -> None:
    plan = launch.plan(CUSTOM, labels={}, emulator_volume="rie", sandbox=Sandbox(host_cpus=2))
    harvest = Harvest(DATA_DIR, Path("/tmp/x"))
    inside = Inside(coverage_include=("/function/app.py",))
    measured = plan.with_inside(inside, {"plc-coverage-1": f"{MOUNT}/coverage"}, harvest=harvest)
    options = measured.create_options(name="n", port=0)
    assert options["tmpfs"] == {"/tmp": "size=512m,mode=1777", DATA_DIR: "size=32m,mode=1777"}
    assert options["read_only"] is True and options["user"] == "993:990"  # the sandbox stays on
    assert options["volumes"]["plc-coverage-1"] == {"bind": f"{MOUNT}/coverage", "mode": "ro"}
    assert options["environment"]["PYTHONPATH"].endswith(":/deps")  # the image's own, kept after the hook
    assert measured.harvest == harvest
    # Not asked for: nothing changes.
    assert "tmpfs" not in launch.plan(CUSTOM, labels={}, emulator_volume="rie").create_options(name="n", port=0)
    assert plan.harvest is None


def test_the_delivered_package_is_the_installed_one_without_caches() -> None:
    bundle = package_bundle("coverage")
    names = {f.path for f in bundle.files}
    assert "coverage/__init__.py" in names and "coverage/control.py" in names
    assert not any("__pycache__" in name or name.endswith(".pyc") for name in names)
    assert bundle.mount == f"{MOUNT}/coverage"


def test_coverage_cannot_be_combined_with_reuse(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="--lambda-coverage measures fresh containers"):
        Settings(rootdir=tmp_path, coverage=True, reuse=True)


def test_the_containers_data_merges_into_the_tests_coverage_at_the_user_s_paths(tmp_path: Path) -> None:
    tests = coverage.Coverage(data_file=str(tmp_path / ".coverage"), config_file=False)
    collector = Collector(tests)
    mapping = PathMap("/function", tmp_path / "src")
    folder = collector.folder_for(mapping)
    assert collector.folder_for(PathMap("/function", tmp_path / "src")) == folder  # one folder per function
    folder.mkdir(parents=True)
    measured = CoverageData(basename=str(folder / "plc-x-.coverage.abc"))
    measured.add_lines({"/function/app.py": [1, 2, 5]})
    measured.write()
    assert collector.merge() == [str(tmp_path / "src" / "app.py")]
    assert sorted(tests.get_data().lines(str(tmp_path / "src" / "app.py")) or []) == [1, 2, 5]
    assert "module-not-imported" in tests.config.disable_warnings  # measured, in the container
    assert not collector.folder.exists()


def test_the_hook_saves_after_every_call_even_one_that_raises(monkeypatch: pytest.MonkeyPatch) -> None:
    saves: list[str] = []
    monkeypatch.setattr(inside_boot, "_coverage", type("Cov", (), {"save": lambda self: saves.append("saved")})())

    def handler(event: object, context: object) -> object:
        if event == "boom":
            raise ValueError("boom")
        return {"ok": event}

    call = inside_boot._measured(lambda name: handler)("app.handler")
    assert call(1, None) == {"ok": 1}
    with pytest.raises(ValueError):
        call("boom", None)
    assert saves == ["saved", "saved"]
    assert call.__name__ == "handler"


# -- the debugger ---------------------------------------------------------------------------------------------------


def test_the_debugger_is_refused_with_concurrency_and_port_0(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="debug with --lambda-concurrency 1"):
        Settings(rootdir=tmp_path, debug_port=5678, concurrency=2)
    with pytest.raises(ConfigError, match="the port your editor attaches to"):
        parse_debug_port("0", "option --lambda-debug-port")
    assert parse_debug_port("5678", "option --lambda-debug-port") == 5678


def test_the_debugger_s_port_is_published_on_loopback_only() -> None:
    plan = dataclasses.replace(launch.plan(CUSTOM, labels={}, emulator_volume="rie"), published={"5678/tcp": 45678})
    ports = plan.create_options(name="n", port=0)["ports"]
    assert ports["5678/tcp"] == ("127.0.0.1", 45678)


def test_the_debugger_is_refused_on_an_engine_elsewhere(tmp_path: Path) -> None:
    instruments = Instruments(Settings(rootdir=tmp_path, debug_port=5678), log=lambda line: None)
    plan = launch.plan(CUSTOM, labels={}, emulator_volume="rie")
    engine = SimpleNamespace(reach=SimpleNamespace(same_host=False), address="tcp://build-box:2376")
    fn = SimpleNamespace(dockerfile=tmp_path / "Dockerfile", context=tmp_path, handler=None, build_args=())
    with pytest.raises(ConfigError, match="is not on this machine: debug against a local engine"):
        instruments._debug(plan, CUSTOM, fn, engine, 5678)  # type: ignore[arg-type]


def test_with_the_debugger_the_timeouts_are_lifted(tmp_path: Path) -> None:
    (tmp_path / "app.py").write_text("def handler(event, context): return event\n")
    (tmp_path / "Dockerfile").write_text(
        'FROM python:3.11-slim\nWORKDIR /function\nCOPY app.py ./\nCMD ["app.handler"]\n'
    )
    lines: list[str] = []
    instruments = Instruments(Settings(rootdir=tmp_path, debug_port=5678), log=lines.append)
    plan = launch.plan(CUSTOM, labels={}, emulator_volume="rie", timeout=3)
    engine = SimpleNamespace(reach=SimpleNamespace(same_host=True), address="unix:///var/run/docker.sock")
    fn = SimpleNamespace(dockerfile=tmp_path / "Dockerfile", context=tmp_path, handler=None, build_args=())
    debugged = instruments._debug(plan, CUSTOM, fn, engine, 45678)  # type: ignore[arg-type]
    assert debugged.timeout == DEBUG_TIMEOUT and debugged.emulator_timeout == DEBUG_TIMEOUT
    assert debugged.published == {"5678/tcp": 45678}
    assert lines[0].startswith(f"debugger: attach to 127.0.0.1:45678 (debugpy, path mapping /function -> {tmp_path})")


def test_the_front_waits_for_a_function_being_debugged() -> None:
    asked: list[object] = []

    class Function:
        timeout = DEBUG_TIMEOUT

        def invoke_event(self, event: object, timeout: float | None = None) -> object:
            asked.append(timeout)
            return {"statusCode": 200, "body": "ok"}

    for debugging in (False, True):
        with httpx.Client(transport=LambdaTransport(Function(), debugging=debugging), base_url="https://lambda") as c:
            assert c.get("/").text == "ok"
    assert asked == [29.0, None]  # REST's integration timeout, then none


def test_the_first_call_waits_a_bounded_time_for_a_debugger(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setitem(sys.modules, "debugpy", SimpleNamespace(is_client_connected=lambda: False))
    monkeypatch.setenv(inside_boot.DEBUG_PORT, "5678")
    monkeypatch.setenv(inside_boot.DEBUG_WAIT, "0.2")
    monkeypatch.setattr(inside_boot, "_waited", False)
    inside_boot._wait_for_debugger()
    assert "no debugger attached within 0.2s; the call runs without one" in capsys.readouterr().err
    inside_boot._wait_for_debugger()  # once only
    assert capsys.readouterr().err == ""


def test_the_debugger_is_refused_under_xdist(pytester: pytest.Pytester) -> None:
    pytester.makepyfile("def test_nothing(): pass")
    result = pytester.runpytest("--lambda-debug-port=5678", "-n", "2")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*--lambda-debug-port attaches a debugger to one container*debug without -n*"])


def test_neither_changes_anything_when_not_asked_for(tmp_path: Path) -> None:
    settings = Settings(rootdir=tmp_path)
    assert Instruments.of(settings, log=lambda line: None) is None  # the session's plans stay as they are
    assert transport_for(settings, SimpleNamespace(invoke_event=lambda event: event)).debugging is False  # type: ignore[arg-type]
    assert Instruments.of(Settings(rootdir=tmp_path, coverage=True), log=lambda line: None) is not None
