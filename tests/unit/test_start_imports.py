"""A container's start imports only what it uses (issue 17: the start is on the critical path of every one-test run,
and of every xdist worker's first test): the builders, the lock across processes (filelock) and the prune are a
build's alone, the slots across runs `--lambda-reuse`'s; a start with an image given, or found built, loads none."""

from __future__ import annotations

import contextlib
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from docker import errors as docker_errors

import pytest_lambda_container.build as build_package
from pytest_lambda_container.build import image as images

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
BUILDING = "pytest_lambda_container.build.building"
#: What a start with an image given or found built must not import.
BUILD_OR_REUSE_ONLY = (
    "filelock",
    BUILDING,
    "pytest_lambda_container.build.builder",
    "pytest_lambda_container.build.lock",
    "pytest_lambda_container.build.prune",
    "pytest_lambda_container.container.reuse",
)


def loaded_after(code: str) -> list[str]:
    """Which of `BUILD_OR_REUSE_ONLY` a fresh interpreter has imported after `code` (this folder importable)."""
    probe = (
        f"import sys; sys.path[:0] = [{str(ROOT)!r}, {str(HERE)!r}]\n{code}\n"
        f"print('LOADED:', *(m for m in {BUILD_OR_REUSE_ONLY!r} if m in sys.modules))"
    )
    done = subprocess.run([sys.executable, "-c", probe], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    return done.stdout.rpartition("LOADED:")[2].split()


def test_the_start_path_imports_nothing_only_a_build_or_reuse_needs():
    """What the plugin's early start imports before its first engine call (plugin.py `open_session`), and the
    container's own modules: none of the build's or reuse's."""
    code = (
        "import pytest_lambda_container.plugin\n"
        "from pytest_lambda_container.engine import sdk\n"
        "sdk.load()\n"
        "import pytest_lambda_container.container.session, pytest_lambda_container.parallel\n"
        "import pytest_lambda_container.container.function, pytest_lambda_container.container.emulator"
    )
    assert loaded_after(code) == []


def test_an_image_built_already_is_taken_without_the_build_modules(tmp_path):
    code = f"import test_start_imports as t\nfrom pathlib import Path\nt.found_built(Path({str(tmp_path)!r}))"
    assert loaded_after(code) == []


class FakeImages:
    """The engine's images by reference: a base image and, once built, the function's."""

    def __init__(self, images: dict[str, dict[str, Any]]) -> None:
        self.images = images

    def get(self, ref: str) -> SimpleNamespace:
        if ref not in self.images:
            raise docker_errors.ImageNotFound(ref)
        return SimpleNamespace(id=self.images[ref]["Id"], attrs=self.images[ref])


class FakeEngine:
    is_podman = False
    endpoint = None
    address = "unix:///fake.sock"

    def __init__(self, images: dict[str, dict[str, Any]]) -> None:
        self.client = SimpleNamespace(images=FakeImages(images))

    def errors(self, doing: str) -> contextlib.AbstractContextManager[None]:
        return contextlib.nullcontext()


BASE = {"python:3.11-slim": {"Id": "sha256:base", "Architecture": "amd64", "Config": {}}}


@pytest.fixture
def no_building(monkeypatch):
    """Any import of a build's own modules fails (as if they were not there)."""
    for name in BUILD_OR_REUSE_ONLY:
        monkeypatch.setitem(sys.modules, name, None)
        package, _, module = name.rpartition(".")
        if package == build_package.__name__:
            monkeypatch.delattr(build_package, module, raising=False)


def dockerfile(folder: Path) -> Path:
    (folder / "Dockerfile").write_text("FROM python:3.11-slim\nCOPY app.py /function/\n")
    (folder / "app.py").write_text("handler = 1\n")
    return folder / "Dockerfile"


def found_built(folder: Path) -> None:
    """`build` of a Dockerfile whose image the engine has: taken as it is (run in a fresh interpreter above)."""
    path = dockerfile(folder)
    tag = images.current_tag(FakeEngine(BASE), path, folder, {}, None)  # type: ignore[arg-type]
    engine = FakeEngine({**BASE, tag: {"Id": "sha256:fn", "Architecture": "amd64", "Config": {"Cmd": ["app.handler"]}}})
    said: list[images.BuildProgress] = []
    info = images.build(engine, path, folder, progress=said.append)  # type: ignore[arg-type]
    assert (info.id, info.ref, info.built) == ("sha256:fn", tag, False)
    assert [event.text for event in said] == [f"{tag} is up to date with {path}"]


def test_an_image_not_built_yet_goes_to_the_build(tmp_path, no_building):
    """The counterpart: without the image of its tag, the build's module is what `build` needs."""
    path = dockerfile(tmp_path)
    with pytest.raises(ImportError, match=BUILDING):
        images.build(FakeEngine(BASE), path, tmp_path)  # type: ignore[arg-type]
