"""What containers get read-only through a volume (container/delivery.py): named for its content, archived as it
will be read. The engine's side is tested in tests/e2e/test_delivery.py."""

from __future__ import annotations

import io
import tarfile
from datetime import datetime, timezone
from pathlib import Path

import pytest

from pytest_lambda_container.container import emulator as rie
from pytest_lambda_container.container.delivery import Bundle
from pytest_lambda_container.engine.hygiene import age
from pytest_lambda_container.errors import EmulatorUnavailable


def members(bundle: Bundle) -> dict[str, tuple[int, bytes]]:
    with tarfile.open(fileobj=io.BytesIO(bundle.archive())) as tar:
        return {m.name: (m.mode, tar.extractfile(m).read()) for m in tar.getmembers()}  # type: ignore[union-attr]


def test_a_bundle_is_named_for_its_kind_and_content(tmp_path: Path):
    one = Bundle.of("coverage", "/plc/coverage", {"a.py": b"x = 1\n"})
    assert one.volume.startswith("plc-coverage-") and len(one.volume) == len("plc-coverage-") + 16
    assert Bundle.of("coverage", "/plc/coverage", {"a.py": b"x = 1\n"}).volume == one.volume
    # Any change of content, name or place is another volume: a volume never changes once filled.
    assert Bundle.of("coverage", "/plc/coverage", {"a.py": b"x = 2\n"}).volume != one.volume
    assert Bundle.of("coverage", "/plc/coverage", {"b.py": b"x = 1\n"}).volume != one.volume
    assert Bundle.of("coverage", "/plc/other", {"a.py": b"x = 1\n"}).volume != one.volume


def test_the_archive_keeps_executables_executable_and_everything_readable(tmp_path: Path):
    tool = tmp_path / "tool"
    tool.write_bytes(b"#!/bin/sh\n")
    tool.chmod(0o700)
    bundle = Bundle.of("tools", "/plc/tools", {"bin/tool": tool, "conf.txt": b"k=v"})
    found = members(bundle)
    assert found["bin/tool"] == (0o744, b"#!/bin/sh\n")
    assert found["conf.txt"] == (0o644, b"k=v")


def test_the_emulator_is_delivered_executable_at_the_path_the_plan_runs(tmp_path: Path):
    binary = tmp_path / "aws-lambda-rie-x86_64"
    binary.write_bytes(b"\x7fELF fake")
    binary.chmod(0o600)  # --lambda-rie of a file without x bits: still runnable in the container
    bundle = rie.bundle(binary)
    assert bundle.mount == "/aws-lambda" and bundle.volume.startswith("plc-emulator-")
    assert members(bundle) == {"aws-lambda-rie": (0o755, b"\x7fELF fake")}
    with pytest.raises(EmulatorUnavailable, match="cannot read aws-lambda-rie"):
        rie.bundle(tmp_path / "missing")


@pytest.mark.parametrize(
    "stamp",
    ["2026-12-07T16:00:00.123456789Z", "2026-12-07T16:00:00Z", "2026-12-07T11:00:00.5-05:00", "2026-12-07T16:00:00"],
)
def test_engine_timestamps_of_docker_and_podman_are_read(stamp: str):
    now = datetime(2026, 12, 7, 16, 1, 0, tzinfo=timezone.utc)
    assert 59 <= age(stamp, now=now) <= 60


def test_an_unreadable_timestamp_is_never_taken_for_old():
    assert age(None) == 0.0 and age("yesterday") == 0.0
