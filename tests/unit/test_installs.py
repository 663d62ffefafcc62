"""What a Dockerfile's RUN lines install: one reading for the doctor's checks and the inprocess target's hint."""

from __future__ import annotations

import pytest

from pytest_lambda_container.build.installs import installs, project_name
from pytest_lambda_container.build.syntax import instructions


def run(text: str) -> list[tuple[str, tuple[str, ...], tuple[str, ...], bool]]:
    (ins,) = instructions("RUN " + text)[1]
    return [(i.tool, i.packages, i.requirements, i.itself) for i in installs(ins)]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("pip install -r requirements.txt", [("pip", (), ("requirements.txt",), False)]),
        (
            "python -m pip install --no-cache-dir -i https://mirror/simple fastapi 'awslambdaric==2.0.8'",
            [("pip", ("fastapi", "awslambdaric==2.0.8"), (), False)],
        ),
        (
            "pip3 --disable-pip-version-check install --requirement=req/prod.txt",
            [("pip", (), ("req/prod.txt",), False)],
        ),
        ("pip install -e .[aws]", [("pip", (), (), True)]),
        ("pip install .", [("pip", (), (), True)]),
        (
            "pip install poetry && poetry install --no-root",
            [("pip", ("poetry",), (), False), ("poetry", (), (), False)],
        ),
        ("uv sync --frozen", [("uv", (), (), False)]),
        ("apt-get update && apt-get install -y gcc; echo pip", []),
        ("pip install -r a.txt \\\n && rm a.txt", [("pip", (), ("a.txt",), False)]),
    ],
    ids=[
        "requirements",
        "packages",
        "option-before-install",
        "editable",
        "itself",
        "poetry",
        "uv",
        "none",
        "continued",
    ],
)
def test_each_install_command_of_a_run_line(text, expected):
    assert run(text) == expected


def test_a_package_is_named_as_pip_compares_names():
    # PEP 503 normalisation: https://peps.python.org/pep-0503/#normalized-names
    assert project_name("AWSLambdaRIC>=2.0  # runtime") == "awslambdaric"
    assert project_name("Foo_Bar.baz[extra]==1") == "foo-bar-baz"
    (ins,) = instructions("RUN pip install 'AWSLambdaRIC[extra]==2' other")[1]
    assert installs(ins)[0].names("awslambdaric") and not installs(ins)[0].names("awslambda")
