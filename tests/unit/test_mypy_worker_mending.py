"""What mypy's fine-grained update leaves behind, and the worker mends.

An update that reaches a module re-runs the class plugin hooks of all its classes, on
classes it did not re-analyze. Unmended, each update sets the previous generated members
aside and adds new ones, so the class grows on every save and so do the time and memory
of every later update (on rich: 58 ms to 620 ms per update after 600 of them).
"""

from __future__ import annotations

from pathlib import Path

import pytest
from mypy.nodes import TypeInfo

from tapps_lsp.analyzers.mypy.worker import FineGrainedBuild

A_PY = """\
def number() -> {kind}:
    return {value}
"""
B_PY = """\
import functools
from dataclasses import dataclass

from pkg import a


@dataclass
class Point:
    x: int
    y: int = 0


@dataclass(frozen=True)
@functools.total_ordering
class Version:
    major: int

    def __lt__(self, other: "Version") -> bool:
        return self.major < other.major


def use() -> int:
    return a.number() + Point(1).x
"""


def write_a(root: Path, kind: str) -> Path:
    path = root / "pkg" / "a.py"
    path.write_text(A_PY.format(kind=kind, value="1" if kind == "int" else "'1'"))
    return path


@pytest.fixture
def session(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> FineGrainedBuild:
    (tmp_path / "pkg").mkdir()
    (tmp_path / "pkg" / "__init__.py").write_text("")
    (tmp_path / "pkg" / "b.py").write_text(B_PY)
    (tmp_path / "pyproject.toml").write_text("[tool.mypy]\nstrict = true\n")
    write_a(tmp_path, "int")
    monkeypatch.chdir(tmp_path)
    opened, _printed = FineGrainedBuild.open(["pkg"])
    return opened


def members(session: FineGrainedBuild, name: str) -> tuple[list[str], list[str]]:
    """A class's symbol names and its body's statements, as kinds and names, in order
    of name (an update may reorder what plugins generate, which changes nothing)."""
    assert session.server is not None and session.server.fine_grained_manager is not None
    tree = session.server.fine_grained_manager.graph["pkg.b"].tree
    assert tree is not None
    info = tree.names[name].node
    assert isinstance(info, TypeInfo)
    body = [f"{type(node).__name__} {getattr(node, 'name', '')}" for node in info.defn.defs.body]
    return sorted(info.names), sorted(body)


@pytest.mark.parametrize("name", ["Point", "Version"])
def test_generated_members_stay_as_a_fresh_build_makes_them(
    session: FineGrainedBuild, tmp_path: Path, name: str
) -> None:
    first = session.build()
    fresh = members(session, name)
    for kind in ["str", "int"] * 3:
        outcome, rebuilt = session.update([str(write_a(tmp_path, kind).resolve())], [])
        assert not rebuilt
        assert bool(outcome.messages) == (kind == "str"), "the update saw the edit"
    assert members(session, name) == fresh
    assert outcome.messages == first.messages == []


def test_the_record_of_analyzed_targets_is_emptied(
    session: FineGrainedBuild, tmp_path: Path
) -> None:
    session.build()
    session.update([str(write_a(tmp_path, "str").resolve())], [])
    assert session.server is not None and session.server.fine_grained_manager is not None
    assert session.server.fine_grained_manager.manager.processed_targets == []


def test_a_mypy_whose_internals_differ_is_checked_without_mending(
    session: FineGrainedBuild, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Simulated: a record entry of a shape this mypy never writes, as another mypy
    version might (no installed mypy can be made to do it for real)."""
    session.build()
    assert session.server is not None and session.server.fine_grained_manager is not None
    session.server.fine_grained_manager.manager.processed_targets.append("pkg.b")  # type: ignore[arg-type]
    outcome, rebuilt = session.update([str(write_a(tmp_path, "str").resolve())], [])
    assert not rebuilt
    assert sorted(m["code"] for m in outcome.messages) == ["no-any-return", "operator"]
    assert session.mending_failed
    assert "not mending mypy's state" in capsys.readouterr().err
    outcome, _ = session.update([str(write_a(tmp_path, "int").resolve())], [])
    assert outcome.messages == []
