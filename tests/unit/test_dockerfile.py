"""Reading a Dockerfile for what its build uses, and for what needs BuildKit (no Docker needed)."""

from __future__ import annotations

from pathlib import Path

import pytest

from pytest_lambda_container.build import builder
from pytest_lambda_container.build.context_paths import go_match
from pytest_lambda_container.build.dockerfile import instructions, read, substitute


def test_continuations_comments_and_the_escape_directive_are_docker_s():
    text = "# escape=`\nFROM python:3.11-slim\nCOPY a `\n# a comment inside\n\n  b /dst/\nRUN echo \\\nCOPY c /d/\n"
    directives, found = instructions(text)
    assert directives == {"escape": "`"}
    assert [(i.keyword, i.line) for i in found] == [("FROM", 2), ("COPY", 3), ("RUN", 7), ("COPY", 8)]
    assert read(text).sources == ("a", "b", "c")


def test_heredoc_bodies_are_not_instructions():
    text = "FROM python:3.11-slim\nRUN <<-EOF\n\tFROM not-a-base\n\tEOF\nCOPY x /x\n"
    _, found = instructions(text)
    assert [i.keyword for i in found] == ["FROM", "RUN", "COPY"]
    assert read(text).base_images == ("python:3.11-slim",)


def test_base_images_skip_stages_and_scratch_and_fill_global_args():
    text = "ARG PY=3.11\nFROM python:${PY}-slim AS deps\nFROM deps AS test\nFROM scratch\nFROM $UNSET_BASE\n"
    assert read(text).base_images == ("python:3.11-slim",)
    assert read(text, {"PY": "3.12"}).base_images == ("python:3.12-slim",)


@pytest.mark.parametrize(
    ("word", "values", "expected"),
    [
        ("${A}/x", {"A": "a"}, "a/x"),
        ("$A$B", {"A": "a", "B": "b"}, "ab"),
        ("${A:-dflt}", {}, "dflt"),
        ("${A:+alt}", {"A": "set"}, "alt"),
        ("${A:+alt}", {}, ""),
        ("$MISSING", {}, None),
        ("${A#prefix}", {"A": "a"}, None),
    ],
)
def test_substitution_resolves_or_says_it_cannot(word, values, expected):
    assert substitute(word, values) == expected


def test_an_env_in_one_stage_is_seen_by_stages_built_on_it():
    text = "FROM python:3.11-slim AS base\nENV SRC=app\nFROM base\nCOPY $SRC/ /fn/\n"
    assert read(text).sources == ("app",)


def test_an_env_line_takes_the_values_from_before_it():
    # https://docs.docker.com/reference/dockerfile/#environment-replacement: `ENV abc=bye def=$abc`: def is the old abc
    text = "FROM python:3.11-slim\nENV SRC=app\nENV SRC=other OLD=$SRC\nCOPY $OLD/ /fn/\n"
    assert read(text).sources == ("app",)


@pytest.mark.parametrize(
    ("pattern", "name", "matches"),
    [
        ("*.py", "app.py", True),
        ("*.py", ".hidden.py", True),  # Go's `*` matches a leading dot
        ("?pp.py", "app.py", True),
        ("[a-c]pp.py", "bpp.py", True),
        ("[^a]pp.py", "app.py", False),
        ("\\*.py", "*.py", True),
        ("\\*.py", "a.py", False),
    ],
)
def test_wildcards_follow_go_filepath_match(pattern, name, matches):
    compiled = go_match(pattern)
    assert compiled is not None and bool(compiled.match(name)) is matches


def test_a_malformed_wildcard_is_refused():
    assert go_match("[abc") is None


def test_every_feature_that_needs_buildkit_is_found_with_its_line(tmp_path: Path):
    dockerfile = tmp_path / "Dockerfile"
    dockerfile.write_text(
        "# syntax=docker/dockerfile:1\n"
        "FROM python:3.11-slim\n"
        "RUN --mount=type=cache,target=/root/.cache pip install -r requirements.txt\n"
        "COPY --chmod=755 entry.sh /\n"
        "COPY --link --chown=1000 app.py /fn/\n"
        "RUN <<EOF\necho hi\nEOF\n"
        "COPY --from=build --chown=1 /x /y\n"  # both flags are the legacy builder's own
    )
    features = builder.buildkit_features(read(dockerfile.read_text()), dockerfile)
    assert [(f.line, f.what) for f in features] == [
        (1, "a syntax directive"),
        (3, "RUN --mount"),
        (4, "COPY --chmod"),
        (5, "COPY --link"),
        (6, "a heredoc"),
    ]


def test_a_dockerfiles_own_ignore_file_needs_buildkit(tmp_path: Path):
    dockerfile = tmp_path / "Dockerfile.aws"
    dockerfile.write_text("FROM python:3.11-slim\nCOPY app.py /\n")
    assert builder.buildkit_features(read(dockerfile.read_text()), dockerfile) == []
    (tmp_path / "Dockerfile.aws.dockerignore").write_text("tests/\n")
    (feature,) = builder.buildkit_features(read(dockerfile.read_text()), dockerfile)
    assert "Dockerfile.aws.dockerignore" in feature.what


def test_the_buildkit_error_names_the_line_and_both_fixes(tmp_path: Path):
    dockerfile = tmp_path / "Dockerfile"
    dockerfile.write_text("FROM python:3.11-slim\nRUN --mount=type=cache,target=/root/.cache pip install x\n")
    error = builder.buildkit_needed(dockerfile, builder.buildkit_features(read(dockerfile.read_text()), dockerfile))
    message = str(error)
    assert f"{dockerfile} needs BuildKit" in message
    assert "line 2 `RUN --mount=type=cache,target=/root/.cache pip install x` (RUN --mount)" in message
    assert "buildx plugin" in message and "docker-buildx" in message and "drop those features" in message


def test_the_buildx_command_carries_tag_labels_and_no_build_arg_value():
    request = builder.BuildRequest(
        dockerfile=Path("/p/Dockerfile"),
        context=Path("/p"),
        tag="pytest-lambda-container/p:1",
        labels={"pytest-lambda-container": "1"},
        build_args={"TOKEN": "s3cret"},
        network_mode="host",
        platform="linux/arm64",
    )
    command = builder.buildx_command("docker", request)
    assert command[:4] == ["docker", "buildx", "build", "--load"]
    assert "--tag" in command and "pytest-lambda-container/p:1" in command
    assert ["--label", "pytest-lambda-container=1"] == command[command.index("--label") : command.index("--label") + 2]
    assert ["--build-arg", "TOKEN"] == command[command.index("--build-arg") : command.index("--build-arg") + 2]
    assert not [word for word in command if "s3cret" in word]
    assert command[-1] == "/p"


@pytest.mark.parametrize(
    ("line", "step"),
    [
        ("#7 [2/3] RUN pip install x", (2, 3, "RUN pip install x")),
        ("#9 [stage-1 4/5] COPY app.py .", (4, 5, "COPY app.py .")),
        ("#1 [internal] load build definition from Dockerfile", None),
        ("#7 0.512 Collecting x", None),
    ],
)
def test_buildkit_plain_progress_steps_are_read(line, step):
    assert builder.buildkit_step(line) == step
