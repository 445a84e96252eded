"""mypy's JSON lines to findings, what a project-level run checks, and its cache key."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tapps_lsp.analyzers.cache.recipes import MypyKeyContext
from tapps_lsp.analyzers.configs import MypyConfig, config_bool, config_option
from tapps_lsp.analyzers.findings import Severity, Source, Span
from tapps_lsp.analyzers.imports import ProjectGraph, ProjectIndexer
from tapps_lsp.analyzers.mypy.columns import MypyColumnMapper
from tapps_lsp.analyzers.mypy.output import DOCS_URL, RawMessage, parse_output, to_finding
from tapps_lsp.analyzers.mypy.project import run_targets
from tapps_lsp.analyzers.mypy.runs import file_key
from tapps_lsp.analyzers.settings import MypySettings
from tapps_lsp.analyzers.text import split_lines
from tests.mypy_direct import run_mypy_json

ROOT = Path("/project")


def _line(**fields: object) -> bytes:
    record: dict[str, object] = {
        "file": "/project/pkg/mod.py",
        "line": 3,
        "column": 4,
        "end_line": 3,
        "end_column": 9,
        "message": "Incompatible types",
        "hint": None,
        "code": "assignment",
        "severity": "error",
    }
    record.update(fields)
    return json.dumps(record).encode()


# --- parse_output ----------------------------------------------------------------------


def test_one_json_object_per_line() -> None:
    stdout = b"\n".join([_line(), _line(line=7, code="arg-type", severity="note")]) + b"\n"
    first, second = parse_output(stdout, ROOT)
    assert first == RawMessage(
        path=Path("/project/pkg/mod.py"),
        line=3,
        column=4,
        end_line=3,
        end_column=9,
        message="Incompatible types",
        hint=None,
        code="assignment",
        severity="error",
    )
    assert (second.line, second.code, second.severity) == (7, "arg-type", "note")


def test_garbage_lines_are_skipped() -> None:
    stdout = b"\n".join(
        [
            b"",
            b"mypy: can't read file 'x': No such file or directory",
            _line(line=1),
            b"{not json at all",
            b'{"file": "/project/a.py", "line": 2',  # cut short
            b"[1, 2, 3]",
            b"  " + _line(line=2) + b"  \r",  # surrounding blanks and a CR are fine
            b"\xff\xfe binary \x00",
            b"Success: no issues found in 1 source file",
            _line(line=3),
        ]
    )
    assert [m.line for m in parse_output(stdout, ROOT)] == [1, 2, 3]


def test_empty_output_has_no_messages() -> None:
    assert parse_output(b"", ROOT) == []


def test_relative_paths_are_resolved_against_the_root() -> None:
    [message] = parse_output(_line(file="pkg/mod.py"), ROOT)
    assert message.path == ROOT / "pkg" / "mod.py"


def test_missing_and_negative_numbers() -> None:
    [message] = parse_output(
        _line(line=None, column=None, end_line=-1, end_column=-1, code=None), ROOT
    )
    assert (message.line, message.column) == (1, 0)
    assert message.end_line is None
    assert message.end_column is None
    assert message.code is None
    [message] = parse_output(_line(column=-1), ROOT)
    assert message.column == -1  # "no column" is kept for the column mapper


def test_missing_severity_is_an_error() -> None:
    record = json.loads(_line())
    del record["severity"]
    [message] = parse_output(json.dumps(record).encode(), ROOT)
    assert message.severity == "error"


def test_json_objects_that_are_not_mypy_messages_are_skipped() -> None:
    stdout = b'{"plugin": "printed this"}\n' + _line(line=5)
    assert [m.line for m in parse_output(stdout, ROOT)] == [5]


def test_a_malformed_number_does_not_lose_the_other_messages() -> None:
    stdout = _line(line="three") + b"\n" + _line(line=5)
    assert [m.line for m in parse_output(stdout, ROOT)] == [5]


# --- to_finding ------------------------------------------------------------------------

SOURCE = "def f() -> None:\n    x: int = 'abc'\n"


def _raw(**fields: object) -> RawMessage:
    base: dict[str, object] = {
        "path": ROOT / "m.py",
        "line": 2,
        "column": 13,
        "end_line": 2,
        "end_column": 18,
        "message": 'Incompatible types in assignment (expression has type "str")',
        "hint": None,
        "code": "assignment",
        "severity": "error",
    }
    base.update(fields)
    return RawMessage(**base)  # type: ignore[arg-type]


def test_an_error_becomes_an_error_finding() -> None:
    finding = to_finding(_raw(), MypyColumnMapper(SOURCE))
    assert finding.source is Source.MYPY
    assert finding.severity is Severity.ERROR
    assert finding.code == "assignment"
    assert finding.message == 'Incompatible types in assignment (expression has type "str")'
    assert finding.span == Span(1, 13, 1, 18)
    assert finding.url == DOCS_URL.format(code="assignment")
    assert finding.url.endswith("#code-assignment")


def test_the_hint_is_appended_to_the_message() -> None:
    finding = to_finding(_raw(hint='See "Note: x"'), MypyColumnMapper(SOURCE))
    assert finding.message == 'Incompatible types in assignment (expression has type "str")\n' + (
        'See "Note: x"'
    )


@pytest.mark.parametrize(
    ("severity", "expected"),
    [
        ("error", Severity.ERROR),
        ("note", Severity.INFORMATION),
        ("warning", Severity.WARNING),
        ("something new", Severity.ERROR),
    ],
)
def test_severity(severity: str, expected: Severity) -> None:
    assert to_finding(_raw(severity=severity), MypyColumnMapper(SOURCE)).severity is expected


def test_no_code_means_no_url() -> None:
    finding = to_finding(_raw(code=None), MypyColumnMapper(SOURCE))
    assert finding.code is None
    assert finding.url is None


# --- the real mypy ---------------------------------------------------------------------

REAL_SOURCE = """\
import nonexistent_module_zz


def f(é: int) -> str:
    return é


reveal_type(f)
x: "list[int]" = ["日本"]
"""


@pytest.fixture(scope="module")
def real_findings(tmp_path_factory: pytest.TempPathFactory) -> list[tuple[RawMessage, str]]:
    folder = tmp_path_factory.mktemp("mypy_out")
    target = folder / "m.py"
    target.write_text(REAL_SOURCE, encoding="utf-8")
    done = run_mypy_json(folder, "--config-file", "", str(target), cache_dir=folder / ".cache")
    assert done.returncode == 1, done.stderr
    messages = parse_output(done.stdout.encode(), folder)
    assert all(m.path == target for m in messages)
    mapper = MypyColumnMapper(REAL_SOURCE)
    lines = split_lines(REAL_SOURCE)
    result = []
    for message in messages:
        span = to_finding(message, mapper).span
        assert span.start_line == span.end_line
        result.append((message, lines[span.start_line][span.start_col : span.end_col]))
    return result


def test_real_mypy_output_parses_into_findings(
    real_findings: list[tuple[RawMessage, str]],
) -> None:
    by_code = {message.code: (message, text) for message, text in real_findings}
    assert set(by_code) >= {"import-not-found", "return-value", "misc", "list-item"}
    message, text = by_code["return-value"]
    assert text == "é"
    message, text = by_code["list-item"]
    assert text == '"日本"'
    message, _ = by_code["import-not-found"]
    assert message.hint is not None
    assert message.hint.startswith("See https://mypy.readthedocs.io")
    message, text = by_code["misc"]
    assert message.severity == "note"
    assert text == "f"
    finding = to_finding(message, MypyColumnMapper(REAL_SOURCE))
    assert finding.severity is Severity.INFORMATION


# --- run_targets -----------------------------------------------------------------------


def _tree(root: Path, *files: str) -> None:
    for name in files:
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("")


def _config(root: Path, *, from_config: bool = False) -> MypyConfig:
    return MypyConfig(root, root / "pyproject.toml", targets_from_config=from_config)


def test_config_files_mean_no_targets(tmp_path: Path) -> None:
    _tree(tmp_path, "pkg/__init__.py", "pkg/mod.py")
    config = _config(tmp_path, from_config=True)
    assert run_targets(config, tmp_path / "pkg" / "mod.py", MypySettings()) == ()


def test_the_targets_setting_wins(tmp_path: Path) -> None:
    _tree(tmp_path, "pkg/__init__.py", "pkg/mod.py")
    settings = MypySettings(targets=("src", "tests"))
    for from_config in (False, True):
        config = _config(tmp_path, from_config=from_config)
        assert run_targets(config, tmp_path / "pkg" / "mod.py", settings) == ("src", "tests")


@pytest.mark.parametrize(
    ("files", "target", "expected"),
    [
        (("pkg/__init__.py", "pkg/sub/__init__.py", "pkg/sub/mod.py"), "pkg/sub/mod.py", "pkg"),
        (("pkg/__init__.py", "pkg/mod.py"), "pkg/mod.py", "pkg"),
        (("pkg/__init__.py",), "pkg/__init__.py", "pkg"),
        (("pkg/__init__.pyi", "pkg/mod.pyi"), "pkg/mod.pyi", "pkg"),
        (("scripts/tool.py",), "scripts/tool.py", "scripts"),
        (("a/b/c.py",), "a/b/c.py", "a/b"),
        (("main.py",), "main.py", "main.py"),
        (("src/pkg/__init__.py", "src/pkg/x.py"), "src/pkg/x.py", "src/pkg"),
        (
            ("src/pkg/__init__.py", "src/pkg/sub/__init__.py", "src/pkg/sub/x.py"),
            "src/pkg/sub/x.py",
            "src/pkg",
        ),
        # A package folder whose parent is no package stops the climb.
        (("tools/pkg/__init__.py", "tools/pkg/x.py"), "tools/pkg/x.py", "tools/pkg"),
        # A folder without __init__ inside a package is not part of it.
        (("pkg/__init__.py", "pkg/data/x.py"), "pkg/data/x.py", "pkg/data"),
    ],
)
def test_top_level_package_or_folder(
    tmp_path: Path, files: tuple[str, ...], target: str, expected: str
) -> None:
    _tree(tmp_path, *files)
    assert run_targets(_config(tmp_path), tmp_path / target, MypySettings()) == (expected,)


def test_the_config_root_is_never_a_package_target(tmp_path: Path) -> None:
    # The root itself has an __init__.py: the climb stops below it.
    _tree(tmp_path, "__init__.py", "pkg/__init__.py", "pkg/mod.py")
    assert run_targets(_config(tmp_path), tmp_path / "pkg" / "mod.py", MypySettings()) == ("pkg",)


def test_a_new_unsaved_file_in_a_package(tmp_path: Path) -> None:
    _tree(tmp_path, "pkg/__init__.py")
    # The file does not exist on disk yet: its folder decides.
    assert run_targets(_config(tmp_path), tmp_path / "pkg" / "new.py", MypySettings()) == ("pkg",)


# --- config_option --------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "text", "expected"),
    [
        ("pyproject.toml", "[tool.mypy]\nnative_parser = true\n", True),
        ("pyproject.toml", "[tool.mypy]\nnative_parser = false\n", False),
        ("pyproject.toml", "[tool.mypy]\nstrict = true\n", None),
        ("pyproject.toml", '[tool.mypy]\nnative_parser = "yes"\n', None),
        ("pyproject.toml", "not toml [", None),
        ("mypy.ini", "[mypy]\nnative_parser = False\n", False),
        ("mypy.ini", "[mypy]\nnative_parser = yes\n", True),
        ("mypy.ini", "[mypy]\nnative_parser = 1\n", True),
        ("mypy.ini", "[mypy]\nstrict = True\n", None),
        ("mypy.ini", "[mypy]\nnative_parser = perhaps\n", None),
        ("mypy.ini", "no section header\n", None),
        ("setup.cfg", "[mypy]\nnative_parser = off\n", False),
        (".mypy.ini", "[other]\nnative_parser = False\n", None),
    ],
)
def test_config_bool_native_parser(
    tmp_path: Path, name: str, text: str, expected: bool | None
) -> None:
    path = tmp_path / name
    path.write_text(text)
    assert config_bool(MypyConfig(tmp_path, path, False), "native_parser") is expected


def test_no_config_file_means_no_native_parser_choice(tmp_path: Path) -> None:
    assert config_option(MypyConfig(tmp_path, None, False), "native_parser") is None


@pytest.mark.parametrize(
    ("name", "text"),
    [
        ("pyproject.toml", '[tool.mypy]\npython_executable = "/opt/py/bin/python"\n'),
        ("mypy.ini", "[mypy]\npython_executable = /opt/py/bin/python\n"),
    ],
)
def test_config_option_reads_strings(tmp_path: Path, name: str, text: str) -> None:
    path = tmp_path / name
    path.write_text(text)
    config = MypyConfig(tmp_path, path, False)
    assert config_option(config, "python_executable") == "/opt/py/bin/python"
    assert config_bool(config, "python_executable") is None


# --- file_key --------------------------------------------------------------------------

KEY_ARGS: dict[str, str] = {
    "version": "2.4.1",
    "config_text": "[tool.mypy]\nstrict = true\n",
    "settings_key": '{"args": []}',
    "targets": "app",
    "environment": "env-1",
}


def _project(root: Path) -> ProjectIndexer:
    files = {
        "app/__init__.py": "",
        "app/main.py": "from app import models\n",
        "app/models.py": "from app.util import helper\n",
        "app/util.py": "def helper() -> int:\n    return 1\n",
        "app/other.py": "x = 1\n",
        "tests/test_main.py": "import app.main\n",
    }
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return ProjectIndexer(root)


def _key(graph: ProjectGraph, path: Path, **changes: str) -> str | None:
    return file_key(path, graph, MypyKeyContext(**{**KEY_ARGS, **changes}))


def test_file_key_is_stable(tmp_path: Path) -> None:
    indexer = _project(tmp_path)
    main = tmp_path / "app" / "main.py"
    first = _key(indexer.scan(), main)
    assert first is not None
    assert _key(indexer.scan(), main) == first
    assert _key(ProjectIndexer(tmp_path).scan(), main) == first


def test_file_key_changes_with_the_file(tmp_path: Path) -> None:
    indexer = _project(tmp_path)
    main = tmp_path / "app" / "main.py"
    before = _key(indexer.scan(), main)
    edited = _key(indexer.scan({main: "from app import models\nx = 1\n"}), main)
    assert edited != before
    # Back to the saved text: back to the same key.
    assert _key(indexer.scan(), main) == before


@pytest.mark.parametrize("imported", ["app/models.py", "app/util.py", "app/__init__.py"])
def test_file_key_changes_with_any_transitive_import(tmp_path: Path, imported: str) -> None:
    indexer = _project(tmp_path)
    main = tmp_path / "app" / "main.py"
    before = _key(indexer.scan(), main)
    changed = {tmp_path / imported: "def helper() -> str:\n    return ''\n"}
    assert _key(indexer.scan(changed), main) != before


def test_file_key_ignores_unrelated_modules(tmp_path: Path) -> None:
    indexer = _project(tmp_path)
    main = tmp_path / "app" / "main.py"
    before = _key(indexer.scan(), main)
    # other.py is not imported; tests/test_main.py imports main, not the other way round.
    changed = {
        tmp_path / "app" / "other.py": "x = 'changed'\n",
        tmp_path / "tests" / "test_main.py": "import app.main\nimport os\n",
    }
    assert _key(indexer.scan(changed), main) == before


def test_file_key_changes_when_an_import_appears_or_goes(tmp_path: Path) -> None:
    indexer = _project(tmp_path)
    main = tmp_path / "app" / "main.py"
    before = _key(indexer.scan(), main)
    (tmp_path / "app" / "models.py").write_text("from app.util import helper\nimport app.new\n")
    missing = _key(indexer.scan(), main)
    assert missing != before
    (tmp_path / "app" / "new.py").write_text("")
    # A module mypy could not find before now exists: the result can change.
    assert _key(indexer.scan(), main) != missing


@pytest.mark.parametrize(
    "change",
    [
        {"version": "2.4.2"},
        {"config_text": "[tool.mypy]\nstrict = false\n"},
        {"settings_key": '{"args": ["--strict"]}'},
        {"targets": "app\0tests"},
        {"targets": ""},
        {"environment": "env-2"},
    ],
)
def test_file_key_changes_with_everything_else_it_depends_on(
    tmp_path: Path, change: dict[str, object]
) -> None:
    graph = _project(tmp_path).scan()
    main = tmp_path / "app" / "main.py"
    assert _key(graph, main, **change) != _key(graph, main)


def test_file_key_of_a_file_outside_the_graph_is_none(tmp_path: Path) -> None:
    graph = _project(tmp_path).scan()
    assert _key(graph, tmp_path / "elsewhere.py") is None


def test_two_files_with_the_same_content_have_different_keys(tmp_path: Path) -> None:
    indexer = _project(tmp_path)
    (tmp_path / "app" / "twin.py").write_text("x = 1\n")
    graph = indexer.scan()
    assert _key(graph, tmp_path / "app" / "twin.py") != _key(graph, tmp_path / "app" / "other.py")
