"""Compile the clustering core with mypyc: ``python -m cluster.native_build`` (``make install`` runs it).

Writes ``cluster/_native/`` whole (built in a temporary folder, swapped in at the end) with the manifest that
``cluster.native`` checks at import. Needs mypy (a development dependency) and a C compiler with the
interpreter's headers; without them the core stays pure Python and works the same.
"""

from __future__ import annotations

import contextlib
import json
import shutil
import sys
import tempfile
from pathlib import Path

from cluster.native import MANIFEST, MODULES, NATIVE_DIR, PACKAGE_DIR, extension_suffix, plan, sha256


def build(native_dir: Path = NATIVE_DIR, package_dir: Path = PACKAGE_DIR) -> Path:
    """Compile the core with mypyc into ``native_dir`` (replaced whole) and write its manifest last."""
    from mypyc.build import mypycify
    from setuptools import Distribution

    sources = [package_dir / f"{name}.py" for name in MODULES]
    digests = [sha256(source) for source in sources]  # what is compiled, read before mypyc reads it
    root = package_dir.parent
    with tempfile.TemporaryDirectory(prefix="scooptrace-native-") as work:
        out, temp = Path(work) / "out", Path(work) / "temp"
        # mypyc names modules by their path from the project root (cluster/stories.py -> cluster.stories).
        with contextlib.chdir(root):
            extensions = mypycify(
                [str(s.relative_to(root)) for s in sources], opt_level="3", target_dir=str(Path(work) / "c")
            )
            dist = Distribution({"name": "scooptrace-native", "ext_modules": extensions})
            command = dist.get_command_obj("build_ext")
            command.build_lib, command.build_temp = str(out), str(temp)  # type: ignore[attr-defined]
            dist.run_command("build_ext")
        suffix = extension_suffix()
        built = {path.name: path for path in out.rglob(f"*{suffix}")}
        shared = [name for name in built if name.endswith(f"__mypyc{suffix}")]
        if len(shared) != 1 or len(built) != len(MODULES) + 1:
            raise RuntimeError(
                f"mypyc built {sorted(built)}, expected {len(MODULES)} modules and one library"
            )
        staging = native_dir.with_name(native_dir.name + ".new")
        shutil.rmtree(staging, ignore_errors=True)
        staging.mkdir(parents=True)
        for name, path in built.items():
            shutil.copy2(path, staging / name)
        manifest = {
            "suffix": suffix,
            "shared": {"name": shared[0][: -len(suffix)], "file": shared[0]},
            "modules": {
                f"cluster.{name}": {"source": f"{name}.py", "file": f"{name}{suffix}", "sha256": digest}
                for name, digest in zip(MODULES, digests, strict=True)
            },
        }
        (staging / MANIFEST).write_text(json.dumps(manifest, indent=2) + "\n", encoding="utf-8")
        shutil.rmtree(native_dir, ignore_errors=True)
        staging.rename(native_dir)
    return native_dir


def main() -> int:
    try:
        folder = build()
    except Exception as exc:  # no compiler, no headers, no mypyc: the pure core gives the same, only slower
        print(
            f"clustering core not compiled ({type(exc).__name__}: {exc}); it runs as pure Python",
            file=sys.stderr,
        )
        return 1
    print(f"clustering core compiled into {folder}: {plan().reason}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
