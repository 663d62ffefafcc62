"""Finding and provisioning aws-lambda-rie: the real wheel, real pip, concurrent processes."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from pytest_lambda_container import rie
from pytest_lambda_container.errors import EmulatorUnavailable


def test_two_processes_provision_one_cache_without_corrupting_it(tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    env = {"PYTEST_LAMBDA_CONTAINER_CACHE": str(cache), "PATH": "/usr/bin:/bin"}
    cmd = [sys.executable, "-m", "pytest_lambda_container", "rie", "--arch", "x86_64"]
    procs = [
        subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for _ in range(2)
    ]
    outs = [p.communicate(timeout=300) for p in procs]
    assert [p.returncode for p in procs] == [0, 0], outs
    paths = {out.strip() for out, _ in outs}
    assert paths == {str(cache / "aws-lambda-rie-x86_64")}
    # One of them downloaded; the other waited on the lock and found it done.
    assert sum("downloading the aws-sam-cli wheel" in err for _, err in outs) == 1
    assert rie.is_rie_for(cache / "aws-lambda-rie-x86_64", "x86_64")
    assert not rie.is_rie_for(cache / "aws-lambda-rie-x86_64", "arm64")
    assert [p.name for p in cache.iterdir() if p.suffix == ".part"] == []


def test_arm64_build_is_extracted_and_checked(tmp_path: Path) -> None:
    path = rie.provision("arm64", dest=tmp_path)
    assert rie.elf_machine(path) == rie.ELF_MACHINE["arm64"]


def test_explicit_binary_must_match_the_architecture(tmp_path: Path) -> None:
    x86 = Path(rie.locate("x86_64"))
    assert rie.locate("x86_64", x86) == x86
    with pytest.raises(EmulatorUnavailable, match="not an aws-lambda-rie binary for arm64"):
        rie.locate("arm64", x86)
    with pytest.raises(EmulatorUnavailable, match="no such file"):
        rie.locate("x86_64", tmp_path / "missing")
    script = tmp_path / "fake"
    script.write_text("#!/bin/sh\n")
    with pytest.raises(EmulatorUnavailable, match="not an aws-lambda-rie binary"):
        rie.locate("x86_64", script)


def test_a_tampered_wheel_is_refused(tmp_path: Path) -> None:
    import zipfile

    wheel = tmp_path / "aws_sam_cli-0-py3-none-any.whl"
    member = rie.WHEEL_MEMBER.format(arch="x86_64")
    with zipfile.ZipFile(wheel, "w") as archive:
        archive.writestr(member, b"\x7fELF not the real thing")
        archive.writestr("aws_sam_cli-0.dist-info/RECORD", f"{member},sha256=AAAA,10\n")
    with pytest.raises(EmulatorUnavailable, match="does not match its RECORD"):
        rie._extract_verified(wheel, member)


def test_doctor_says_what_is_there_and_what_is_not(tmp_path: Path) -> None:
    env = {"PATH": "/usr/bin:/bin", "PYTEST_LAMBDA_CONTAINER_CACHE": str(tmp_path), "HOME": str(tmp_path)}
    cmd = [sys.executable, "-m", "pytest_lambda_container", "doctor"]
    missing = subprocess.run(
        cmd, env={**env, "DOCKER_HOST": "unix:///nonexistent.sock"}, capture_output=True, text=True
    )
    assert missing.returncode == 1
    assert "engine: MISSING: no Docker engine answers at unix:///nonexistent.sock" in missing.stdout
    assert "emulator: not cached yet" in missing.stdout


@pytest.mark.docker
def test_doctor_on_a_working_machine() -> None:
    rie.locate("x86_64")  # cached, by now or by this
    result = subprocess.run([sys.executable, "-m", "pytest_lambda_container", "doctor"], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout
    assert result.stdout.startswith("engine: ok, ")
    assert "emulator: ok, aws-lambda-rie for x86_64" in result.stdout


def test_an_unwritable_cache_is_a_clear_error(tmp_path: Path) -> None:
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("a file where the cache folder should be")
    with pytest.raises(
        EmulatorUnavailable, match=r"could not provision aws-lambda-rie-x86_64 into .*not-a-folder.*--lambda-rie"
    ):
        rie.provision("x86_64", dest=blocker)
