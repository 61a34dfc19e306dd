import re

import pytest

from recur.domain.ids import new_id, new_secret, prefix_of


def test_new_id_shape() -> None:
    object_id = new_id("cus")
    assert re.fullmatch(r"cus_[0-9A-Za-z]{24}", object_id)


def test_new_ids_are_unique() -> None:
    ids = {new_id("sub") for _ in range(1000)}
    assert len(ids) == 1000


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
