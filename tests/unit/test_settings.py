"""Raw settings layers: key spelling, merging, and structuring with problems reported."""

from __future__ import annotations

import json
from typing import Any

import pytest

from tapps_lsp.analyzers.findings import Severity
from tapps_lsp.analyzers.settings import (
    CacheSettings,
    MypySettings,
    ReviewSettings,
    ToolSettings,
    build_settings,
    merge_layers,
    normalise,
)

# --- normalise -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("key", "expected"),
    [
        ("scoreThreshold", "score_threshold"),
        ("score-threshold", "score_threshold"),
        ("score_threshold", "score_threshold"),
        ("ScoreThreshold", "score_threshold"),
        ("maxFileSize", "max_file_size"),
        ("max-file-size", "max_file_size"),
        ("maxSizeMb", "max_size_mb"),
        ("timeout", "timeout"),
    ],
)
def test_key_spellings(key: str, expected: str) -> None:
    assert list(normalise({key: 1})) == [expected]


def test_normalise_goes_all_the_way_down_but_not_into_severity() -> None:
    raw = {
        "cache": {"maxSizeMb": 5, "dir": "x"},
        "mypy": {"extra-thing": {"innerKey": 1}},
        "severity": {"E501": "error", "mypy:arg-type": "warning", "myCode": "hint"},
    }
    assert normalise(raw) == {
        "cache": {"max_size_mb": 5, "dir": "x"},
        "mypy": {"extra_thing": {"inner_key": 1}},
        "severity": {"E501": "error", "mypy:arg-type": "warning", "myCode": "hint"},
    }


def test_normalise_does_not_touch_its_input() -> None:
    raw = {"cache": {"maxSizeMb": 5}}
    normalise(raw)
    assert raw == {"cache": {"maxSizeMb": 5}}


# --- merge_layers ----------------------------------------------------------------------


def test_a_later_layer_wins_per_key() -> None:
    merged = merge_layers(
        {"scoreThreshold": 50, "timeout": 10},
        {"score-threshold": 60},
        {"score_threshold": 80},
    )
    assert merged == {"score_threshold": 80, "timeout": 10}


def test_nested_tables_merge_key_by_key() -> None:
    merged = merge_layers(
        {"ruff": {"enabled": False, "args": ["--select", "E"]}, "cache": {"dir": "/a"}},
        {"ruff": {"path": "/bin/ruff"}},
        {"ruff": {"args": []}, "cache": {"maxSizeMb": 1}},
    )
    assert merged == {
        "ruff": {"enabled": False, "path": "/bin/ruff", "args": []},
        "cache": {"dir": "/a", "max_size_mb": 1},
    }


def test_severity_tables_merge_per_code() -> None:
    merged = merge_layers(
        {"severity": {"E501": "error", "F401": "hint"}},
        {"severity": {"E501": "info"}},
    )
    assert merged == {"severity": {"E501": "info", "F401": "hint"}}


def test_missing_or_odd_layers_are_skipped() -> None:
    assert merge_layers(None, {"timeout": 5}, None) == {"timeout": 5}
    assert merge_layers() == {}
    assert merge_layers(["not", "a", "table"], {"timeout": 5}) == {"timeout": 5}  # type: ignore[arg-type]


def test_a_scalar_replaces_a_table_and_back() -> None:
    assert merge_layers({"ruff": {"enabled": True}}, {"ruff": None}) == {"ruff": None}
    assert merge_layers({"ruff": None}, {"ruff": {"enabled": True}}) == {"ruff": {"enabled": True}}


def test_merging_never_changes_the_layers() -> None:
    first = {"ruff": {"args": ["a"]}, "severity": {"E501": "error"}}
    second = {"ruff": {"path": "x"}, "severity": {"F401": "hint"}}
    snapshot = json.dumps([first, second], sort_keys=True)
    merged = merge_layers(first, second)
    merged["ruff"]["enabled"] = False
    merged["severity"]["W291"] = "error"
    assert json.dumps([first, second], sort_keys=True) == snapshot


# --- build_settings --------------------------------------------------------------------


def test_no_settings_give_the_defaults() -> None:
    settings, problems = build_settings({})
    assert settings == ReviewSettings()
    assert problems == []
    assert settings.score_threshold == 70
    assert settings.timeout == 60.0
    assert settings.max_file_size == 2_000_000
    assert settings.cache == CacheSettings(enabled=True, dir=None, max_size_mb=200)


def test_every_setting_from_editor_spelling() -> None:
    raw = {
        "ruff": {"enabled": False, "path": "/opt/ruff", "args": ["--select", "E"]},
        "mypy": {"path": "/opt/mypy", "args": ["--strict"], "targets": ["src", "tests"]},
        "severity": {"E501": "error", "mypy:note": "hint"},
        "scoreThreshold": 55,
        "timeout": 12,
        "maxFileSize": 1000,
        "cache": {"enabled": False, "dir": ".c", "maxSizeMb": 3},
        "engineMaxRssMb": 800,
    }
    settings, problems = build_settings(merge_layers(raw))
    assert problems == []
    assert settings == ReviewSettings(
        ruff=ToolSettings(enabled=False, path="/opt/ruff", args=("--select", "E")),
        mypy=MypySettings(path="/opt/mypy", args=("--strict",), targets=("src", "tests")),
        cache=CacheSettings(enabled=False, dir=".c", max_size_mb=3),
        severity={"E501": Severity.ERROR, "mypy:note": Severity.HINT},
        score_threshold=55,
        timeout=12.0,
        max_file_size=1000,
        engine_max_rss_mb=800,
    )
    assert isinstance(settings.timeout, float)
    assert settings.tool_key("mypy") == ReviewSettings(mypy=settings.mypy).tool_key("mypy"), (
        "the engine's memory ceiling shapes no result: no cache key depends on it"
    )


@pytest.mark.parametrize(
    ("name", "level"),
    [
        ("error", Severity.ERROR),
        ("Error", Severity.ERROR),
        ("warning", Severity.WARNING),
        ("warn", Severity.WARNING),
        ("information", Severity.INFORMATION),
        ("info", Severity.INFORMATION),
        ("note", Severity.INFORMATION),
        ("hint", Severity.HINT),
        (" HINT ", Severity.HINT),
    ],
)
def test_severity_names(name: str, level: Severity) -> None:
    settings, problems = build_settings({"severity": {"E501": name}})
    assert problems == []
    assert settings.severity == {"E501": level}


def test_unknown_keys_are_problems_and_the_rest_applies() -> None:
    settings, problems = build_settings(
        merge_layers({"timeout": 5, "colour": "red", "ruff": {"enabled": False, "speed": 9}})
    )
    assert settings.timeout == 5.0
    assert settings.ruff.enabled is False
    assert sorted(problems) == ["unknown setting 'colour'", "unknown setting 'ruff.speed'"]


@pytest.mark.parametrize(
    ("raw", "spot"),
    [
        ({"timeout": "60"}, "timeout"),
        ({"timeout": True}, "timeout"),  # a bool is not a number
        ({"score_threshold": None}, "score_threshold"),
        ({"score_threshold": 70.5}, "score_threshold"),  # not a whole number
        ({"max_file_size": [1]}, "max_file_size"),
        ({"ruff": {"enabled": "yes"}}, "ruff.enabled"),
        ({"ruff": {"enabled": 1}}, "ruff.enabled"),
        ({"ruff": {"path": 5}}, "ruff.path"),
        ({"ruff": {"args": "--select E"}}, "ruff.args"),  # a string is not a list
        ({"ruff": {"args": ["--select", 5]}}, "ruff.args"),
        ({"mypy": {"args": ["--strict", None]}}, "mypy.args"),
        ({"mypy": {"targets": {"src": True}}}, "mypy.targets"),
        ({"ruff": "off"}, "ruff"),
        ({"cache": ["x"]}, "cache"),
        ({"severity": ["E501"]}, "severity"),
    ],
)
def test_bad_values_are_problems_and_keep_the_default(raw: dict[str, Any], spot: str) -> None:
    # A good value next to the bad one, to show the rest of the layer still applies.
    sentinel = "score_threshold" if "max_file_size" in raw else "max_file_size"
    settings, problems = build_settings({**raw, sentinel: 7})
    assert len(problems) == 1, problems
    assert problems[0].startswith(f"invalid value for '{spot}': ")
    default = ReviewSettings()
    section, _, key = spot.rpartition(".")
    if section:
        assert getattr(getattr(settings, section), key) == getattr(getattr(default, section), key)
    else:
        assert getattr(settings, spot) == getattr(default, spot)
    assert getattr(settings, sentinel) == 7


def test_one_bad_severity_keeps_the_good_ones() -> None:
    settings, problems = build_settings(
        {"severity": {"E501": "error", "F401": "loud", "W291": 2, "mypy:misc": "note"}}
    )
    assert settings.severity == {"E501": Severity.ERROR, "mypy:misc": Severity.INFORMATION}
    assert len(problems) == 2
    assert problems[0].startswith("invalid value for 'severity.F401': ")
    assert "loud" in problems[0]
    assert problems[1].startswith("invalid value for 'severity.W291': ")


@pytest.mark.parametrize(
    ("raw", "field", "value"),
    [
        ({"timeout": 5}, "timeout", 5.0),
        ({"timeout": 0.5}, "timeout", 0.5),
        ({"score_threshold": 80.0}, "score_threshold", 80),
        ({"max_file_size": 1e6}, "max_file_size", 1_000_000),
    ],
)
def test_numbers(raw: dict[str, Any], field: str, value: float) -> None:
    settings, problems = build_settings(raw)
    assert problems == []
    assert getattr(settings, field) == value
    assert type(getattr(settings, field)) is type(getattr(ReviewSettings(), field))


def test_lists_accept_tuples_and_empty_lists() -> None:
    settings, problems = build_settings({"mypy": {"args": ("--strict",), "targets": []}})
    assert problems == []
    assert settings.mypy.args == ("--strict",)
    assert settings.mypy.targets == ()


def test_null_paths_mean_the_bundled_tools() -> None:
    settings, problems = build_settings({"ruff": {"path": None}, "cache": {"dir": None}})
    assert problems == []
    assert settings.ruff.path is None
    assert settings.cache.dir is None


def test_layers_then_structure() -> None:
    """pyproject says one thing, the editor another: the editor wins key by key."""
    pyproject = {"score-threshold": 90, "mypy": {"targets": ["src"]}, "severity": {"E501": "hint"}}
    init_options = {"scoreThreshold": 40, "severity": {"F401": "error"}}
    configuration = {"mypy": {"args": ["--strict"]}}
    settings, problems = build_settings(merge_layers(pyproject, init_options, configuration))
    assert problems == []
    assert settings.score_threshold == 40
    assert settings.mypy.targets == ("src",)
    assert settings.mypy.args == ("--strict",)
    assert settings.severity == {"E501": Severity.HINT, "F401": Severity.ERROR}


def test_tool_key_reflects_only_that_tool() -> None:
    base, _ = build_settings({})
    ruff_changed, _ = build_settings({"ruff": {"args": ["--select", "E"]}})
    mypy_changed, _ = build_settings({"mypy": {"targets": ["src"]}})
    assert ruff_changed.tool_key("ruff") != base.tool_key("ruff")
    assert ruff_changed.tool_key("mypy") == base.tool_key("mypy")
    assert mypy_changed.tool_key("mypy") != base.tool_key("mypy")
    assert mypy_changed.tool_key("ruff") == base.tool_key("ruff")


def test_as_json_names_severities() -> None:
    settings, _ = build_settings({"severity": {"E501": "warn"}})
    data = settings.as_json()
    assert data["severity"] == {"E501": "warning"}
    json.dumps(data)  # plain JSON all the way down
