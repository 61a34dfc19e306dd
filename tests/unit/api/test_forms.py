"""The bracket-nested form decoder."""

from __future__ import annotations

import contextlib
from urllib.parse import urlencode

import pytest
from hypothesis import given
from hypothesis import strategies as st

from recur.api.errors import ApiError
from recur.api.forms import decode_form, decode_json


def test_nested_objects_and_indexed_arrays() -> None:
    body = urlencode(
        [
            ("items[0][price]", "price_a"),
            ("items[0][quantity]", "2"),
            ("items[1][price]", "price_b"),
            ("metadata[plan]", "gold"),
            ("expand[0]", "customer"),
            ("expand[1]", "latest_invoice"),
        ]
    )
    assert decode_form(body) == {
        "items": [{"price": "price_a", "quantity": "2"}, {"price": "price_b"}],
        "metadata": {"plan": "gold"},
        "expand": ["customer", "latest_invoice"],
    }


def test_bare_brackets_append_in_order() -> None:
    assert decode_form("expand[]=a&expand[]=b&expand[]=c") == {"expand": ["a", "b", "c"]}


def test_indexes_sort_numerically_not_lexically() -> None:
    pairs = [(f"x[{i}]", str(i)) for i in (10, 2, 1, 0)]
    assert decode_form(urlencode(pairs)) == {"x": ["0", "1", "2", "10"]}


def test_empty_values_are_kept_because_they_unset() -> None:
    assert decode_form("metadata=&description=") == {"metadata": "", "description": ""}
    assert decode_form("metadata[k]=") == {"metadata": {"k": ""}}


def test_value_and_object_under_one_name_is_an_error() -> None:
    with pytest.raises(ApiError) as excinfo:
        decode_form("address=x&address[city]=Paris")
    assert excinfo.value.status == 400
    assert excinfo.value.param == "address"


def test_same_key_twice_is_an_error() -> None:
    with pytest.raises(ApiError) as excinfo:
        decode_form("name=a&name=b")
    assert excinfo.value.param == "name"


@pytest.mark.parametrize("key", ["a[b", "a]b", "[a]", "a[b]c", "a[[b]]"])
def test_malformed_names_are_errors(key: str) -> None:
    with pytest.raises(ApiError) as excinfo:
        decode_form(urlencode([(key, "v")]))
    assert excinfo.value.status == 400


def test_mixing_indexes_and_keys_is_an_error() -> None:
    with pytest.raises(ApiError):
        decode_form("x[0]=a&x[k]=b")


def test_json_numbers_stay_exact_text() -> None:
    assert decode_json(b'{"percent_off": 12.345678901234567890, "n": 3, "b": true}') == {
        "percent_off": "12.345678901234567890",
        "n": "3",
        "b": "true",
    }


def test_json_must_be_an_object() -> None:
    with pytest.raises(ApiError):
        decode_json(b"[1, 2]")
    with pytest.raises(ApiError):
        decode_json(b"{not json")


_names = st.text(alphabet="abcdefghijklmnopqrstuvwxyz_", min_size=1, max_size=6)
_scalars = st.text(max_size=20)
_values = st.recursive(
    _scalars,
    lambda inner: (
        st.lists(inner, min_size=1, max_size=3)
        | st.dictionaries(_names, inner, min_size=1, max_size=3)
    ),
    max_leaves=6,
)


def _encode(prefix: str, value: object, out: list[tuple[str, str]]) -> None:
    if isinstance(value, dict):
        for k, v in value.items():
            _encode(f"{prefix}[{k}]", v, out)
    elif isinstance(value, list):
        for i, v in enumerate(value):
            _encode(f"{prefix}[{i}]", v, out)
    else:
        out.append((prefix, str(value)))


@given(st.dictionaries(_names, _values, max_size=4))
def test_round_trip_of_what_the_sdks_send(document: dict[str, object]) -> None:
    pairs: list[tuple[str, str]] = []
    for key, value in document.items():
        _encode(key, value, pairs)
    assert decode_form(urlencode(pairs)) == document


@given(st.binary(max_size=300))
def test_arbitrary_bytes_never_crash(body: bytes) -> None:
    with contextlib.suppress(ApiError, UnicodeDecodeError):
        decode_form(body)


@given(st.lists(st.tuples(st.text(max_size=12), st.text(max_size=5)), max_size=8))
def test_arbitrary_keys_decode_or_fail_cleanly(pairs: list[tuple[str, str]]) -> None:
    try:
        decode_form(urlencode(pairs))
    except ApiError as error:
        assert error.status == 400
