"""Run every test in this folder against both images of the app, the custom one and the AWS base image one — or, when
`--lambda-image` names the image under test (CI's "test exactly that image"), against that image, once. In-process,
the handler is found through each Dockerfile too; a deployed target (url, function) is one function: run once."""

from __future__ import annotations

from pathlib import Path

import pytest

from pytest_lambda_container.plugin import lambda_settings_of

HERE = Path(__file__).resolve().parent.parent
DOCKERFILES = ["Dockerfile", "Dockerfile.aws"]


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    settings = lambda_settings_of(metafunc.config)
    # `lambda_spec` says which function `invoke`, `lambda_client` and `lambda_container` reach.
    if "lambda_spec" in metafunc.fixturenames and settings.target in ("container", "inprocess") and not settings.image:
        specs = [{"dockerfile": HERE / name} for name in DOCKERFILES]
        metafunc.parametrize("lambda_spec", specs, ids=DOCKERFILES, indirect=True, scope="session")
