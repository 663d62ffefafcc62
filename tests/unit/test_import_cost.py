"""Cheap when unused (issue 17): every pytest start loads the plugin, so loading it (and a `--co` that starts nothing)
must not import docker, the HTTP stack, boto3 or uvicorn; they are imported where a test first needs them."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
HEAVY = ("docker", "requests", "urllib3", "httpx", "httpcore", "boto3", "botocore", "uvicorn", "filelock")


def imported_after(code: str, cwd: Path = ROOT) -> list[str]:
    probe = f"{code}\nimport sys\nprint('HEAVY:', *(m for m in {HEAVY!r} if m in sys.modules))"
    done = subprocess.run([sys.executable, "-c", probe], cwd=cwd, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    return done.stdout.rpartition("HEAVY:")[2].split()


def test_importing_the_plugin_imports_nothing_heavy():
    assert imported_after("import pytest_lambda_container.plugin") == []


def test_the_package_names_stay_importable_on_first_use():
    code = "import pytest_lambda_container as p\nassert p.LambdaTransport.__name__ == 'LambdaTransport', p.FunctionPool"
    assert "httpx" in imported_after(code)


def test_a_collect_only_run_imports_nothing_heavy(tmp_path):
    (tmp_path / "pytest.ini").write_text("[pytest]\n")
    (tmp_path / "test_x.py").write_text("def test_x(invoke):\n    pass\n")
    code = (
        f"import sys; sys.path.insert(0, {str(ROOT)!r})\n"
        "import pytest\n"
        "assert pytest.main(['--co', '-q', '-p', 'no:cacheprovider', '-p', 'no:hypothesispytest']) == 0\n"
        "assert 'pytest_lambda_container.plugin' in sys.modules"
    )
    assert imported_after(code, cwd=tmp_path) == []
