"""`--lambda-reuse`, its pure parts: which slot a function takes, which config a reused container must have, and the
lock by which two runs at once never share one container (the classic emulator panics on a second concurrent call)."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from types import SimpleNamespace

import pytest
from docker import errors as docker_errors

from pytest_lambda_container.build.image import ImageInfo
from pytest_lambda_container.build.image_config import ImageConfig
from pytest_lambda_container.config.function import FunctionSpec
from pytest_lambda_container.config.settings import Settings
from pytest_lambda_container.container import launch, reuse
from pytest_lambda_container.engine import hygiene

IMAGE = ImageInfo(
    "sha256:aaa", "fn:latest", ImageConfig(entrypoint=("python", "-m", "awslambdaric"), cmd=("app.handler",))
)


@pytest.fixture(autouse=True)
def cache(tmp_path, monkeypatch):
    monkeypatch.setenv("PYTEST_LAMBDA_CONTAINER_CACHE", str(tmp_path / "cache"))


def function_of(root: Path, **settings: object):
    s = Settings(rootdir=root, **settings)  # type: ignore[arg-type]
    fn = FunctionSpec().resolve(s)
    plan = launch.plan(
        IMAGE, labels={"x": "1"}, emulator_volume="plc-emulator-x", environment=fn.environment(), sandbox=s.limits
    )
    return fn, plan


def test_the_same_function_and_settings_have_the_same_slot_and_config(tmp_path):
    # Each container gets a log stream name of its own: the environment differs, the config does not.
    (fn1, plan1), (fn2, plan2) = function_of(tmp_path), function_of(tmp_path)
    assert plan1.environment != plan2.environment
    assert reuse.slot_of(tmp_path, fn1) == reuse.slot_of(tmp_path, fn2)
    assert reuse.config_of(plan1, fn1) == reuse.config_of(plan2, fn2)


@pytest.mark.parametrize("change", [{"env": {"A": "1"}}, {"timeout": 3.0}, {"memory": 1024}, {"sandbox": False}])
def test_other_settings_are_another_config_in_the_same_slot(tmp_path, change):
    fn1, plan1 = function_of(tmp_path)
    fn2, plan2 = function_of(tmp_path, **change)
    assert reuse.slot_of(tmp_path, fn1) == reuse.slot_of(tmp_path, fn2)
    assert reuse.config_of(plan1, fn1) != reuse.config_of(plan2, fn2)


def test_another_image_id_is_another_config(tmp_path):
    fn, plan = function_of(tmp_path)
    rebuilt = dataclasses.replace(plan, image=dataclasses.replace(IMAGE, id="sha256:bbb"))
    assert reuse.config_of(plan, fn) != reuse.config_of(rebuilt, fn)


def test_another_project_handler_or_pool_member_is_another_slot(tmp_path):
    fn, _ = function_of(tmp_path)
    slots = {
        reuse.slot_of(tmp_path, fn),
        reuse.slot_of(tmp_path / "other", fn),
        reuse.slot_of(tmp_path, dataclasses.replace(fn, handler="app.other")),
        reuse.slot_of(tmp_path, fn, member=1),
    }
    assert len(slots) == 4


def test_two_runs_never_hold_one_slot():
    first = reuse.claim("slot-a")
    assert first is not None
    assert reuse.claim("slot-a") is None  # another run (another open file: flock is per open file)
    assert reuse.claim("slot-b") is not None
    first.release()
    again = reuse.claim("slot-a")
    assert again is not None
    again.release()


def test_reused_containers_are_labelled_for_the_next_run_and_clean(tmp_path):
    labels = reuse.labels({"x": "1"}, "s", "c", "fn:latest", tmp_path)
    assert labels == {
        "x": "1",
        hygiene.LABEL_REUSE: "s",
        hygiene.LABEL_REUSE_CONFIG: "c",
        hygiene.LABEL_REUSE_IMAGE: "fn:latest",
        hygiene.LABEL_REUSE_PROJECT: str(tmp_path.resolve()),
    }


class FakeImages:
    def __init__(self, tags: dict[str, str]) -> None:
        self.tags = tags

    def get(self, ref: str) -> SimpleNamespace:
        if ref not in self.tags:
            raise docker_errors.ImageNotFound(ref)
        return SimpleNamespace(id=self.tags[ref])


class FakeEngine:
    def __init__(self, tags: dict[str, str]) -> None:
        self.client = SimpleNamespace(images=FakeImages(tags))

    def errors(self, what: str):
        import contextlib

        return contextlib.nullcontext()


@pytest.mark.parametrize(
    ("tags", "outdated"),
    [({"fn:latest": "sha256:aaa"}, False), ({"fn:latest": "sha256:new"}, True), ({}, True)],
)
def test_the_sweep_removes_a_reused_container_whose_tag_names_a_newer_build(tags, outdated):
    labels = {hygiene.LABEL_REUSE_IMAGE: "fn:latest"}
    assert hygiene._outdated(FakeEngine(tags), labels, "sha256:aaa") is outdated  # type: ignore[arg-type]
