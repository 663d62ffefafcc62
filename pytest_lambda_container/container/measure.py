"""The host's half of `--lambda-coverage`: find the coverage that measures the tests, tell the container what to
measure, and merge what it measured into that coverage, its paths mapped back to the user's source tree.

The merge goes into the live data of the tests' own `coverage.Coverage` (`Coverage.current()`: pytest-cov's, or the
one `coverage run` started), so that whatever saves and reports it — pytest-cov's `--cov-report`, `coverage report`
after `coverage run` — sees the function's lines with the tests' own, and no file is left to combine by hand.
"""

from __future__ import annotations

import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any

from ..build.handler_location import locate
from ..build.image import ImageInfo
from ..config.function import ResolvedFunction
from ..errors import ConfigError

#: Coverage's warnings that measuring in the container makes false: the module was imported, measured and has data,
#: only not in the tests' process (https://coverage.readthedocs.io/en/latest/messages.html).
FALSE_WARNINGS = ("module-not-imported", "no-data-collected")


def tests_coverage() -> Any:
    """The `coverage.Coverage` measuring the tests, or a `ConfigError` saying in one line what is missing."""
    try:
        import coverage
    except ImportError:
        raise ConfigError(
            "--lambda-coverage needs coverage.py measuring the tests: pip install pytest-cov, and pass --cov"
        ) from None
    current = coverage.Coverage.current()
    if current is None:
        raise ConfigError(
            "--lambda-coverage merges into the tests' coverage, and none is measuring: pass --cov=PACKAGE "
            "(pytest-cov), or run pytest under `coverage run -m pytest`"
        )
    return current


@dataclass(frozen=True)
class PathMap:
    """Where the function's files are in the container (its import root) and in the user's source tree."""

    container: str
    host: Path

    def to_host(self, path: str) -> str:
        """`path` measured in the container, as the user's file (others as they are)."""
        inside = PurePosixPath(path)
        root = PurePosixPath(self.container)
        if inside == root or root in inside.parents:
            return str(self.host.joinpath(*inside.relative_to(root).parts))
        return path

    def include(self) -> tuple[str, ...]:
        """What to measure in the container: what the source folder holds at its top level, as container paths —
        the user's code, not the dependencies installed next to it (`pip install -t ${LAMBDA_TASK_ROOT}`)."""
        patterns: list[str] = []
        for entry in sorted(self.host.iterdir()):
            if entry.name.startswith((".", "__pycache__")):
                continue
            inside = str(PurePosixPath(self.container, entry.name))
            if entry.is_dir():
                patterns.append(f"{inside}/*")
            elif entry.suffix == ".py":
                patterns.append(inside)
        return tuple(patterns)


def path_map(info: ImageInfo, fn: ResolvedFunction, source: Path | None) -> PathMap:
    """The import root of `info`'s runtime and the source folder the Dockerfile copies it from (`source` if given:
    `--lambda-source`), as the inprocess target finds it."""
    if source is None:
        try:
            source = locate(fn.dockerfile, fn.context, handler=fn.handler, build_args=dict(fn.build_args)).folder
        except ConfigError as exc:
            raise ConfigError(f"--lambda-coverage cannot map the container's files to yours: {exc}") from None
    return PathMap(info.config.import_root, source)


class Collector:
    """Where the containers' data is read out to (a folder per function), and its merge at the end."""

    def __init__(self, coverage: Any) -> None:
        self.coverage = coverage
        self.folder = Path(tempfile.mkdtemp(prefix="pytest-lambda-coverage-"))
        self._maps: dict[Path, PathMap] = {}

    @property
    def branch(self) -> bool:
        """Whether the tests measure branches: the container's data must be of the same kind to merge."""
        return bool(self.coverage.config.branch)

    def folder_for(self, mapping: PathMap) -> Path:
        """The folder the containers of a function with `mapping` are read out to."""
        for folder, known in self._maps.items():
            if known == mapping:
                return folder
        folder = self.folder / str(len(self._maps))
        self._maps[folder] = mapping
        return folder

    def merge(self) -> list[str]:
        """Merge every container's data into the tests' coverage (once the containers are removed); the files
        measured, as the user's paths."""
        from coverage import CoverageData

        merged: set[str] = set()
        try:
            for folder, mapping in self._maps.items():
                for path in sorted(folder.glob("*")) if folder.is_dir() else []:
                    data = CoverageData(basename=str(path))
                    data.read()
                    if not data.measured_files():
                        continue
                    disabled = self.coverage.config.disable_warnings
                    disabled.extend(slug for slug in FALSE_WARNINGS if slug not in disabled)
                    self.coverage.get_data().update(data, map_path=mapping.to_host)
                    merged.update(mapping.to_host(name) for name in data.measured_files())
        finally:
            shutil.rmtree(self.folder, ignore_errors=True)
            self._maps.clear()
        return sorted(merged)
