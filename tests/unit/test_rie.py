"""aws-lambda-rie's checks that need neither the package index nor Docker."""

from __future__ import annotations

import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from pytest_lambda_container import rie
from pytest_lambda_container.errors import EmulatorUnavailable


def test_a_tampered_wheel_is_refused(tmp_path: Path) -> None:
    wheel = tmp_path / "aws_sam_cli-0-py3-none-any.whl"
    member = rie.WHEEL_MEMBER.format(arch="x86_64")
    with zipfile.ZipFile(wheel, "w") as archive:
        archive.writestr(member, b"\x7fELF not the real thing")
        archive.writestr("aws_sam_cli-0.dist-info/RECORD", f"{member},sha256=AAAA,10\n")
    (tmp_path / "cache").mkdir()
    with pytest.raises(EmulatorUnavailable, match="does not match its RECORD"):
        rie.install_from_wheel(wheel, "x86_64", tmp_path / "cache")
    assert list((tmp_path / "cache").iterdir()) == []


def test_doctor_says_what_is_there_and_what_is_not(tmp_path: Path) -> None:
    env = {"PATH": "/usr/bin:/bin", "PYTEST_LAMBDA_CONTAINER_CACHE": str(tmp_path), "HOME": str(tmp_path)}
    cmd = [sys.executable, "-m", "pytest_lambda_container", "doctor"]
    missing = subprocess.run(
        cmd, env={**env, "DOCKER_HOST": "unix:///nonexistent.sock"}, capture_output=True, text=True
    )
    assert missing.returncode == 1
    assert "engine: MISSING: no Docker engine answers at unix:///nonexistent.sock" in missing.stdout
    assert "emulator: not cached yet" in missing.stdout


def test_an_unwritable_cache_is_a_clear_error(tmp_path: Path) -> None:
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("a file where the cache folder should be")
    with pytest.raises(
        EmulatorUnavailable, match=r"could not provision aws-lambda-rie-x86_64 into .*not-a-folder.*--lambda-rie"
    ):
        rie.provision("x86_64", dest=blocker)


def _wheel(folder: Path, arch: str, data: bytes) -> Path:
    import base64
    import hashlib

    wheel = folder / "aws_sam_cli-0-py3-none-any.whl"
    member = rie.WHEEL_MEMBER.format(arch=arch)
    digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
    with zipfile.ZipFile(wheel, "w") as archive:
        archive.writestr(member, data)
        archive.writestr("aws_sam_cli-0.dist-info/RECORD", f"{member},sha256={digest},{len(data)}\n")
    return wheel


def _elf(machine: int) -> bytes:
    # Just the header fields the check reads: magic, 64-bit little-endian, e_machine at offset 18.
    return b"\x7fELF\x02\x01" + bytes(12) + machine.to_bytes(2, "little") + bytes(44)


def test_a_wheel_whose_record_matches_installs_the_binary(tmp_path: Path) -> None:
    wheel = _wheel(tmp_path, "x86_64", _elf(62))
    path = rie.install_from_wheel(wheel, "x86_64", tmp_path)
    assert path == tmp_path / "aws-lambda-rie-x86_64" and rie.is_rie_for(path, "x86_64")
    assert path.stat().st_mode & 0o111


def test_a_binary_for_the_wrong_machine_is_refused_even_when_the_record_matches(tmp_path: Path) -> None:
    wheel = _wheel(tmp_path, "arm64", _elf(62))  # an x86-64 binary filed as the arm64 build
    with pytest.raises(EmulatorUnavailable, match="holds no arm64 aws-lambda-rie"):
        rie.install_from_wheel(wheel, "arm64", tmp_path)
    assert [p.name for p in tmp_path.iterdir() if "aws-lambda-rie" in p.name] == []
