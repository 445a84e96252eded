"""The rich 15.0.0 benchmark corpus: download, unpack, install its dependencies, pick files.

``prepare_rich(dest, python)`` makes ``dest/rich-15.0.0`` from rich's sdist (reusing an
earlier unpack, and putting back any file whose hash differs from the one recorded when it
was unpacked, in place), installs rich's runtime dependencies (read from the sdist's
metadata) into ``python`` so mypy resolves ``markdown_it`` and ``pygments``, and returns a
:class:`Corpus`. rich itself is never installed there: ``import rich`` must resolve to the
unpacked sources.

Two details matter for honest figures:

* rich's ``pyproject.toml`` holds its mypy config (``files = ["rich"]``, ``strict = true``,
  three extra error codes, ``ignore_missing_imports`` for pygments/IPython/ipywidgets), but
  no ruff config. ruff would then walk up and use the config of whatever repository holds
  ``dest`` (ours excludes ``bench/.corpus``, which silences every finding under
  ``--force-exclude``). An empty ``ruff.toml`` at the corpus root pins ruff to its defaults.
* ``files`` is a deterministic sample spread evenly over the modules sorted by size, with
  ``rich/console.py`` (inside a 51-module import cycle) always included and the 23
  generated ``rich/_unicode_data/unicode*.py`` tables left out.

A benchmark that edits files works on ``working_copy(corpus, elsewhere)``, never on the
shared unpack, which a concurrent caller may be reading (or repairing).

Command line: ``python bench/corpus.py DEST [--python PY] [--files N]`` prints the corpus as
JSON.
"""

from __future__ import annotations

import argparse
import email.parser
import hashlib
import json
import os
import shutil
import subprocess
import sys
import tarfile
import tempfile
from dataclasses import dataclass
from pathlib import Path

NAME = "rich"
VERSION = "15.0.0"
DEFAULT_FILE_COUNT = 30
ANCHOR_FILE = "rich/console.py"
MARKER = ".bench-corpus.json"
RUFF_MARKER_TEXT = (
    "# Written by tapps-lsp's bench/corpus.py: an empty ruff config so ruff uses its\n"
    "# defaults here instead of the config of the repository that holds this folder.\n"
)


@dataclass(frozen=True)
class Corpus:
    """Where the unpacked corpus lives and which files the benchmark uses."""

    root: Path
    package: Path
    mypy_config: Path
    python: Path
    files: tuple[Path, ...]
    modules: tuple[Path, ...]

    def to_json(self) -> dict[str, object]:
        return {
            "root": str(self.root),
            "package": str(self.package),
            "mypy_config": str(self.mypy_config),
            "python": str(self.python),
            "files": [str(p.relative_to(self.root)) for p in self.files],
            "module_count": len(self.modules),
        }


def prepare_rich(
    dest: Path, python: Path, count: int = DEFAULT_FILE_COUNT, *, install_deps: bool = True
) -> Corpus:
    """Make sure rich 15.0.0 is unpacked under ``dest`` and its dependencies are importable.

    Idempotent: a complete earlier unpack is reused, and pip skips satisfied requirements.
    """
    dest = dest.resolve()
    python = Path(os.path.abspath(python))  # not resolve(): a venv's python is a symlink
    dest.mkdir(parents=True, exist_ok=True)
    root = dest / f"{NAME}-{VERSION}"
    recorded = _recorded_files(root)
    if recorded is None:
        _unpack(_download_sdist(dest, python), root)
    else:
        damaged = [name for name, digest in recorded.items() if _digest(root / name) != digest]
        if damaged:
            _repair(_download_sdist(dest, python), root, damaged)
    if install_deps:
        install_dependencies(root, python)
    modules = list_modules(root)
    return Corpus(
        root=root,
        package=root / NAME,
        mypy_config=root / "pyproject.toml",
        python=python,
        files=tuple(select_files(root, modules, count)),
        modules=tuple(modules),
    )


def list_modules(root: Path) -> list[Path]:
    """Every ``.py`` file of the package, sorted by path."""
    return sorted((root / NAME).rglob("*.py"))


def is_generated_table(root: Path, path: Path) -> bool:
    """rich/_unicode_data/unicodeN-N-N.py: 23 near-identical generated width tables."""
    rel = path.relative_to(root)
    return rel.parent.name == "_unicode_data" and rel.name.startswith("unicode")


def select_files(root: Path, modules: list[Path], count: int) -> list[Path]:
    """``count`` modules spread evenly over the size-sorted list, console.py always in.

    The generated unicode tables are left out of the sample (they would be a quarter of it
    and all alike). The result is sorted by path, so the order files are opened in is
    stable too.
    """
    anchor = root / ANCHOR_FILE
    pool = [p for p in modules if not is_generated_table(root, p)]
    by_size = sorted(pool, key=lambda p: (p.stat().st_size, p.relative_to(root).as_posix()))
    rest = [p for p in by_size if p != anchor]
    wanted = max(0, min(count, len(pool)) - (1 if anchor in pool else 0))
    picked = [rest[i] for i in _spread(len(rest), wanted)]
    if anchor in pool and count > 0:
        picked.append(anchor)
    return sorted(picked)


def _spread(length: int, count: int) -> list[int]:
    """``count`` distinct indices spread evenly over ``range(length)``, both ends included."""
    if count <= 0 or length == 0:
        return []
    if count == 1:
        return [length - 1]
    step = (length - 1) / (count - 1)
    return sorted({round(i * step) for i in range(count)})


def runtime_requirements(root: Path) -> list[str]:
    """``Requires-Dist`` entries from the sdist's PKG-INFO that no extra gates."""
    metadata = email.parser.Parser().parsestr((root / "PKG-INFO").read_text(encoding="utf-8"))
    requirements = metadata.get_all("Requires-Dist") or []
    return [r for r in requirements if "extra" not in r.partition(";")[2]]


def install_dependencies(root: Path, python: Path) -> None:
    """pip-install rich's runtime requirements (never rich itself) into ``python``."""
    requirements = runtime_requirements(root)
    if not requirements:
        return
    subprocess.run(
        [*_pip(python), "install", *requirements],
        check=True,
    )
    if _has_distribution(python, NAME):
        print(
            f"warning: {NAME} is installed in {python}; mypy still prefers the corpus sources",
            file=sys.stderr,
        )


def _pip(python: Path) -> list[str]:
    return [str(python), "-m", "pip", "--quiet", "--disable-pip-version-check"]


def _has_distribution(python: Path, name: str) -> bool:
    code = (
        "import importlib.metadata as m, sys\n"
        "try:\n    m.distribution(sys.argv[1])\nexcept m.PackageNotFoundError:\n    sys.exit(1)\n"
    )
    return subprocess.run([str(python), "-c", code, name], check=False).returncode == 0


def _download_sdist(dest: Path, python: Path) -> Path:
    sdist = dest / f"{NAME}-{VERSION}.tar.gz"
    if sdist.is_file() and tarfile.is_tarfile(sdist):
        return sdist
    spec = f"{NAME}=={VERSION}"
    with tempfile.TemporaryDirectory(dir=dest) as tmp:
        argv = [*_pip(python), "download", "--no-deps", "--no-binary", ":all:", spec, "-d", tmp]
        subprocess.run(argv, check=True)
        shutil.move(str(Path(tmp) / sdist.name), sdist)
    return sdist


def _unpack(sdist: Path, root: Path) -> None:
    """Unpack into a temporary folder, add the ruff marker and the completeness marker, then
    move the finished tree into place (others never see a half-made corpus)."""
    if root.exists():
        shutil.rmtree(root)
    with tempfile.TemporaryDirectory(dir=root.parent) as tmp:
        with tarfile.open(sdist) as tar:
            tar.extractall(tmp, filter="data")
        made = Path(tmp) / root.name
        (made / "ruff.toml").write_text(RUFF_MARKER_TEXT, encoding="utf-8")
        files = {
            p.relative_to(made).as_posix(): _sha256(p)
            for p in sorted(made.rglob("*"))
            if p.is_file()
        }
        marker = {"name": NAME, "version": VERSION, "sdist_sha256": _sha256(sdist), "files": files}
        (made / MARKER).write_text(json.dumps(marker, indent=1), encoding="utf-8")
        shutil.move(str(made), root)


def _repair(sdist: Path, root: Path, names: list[str]) -> None:
    """Put back, file by file, what a run that died mid-edit left changed.

    The tree itself stays (never removed under a server or a cache that uses it).
    """
    print(f"corpus: restoring {len(names)} changed file(s): {', '.join(names)}", file=sys.stderr)
    with tarfile.open(sdist) as tar, tempfile.TemporaryDirectory(dir=root) as tmp:
        for name in names:
            target = root / name
            if name == "ruff.toml":
                fresh = Path(tmp) / "ruff.toml"
                fresh.write_text(RUFF_MARKER_TEXT, encoding="utf-8")
            else:
                tar.extract(f"{root.name}/{name}", tmp, filter="data")
                fresh = Path(tmp) / root.name / name
            target.parent.mkdir(parents=True, exist_ok=True)
            os.replace(fresh, target)


def _recorded_files(root: Path) -> dict[str, str] | None:
    """The marker's file -> sha256 map, or None when the unpack is missing or stale."""
    try:
        marker = json.loads((root / MARKER).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if not isinstance(marker, dict) or marker.get("version") != VERSION:
        return None
    files = marker.get("files")
    if not isinstance(files, dict) or not files:
        return None
    return {str(k): str(v) for k, v in files.items()}


def _digest(path: Path) -> str | None:
    try:
        return _sha256(path)
    except OSError:
        return None


def working_copy(corpus: Corpus, dest: Path) -> Corpus:
    """The corpus copied under ``dest``, for a benchmark that edits files.

    The shared unpack stays pristine for whoever else uses it at the same time. Files are
    copied over an existing copy (mtimes kept); caches already there are left alone.
    """
    target = dest.resolve() / corpus.root.name
    skip = shutil.ignore_patterns(".mypy_cache", ".tapps_cache", ".ruff_cache", ".dmypy.json")
    shutil.copytree(corpus.root, target, ignore=skip, dirs_exist_ok=True)

    def moved(path: Path) -> Path:
        return target / path.relative_to(corpus.root)

    return Corpus(
        root=target,
        package=moved(corpus.package),
        mypy_config=moved(corpus.mypy_config),
        python=corpus.python,
        files=tuple(moved(p) for p in corpus.files),
        modules=tuple(moved(p) for p in corpus.modules),
    )


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("dest", type=Path, help="folder to unpack into (rich-15.0.0/ inside)")
    parser.add_argument("--python", type=Path, default=Path(sys.executable))
    parser.add_argument("--files", type=int, default=DEFAULT_FILE_COUNT)
    parser.add_argument("--no-deps", action="store_true", help="do not pip-install rich's deps")
    args = parser.parse_args(argv)
    corpus = prepare_rich(args.dest, args.python, args.files, install_deps=not args.no_deps)
    print(json.dumps(corpus.to_json(), indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
