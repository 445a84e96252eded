"""analyzers.baseline: GitHub's line hash on the upload action's own vectors, the
fingerprint, matching and the file."""

from __future__ import annotations

from pathlib import Path

import pytest

from tapps_lsp.analyzers.baseline import store
from tapps_lsp.analyzers.baseline.fingerprint import FileFingerprints, content_hashes
from tapps_lsp.analyzers.baseline.github_hash import line_hashes
from tapps_lsp.analyzers.baseline.matching import keys_of, match_file
from tapps_lsp.analyzers.baseline.project import Reviewed, pruned, recorded, split, status
from tapps_lsp.analyzers.findings import Finding, Severity, Source, Span

# github/codeql-action src/fingerprints.test.ts, test "hash".
GREETINGS = [
    "e9496ae3ebfced30:1",
    "fb7c023a8b9ccb3f:1",
    "ce8ba1a563dcdaca:1",
    "e20e36e16fcb0cc8:1",
    "b3edc88f2938467e:1",
    "c8e28b0b4002a3a0:1",
    "c129715d7a2bc9a3:1",
]
VECTORS = [
    ("", ["c129715d7a2bc9a3:1"]),
    (
        " a\nb\n  \t\tc\n d",
        ["271789c17abda88f:1", "54703d4cd895b18:1", "180aee12dab6264:1", "a23a3dc5e078b07b:1"],
    ),
    (
        " hello; \t\nworld!!!\n\n\n  \t\tGreetings\n End",
        [
            "8b7cf3e952e7aeb2:1",
            "b1ae1287ec4718d9:1",
            "bff680108adb0fcc:1",
            "c6805c5e1288b612:1",
            "b86d3392aea1be30:1",
            "e6ceba753e1a442:1",
        ],
    ),
    (" hello; \t\nworld!!!\n\n\n  \t\tGreetings\n End\n", GREETINGS),
    (" hello; \t\nworld!!!\r\r\r  \t\tGreetings\r End\r", GREETINGS),
    (" hello; \t\r\nworld!!!\r\n\r\n\r\n  \t\tGreetings\r\n End\r\n", GREETINGS),
    (" hello; \t\nworld!!!\r\n\n\r  \t\tGreetings\r End\r\n", GREETINGS),
    (
        "Lorem ipsum dolor sit amet.\n" * 10,
        [
            *(f"a7f2ff13bc495cf2:{n}" for n in range(1, 7)),
            "a7f2ff1481e87703:1",
            "a9cf91f7bbf1862b:1",
            "55ec222b86bcae53:1",
            "cc97dc7b1d7d8f7b:1",
            "c129715d7a2bc9a3:1",
        ],
    ),
    (
        "x = 2\nx = 1\nprint(x)\nx = 3\nprint(x)\nx = 4\nprint(x)\n",
        [
            "e54938cc54b302f1:1",
            "bb609acbe9138d60:1",
            "1131fd5871777f34:1",
            "5c482a0f8b35ea28:1",
            "54517377da7028d2:1",
            "2c644846cb18d53e:1",
            "f1b89f20de0d133:1",
            "c129715d7a2bc9a3:1",
        ],
    ),
]


@pytest.mark.parametrize(("text", "expected"), VECTORS)
def test_line_hashes_match_the_upload_action(text: str, expected: list[str]) -> None:
    assert line_hashes(text) == expected


def finding(line: int, col: int, code: str = "F401") -> Finding:
    return Finding(Source.RUFF, code, "m", Severity.WARNING, Span(line, col, line, col + 1))


def test_content_hashes_ignore_blanks_and_count_repeats() -> None:
    hashes = content_hashes("x = 1\n  x=1\ny\n")
    assert hashes[0] == hashes[1].replace(":2", ":1") and hashes[1].endswith(":2")
    assert hashes[2].endswith(":1")


def test_inserted_lines_keep_a_finding_and_a_duplicate_is_new() -> None:
    before = "import os\n\ndef f() -> None:\n    eval('1')\n"
    entries = keys_of([finding(3, 4, "S307")], FileFingerprints.of("a.py", before))
    moved = "# one\n# two\n# three\n" + before
    kept = match_file(entries, [finding(6, 4, "S307")], FileFingerprints.of("a.py", moved))
    assert (len(kept.new), len(kept.baselined), kept.stale) == (0, 1, ())
    reindented = before.replace("    eval", "        eval")
    shifted = match_file(entries, [finding(3, 8, "S307")], FileFingerprints.of("a.py", reindented))
    assert not shifted.new
    doubled = before + "    eval('1')\n"
    both = [finding(3, 4, "S307"), finding(4, 4, "S307")]
    split_up = match_file(entries, both, FileFingerprints.of("a.py", doubled))
    assert [f.span.start_line for f in split_up.new] == [4]


def test_each_entry_is_used_once_and_the_rest_is_stale() -> None:
    text = "import os, sys\n"
    prints = FileFingerprints.of("a.py", text)
    entries = keys_of([finding(0, 7), finding(0, 11)], prints)
    only_one = match_file(entries, [finding(0, 7), finding(0, 7)], prints)
    assert len(only_one.new) == 1 and len(only_one.baselined) == 1
    assert only_one.stale == (prints.key(finding(0, 11)),)


def test_the_file_is_sorted_stable_and_round_trips(tmp_path: Path) -> None:
    a = tmp_path / "a.py"
    b = tmp_path / "sub" / "b.py"
    reviewed = [
        Reviewed(b, "import os\n", [finding(0, 7)]),
        Reviewed(a, "import os, sys\n", [finding(0, 11), finding(0, 7)]),
    ]
    written = store.write(tmp_path, recorded(store.load(tmp_path), reviewed))
    text = store.baseline_path(tmp_path).read_text()
    assert text.index('"a.py"') < text.index('"sub/b.py"')
    assert store.write(tmp_path, recorded(written, reversed(reviewed))).digest == written.digest
    assert store.baseline_path(tmp_path).read_text() == text
    loaded = store.load(tmp_path)
    assert loaded.count() == 3 and loaded.digest == written.digest
    assert status(loaded, reviewed).fixed == 0
    fixed = [Reviewed(a, "import os, sys\n", [finding(0, 7)])]
    assert split(loaded, fixed[0]).stale and status(loaded, fixed).fixed == 1
    keys, dropped = pruned(loaded, fixed)
    assert dropped == 1 and len(keys) == 2


def test_a_broken_file_is_an_error(tmp_path: Path) -> None:
    assert not store.load(tmp_path).present
    store.baseline_path(tmp_path).parent.mkdir()
    store.baseline_path(tmp_path).write_text("[1]")
    with pytest.raises(store.BaselineError):
        store.load(tmp_path)
