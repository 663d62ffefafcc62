from __future__ import annotations

import os

import docker
import pytest

from pytest_lambda_container import rie
from pytest_lambda_container.container import LABEL, LABEL_PID, LABEL_SESSION

# pytester points HOME at a temporary folder for inner runs; they share the real emulator cache instead of
# provisioning it again each time (test_rie.py provisions into fresh folders on purpose).
os.environ.setdefault("PYTEST_LAMBDA_CONTAINER_CACHE", str(rie.cache_dir()))


@pytest.fixture(scope="session")
def docker_client():
    client = docker.from_env()
    yield client
    client.close()


def list_ours(client, **labels: str) -> list:
    """Containers labelled as ours (optionally with more label values), stopped ones included."""
    filters = [LABEL] + [f"{k}={v}" for k, v in labels.items()]
    return client.containers.list(all=True, filters={"label": filters})


@pytest.fixture
def containers_of_pid(docker_client):
    """Our containers started by the pytest process `pid`."""
    return lambda pid: list_ours(docker_client, **{LABEL_PID: str(pid)})


@pytest.fixture
def foreign_containers(docker_client, lambda_session):
    """Our containers that do not belong to this (outer) test session, e.g. those of pytester runs."""

    def list_them() -> list:
        return [c for c in list_ours(docker_client) if c.labels.get(LABEL_SESSION) != lambda_session.id]

    return list_them
