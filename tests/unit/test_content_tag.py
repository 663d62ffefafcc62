"""What decides a rebuild: the content tag of a build's inputs (no Docker needed)."""

from __future__ import annotations

from pathlib import Path

import pytest

from pytest_lambda_container.errors import ConfigError
from pytest_lambda_container.image import base_images, content_tag


def make_context(tmp_path: Path) -> Path:
    (tmp_path / "Dockerfile").write_text("FROM python:3.11-slim\nCOPY . .\n")
    (tmp_path / "app.py").write_text("handler = None\n")
    (tmp_path / ".dockerignore").write_text("logs/\n*.pyc\n")
    (tmp_path / "logs").mkdir()
    return tmp_path


def tag(context: Path, **kwargs) -> str:
    return content_tag(context / "Dockerfile", context, kwargs.pop("args", {}), kwargs.pop("platform", None), **kwargs)


def test_the_tag_follows_what_the_build_would_send(tmp_path):
    context = make_context(tmp_path)
    first = tag(context)
    assert first.startswith("pytest-lambda-container/") and first == tag(context)
    (context / "logs" / "run.log").write_text("ignored by .dockerignore")
    (context / "cache.pyc").write_bytes(b"ignored too")
    assert tag(context) == first
    (context / "app.py").write_text("handler = 1\n")
    assert tag(context) != first


@pytest.mark.parametrize(
    "change",
    [{"args": {"A": "1"}}, {"platform": "linux/arm64"}, {"base_ids": ("sha256:other",)}],
    ids=["build arg", "platform", "rebuilt base image"],
)
def test_every_build_input_is_in_the_tag(tmp_path, change):
    context = make_context(tmp_path)
    assert tag(context, **change) != tag(context)


def test_base_images_follow_args_and_skip_stages():
    text = "ARG BASE\nARG PY=3.11\nFROM ${BASE} AS deps\nFROM python:$PY-slim\nFROM deps\nFROM scratch\n"
    assert base_images(text, {"BASE": "my/base:1"}) == ["my/base:1", "python:3.11-slim"]


def test_an_unreadable_context_file_is_a_clear_error(tmp_path, monkeypatch):
    # As root nothing is unreadable by mode, so the OS's refusal is simulated at the one call that reads.
    context = make_context(tmp_path)
    target = context / "app.py"
    real_open = Path.open

    def deny(self, *args, **kwargs):
        if self == target:
            raise PermissionError(13, "Permission denied")
        return real_open(self, *args, **kwargs)

    monkeypatch.setattr(Path, "open", deny)
    with pytest.raises(ConfigError, match=r"cannot read .*app\.py in the build context.*\.dockerignore"):
        tag(context)
