"""Re-export of bench/corpus.py for tests, loaded by path (bench/ is not a package).

Usage: ``from tests.corpus_rich import prepare_rich`` then
``corpus = prepare_rich(tmp_dir, Path(sys.executable))``; see bench/corpus.py.
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

_PATH = Path(__file__).resolve().parent.parent / "bench" / "corpus.py"
_NAME = "_tapps_bench_corpus"


def _load() -> ModuleType:
    if _NAME in sys.modules:
        return sys.modules[_NAME]
    spec = importlib.util.spec_from_file_location(_NAME, _PATH)
    if spec is None or spec.loader is None:
        raise ImportError(f"cannot load {_PATH}")
    module = importlib.util.module_from_spec(spec)
    sys.modules[_NAME] = module  # dataclasses look their module up while the class is built
    spec.loader.exec_module(module)
    return module


_corpus = _load()
Corpus = _corpus.Corpus
prepare_rich = _corpus.prepare_rich
select_files = _corpus.select_files
working_copy = _corpus.working_copy
DEFAULT_FILE_COUNT: int = _corpus.DEFAULT_FILE_COUNT

__all__ = ["DEFAULT_FILE_COUNT", "Corpus", "prepare_rich", "select_files", "working_copy"]
