"""aws-lambda-rie's checks that need neither the package index nor Docker."""

from __future__ import annotations

import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
from pipless import pipless_python

from pytest_lambda_container.container import emulator as rie
from pytest_lambda_container.container import emulator_wheel as rie_wheel
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
    assert "emulator: ok, not cached yet; the first session downloads it with " in missing.stdout


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


def test_with_no_pip_anywhere_the_error_gives_the_commands_to_run_and_they_work(tmp_path: Path) -> None:
    python, env = pipless_python(tmp_path)
    cache = tmp_path / "cache"
    env = {**env, "PATH": "", "PYTEST_LAMBDA_CONTAINER_CACHE": str(cache)}
    result = subprocess.run(
        [str(python), "-m", "pytest_lambda_container", "rie"], env=env, capture_output=True, text=True
    )
    assert result.returncode == 1
    assert result.stderr.startswith("error: no pip to download the aws-sam-cli wheel (which ships aws-lambda-rie) with")
    assert f"this Python ({python}) has no pip module" in result.stderr
    download = "python3 -m pip download --no-deps --only-binary=:all: -d /tmp/aws-sam-cli aws-sam-cli"
    install = f"{python} -m pytest_lambda_container rie --from-wheel /tmp/aws-sam-cli/aws_sam_cli-*.whl"
    assert download in result.stderr and install in result.stderr
    assert not cache.exists() or list(cache.glob("aws-lambda-rie*")) == []
    # The second command, with the wheel the first would fetch (here a small stand-in, RECORD and all).
    downloads = tmp_path / "downloads"
    downloads.mkdir()
    _wheel(downloads, "x86_64", _elf(62))
    pattern = str(downloads / "aws_sam_cli-*.whl")  # as a shell leaves a pattern it cannot match, or quoted
    for given in (pattern, str(downloads), str(next(downloads.iterdir()))):
        cmd = [str(python), "-m", "pytest_lambda_container", "rie", "--from-wheel", given]
        installed = subprocess.run(cmd, env=env, capture_output=True, text=True)
        assert installed.returncode == 0, installed.stderr
        assert installed.stdout.strip() == str(cache / "aws-lambda-rie-x86_64")
        assert rie.is_rie_for(cache / "aws-lambda-rie-x86_64", "x86_64")


def test_from_wheel_without_a_wheel_says_how_to_get_one(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from pytest_lambda_container.__main__ import main

    with pytest.raises(SystemExit) as exit_info:
        main(["rie", "--arch", "arm64", "--from-wheel", str(tmp_path)])
    assert exit_info.value.code == 2
    err = capsys.readouterr().err
    assert f"--from-wheel {tmp_path}: no aws-sam-cli wheel there; download it first" in err
    assert "rie --arch arm64 --from-wheel /tmp/aws-sam-cli/aws_sam_cli-*.whl" in err


def test_other_pythons_and_uv_are_tried_after_this_one(tmp_path: Path) -> None:
    first, second = tmp_path / "venv-bin", tmp_path / "usr-bin"
    for folder, names in ((first, ["python3", "python"]), (second, ["python3", "pip3", "pip", "uvx"])):
        folder.mkdir()
        for name in names:
            (folder / name).write_text("#!/bin/sh\n")
            (folder / name).chmod(0o755)
    found = list(rie_wheel.candidates(f"{first}:{second}"))
    assert found == [
        (sys.executable, "-m", "pip"),
        (str(first / "python3"), "-m", "pip"),
        (str(second / "python3"), "-m", "pip"),  # every python3 on PATH, not only the first
        (str(first / "python"), "-m", "pip"),
        (str(second / "pip3"),),
        (str(second / "pip"),),
        (str(second / "uvx"), "pip"),  # uv has no `pip download`: uvx runs pip itself
    ]


def test_the_doctor_says_when_nothing_can_fetch_the_emulator(tmp_path: Path) -> None:
    python, env = pipless_python(tmp_path)
    env = {**env, "PATH": "", "PYTEST_LAMBDA_CONTAINER_CACHE": str(tmp_path / "cache"), "DOCKER_HOST": "unix:///no"}
    project = tmp_path / "project"
    project.mkdir()
    custom = project / "Dockerfile"
    custom.write_text(
        'FROM python:3.11-slim\nRUN pip install awslambdaric\nENTRYPOINT ["python", "-m", "awslambdaric"]\n'
    )
    aws = project / "Dockerfile.aws"
    aws.write_text('FROM public.ecr.aws/lambda/python:3.11\nCMD ["app.handler"]\n')
    cmd = [str(python), "-m", "pytest_lambda_container", "doctor", "--port", "0", "--dockerfile"]
    lines = subprocess.run([*cmd, str(custom)], env=env, capture_output=True, text=True).stdout.splitlines()
    emulator = next(line for line in lines if line.startswith("emulator: "))
    assert emulator.startswith("emulator: MISSING: no pip to download the aws-sam-cli wheel")
    assert "--from-wheel /tmp/aws-sam-cli/aws_sam_cli-*.whl" in emulator + "".join(lines)
    lines = subprocess.run([*cmd, str(aws)], env=env, capture_output=True, text=True).stdout.splitlines()
    assert "emulator: ok, not needed by an AWS base image, and not cached" in "\n".join(lines)
