"""Every test, and every server or CLI process a test starts, keeps the user-level cache
folder (where an untrusted workspace's results go) in a temporary folder of the run."""

from __future__ import annotations

import os

import pytest


@pytest.fixture(autouse=True, scope="session")
def user_cache_home(tmp_path_factory: pytest.TempPathFactory) -> None:
    os.environ["XDG_CACHE_HOME"] = str(tmp_path_factory.mktemp("xdg-cache"))
