"""Run every test in this folder against both images of the app, the custom one and the AWS base image one — or, when
`--lambda-image` names the image under test (CI's "test exactly that image"), against that image, once. In-process,
each Dockerfile says where the handler's code is; a deployed target (url, function) is one function, tested once."""

from __future__ import annotations

from pathlib import Path

import pytest

from pytest_lambda_container.plugin import lambda_settings_of

HERE = Path(__file__).resolve().parent.parent
DOCKERFILES = ["Dockerfile", "Dockerfile.aws"]


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    # Built from the working tree, each way, unless an image is given: then it is the function, and nothing is built.
    settings = lambda_settings_of(metafunc.config)
    each_way = settings.target in ("container", "inprocess") and not settings.image
    if "lambda_container" in metafunc.fixturenames and each_way:
        metafunc.parametrize("lambda_container", DOCKERFILES, indirect=True, scope="session")


@pytest.fixture(scope="session")
def lambda_container(request, lambda_container_factory):
    # Overriding the plugin's fixture: `invoke` and `lambda_client` follow it. No Dockerfile: the configured function.
    dockerfile = getattr(request, "param", None)
    return lambda_container_factory(dockerfile=HERE / dockerfile if dockerfile else None)
