from __future__ import annotations

import pytest

from tapps_lsp.analyzers.cache import KeyBuilder, content_hash


def _key(*parts: tuple[str, str | bytes | int | None]) -> str:
    builder = KeyBuilder()
    for label, value in parts:
        builder.add(label, value)
    return builder.digest()


def test_content_hash_is_xxh3_128_of_utf8() -> None:
    # The published xxh3_128 digest of empty input.
    assert content_hash(b"") == "99aa06d3014798d86001c324468d497f"
    assert content_hash("héllo") == content_hash("héllo".encode())
    assert len(content_hash("x")) == 32


def test_key_is_stable_across_runs() -> None:
    digest = (
        KeyBuilder()
        .add("content", "x = 1\n")
        .add("tool", "ruff")
        .add("version", 17)
        .add("config", None)
        .add_many("imports", [("b", "h2"), ("a", "h1")])
        .digest()
    )
    assert digest == "ef80caacf85bc5cdc1c5e18d908ccdf7"


@pytest.mark.parametrize(
    ("left", "right"),
    [
        ((("a", "ab"), ("b", "c")), (("a", "a"), ("b", "bc"))),
        ((("ab", "c"),), (("a", "bc"),)),
        ((("a", "b"),), (("ab", ""),)),
        ((("a", None),), (("a", ""),)),
        ((("a", 0),), (("a", "0"),)),
        ((("a", ""),), ()),
        ((("a", None),), ()),
    ],
)
def test_different_parts_never_share_a_key(
    left: tuple[tuple[str, str | int | None], ...],
    right: tuple[tuple[str, str | int | None], ...],
) -> None:
    assert _key(*left) != _key(*right)


def test_text_and_its_utf8_bytes_give_one_key() -> None:
    assert _key(("content", "héllo")) == _key(("content", "héllo".encode()))


def test_order_of_add_matters() -> None:
    assert _key(("a", "1"), ("b", "2")) != _key(("b", "2"), ("a", "1"))


def test_order_of_add_many_pairs_does_not_matter() -> None:
    pairs = [("pkg.a", "h1"), ("pkg.b", "h2"), ("pkg.c", "h3")]
    forward = KeyBuilder().add_many("imports", pairs).digest()
    backward = KeyBuilder().add_many("imports", reversed(pairs)).digest()
    assert forward == backward


def test_add_many_is_unambiguous() -> None:
    def many(*pairs: tuple[str, str]) -> str:
        return KeyBuilder().add_many("imports", pairs).digest()

    assert many(("ab", "c")) != many(("a", "bc"))
    assert many(("a", "b"), ("c", "d")) != many(("a", "bc"), ("", "d"))
    assert many() != KeyBuilder().digest()
    assert many(("a", "b")) != KeyBuilder().add("imports", "a").add("", "b").digest()


def test_every_part_changes_the_key() -> None:
    base = {
        "content": "x = 1\n",
        "tool": "mypy",
        "version": "2.4.1",
        "config": "[tool.mypy]\nstrict = true\n",
        "settings": '{"select":["E"]}',
        "formula": "1",
        "environment": "abc",
    }
    imports = [("pkg.a", "h1"), ("pkg.b", "h2")]

    def build(parts: dict[str, str], modules: list[tuple[str, str]]) -> str:
        builder = KeyBuilder()
        for label, value in parts.items():
            builder.add(label, value)
        return builder.add_many("imports", modules).digest()

    reference = build(base, imports)
    seen = {reference}
    for label, value in base.items():
        changed = build({**base, label: value + " "}, imports)
        assert changed not in seen, label
        seen.add(changed)
    assert build(base, [("pkg.a", "h1"), ("pkg.b", "h3")]) not in seen
    assert build(base, imports[:1]) not in seen


def test_digest_can_be_taken_midway() -> None:
    builder = KeyBuilder().add("a", "1")
    first = builder.digest()
    assert builder.digest() == first
    assert builder.add("b", "2").digest() != first
