"""A function's modules imported into the test process and kept apart from it: a fresh `sys.modules` view.

The runtime imports the handler's module under its own name (`app`), and the module imports its neighbours the same
way (`import helpers`), so unique module names would not do: two functions both `app.py`, or the tests' own `app`,
would still meet in their neighbours. Instead, while a function's module is imported, every module named like a file
or folder of its import root is set aside, the import root goes first on `sys.path`, and after the import the
modules of those names — the function's — are taken out of `sys.modules` into the function's own table and what was
set aside is put back. The test process never finds them; each (import root, handler) is imported once, in the
function's context (so the function's environment is what the module reads at import time).

A module the function imports during a call (`import helpers` inside the handler) is found by `FunctionFinder`, which
serves the calling function's table and its import root; after the call such modules are taken back into the table
(`collect`). What it cannot do: a name the test process itself has in `sys.modules` is found there first, before any
finder, so such an import inside a call gets the tests' module. Import at the top of the module, as Lambda's cold
start rewards anyway.
"""

from __future__ import annotations

import importlib
import importlib.abc
import importlib.machinery
import importlib.util
import sys
import threading
import traceback
from collections.abc import Callable, Sequence
from contextvars import ContextVar
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType
from typing import Any

from ..build.handler_location import HandlerLocation
from ..errors import HandlerImportError

Handler = Callable[[Any, Any], Any]
_LOCK = threading.Lock()
_PACKAGE = str(Path(__file__).parent.parent)
_IMPORTLIB = str(Path(importlib.__file__).parent) + "/"


@dataclass
class FunctionModules:
    """One function's modules: those named like the import root's files and folders, out of `sys.modules`."""

    folder: Path
    names: frozenset[str]
    modules: dict[str, ModuleType] = field(default_factory=dict)
    #: Names `FunctionFinder` found in the folder during a call, not yet collected.
    found: set[str] = field(default_factory=set)

    def owns(self, name: str) -> bool:
        return name.partition(".")[0] in self.names

    def collect(self) -> None:
        """Take back into the table the function's modules a call put in `sys.modules` (the import system does): the
        next function, or the tests, must not find them there. The tests' own modules of those names stay."""
        with _LOCK:
            mine = {id(m) for m in self.modules.values()}
            present = dict(sys.modules)
            for name, module in present.items():
                top = present.get(name.partition(".")[0])
                if self.owns(name) and (id(module) in mine or name in self.found or id(top) in mine):
                    self.modules[name] = sys.modules.pop(name)
            self.found.clear()


#: The modules of the function whose code runs in this context (its thread); None elsewhere.
FUNCTION_MODULES: ContextVar[FunctionModules | None] = ContextVar("lambda_function_modules", default=None)
#: Each (import root, handler) imported once.
_IMPORTED: dict[tuple[Path, str], tuple[FunctionModules, Handler]] = {}


class _Imported(importlib.abc.Loader):
    """Hands the import system a module the function already has."""

    def __init__(self, module: ModuleType) -> None:
        self.module = module

    def create_module(self, spec: importlib.machinery.ModuleSpec) -> ModuleType:
        return self.module

    def exec_module(self, module: ModuleType) -> None:
        pass


class FunctionFinder(importlib.abc.MetaPathFinder):
    """Inside a function's call, its own modules and its import root's (see the module's docstring)."""

    def find_spec(
        self, fullname: str, path: Sequence[str] | None, target: ModuleType | None = None
    ) -> importlib.machinery.ModuleSpec | None:
        own = FUNCTION_MODULES.get()
        if own is None or not own.owns(fullname):
            return None
        module = own.modules.get(fullname)
        if module is not None:
            return importlib.util.spec_from_loader(
                fullname, _Imported(module), origin=getattr(module, "__file__", None)
            )
        if "." in fullname:
            return None  # a submodule: its package's __path__ finds it
        spec = importlib.machinery.PathFinder.find_spec(fullname, [str(own.folder)])
        if spec is not None:
            own.found.add(fullname)
        return spec


def user_stack(tb: Any) -> list[str]:
    """A traceback's frames as the runtime reports them: the user's, without this package's or importlib's (its
    file's `import_module` and its frozen bootstrap)."""
    hidden = (_PACKAGE, _IMPORTLIB, "<frozen importlib")
    return traceback.format_list([f for f in traceback.extract_tb(tb) if not f.filename.startswith(hidden)])


def _names(folder: Path) -> frozenset[str]:
    try:
        return frozenset(
            p.stem if p.suffix == ".py" else p.name for p in folder.iterdir() if p.suffix == ".py" or p.is_dir()
        )
    except OSError:
        return frozenset()


def import_handler(location: HandlerLocation) -> tuple[FunctionModules, Handler]:
    """The handler at `location` and its modules, imported once per (folder, handler); call in the function's context.

    `HandlerImportError` as the runtime words it: the module failed to import (with the user's traceback), or it has
    no such function.
    """
    folder = location.folder.resolve()
    module_name, _, function = location.handler.rpartition(".")
    with _LOCK:
        done = _IMPORTED.get((folder, location.handler))
        if done is not None:
            return done
        importlib.invalidate_caches()  # a folder written just now (a test's tmp_path) is seen
        if not any(isinstance(f, FunctionFinder) for f in sys.meta_path):
            sys.meta_path.insert(0, FunctionFinder())
        own = FunctionModules(folder, _names(folder) | {module_name.partition(".")[0]})
        aside = {k: sys.modules.pop(k) for k in list(sys.modules) if own.owns(k)}
        sys.path.insert(0, str(folder))
        try:
            module = importlib.import_module(module_name)
        except Exception as exc:
            raise HandlerImportError(
                "Runtime.ImportModuleError",
                f"Unable to import module '{module_name}' from {folder} ({location.how}): {type(exc).__name__}: {exc}",
                user_stack(exc.__traceback__),
            ) from exc
        finally:
            sys.path.remove(str(folder))
            own.modules.update({k: sys.modules.pop(k) for k in list(sys.modules) if own.owns(k)})
            sys.modules.update(aside)
        handler = getattr(module, function, None)
        if not callable(handler):
            raise HandlerImportError(
                "Runtime.HandlerNotFound", f"Handler '{function}' missing on module '{module_name}' ({module.__file__})"
            )
        _IMPORTED[(folder, location.handler)] = own, handler
        return own, handler
