"""``contextAccounting``: how characters are turned into token estimates
(docs/design/context.md#chars-per-token-calibration).

OpenClaw always divides by 4; clawtop learns a chars-per-token ratio per model from the usage the
provider reports, and this section chooses between that, the fixed OpenClaw rule, or a number.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import PlainValidator, WithJsonSchema

from core.config.schema.base import StrictModel

__all__ = ["ContextAccountingConfig"]


def _chars_per_token(value: object) -> object:
    if value in ("calibrated", "fixed"):
        return value
    if isinstance(value, (int, float)) and not isinstance(value, bool) and 1.5 <= value <= 6.0:
        return float(value)
    raise ValueError(f'{value!r} is not valid; expected "calibrated", "fixed", or a ratio between 1.5 and 6.0')


CharsPerToken = Annotated[
    Literal["calibrated", "fixed"] | float,
    PlainValidator(_chars_per_token),
    WithJsonSchema({"anyOf": [{"enum": ["calibrated", "fixed"]}, {"type": "number", "minimum": 1.5, "maximum": 6.0}]}),
]


class ContextAccountingConfig(StrictModel):
    """Root ``contextAccounting`` section (reload kind ``hot``: next LLM call)."""

    chars_per_token: CharsPerToken = "calibrated"
    """``calibrated`` = per-model moving average of chars/token from real usage (4 until 5
    samples exist); ``fixed`` = always 4 (exact OpenClaw behaviour); a number in [1.5, 6.0] =
    that ratio for every model. Feeds pruning ratios, ``/context`` and the compaction and
    memory-flush projections. Default ``calibrated``."""
