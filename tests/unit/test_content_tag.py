"""What decides a rebuild: the content tag of a build's inputs (no Docker needed)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from pytest_lambda_container.build.content import large_context_warning
from pytest_lambda_container.build.image import base_images, content_tag
from pytest_lambda_container.errors import ConfigError


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


def project(tmp_path: Path, dockerfile: str, files: dict[str, str]) -> Path:
    (tmp_path / "Dockerfile").write_text(dockerfile)
    for name, text in files.items():
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text(text)
    return tmp_path


def changes_tag(context: Path, name: str, text: str = "changed\n", **kwargs) -> bool:
    before = tag(context, **kwargs)
    (context / name).parent.mkdir(parents=True, exist_ok=True)
    (context / name).write_text(text)
    return tag(context, **kwargs) != before


def test_only_files_a_copy_source_reaches_count(tmp_path):
    context = project(
        tmp_path,
        "FROM python:3.11-slim\nWORKDIR /function\nCOPY requirements.txt ./\nRUN pip install -r requirements.txt\n"
        "COPY app.py ./\n",
        {"app.py": "handler = None\n", "requirements.txt": "mangum\n", "tests/test_app.py": "def test(): pass\n"},
    )
    assert not changes_tag(context, "tests/test_app.py")
    assert not changes_tag(context, "notes.md")
    assert changes_tag(context, "app.py")
    assert changes_tag(context, "requirements.txt")


def test_pytest_and_python_churn_never_counts_even_under_copy_dot(tmp_path):
    context = project(tmp_path, "FROM python:3.11-slim\nCOPY . /function/\n", {"app.py": "", "pkg/mod.py": ""})
    for churn in (".pytest_cache/v/cache/lastfailed", "pkg/__pycache__/mod.cpython-311.pyc", "pkg/old.pyc"):
        assert not changes_tag(context, churn), churn
    assert changes_tag(context, "tests/test_app.py")  # `COPY .` copies it: it counts


@pytest.mark.parametrize(
    ("name", "counts"),
    [
        ("src/handler.py", True),
        ("src/README.md", False),
        ("src/sub/deep.py", False),  # `*` stops at a slash, as Go's filepath.Match does
        ("requirements-dev.txt", True),
        ("lib/deep/inside/x.json", True),  # a folder source copies all of it
        ("library/x.json", False),
        ("built.py", False),  # only in another stage's COPY --from
    ],
)
def test_sources_match_as_docker_matches_them(tmp_path, name, counts):
    context = project(
        tmp_path,
        "FROM python:3.11-slim AS build\nRUN touch /built.py\n"
        "FROM python:3.11-slim\nCOPY src/*.py requirements*.txt /app/\nCOPY ./lib/ /lib/\n"
        "COPY --from=build /built.py /app/\n",
        {"src/handler.py": "", "lib/a.txt": ""},
    )
    assert changes_tag(context, name) is counts


def test_variables_in_sources_are_filled_from_args_and_env(tmp_path):
    context = project(
        tmp_path,
        "ARG APP=one\nFROM python:3.11-slim\nARG APP\nENV EXTRA=conf\nCOPY ${APP}/ $EXTRA /fn/\n",
        {"one/app.py": "", "two/app.py": "", "conf": ""},
    )
    assert changes_tag(context, "one/app.py") and changes_tag(context, "conf")
    assert not changes_tag(context, "two/app.py")
    assert changes_tag(context, "two/app.py", "again\n", args={"APP": "two"})


@pytest.mark.parametrize(
    "dockerfile",
    [
        "FROM python:3.11-slim\nCOPY . .\n",
        "FROM python:3.11-slim\nCOPY $FROM_THE_BASE_IMAGE/app.py .\n",  # a variable this reading cannot know
        "FROM python:3.11-slim\nRUN --mount=type=bind,target=/src make -C /src\n",
        "FROM python:3.11-slim\nRUN <<EOF\ncp /src/anything /\nEOF\n",
    ],
    ids=["copy-dot", "unknown-variable", "bind-mount", "heredoc"],
)
def test_where_the_reading_cannot_tell_the_whole_context_counts(tmp_path, dockerfile):
    context = project(tmp_path, dockerfile, {"app.py": ""})
    assert changes_tag(context, "anything/else.txt")


def test_an_onbuild_base_image_makes_the_whole_context_count(tmp_path):
    context = project(tmp_path, "FROM some/onbuild-base\nCOPY app.py .\n", {"app.py": ""})
    assert not changes_tag(context, "other.txt")
    assert changes_tag(context, "other.txt", "again\n", onbuild=True)


def test_dockerignore_hides_files_from_a_copied_folder(tmp_path):
    context = project(
        tmp_path,
        "FROM python:3.11-slim\nCOPY app/ /app/\n",
        {"app/main.py": "", ".dockerignore": "app/local.env\n"},
    )
    assert not changes_tag(context, "app/local.env")
    assert changes_tag(context, "app/main.py")


def test_a_dockerfiles_own_ignore_file_wins(tmp_path):
    # BuildKit's rule: Dockerfile.dockerignore, next to the Dockerfile, replaces the context's .dockerignore.
    context = project(
        tmp_path,
        "FROM python:3.11-slim\nCOPY . .\n",
        {".dockerignore": "other\n", "Dockerfile.dockerignore": "data/\n"},
    )
    assert not changes_tag(context, "data/big.bin")
    assert changes_tag(context, "other")


def test_a_venv_no_source_reaches_is_never_read(tmp_path, monkeypatch):
    context = project(tmp_path, "FROM python:3.11-slim\nCOPY app.py ./\n", {"app.py": ""})
    venv = context / ".venv" / "lib" / "python3.11" / "site-packages"
    venv.mkdir(parents=True)
    (venv / "big.py").write_text("x = 1\n" * 1000)
    touched: list[str] = []
    real_scandir, real_listdir, real_open = os.scandir, os.listdir, Path.open
    monkeypatch.setattr(os, "scandir", lambda path=".": touched.append(str(path)) or real_scandir(path))
    monkeypatch.setattr(os, "listdir", lambda path=".": touched.append(str(path)) or real_listdir(path))
    monkeypatch.setattr(Path, "open", lambda self, *a, **k: touched.append(str(self)) or real_open(self, *a, **k))
    tag(context)
    assert touched and not [path for path in touched if ".venv" in path]


def test_a_large_context_without_dockerignore_gets_one_line_naming_its_biggest_folders(tmp_path):
    context = project(tmp_path, "FROM python:3.11-slim\nCOPY app.py data/ /fn/\n", {"app.py": ""})
    for folder, size in ((".venv", 3_000_000), ("data", 2_000_000), ("docs", 1_000_000)):
        (context / folder).mkdir()
        with (context / folder / "blob").open("wb") as f:
            f.truncate(size)  # sparse: sized, not written
    line = large_context_warning(context / "Dockerfile", context, ("app.py", "data"), threshold=5_000_000)
    assert line is not None and "\n" not in line
    assert "6 MB and has no .dockerignore" in line
    assert "biggest folders: .venv 3 MB, data 2 MB, docs 1 MB" in line
    # The suggestion leaves out what no COPY takes, and never what one does.
    assert "printf '%s\\n' .venv docs .pytest_cache __pycache__ '*.pyc' > " in line
    assert large_context_warning(context / "Dockerfile", context, ("app.py",), threshold=7_000_000) is None
    (context / ".dockerignore").write_text(".venv\n")
    assert large_context_warning(context / "Dockerfile", context, ("app.py",), threshold=5_000_000) is None
