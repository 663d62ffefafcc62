"""A Python environment without pip, as `python -m venv --without-pip` or uv make them, that can still run the
project: a real venv, its packages taken from this environment (less pip) and the project on PYTHONPATH."""

from __future__ import annotations

import os
import site
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def pipless_python(folder: Path) -> tuple[Path, dict[str, str]]:
    """A pip-less interpreter made in `folder`, and the environment variables it runs the project with."""
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(folder / "venv")], check=True)
    packages = folder / "packages"
    packages.mkdir()
    for site_dir in site.getsitepackages():
        for entry in Path(site_dir).iterdir():
            if entry.name == "pip" or entry.name.startswith("pip-") or (packages / entry.name).exists():
                continue
            (packages / entry.name).symlink_to(entry)
    python = folder / "venv" / "bin" / "python"
    env = {"PYTHONPATH": f"{ROOT}{os.pathsep}{packages}", "HOME": str(folder), "PYTHONDONTWRITEBYTECODE": "1"}
    probe = subprocess.run([str(python), "-c", "import pip"], env=env, capture_output=True)
    assert probe.returncode != 0, "the environment was meant to have no pip"
    return python, env
