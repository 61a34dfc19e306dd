"""Decode Stripe's bracket-nested form encoding into plain dicts and lists.

`items[0][price]=p&metadata[k]=v&expand[]=customer` becomes
`{"items": [{"price": "p"}], "metadata": {"k": "v"}, "expand": ["customer"]}`.
Arrays come indexed (`x[0]`) or bare (`x[]`); values stay strings (parameter models
coerce them); an empty value is kept as "" because it means "unset" on updates.
"""

from __future__ import annotations

import json
import re
from typing import Any
from urllib.parse import parse_qsl

from recur.api.errors import invalid_param

_KEY = re.compile(r"^([^\[\]]+)((?:\[[^\[\]]*\])*)$")
_SEGMENT = re.compile(r"\[([^\[\]]*)\]")
MAX_DEPTH = 8
MAX_INDEX = 10_000

Node = dict[str, Any]


def decode_form(body: bytes | str) -> dict[str, Any]:
    """Decode an `application/x-www-form-urlencoded` body or query string."""
    text = body.decode("utf-8", errors="strict") if isinstance(body, bytes) else body
    try:
        pairs = parse_qsl(text, keep_blank_values=True, strict_parsing=False, max_num_fields=5000)
    except ValueError as exc:
        raise invalid_param(f"Invalid request body: {exc}", None) from exc
    return decode_pairs(pairs)


def decode_json(body: bytes) -> dict[str, Any]:
    """Decode a JSON object body (Recur also accepts JSON with the same structure)."""
    try:
        # Numbers stay text, exactly as written: an amount never passes through a float.
        value: Any = json.loads(body, parse_float=str, parse_int=str)
    except (ValueError, UnicodeDecodeError) as exc:
        raise invalid_param("Invalid JSON body.", None) from exc
    if not isinstance(value, dict):
        raise invalid_param("A JSON request body must be an object.", None)
    decoded: dict[str, Any] = _stringify_scalars(value)
    return decoded


def decode_pairs(pairs: list[tuple[str, str]]) -> dict[str, Any]:
    """Build the nested structure from (key, value) pairs."""
    root: Node = {}
    for raw_key, value in pairs:
        path = _split_key(raw_key)
        _assign(root, path, value, raw_key)
    return _finish(root, "")  # type: ignore[no-any-return]


def _split_key(raw_key: str) -> list[str]:
    match = _KEY.match(raw_key)
    if match is None:
        raise invalid_param(f"Invalid parameter name: {raw_key}", raw_key)
    path = [match.group(1), *_SEGMENT.findall(match.group(2))]
    if len(path) > MAX_DEPTH:
        raise invalid_param(f"Parameter nested too deeply: {raw_key}", raw_key)
    return path


class _Appended:
    """Marks `[]` segments: each occurrence appends a new element."""


def _assign(root: Node, path: list[str], value: str, raw_key: str) -> None:
    node: Any = root
    for depth, segment in enumerate(path):
        last = depth == len(path) - 1
        name = "[".join(path[: depth + 1]) if depth else path[0]
        if not isinstance(node, dict):
            raise invalid_param(f"Invalid parameter: {raw_key}", raw_key)
        key: Any = segment
        if segment == "" and depth > 0:
            # `x[]` appends; `x[][a]` appends an object per occurrence only when `a` repeats,
            # which the official SDKs never send, so each `[]` starts a new element.
            key = (_Appended, len(node))
        elif segment.isdigit() and depth > 0:
            key = int(segment)
            if key > MAX_INDEX:
                raise invalid_param(f"Array index too large: {raw_key}", raw_key)
        if last:
            if key in node:
                raise invalid_param(f"Parameter given twice: {raw_key}", raw_key)
            node[key] = value
            return
        child = node.get(key)
        if child is None:
            child = {}
            node[key] = child
        elif not isinstance(child, dict):
            raise invalid_param(f"Invalid parameter: {name} is both a value and an object", name)
        node = child


def _finish(node: Any, name: str) -> Any:
    """Turn dicts keyed by indexes into lists, recursively."""
    if not isinstance(node, dict):
        return node
    keys = list(node.keys())
    if keys and all(not isinstance(k, str) for k in keys):
        ordered = sorted(keys, key=lambda k: (1, k[1]) if isinstance(k, tuple) else (0, k))
        return [_finish(node[k], f"{name}[{i}]") for i, k in enumerate(ordered)]
    if any(not isinstance(k, str) for k in keys):
        raise invalid_param(f"Invalid parameter: {name} mixes array indexes and keys", name)
    return {k: _finish(v, f"{name}[{k}]" if name else k) for k, v in node.items()}


def _stringify_scalars(value: Any) -> Any:
    """JSON numbers and booleans become the strings the form encoding would carry."""
    if isinstance(value, dict):
        return {str(k): _stringify_scalars(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_stringify_scalars(v) for v in value]
    if isinstance(value, bool):
        return "true" if value else "false"
    if value is None:
        return ""
    return value
