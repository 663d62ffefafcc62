"""The doctor's layer-order check, pure: which COPY of code comes before the dependency install, and the install's
time read from an image's history (the engine's `docker history` entries, newest first)."""

from __future__ import annotations

from pathlib import Path

import pytest

from pytest_lambda_container.build import stages
from pytest_lambda_container.cli import layer_order

FILES = {"app.py": "", "requirements.txt": "fastapi\n", "setup.py": "", "pkg/__init__.py": "", "static/logo.png": ""}


def early(tmp_path: Path, dockerfile: str) -> layer_order.EarlyCopy | None:
    for name, text in FILES.items():
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text(text)
    return layer_order.early_copy(stages.parse(dockerfile), tmp_path)


@pytest.mark.parametrize(
    ("body", "copy_line", "code"),
    [
        # The seed's AWS-base Dockerfile: one COPY of both files, then the install.
        ("COPY app.py requirements.txt ./\nRUN pip install -r requirements.txt\n", 2, ("app.py",)),
        ("COPY . .\nRUN pip3 install --no-cache-dir -r requirements.txt\n", 2, (".",)),
        ("COPY *.py ./\nCOPY requirements.txt ./\nRUN python -m pip install -r requirements.txt\n", 2, ("app.py",)),
        ("COPY pkg ./pkg\nRUN uv pip install --system -r requirements.txt\n", 2, ("pkg/",)),
        ("COPY requirements.txt ./\nADD app.py ./\nRUN poetry install\n", 3, ("app.py",)),
    ],
)
def test_code_copied_before_the_install_is_found(tmp_path, body, copy_line, code):
    found = early(tmp_path, "FROM python:3.11-slim\n" + body + 'CMD ["app.handler"]\n')
    assert found is not None
    assert found.copy.line == copy_line and found.install.keyword == "RUN"
    assert tuple(c.rstrip("/") or "." for c in found.code) == tuple(c.rstrip("/") or "." for c in code)


@pytest.mark.parametrize(
    "body",
    [
        # The README's order: requirements, install, then the code.
        "COPY requirements.txt ./\nRUN pip install -r requirements.txt\nCOPY app.py ./\n",
        # Only dependency files and data before the install.
        "COPY requirements.txt setup.py ./\nCOPY static/ ./static/\nRUN pip install -r requirements.txt\n",
        # The install installs the context itself: it needs the code first, no order helps.
        "COPY . .\nRUN pip install .\n",
        "COPY . .\nRUN pip install -e .[aws]\n",
        # No install at all.
        "COPY app.py ./\n",
        # A COPY from another stage is not the context's code.
        "COPY --from=python:3.12 /usr/lib/python3.12/json/ ./json/\nRUN pip install -r requirements.txt\n",
    ],
)
def test_a_right_order_is_left_alone(tmp_path, body):
    assert early(tmp_path, "FROM python:3.11-slim\n" + body) is None


def test_only_the_final_images_stages_count(tmp_path):
    dockerfile = (
        "FROM python:3.11-slim AS tools\nCOPY app.py ./\nRUN pip install -r requirements.txt\n"
        "FROM python:3.11-slim\nCOPY requirements.txt ./\nRUN pip install -r requirements.txt\nCOPY app.py ./\n"
    )
    assert early(tmp_path, dockerfile) is None


def test_the_warning_names_the_lines_the_cost_and_the_fix(tmp_path):
    found = early(tmp_path, "FROM x\nCOPY app.py requirements.txt ./\nRUN pip install -r requirements.txt\n")
    line = layer_order.check(found, 14.0)
    assert line is not None and line.status == "WARNING"
    assert line.line.startswith("layer order: WARNING: line 2 copies app.py before line 3 installs the dependencies")
    assert "(it took 14 s when it last ran)" in line.line
    assert "copy only the requirements file first, install, then COPY the code" in line.line
    assert "the last build" not in layer_order.check(found).line  # type: ignore[union-attr]
    assert layer_order.check(None) is None


INSTALL = stages.parse("FROM x\nRUN pip install  -r requirements.txt\n").stages[0].instructions[0]


def test_the_install_time_is_its_layers_creation_minus_the_one_before():
    # As the legacy builder records a build (docker history, newest first).
    history = [
        {"Created": 1700000100, "CreatedBy": '/bin/sh -c #(nop)  CMD ["app.handler"]'},
        {"Created": 1700000099, "CreatedBy": "/bin/sh -c #(nop) COPY file:abc in ./ "},
        {"Created": 1700000098, "CreatedBy": "/bin/sh -c pip install -r requirements.txt"},
        {"Created": 1700000082, "CreatedBy": "/bin/sh -c #(nop) COPY file:def in ./ "},
        {"Created": 1690000000, "CreatedBy": '/bin/sh -c #(nop)  CMD ["python3"]'},
    ]
    assert layer_order.install_seconds(history, INSTALL) == 16.0
    # BuildKit's wording of the same step.
    buildkit = [
        {"Created": 50, "CreatedBy": "RUN /bin/sh -c pip install -r requirements.txt # buildkit"},
        {"Created": 38, "CreatedBy": "COPY requirements.txt ./ # buildkit"},
    ]
    assert layer_order.install_seconds(buildkit, INSTALL) == 12.0


@pytest.mark.parametrize(
    "history",
    [
        [],
        [{"Created": 10, "CreatedBy": "/bin/sh -c pip install other"}, {"Created": 1, "CreatedBy": "x"}],
        # The step is the oldest entry: nothing before it to count from.
        [{"Created": 10, "CreatedBy": "/bin/sh -c pip install -r requirements.txt"}],
    ],
)
def test_no_time_when_the_history_does_not_show_the_step(history):
    assert layer_order.install_seconds(history, INSTALL) is None
