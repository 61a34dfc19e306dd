import os
import re
from collections import Counter

import pytest

from recur.domain.ids import BASE62, new_id, new_secret, prefix_of


def test_new_id_shape() -> None:
    object_id = new_id("cus")
    assert re.fullmatch(r"cus_[0-9A-Za-z]{24}", object_id)


def test_new_ids_are_unique() -> None:
    ids = {new_id("sub") for _ in range(1000)}
    assert len(ids) == 1000


def test_id_characters_cover_the_alphabet_evenly() -> None:
    counts = Counter(char for _ in range(4000) for char in new_id("x")[2:])
    assert set(counts) == set(BASE62)
    # 96,000 draws over 62 characters: ~1,548 each; a biased mapping would be far off.
    assert min(counts.values()) > 1300
    assert max(counts.values()) < 1800


def test_a_forked_child_never_reuses_its_parents_characters() -> None:
    new_id("x")  # the parent's buffer now holds characters drawn for it
    read, write = os.pipe()
    child = os.fork()
    if child == 0:  # pragma: no cover (the child)
        os.write(write, new_id("x").encode())
        os._exit(0)
    os.waitpid(child, 0)
    os.close(write)
    from_child = os.read(read, 100).decode()
    os.close(read)
    assert from_child != new_id("x")


def test_new_secret_shape() -> None:
    secret = new_secret("sk_test_")
    assert re.fullmatch(r"sk_test_[0-9A-Za-z]{33}", secret)
    assert new_secret("whsec").startswith("whsec_")
    assert new_secret("sk_test_") != new_secret("sk_test_")


def test_new_secret_length_grows_with_bytes() -> None:
    assert len(new_secret("rk_live_", nbytes=32)) > len(new_secret("rk_live_", nbytes=16))


@pytest.mark.parametrize(
    ("object_id", "prefix"),
    [
        ("cus_abc", "cus"),
        ("sub_abc", "sub"),
        ("sub_sched_abc", "sub_sched"),
        ("si_abc", "si"),
        ("price_abc", "price"),
        ("clock_abc", "clock"),
        ("sk_test_abc", "sk_test"),
        (new_id("sub_sched"), "sub_sched"),
        (new_id("in"), "in"),
    ],
)
def test_prefix_of(object_id: str, prefix: str) -> None:
    assert prefix_of(object_id) == prefix


@pytest.mark.parametrize("object_id", ["abc", "_abc", ""])
def test_prefix_of_rejects_unprefixed(object_id: str) -> None:
    with pytest.raises(ValueError):
        prefix_of(object_id)
