"""Enum-like event fields are ``Literal`` types: the stored form stays the same plain strings,
and such events keep the telemetry store's generated (fast) row encoder."""

from __future__ import annotations

import dataclasses
import json
from typing import Literal, get_args

from core.config.schema.gateway import ReloadMode as SchemaReloadMode
from core.events import ConfigReloaded, Event, ReloadMode, register_kind
from core.retry.events import CooldownChanged, RetryOperationFinished
from core.sandbox.events import SandboxContainerRemoved, SandboxLimitHit
from core.sessions.events import SessionCacheMiss
from core.telemetry.encoding import _row_encoder_for, encode_row

Colour = Literal["red", "green"]


@register_kind
@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class EncLiteral(Event):
    kind = "test.enc_literal"
    colour: Colour
    maybe: Colour | None = None


def _generated(cls: type[Event]) -> bool:
    return _row_encoder_for(cls).__code__.co_filename.startswith("<row encoder")


def _reference(event: Event) -> str:
    return json.dumps(event.payload(), separators=(",", ":"))


def test_literal_fields_keep_the_generated_encoder_and_the_same_bytes() -> None:
    events: list[Event] = [
        EncLiteral(colour="red"), EncLiteral(colour="green", maybe="red"),
        ConfigReloaded(changed_paths=("ui.theme",), mode="hot", action="restart-skipped"),
        RetryOperationFinished(op_id="o", operation="chat.send", provider=None, outcome="cancelled", attempts=1,
                               total_ms=5),
        CooldownChanged(provider="sim", profile="p", reason="rate_limit", until_wall=1.5, level=1, lane="blocked"),
        SandboxLimitHit(name="c", limit="pids", detail="d"),
        SandboxContainerRemoved(name="c", scope_key="s", reason="max_age"),
        SessionCacheMiss(cache="store", key="k", reason="expired"),
    ]
    for event in events:
        assert _generated(type(event)), type(event).__name__
        assert encode_row(event)[3] == _reference(event)
    assert json.loads(encode_row(events[1])[3]) == {"colour": "green", "maybe": "red"}


def test_a_value_outside_the_literal_is_still_stored_as_given() -> None:
    """Typing catches typos in mypy; at run time nothing is rejected or rewritten."""
    event = EncLiteral(colour="blue")  # type: ignore[arg-type]
    assert encode_row(event)[3] == '{"colour":"blue","maybe":null}'


def test_the_reload_mode_of_the_event_is_the_schema_s() -> None:
    assert get_args(ReloadMode) == get_args(SchemaReloadMode)
