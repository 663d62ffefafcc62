"""Run every test in this folder against both images of the app: the custom one and the AWS base image one."""

from __future__ import annotations

from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="session", params=["Dockerfile", "Dockerfile.aws"])
def lambda_container(request, lambda_container_factory):
    # Overriding the plugin's fixture: `invoke` and `lambda_client` follow it, so each test runs once per image.
    return lambda_container_factory(dockerfile=HERE / request.param)
