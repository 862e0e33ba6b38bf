"""Bounds and default of the status refresh interval, read from the config schema (``ui.refreshMs``)
so the dashboard and its help text never carry a copy that could drift."""

from __future__ import annotations

import annotated_types  # pydantic's constraint metadata, where the schema's ge/le live

from core.config.schema.ui import UiConfig

__all__ = ["REFRESH_DEFAULT_MS", "REFRESH_MAX_MS", "REFRESH_MIN_MS"]


def _schema_bounds(model: type[UiConfig], field: str) -> tuple[int, int]:
    """The ``ge``/``le`` bounds the config schema puts on an integer field."""
    low = high = None
    for constraint in model.model_fields[field].metadata:
        if isinstance(constraint, annotated_types.Ge):
            low = int(constraint.ge)  # type: ignore[call-overload]  # ge is an int for this field
        elif isinstance(constraint, annotated_types.Le):
            high = int(constraint.le)  # type: ignore[call-overload]
    if low is None or high is None:
        raise LookupError(f"{model.__name__}.{field} declares no ge/le bounds")
    return low, high


REFRESH_MIN_MS, REFRESH_MAX_MS = _schema_bounds(UiConfig, "refresh_ms")
"""Bounds of ``ui.refresh_ms``, as the config schema declares them."""

REFRESH_DEFAULT_MS: int = UiConfig.model_fields["refresh_ms"].default
"""``ui.refreshMs`` when the config does not set it."""
