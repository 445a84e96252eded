"""The rich 15.0.0 benchmark corpus: download, unpack, install its dependencies, pick files.

``prepare_rich(dest, python)`` makes ``dest/rich-15.0.0`` from rich's sdist (reusing a
complete earlier unpack), installs rich's runtime dependencies (read from the sdist's
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
    if not _is_complete(root):
        sdist = _download_sdist(dest, python)
        _unpack(sdist, root)
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
    """Unpack into a temporary folder, then move it into place with a completeness marker."""
    if root.exists():
        shutil.rmtree(root)
    with tempfile.TemporaryDirectory(dir=root.parent) as tmp:
        with tarfile.open(sdist) as tar:
            tar.extractall(tmp, filter="data")
        shutil.move(str(Path(tmp) / root.name), root)
    (root / "ruff.toml").write_text(RUFF_MARKER_TEXT, encoding="utf-8")
    files = {
        p.relative_to(root).as_posix(): _sha256(p) for p in sorted(root.rglob("*")) if p.is_file()
    }
    marker = {"name": NAME, "version": VERSION, "sdist_sha256": _sha256(sdist), "files": files}
    (root / MARKER).write_text(json.dumps(marker, indent=1), encoding="utf-8")


def _is_complete(root: Path) -> bool:
    """True when the marker exists and every file it lists is there with its recorded hash.

    A run that died half-way through an edit-save cycle leaves a file edited; checking the
    hashes (a few ms for the whole corpus) makes the next run start from a clean copy.
    """
    try:
        marker = json.loads((root / MARKER).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    files: dict[str, str] = marker.get("files") or {}
    if marker.get("version") != VERSION or not files:
        return False
    return all(
        (root / name).is_file() and _sha256(root / name) == digest for name, digest in files.items()
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
