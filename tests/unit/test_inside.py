"""Coverage inside the container: what the plan adds, how paths map back, the merge into the tests' coverage, and the
hook that saves after every call (pure logic; tests/e2e/test_inside.py runs it for real)."""

from __future__ import annotations

from pathlib import Path

import coverage
import pytest
from coverage import CoverageData

from pytest_lambda_container.build.image import ImageInfo
from pytest_lambda_container.build.image_config import ImageConfig
from pytest_lambda_container.config.settings import Settings
from pytest_lambda_container.container import inside_boot, launch
from pytest_lambda_container.container.inside import DATA_DIR, MOUNT, Harvest, Inside, package_bundle
from pytest_lambda_container.container.measure import Collector, PathMap
from pytest_lambda_container.container.sandbox import Sandbox
from pytest_lambda_container.errors import ConfigError

CUSTOM = ImageInfo(
    "sha256:c",
    "fn:c",
    ImageConfig(entrypoint=("python", "-m", "awslambdaric"), cmd=("app.handler",), env={"PYTHONPATH": "/deps"}),
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
