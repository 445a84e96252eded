"""The setting keys are written in three places: the engine's settings, the VS Code
extension's contributed settings (package.json) and the keys it forwards (SERVER_KEYS in
settings.ts). They must agree."""

from __future__ import annotations

import json
import re
from dataclasses import fields, is_dataclass
from pathlib import Path
from typing import Any

from tapps_lsp.analyzers.settings import ReviewSettings

REPO = Path(__file__).resolve().parents[2]
EXTENSION = REPO / "editors" / "vscode"
# The extension's own settings: how to start the server, and its trace.
EXTENSION_ONLY = {"path", "trace.server"}
# Sent by the extension in initializationOptions only, from VS Code's workspace trust.
NOT_FORWARDED = {"trustedWorkspace"}
# Not a setting: the workflows of workspace/configuration, set apart by the engine.
INTERNAL = {"fedWorkflows"}


def camel(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(part.title() for part in rest)


def server_keys(cls: Any = ReviewSettings, prefix: str = "") -> set[str]:
    keys = set()
    for field in fields(cls):
        default = getattr(cls(), field.name)
        name = prefix + camel(field.name)
        keys |= server_keys(type(default), f"{name}.") if is_dataclass(default) else {name}
    return keys - INTERNAL


def contributed() -> set[str]:
    data = json.loads((EXTENSION / "package.json").read_text("utf-8"))
    return {
        key.removeprefix("tapps.") for key in data["contributes"]["configuration"]["properties"]
    }


def forwarded() -> set[str]:
    source = (EXTENSION / "src" / "settings.ts").read_text("utf-8")
    match = re.search(r"SERVER_KEYS = \[(.*?)\] as const", source, re.DOTALL)
    assert match is not None, "SERVER_KEYS not found in settings.ts"
    return set(re.findall(r"'([^']+)'", match.group(1)))


def test_the_extension_forwards_every_server_setting() -> None:
    assert forwarded() == server_keys() - NOT_FORWARDED


def test_the_extension_contributes_every_server_setting() -> None:
    assert contributed() == server_keys() | EXTENSION_ONLY


def test_the_flattening_sees_nested_settings() -> None:
    assert {"ruff.path", "mypy.engine", "cache.maxSizeMb", "engineMaxRssMb"} <= server_keys()
