"""The shipped CI files: the GitHub Actions workflow, valid against GitHub's schema and clean under zizmor's offline
audit; the GitLab CI template, valid against GitLab's schema."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
WORKFLOWS = sorted((ROOT / ".github" / "workflows").glob("*.yml"))
GITLAB = ROOT / "ci-templates" / "gitlab-ci.yml"


def _tool(name: str) -> str:
    path = shutil.which(name) or str(Path(sys.executable).with_name(name))
    if not Path(path).exists():
        pytest.fail(f"{name} is not installed: pip install -e '.[test]'")
    return path


def test_there_is_a_build_test_push_workflow():
    text = "\n".join(p.read_text() for p in WORKFLOWS)
    assert "docker build -t" in text and "--lambda-image" in text and "docker push" in text


@pytest.mark.parametrize("workflow", WORKFLOWS, ids=lambda p: p.name)
def test_workflow_matches_githubs_schema(workflow):
    result = subprocess.run(
        [_tool("check-jsonschema"), "--builtin-schema", "vendor.github-workflows", str(workflow)],
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize("workflow", WORKFLOWS, ids=lambda p: p.name)
def test_workflow_passes_zizmor(workflow):
    result = subprocess.run([_tool("zizmor"), "--offline", str(workflow)], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "No findings" in result.stdout + result.stderr


def test_the_gitlab_template_matches_gitlabs_schema():
    result = subprocess.run(
        [_tool("check-jsonschema"), "--builtin-schema", "vendor.gitlab-ci", str(GITLAB)], capture_output=True, text=True
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_the_gitlab_template_tests_the_built_image_on_dind_with_tls():
    from ruamel.yaml import YAML  # check-jsonschema's own YAML reader

    template = YAML(typ="safe").load(GITLAB.read_text())
    assert template["variables"]["DOCKER_HOST"] == "tcp://docker:2376"  # GitLab's TLS default for dind
    assert template["variables"]["DOCKER_TLS_VERIFY"] == "1" and template["variables"]["DOCKER_TLS_CERTDIR"]
    (job,) = (v for k, v in template.items() if isinstance(v, dict) and "script" in v)
    assert any(str(s.get("name", s)).startswith("docker:") and "dind" in str(s) for s in job["services"])
    script = "\n".join(job["script"])
    assert script.index("docker build -t") < script.index("--lambda-image") < script.index("docker push")
    assert '"$CI_COMMIT_BRANCH" = "$CI_DEFAULT_BRANCH"' in script  # pushed from the default branch only
    assert "privileged = true" in GITLAB.read_text()  # the runner it needs is said
