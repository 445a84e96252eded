"""The project's module graph: names, imports, closures, skipped folders and the stat memo."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest

from tapps_lsp.analyzers import imports as imports_module
from tapps_lsp.analyzers.cache.keys import content_hash
from tapps_lsp.analyzers.cache.store import MemoryStore
from tapps_lsp.analyzers.imports import ProjectGraph, ProjectIndexer, module_name

OLD_NS = 1_600_000_000 * 10**9  # long ago: a stat this old is trusted


def write(root: Path, files: dict[str, str]) -> None:
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")


def scan(root: Path, files: dict[str, str]) -> ProjectGraph:
    write(root, files)
    return ProjectIndexer(root).scan()


def closure(graph: ProjectGraph, root: Path, name: str) -> list[str]:
    return [p.relative_to(root).as_posix() for p in graph.closure(root / name)]


# --- module_name -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("files", "target", "expected"),
    [
        (
            ["pkg/__init__.py", "pkg/sub/__init__.py", "pkg/sub/mod.py"],
            "pkg/sub/mod.py",
            ("pkg.sub.mod", False),
        ),
        (["pkg/__init__.py", "pkg/sub/__init__.py"], "pkg/sub/__init__.py", ("pkg.sub", True)),
        (["pkg/__init__.pyi", "pkg/mod.pyi"], "pkg/mod.pyi", ("pkg.mod", False)),
        (["scripts/tool.py"], "scripts/tool.py", ("tool", False)),
        (["src/pkg/__init__.py", "src/pkg/x.py"], "src/pkg/x.py", ("pkg.x", False)),
        (["main.py"], "main.py", ("main", False)),
    ],
)
def test_module_name(
    tmp_path: Path, files: list[str], target: str, expected: tuple[str, bool]
) -> None:
    write(tmp_path, dict.fromkeys([*files, target], ""))
    assert module_name(tmp_path / target) == expected


# --- imports and closures --------------------------------------------------------------


def test_absolute_imports_pull_in_every_parent_package(tmp_path: Path) -> None:
    graph = scan(
        tmp_path,
        {
            "main.py": "import a.b.c\n",
            "a/__init__.py": "",
            "a/b/__init__.py": "",
            "a/b/c.py": "",
            "a/b/unrelated.py": "",
        },
    )
    entry = graph.files[tmp_path / "main.py"]
    assert {"a", "a.b", "a.b.c"} <= set(entry.imports)
    assert closure(graph, tmp_path, "main.py") == ["a/__init__.py", "a/b/__init__.py", "a/b/c.py"]


def test_from_imports_of_modules_and_of_names(tmp_path: Path) -> None:
    graph = scan(
        tmp_path,
        {
            "main.py": "from pkg import helpers, CONSTANT\nfrom pkg.models import Model\n",
            "pkg/__init__.py": "CONSTANT = 1\n",
            "pkg/helpers.py": "",
            "pkg/models.py": "",
            "pkg/other.py": "",
        },
    )
    assert closure(graph, tmp_path, "main.py") == [
        "pkg/__init__.py",
        "pkg/helpers.py",
        "pkg/models.py",
    ]


def test_relative_imports(tmp_path: Path) -> None:
    graph = scan(
        tmp_path,
        {
            "pkg/__init__.py": "from .core import run\n",
            "pkg/core.py": "",
            "pkg/x.py": "",
            "pkg/y.py": "",
            "pkg/util/__init__.py": "",
            "pkg/util/helpers.py": "",
            "pkg/sub/__init__.py": "",
            "pkg/sub/a.py": "from . import b\n",
            "pkg/sub/b.py": "from .. import y\n",
            "pkg/sub/c.py": "from ..util.helpers import f\nfrom .b import thing\n",
            "pkg/sub/d.py": "from ... import beyond_the_top\n",
        },
    )
    assert closure(graph, tmp_path, "pkg/__init__.py") == ["pkg/core.py"]
    # a -> b -> pkg.y, and every package on the way in.
    assert closure(graph, tmp_path, "pkg/sub/a.py") == [
        "pkg/__init__.py",
        "pkg/core.py",
        "pkg/sub/__init__.py",
        "pkg/sub/b.py",
        "pkg/y.py",
    ]
    assert set(closure(graph, tmp_path, "pkg/sub/c.py")) >= {
        "pkg/util/__init__.py",
        "pkg/util/helpers.py",
        "pkg/sub/b.py",
        "pkg/y.py",
    }
    # Past the top-level package: nothing, and no crash.
    assert closure(graph, tmp_path, "pkg/sub/d.py") == []


def test_relative_import_in_a_package_init(tmp_path: Path) -> None:
    graph = scan(
        tmp_path,
        {"pkg/__init__.py": "from . import a\nfrom .b import B\n", "pkg/a.py": "", "pkg/b.py": ""},
    )
    assert closure(graph, tmp_path, "pkg/__init__.py") == ["pkg/a.py", "pkg/b.py"]


def test_cycles_terminate_and_exclude_the_file_itself(tmp_path: Path) -> None:
    graph = scan(
        tmp_path,
        {
            "a.py": "import b\n",
            "b.py": "import c\n",
            "c.py": "import a\nimport d\n",
            "d.py": "",
            "e.py": "import e\n",
        },
    )
    assert closure(graph, tmp_path, "a.py") == ["b.py", "c.py", "d.py"]
    assert closure(graph, tmp_path, "c.py") == ["a.py", "b.py", "d.py"]
    assert closure(graph, tmp_path, "e.py") == []


def test_conditional_and_nested_imports_count(tmp_path: Path) -> None:
    graph = scan(
        tmp_path,
        {
            "main.py": (
                "from typing import TYPE_CHECKING\n"
                "if TYPE_CHECKING:\n"
                "    from typed_only import T\n"
                "def f():\n"
                "    import lazy\n"
                "try:\n"
                "    import optional\n"
                "except ImportError:\n"
                "    pass\n"
            ),
            "typed_only.py": "",
            "lazy.py": "",
            "optional.py": "",
        },
    )
    assert closure(graph, tmp_path, "main.py") == ["lazy.py", "optional.py", "typed_only.py"]


def test_a_syntax_error_gives_no_imports(tmp_path: Path) -> None:
    graph = scan(tmp_path, {"broken.py": "import helper\ndef f(:\n", "helper.py": ""})
    entry = graph.files[tmp_path / "broken.py"]
    assert entry.imports == ()
    assert entry.digest == content_hash("import helper\ndef f(:\n")
    assert graph.closure(tmp_path / "broken.py") == ()


def test_a_binary_file_gives_no_imports(tmp_path: Path) -> None:
    (tmp_path / "blob.py").write_bytes(b"import os\x00\xff")
    graph = ProjectIndexer(tmp_path).scan()
    assert graph.files[tmp_path / "blob.py"].imports == ()


def test_outside_modules_and_unknown_paths(tmp_path: Path) -> None:
    graph = scan(tmp_path, {"main.py": "import os\nimport missing_module\nimport json.decoder\n"})
    assert graph.closure(tmp_path / "main.py") == ()
    assert graph.closure(tmp_path / "not_there.py") == ()
    assert graph.digest_of(tmp_path / "not_there.py") is None


def test_stub_next_to_a_module_is_what_importers_see(tmp_path: Path) -> None:
    graph = scan(tmp_path, {"main.py": "import fast\n", "fast.py": "", "fast.pyi": ""})
    assert closure(graph, tmp_path, "main.py") == ["fast.pyi"]


def test_closure_and_its_digests(tmp_path: Path) -> None:
    graph = scan(tmp_path, {"main.py": "import a\n", "a.py": "import b\n", "b.py": "x = 1\n"})
    closure = graph.closure(tmp_path / "main.py")
    assert [(str(p), graph.digest_of(p)) for p in closure] == [
        (str(tmp_path / "a.py"), content_hash("import b\n")),
        (str(tmp_path / "b.py"), content_hash("x = 1\n")),
    ]


# --- names that only namespace packages give -------------------------------------------


def test_namespace_package_submodules_are_found(tmp_path: Path) -> None:
    # No __init__.py in pkg: mypy still follows `import pkg.mod` to pkg/mod.py.
    graph = scan(tmp_path, {"main.py": "import pkg.mod\n", "pkg/mod.py": "value = 1\n"})
    assert closure(graph, tmp_path, "main.py") == ["pkg/mod.py"]


def test_packages_inside_a_namespace_package(tmp_path: Path) -> None:
    graph = scan(
        tmp_path,
        {
            "src/acme/app/__init__.py": "",
            "src/acme/app/core.py": "from acme.app import models\n",
            "src/acme/app/models.py": "",
            "src/acme/lib/util.py": "",
            "src/acme/app/views.py": "from ..lib import util\n",
        },
    )
    assert closure(graph, tmp_path, "src/acme/app/core.py") == [
        "src/acme/app/__init__.py",
        "src/acme/app/models.py",
    ]
    assert "src/acme/lib/util.py" in closure(graph, tmp_path, "src/acme/app/views.py")


def test_adding_an_init_renames_the_modules_below(tmp_path: Path) -> None:
    write(tmp_path, {"main.py": "from pkg import mod\n", "pkg/mod.py": "x = 1\n"})
    indexer = ProjectIndexer(tmp_path)
    assert indexer.scan().files[tmp_path / "pkg" / "mod.py"].module == "mod"
    (tmp_path / "pkg" / "__init__.py").write_text("")
    graph = indexer.scan()  # pkg/mod.py itself did not change
    assert graph.files[tmp_path / "pkg" / "mod.py"].module == "pkg.mod"
    assert closure(graph, tmp_path, "main.py") == ["pkg/__init__.py", "pkg/mod.py"]


def test_removing_an_init_renames_the_modules_below(tmp_path: Path) -> None:
    write(tmp_path, {"pkg/__init__.py": "", "pkg/a.py": "from . import b\n", "pkg/b.py": ""})
    indexer = ProjectIndexer(tmp_path)
    assert indexer.scan().files[tmp_path / "pkg" / "a.py"].module == "pkg.a"
    (tmp_path / "pkg" / "__init__.py").unlink()
    graph = indexer.scan()
    assert graph.files[tmp_path / "pkg" / "a.py"].module == "a"


# --- which folders are walked ----------------------------------------------------------


def test_skipped_folders(tmp_path: Path) -> None:
    write(
        tmp_path,
        {
            "app/main.py": "",
            "app/__pycache__/main.py": "",
            ".hidden/x.py": "",
            "app/.tox/y.py": "",
            "venv/lib/site.py": "",
            "venv/pyvenv.cfg": "home = /usr/bin\n",
            "env2/pyvenv.cfg": "",
            "env2/z.py": "",
            "proj.egg-info/w.py": "",
            "node_modules/pkg/n.py": "",
            "lib/site-packages/s.py": "",
            "tools/venv_helpers.py": "",
        },
    )
    graph = ProjectIndexer(tmp_path).scan()
    assert sorted(p.relative_to(tmp_path).as_posix() for p in graph.files) == [
        "app/main.py",
        "tools/venv_helpers.py",
    ]


def test_only_python_sources_are_indexed(tmp_path: Path) -> None:
    write(tmp_path, {"a.py": "", "b.pyi": "", "c.txt": "", "d.pyc": "", "e.py.bak": ""})
    graph = ProjectIndexer(tmp_path).scan()
    assert sorted(p.name for p in graph.files) == ["a.py", "b.pyi"]


# --- overrides (unsaved text) ----------------------------------------------------------


def test_overrides_win_over_the_disk(tmp_path: Path) -> None:
    write(tmp_path, {"main.py": "import a\n", "a.py": "", "b.py": ""})
    indexer = ProjectIndexer(tmp_path)
    main = tmp_path / "main.py"
    graph = indexer.scan({main: "import b\n"})
    assert closure(graph, tmp_path, "main.py") == ["b.py"]
    assert graph.digest_of(main) == content_hash("import b\n")
    # The override is not remembered: the next scan sees the disk again.
    graph = indexer.scan()
    assert closure(graph, tmp_path, "main.py") == ["a.py"]
    assert graph.digest_of(main) == content_hash("import a\n")


def test_overrides_for_files_not_on_disk_yet(tmp_path: Path) -> None:
    write(tmp_path, {"main.py": "import fresh\n"})
    fresh = tmp_path / "fresh.py"
    graph = ProjectIndexer(tmp_path).scan({fresh: "x = 1\n", tmp_path / "notes.txt": "import x"})
    assert closure(graph, tmp_path, "main.py") == ["fresh.py"]
    assert (tmp_path / "notes.txt") not in graph.files


def test_an_override_with_lone_surrogates_is_hashed(tmp_path: Path) -> None:
    graph = ProjectIndexer(tmp_path).scan({tmp_path / "s.py": "x = '\udc80'\n"})
    assert graph.digest_of(tmp_path / "s.py") is not None


# --- the stat memo ---------------------------------------------------------------------


def _set_mtime(path: Path, mtime_ns: int) -> None:
    os.utime(path, ns=(mtime_ns, mtime_ns))


def test_a_same_size_edit_with_a_new_mtime_is_read_again(tmp_path: Path) -> None:
    write(tmp_path, {"main.py": "import a\n", "a.py": "", "b.py": ""})
    main = tmp_path / "main.py"
    _set_mtime(main, OLD_NS)
    indexer = ProjectIndexer(tmp_path)
    assert closure(indexer.scan(), tmp_path, "main.py") == ["a.py"]
    main.write_text("import b\n")  # same size
    _set_mtime(main, OLD_NS + 1)  # one nanosecond later
    graph = indexer.scan()
    assert closure(graph, tmp_path, "main.py") == ["b.py"]
    assert graph.digest_of(main) == content_hash("import b\n")


def test_an_old_unchanged_stat_is_not_read_again(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    write(tmp_path, {"a.py": "x = 1\n", "b.py": "y = 2\n"})
    for name in ("a.py", "b.py"):
        _set_mtime(tmp_path / name, OLD_NS)
    indexer = ProjectIndexer(tmp_path)
    first = indexer.scan()
    reads: list[Path] = []
    real_read_bytes = Path.read_bytes

    def counting(self: Path) -> bytes:
        reads.append(self)
        return real_read_bytes(self)

    monkeypatch.setattr(Path, "read_bytes", counting)
    second = indexer.scan()
    assert reads == []
    assert second.files == first.files
    (tmp_path / "b.py").write_text("y = 3\n")
    _set_mtime(tmp_path / "b.py", OLD_NS + 10**9)
    third = indexer.scan()
    assert reads == [tmp_path / "b.py"]
    assert third.digest_of(tmp_path / "b.py") == content_hash("y = 3\n")


def test_a_recent_stat_is_not_trusted(tmp_path: Path) -> None:
    """Two same-size writes within one timestamp tick leave the same (mtime_ns, size).

    A file that was modified just before it was read may have been written again
    since, so it is read again until its mtime is older than the tick.
    """
    write(tmp_path, {"main.py": "import a\n", "a.py": "", "b.py": ""})
    main = tmp_path / "main.py"
    tick = time.time_ns()
    _set_mtime(main, tick)
    indexer = ProjectIndexer(tmp_path)
    assert closure(indexer.scan(), tmp_path, "main.py") == ["a.py"]
    main.write_text("import b\n")
    _set_mtime(main, tick)  # the second write landed in the same tick
    assert closure(indexer.scan(), tmp_path, "main.py") == ["b.py"]


def test_deleted_files_leave_the_graph(tmp_path: Path) -> None:
    write(tmp_path, {"main.py": "import a\n", "a.py": ""})
    indexer = ProjectIndexer(tmp_path)
    assert closure(indexer.scan(), tmp_path, "main.py") == ["a.py"]
    (tmp_path / "a.py").unlink()
    graph = indexer.scan()
    assert tmp_path / "a.py" not in graph.files
    assert closure(graph, tmp_path, "main.py") == []


CYCLE_PROJECT = {
    "pkg/__init__.py": "",
    "pkg/a.py": "from pkg import b\n",
    "pkg/b.py": "from pkg import a\nfrom pkg import leaf\n",
    "pkg/leaf.py": "X = 1\n",
    "pkg/user.py": "from pkg import a\n",
    "pkg/alone.py": "Y = 2\n",
}


def test_closure_digests_follow_the_closures(tmp_path: Path) -> None:
    root = tmp_path / "proj"
    graph = scan(root, CYCLE_PROJECT)
    digest = {
        name: graph.closure_digest(root / f"pkg/{name}.py")
        for name in ("a", "b", "leaf", "user", "alone")
    }
    assert digest["a"] == digest["b"], "members of one import cycle share a closure"
    assert len({digest["a"], digest["leaf"], digest["user"], digest["alone"]}) == 4

    (root / "pkg/leaf.py").write_text("X = 'one'\n")
    changed = ProjectIndexer(root).scan()
    after = {name: changed.closure_digest(root / f"pkg/{name}.py") for name in digest}
    assert {n for n in digest if digest[n] != after[n]} == {"a", "b", "leaf", "user"}


def test_closure_digest_of_a_deep_chain_needs_no_recursion(tmp_path: Path) -> None:
    depth = 3000
    files = {"chain/__init__.py": ""}
    files.update({f"chain/m{i}.py": f"from chain import m{i + 1}\n" for i in range(depth)})
    files[f"chain/m{depth}.py"] = "END = 1\n"
    root = tmp_path / "proj"
    graph = scan(root, files)
    first = graph.closure_digest(root / "chain/m0.py")
    assert first and first != graph.closure_digest(root / "chain/m1.py")


def test_a_store_remembers_parsed_imports_across_indexers(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = tmp_path / "proj"
    write(root, CYCLE_PROJECT)
    store = MemoryStore()
    first = ProjectIndexer(root, store).scan()

    def no_parsing(data: bytes, digest: str | None = None) -> tuple[object, ...]:
        raise AssertionError("a remembered content was parsed again")

    monkeypatch.setattr(imports_module, "_raw_imports", no_parsing)
    again = ProjectIndexer(root, store).scan()
    assert again.files == first.files
    (root / "pkg/alone.py").write_text("import os\n")
    with pytest.raises(AssertionError, match="parsed again"):
        ProjectIndexer(root, store).scan()


def test_a_distrusted_file_is_read_again_despite_an_unchanged_stat(tmp_path: Path) -> None:
    root = tmp_path / "proj"
    write(root, {"pkg/__init__.py": "", "pkg/m.py": "X = 1\n"})
    module = root / "pkg/m.py"
    os.utime(module, ns=(OLD_NS, OLD_NS))
    indexer = ProjectIndexer(root)
    before = indexer.scan().digest_of(module)
    module.write_text("X = 2\n")
    os.utime(module, ns=(OLD_NS, OLD_NS))
    assert indexer.scan().digest_of(module) == before, "a trusted stat is not read again"
    indexer.distrust(module)
    assert indexer.scan().digest_of(module) == content_hash("X = 2\n")
