"""Shared by every test: repeatable properties in CI, and the emulator cache pytester runs share."""

import os
from collections.abc import Iterator

import httpcore
import pytest
from hypothesis import settings

from pytest_lambda_container.container import emulator as rie

# Locally the properties explore new examples on every run; in CI they replay a fixed set, so a run is
# repeatable (a new counterexample found locally becomes a pinned test, as test_roundtrip_properties' are).
settings.register_profile("ci", derandomize=True)
if os.environ.get("CI"):
    settings.load_profile("ci")

# pytester's in-process runs drop the modules first imported during them; httpx imports httpcore lazily, so
# without this a later httpx call raises an unmapped httpcore error (its exception map holds the dropped classes).
httpcore.ConnectError  # noqa: B018

# pytester points HOME at a temporary folder for inner runs; they share the real emulator cache instead of
# provisioning it again each time (test_rie.py provisions into fresh folders on purpose).
os.environ.setdefault("PYTEST_LAMBDA_CONTAINER_CACHE", str(rie.cache_dir()))


@pytest.fixture(autouse=True)
def _inner_runs_print_as_on_a_laptop(request: pytest.FixtureRequest) -> Iterator[None]:
    # pytest prints whole summary lines when it sees CI (CI or BUILD_NUMBER set): a pytester run's output, and so what
    # a test finds in it ("told once"), would differ between a laptop and CI. Tests of CI's output set CI themselves.
    # Its own MonkeyPatch, not the fixture: pytester shares that one, and the unit tests' guard must see pytester's
    # changes undone before it looks.
    with pytest.MonkeyPatch.context() as patch:
        if "pytester" in request.fixturenames:
            for name in ("CI", "BUILD_NUMBER"):
                patch.delenv(name, raising=False)
        yield
