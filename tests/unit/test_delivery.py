"""What containers get read-only through a volume (container/delivery.py): named for its content, archived as it
will be read. The engine's side is tested in tests/e2e/test_delivery.py."""

from __future__ import annotations

import io
import tarfile
from datetime import datetime, timezone
from pathlib import Path

import pytest

from pytest_lambda_container.container import emulator as rie
from pytest_lambda_container.container.delivery import Bundle, BundleFile
from pytest_lambda_container.engine.liveness import age
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


def test_the_emulator_is_delivered_executable_at_the_path_the_plan_runs(tmp_path: Path, monkeypatch):
    monkeypatch.setenv("PYTEST_LAMBDA_CONTAINER_CACHE", str(tmp_path / "cache"))  # its digest is remembered there
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


def test_a_bundle_of_host_files_is_named_as_one_of_their_bytes_and_read_only_for_a_fill(tmp_path: Path, monkeypatch):
    """The digest of host files is remembered by what the files are now (container/memo.py, issue 17): a run whose
    volume is filled reads none of them; a file written anew is hashed again."""
    binary = tmp_path / "tool"
    binary.write_bytes(b"\x7fELF one")
    digests = tmp_path / "digests"

    def of_file() -> Bundle:
        return Bundle("tools", "/plc/tools", (BundleFile("tool", binary, 0o755),), digests=digests)

    of_bytes = Bundle("tools", "/plc/tools", (BundleFile("tool", b"\x7fELF one", 0o755),))
    assert of_file().volume == of_bytes.volume
    assert len(list(digests.iterdir())) == 1
    reads: list[Path] = []
    real_read = Path.read_bytes
    monkeypatch.setattr(Path, "read_bytes", lambda self: reads.append(self) or real_read(self))
    assert of_file().volume == of_bytes.volume and reads == []  # remembered: the file is not read
    assert members(of_file()) == {"tool": (0o755, b"\x7fELF one")} and reads == [binary]
    binary.write_bytes(b"\x7fELF three")  # another size: a rewrite within one tick of the clock has the same times
    assert of_file().volume == Bundle("tools", "/plc/tools", (BundleFile("tool", b"\x7fELF three", 0o755),)).volume


def test_a_remembered_digest_that_cannot_be_read_or_written_is_computed(tmp_path: Path):
    binary = tmp_path / "tool"
    binary.write_bytes(b"data")
    expected = Bundle("t", "/m", (BundleFile("tool", b"data"),)).digest
    blocked = tmp_path / "not-a-folder"
    blocked.write_text("")  # the memo folder cannot be made: computed every time
    assert Bundle("t", "/m", (BundleFile("tool", binary),), digests=blocked).digest == expected
    digests = tmp_path / "digests"
    assert Bundle("t", "/m", (BundleFile("tool", binary),), digests=digests).digest == expected
    (memo,) = digests.iterdir()
    memo.write_text("garbage")  # a damaged memo is not taken for a digest
    assert Bundle("t", "/m", (BundleFile("tool", binary),), digests=digests).digest == expected
