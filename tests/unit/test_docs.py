"""The README and the guide (docs/guide.md) hold: their Python examples compile, import what exists, and the ones
that are tests pass on the example app in-process; their command lines name options, commands, extras and files
that exist; their links land; and the test command of CI (.ci/run) is the README's."""

from __future__ import annotations

import ast
import re
import shlex
import shutil
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

from pytest_lambda_container.__main__ import main
from pytest_lambda_container.config.options import INI_NAMES, OPTIONS

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - pytest itself depends on tomli there
    import tomli as tomllib

ROOT = Path(__file__).resolve().parents[2]
DOCS = (ROOT / "README.md", ROOT / "docs" / "guide.md")
#: Put before a Python block that cannot run on the example app in-process: `<!-- docs-test: compile only (why) -->`.
COMPILE_ONLY = re.compile(r"<!-- docs-test: compile only \(.+\) -->")
FLAGS = {opt.flag for opt in OPTIONS}
INI_KEYS = {opt.ini for opt in OPTIONS} | set(INI_NAMES.values())


@dataclass(frozen=True)
class Block:
    doc: Path
    line: int
    language: str
    text: str
    compile_only: bool

    @property
    def where(self) -> str:
        return f"{self.doc.relative_to(ROOT)}:{self.line}"


def blocks(doc: Path) -> list[Block]:
    """The fenced code blocks of a Markdown file, with the line each starts on."""
    found: list[Block] = []
    lines = doc.read_text().split("\n")
    i = 0
    while i < len(lines):
        opening = re.match(r"^```(\w*)\s*$", lines[i])
        if opening:
            end = lines.index("```", i + 1)
            before = "\n".join(lines[max(0, i - 2) : i])
            text = "\n".join(lines[i + 1 : end])
            found.append(Block(doc, i + 1, opening[1], text, bool(COMPILE_ONLY.search(before))))
            i = end
        i += 1
    return found


ALL = [block for doc in DOCS for block in blocks(doc)]
PYTHON = [b for b in ALL if b.language == "python"]
CONSOLE = [b for b in ALL if b.language == "console"]


@pytest.mark.parametrize("block", [b for b in ALL if b.language == "dockerfile"], ids=lambda b: b.where)
def test_dockerfile_examples_install_before_they_copy_the_code(block: Block, tmp_path: Path):
    from pytest_lambda_container.build import stages
    from pytest_lambda_container.cli import layer_order

    for name in ("app.py", "requirements.txt"):
        (tmp_path / name).write_text("")
    dockerfile = stages.parse(block.text)
    assert not dockerfile.problems, block.where
    assert layer_order.early_copy(dockerfile, tmp_path) is None, f"{block.where}: COPY app.py before pip install"


def test_the_readme_links_to_the_guide_and_both_have_examples():
    assert "](docs/guide.md)" in DOCS[0].read_text()
    assert len(PYTHON) >= 5 and len(CONSOLE) >= 10


@pytest.mark.parametrize("block", PYTHON, ids=lambda b: b.where)
def test_python_examples_compile_and_import_what_exists(block: Block):
    tree = ast.parse(block.text, filename=block.where)
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("pytest_lambda_container"):
            module = __import__(node.module or "", fromlist=["*"])
            for alias in node.names:
                assert hasattr(module, alias.name), f"{block.where}: {node.module} has no {alias.name}"
        elif isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.startswith("pytest_lambda_container"):
                    __import__(alias.name)


def _defines(block: Block, names: tuple[str, ...]) -> bool:
    tree = ast.parse(block.text)
    return any(isinstance(n, ast.FunctionDef) and n.name.startswith(names) for n in ast.walk(tree))


TESTS = [b for b in PYTHON if _defines(b, ("test_",))]
CONFTESTS = [b for b in PYTHON if _defines(b, ("pytest_generate_tests",)) or "@pytest.fixture" in b.text]


def example_project(pytester: pytest.Pytester) -> None:
    """The example app's function and both its Dockerfiles, in a project of its own."""
    for name in ("app.py", "requirements.txt", "Dockerfile", "Dockerfile.aws"):
        shutil.copy(ROOT / "example_app" / name, pytester.path / name)
    (pytester.path / "pytest.ini").write_text("[pytest]\n")


def run_inprocess(pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch, expected: int) -> None:
    # This checkout's package, whichever one the environment has installed.
    monkeypatch.setenv("PYTHONPATH", str(ROOT))
    result = pytester.runpytest_subprocess("--lambda-target", "inprocess", "-p", "no:cacheprovider")
    result.assert_outcomes(passed=expected)


@pytest.mark.parametrize("block", [b for b in TESTS if not b.compile_only], ids=lambda b: b.where)
def test_test_examples_pass_on_the_example_app_in_process(pytester: pytest.Pytester, monkeypatch, block: Block):
    example_project(pytester)
    (pytester.path / "test_example.py").write_text(block.text)
    run_inprocess(pytester, monkeypatch, expected=block.text.count("\ndef test_") + block.text.startswith("def test_"))


@pytest.mark.parametrize("block", [b for b in CONFTESTS if not b.compile_only], ids=lambda b: b.where)
def test_conftest_examples_run_the_quickstarts_tests(pytester: pytest.Pytester, monkeypatch, block: Block):
    example_project(pytester)
    quickstart = TESTS[0]
    (pytester.path / "conftest.py").write_text(block.text)
    (pytester.path / "test_quickstart.py").write_text(quickstart.text)
    tests = quickstart.text.count("def test_")
    # The both-images pattern: each test against each Dockerfile, in-process too.
    run_inprocess(pytester, monkeypatch, expected=tests * (2 if "Dockerfile.aws" in block.text else 1))


def _commands(block: Block) -> list[list[str]]:
    """Each command of a console block: lines without their comment, split at pipes and `&&`."""
    commands = []
    for line in block.text.splitlines():
        words = shlex.split(line, comments=True)
        command: list[str] = []
        for word in words:
            if word in ("|", "&&", ";", "&"):
                commands.append(command)
                command = []
            else:
                command.append(word)
        commands.append(command)
    return [c for c in commands if c]


def _help_of(command: str, capsys: pytest.CaptureFixture[str]) -> str:
    with pytest.raises(SystemExit):
        main([command, "--help"])
    return capsys.readouterr().out


@pytest.mark.parametrize("block", CONSOLE, ids=lambda b: b.where)
def test_command_lines_name_what_exists(block: Block, capsys: pytest.CaptureFixture[str]):
    extras = set(tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["optional-dependencies"])
    for words in _commands(block):
        for word in words:
            flag = word.split("=", 1)[0]
            if flag.startswith("--lambda-"):
                assert flag in FLAGS, f"{block.where}: no option {flag}"
            if re.match(r"^(scripts|benchmarks|\.ci|example_app|tests)/", word):
                assert (ROOT / word.split("*")[0]).exists(), f"{block.where}: no file {word}"
        if words[:3] == ["python", "-m", "pytest_lambda_container"]:
            command, *rest = words[3:]
            usage = _help_of(command, capsys)
            for word in rest:
                if word.startswith("--"):
                    assert word.split("=", 1)[0] in usage, f"{block.where}: `{command}` takes no {word}"
        if words[:2] == ["pip", "install"]:
            for word in words[2:]:
                for extra in re.findall(r"\[([\w,]+)\]", word):
                    assert set(extra.split(",")) <= extras, f"{block.where}: no extra [{extra}]"


@pytest.mark.parametrize("doc", DOCS, ids=lambda d: d.name)
def test_ini_settings_in_the_docs_are_ini_keys(doc: Path):
    settings = re.findall(r"`(lambda_[a-z_]+) = ", doc.read_text())
    assert settings or doc.name == "guide.md"
    for key in settings:
        assert key in INI_KEYS, f"{doc.name}: no ini key {key}"


def _anchor(heading: str) -> str:
    # GitHub's: lower case, punctuation but - and _ dropped, spaces to -.
    return re.sub(r"[^\w\- ]", "", heading.strip().lower()).replace(" ", "-")


def _anchors(doc: Path) -> set[str]:
    text = re.sub(r"^```.*?^```", "", doc.read_text(), flags=re.M | re.S)
    return {_anchor(m) for m in re.findall(r"^#+ (.+)$", text, flags=re.M)}


@pytest.mark.parametrize("doc", DOCS, ids=lambda d: d.name)
def test_links_land(doc: Path):
    for target in re.findall(r"\]\(([^)\s]+)\)", doc.read_text()):
        if re.match(r"^https?://", target):
            continue
        path, _, anchor = target.partition("#")
        file = (doc.parent / path).resolve() if path else doc
        assert file.exists(), f"{doc.name}: link to a missing file {target}"
        if anchor:
            assert anchor in _anchors(file), f"{doc.name}: no heading #{anchor} in {file.name}"


def test_the_readmes_test_command_is_the_one_ci_runs():
    ci = (ROOT / ".ci" / "run").read_text()
    line = ci.split("keep this line identical to README's ----\n", 1)[1].splitlines()[0].strip()
    developing = DOCS[0].read_text().split("## Developing this project", 1)[1]
    assert line in [cmd for b in blocks(DOCS[0]) if b.text in developing for cmd in b.text.splitlines()]


def test_the_readmes_map_of_the_package_is_its_folders_and_modules():
    package = ROOT / "pytest_lambda_container"
    mapped = DOCS[0].read_text().split("## The package", 1)[1].split("```")[1]
    named = set(re.findall(r"\b(\w+/|\w+\.py)(?=\s)", mapped)) - {"pytest_lambda_container/"}
    folders = {f"{p.name}/" for p in package.iterdir() if p.is_dir() and any(p.glob("*.py"))}
    modules = {p.name for p in package.glob("*.py") if not p.name.startswith("__")}
    assert named == folders | modules


def test_the_dev_script_runs_the_example_apps_suite():
    script = (ROOT / "scripts" / "dev.sh").read_text()
    assert "scripts/dev.sh" in DOCS[0].read_text() and (ROOT / "scripts" / "dev.sh").stat().st_mode & 0o111
    assert "-m pytest -ra -p no:randomly example_app/tests" in script and "-e '.[test]'" in script


def test_the_guides_section_list_is_its_headings():
    guide = DOCS[1]
    listed = re.findall(r"^ *- \[[^\]]+\]\(#([\w-]+)\)", guide.read_text(), flags=re.M)
    assert set(listed) == _anchors(guide) - {_anchor("pytest-lambda-container: the guide")}
