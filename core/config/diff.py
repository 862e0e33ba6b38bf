"""Which dot-paths differ between two config documents (docs/design/config.md#hot-reload).

Objects are compared key by key; arrays are compared structurally as a whole (one changed item
reports the array's path, as OpenClaw does) because the reload plan keys on sections, not items.
Booleans never equal numbers here (``True == 1`` in Python, but not in a config).
"""

from __future__ import annotations

import math
from typing import Any

from pydantic import BaseModel

ROOT = "<root>"


def same(a: Any, b: Any) -> bool:
    """Structural equality where types matter (``1 != True``) but ``5 == 5.0`` (same number)."""
    if isinstance(a, bool) or isinstance(b, bool):
        return type(a) is type(b) and a == b
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(same(a[k], b[k]) for k in a)
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b, strict=True))
    if isinstance(a, float) and isinstance(b, float) and math.isnan(a) and math.isnan(b):
        return True
    if isinstance(a, (dict, list)) or isinstance(b, (dict, list)):
        return False
    numbers = isinstance(a, (int, float)) and isinstance(b, (int, float))
    return bool(a == b) and (type(a) is type(b) or numbers)


def changed_paths(old: dict[str, Any], new: dict[str, Any]) -> list[str]:
    """Dot-paths whose value differs; an added or removed key reports the key's own path."""
    out: list[str] = []
    _walk(old, new, "", out)
    return out


def _walk(old: Any, new: Any, prefix: str, out: list[str]) -> None:
    if isinstance(old, dict) and isinstance(new, dict):
        for key in dict.fromkeys([*old, *new]):
            path = f"{prefix}.{key}" if prefix else str(key)
            if key not in old or key not in new:
                out.append(path)
            else:
                _walk(old[key], new[key], path, out)
        return
    if not same(old, new):
        out.append(prefix or ROOT)


def config_changed_paths(old: BaseModel, new: BaseModel) -> list[str]:
    """Changed paths between two validated configs, defaults materialised on both sides.

    Diffing the validated models (not the raw files) means writing a default explicitly, or
    moving a key into an include, is not a change.
    """
    return changed_paths(
        old.model_dump(mode="json", by_alias=True), new.model_dump(mode="json", by_alias=True)
    )
