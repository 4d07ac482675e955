"""The clustering core compiled with mypyc, used only while it is exactly the source beside it.

``make install`` compiles the core's modules (``python -m cluster.native_build``, a development tool) into ``cluster/_native/``
with a manifest of each source file's SHA-256. At ``import cluster`` an import hook serves those modules from
the compiled files when the manifest matches the sources byte for byte and this interpreter; otherwise (a
source edited since, another Python, no compiler, ``SCOOPTRACE_PURE_PYTHON=1``) every one of them is
imported from its ``.py`` as usual. All or none: compiled modules call each other directly, so one edited
source turns off the whole group, never half of it. The results are the same either way (the tests run the
compiled core and compare it with the pure one); only the speed differs.
"""

from __future__ import annotations

import hashlib
import importlib.abc
import importlib.machinery
import importlib.util
import json
import os
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType

PACKAGE_DIR = Path(__file__).resolve().parent
NATIVE_DIR = PACKAGE_DIR / "_native"
MANIFEST = "manifest.json"
PURE_ENV = "SCOOPTRACE_PURE_PYTHON"
# The hot path of clustering: what one article's placement runs through (a profile of 50k articles).
MODULES = ("stories", "features", "text", "syndication", "model", "params")


@dataclass(frozen=True)
class Plan:
    """What ``import cluster`` decided: compiled files by module name, or why the source is used."""

    files: dict[str, Path]
    reason: str

    @property
    def compiled(self) -> bool:
        return bool(self.files)


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def extension_suffix() -> str:
    return importlib.machinery.EXTENSION_SUFFIXES[0]


def plan(native_dir: Path = NATIVE_DIR, package_dir: Path = PACKAGE_DIR) -> Plan:
    """Decide, from the manifest and the sources, whether the compiled modules may be used."""
    if os.environ.get(PURE_ENV, "").strip() not in ("", "0"):
        return Plan({}, f"pure Python: {PURE_ENV} is set")
    manifest_path = native_dir / MANIFEST
    if not manifest_path.exists():
        return Plan({}, "pure Python: not compiled (`make install` compiles it when a C compiler is present)")
    try:
        manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
        suffix, modules, shared = manifest["suffix"], manifest["modules"], manifest["shared"]
    except (OSError, ValueError, KeyError, TypeError) as exc:
        return Plan({}, f"pure Python: unreadable manifest {manifest_path}: {exc}")
    if suffix != extension_suffix():
        return Plan({}, f"pure Python: compiled for {suffix}, this interpreter loads {extension_suffix()}")
    files: dict[str, Path] = {}
    try:
        for name, entry in modules.items():
            source = package_dir / entry["source"]
            if not source.exists() or sha256(source) != entry["sha256"]:
                return Plan(
                    {}, f"pure Python: {source.name} changed since it was compiled (run `make native`)"
                )
            files[name] = native_dir / entry["file"]
        files[shared["name"]] = native_dir / shared["file"]
    except (AttributeError, KeyError, TypeError) as exc:  # a manifest of another shape: never fail the import
        return Plan({}, f"pure Python: unreadable manifest {manifest_path}: {type(exc).__name__} {exc}")
    missing = [str(path) for path in files.values() if not path.exists()]
    if missing:
        return Plan({}, f"pure Python: compiled file missing: {missing[0]}")
    return Plan(files, f"compiled ({len(modules)} modules, mypyc)")


class _Finder(importlib.abc.MetaPathFinder):
    def __init__(self, files: dict[str, Path]) -> None:
        self.files = files

    def find_spec(
        self, fullname: str, path: Sequence[str] | None, target: ModuleType | None = None
    ) -> importlib.machinery.ModuleSpec | None:
        file = self.files.get(fullname)
        if file is None:
            return None
        return importlib.util.spec_from_file_location(fullname, file)


_PLAN: Plan | None = None


def install() -> Plan:
    """Put the hook in front of the import system once per process (called by ``cluster/__init__``)."""
    global _PLAN
    if _PLAN is None:
        _PLAN = plan()
        if _PLAN.compiled:
            sys.meta_path.insert(0, _Finder(_PLAN.files))
    return _PLAN


def status() -> str:
    """How the clustering core runs in this process: compiled, or pure Python and why."""
    return install().reason
