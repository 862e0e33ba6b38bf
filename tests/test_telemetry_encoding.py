"""The generated row encoders must write exactly what json.dumps(payload()) would."""

from __future__ import annotations

import dataclasses
import json
import math
from pathlib import Path
from typing import Any, Optional

import pytest

from core.events import Event, event_kinds, register_kind
from core.events.kinds import ConfigInvalid, ConfigReloaded, GatewayStarted, LogMessage
from core.telemetry.encoding import encode_json, encode_row, encode_rows


def reference(event: Event) -> tuple[float, float, str, str]:
    return (event.wall, event.mono, event.kind, json.dumps(event.payload(), separators=(",", ":")))


class Shout(str):
    """A str subclass: must not take the exact-type fast path, and must still encode the same."""


@register_kind
@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class EncAllTypes(Event):
    kind = "test.enc_all_types"
    s: str = "a"
    i: int = 1
    f: float = 1.5
    b: bool = False
    maybe_s: str | None = None
    maybe_f: Optional[float] = None  # noqa: UP045 - the typing spelling must work too
    many: tuple[str, ...] = ()
    nums: list[int] = dataclasses.field(default_factory=list)


@register_kind
@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class EncWithDict(Event):
    """A dict field: Event._jsonable stringifies keys with str(), json would not."""

    kind = "test.enc_with_dict"
    attrs: dict[Any, Any]


@register_kind
@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class EncRedacted(Event):
    """Overrides payload(): the store must persist what payload() says, not the raw fields."""

    kind = "test.enc_redacted"
    user: str
    api_key: str

    def payload(self) -> dict[str, Any]:
        return {"user": self.user, "api_key": "__REDACTED__"}


@register_kind
@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class EncEmpty(Event):
    kind = "test.enc_empty"


@register_kind
@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class EncCustomType(Event):
    kind = "test.enc_custom_type"
    where: Path


EDGE_EVENTS: list[Event] = [
    EncAllTypes(),
    EncAllTypes(s="ünïcødé \u2028 \"q\" \\ \n\t\x00", i=-(2**70), f=-0.0, b=True),
    EncAllTypes(f=1e300, maybe_s="x", maybe_f=2.5, many=("a", "b"), nums=[1, 2, 3]),
    EncAllTypes(f=math.nan),  # json writes NaN; float repr would write nan
    EncAllTypes(f=math.inf, maybe_f=-math.inf),
    EncAllTypes(i=True, f=3),  # type: ignore[arg-type]  # wrong types still encode like json
    EncAllTypes(s=Shout("loud"), b=1),  # type: ignore[arg-type]
    EncAllTypes(s=Path("/x"), many=("a", 1, None, Path("p"), ("n",))),  # type: ignore[arg-type]
    EncAllTypes(maybe_s=7),  # type: ignore[arg-type]
    EncWithDict(attrs={"a": 1, 2: [3], True: None}),
    EncRedacted(user="ann", api_key="sk-secret"),
    EncEmpty(),
    EncCustomType(where=Path("/var/lib/clawtop")),
    LogMessage(level="info", message="plain"),
    ConfigReloaded(changed_paths=("a.b",), hot_paths=("a.b",)),
    ConfigInvalid(path="x.json5", issues=("bad", "worse")),
    GatewayStarted(config_source="/etc/clawtop.json5", state_dir="/var/lib"),
]


@pytest.mark.parametrize("event", EDGE_EVENTS, ids=lambda e: f"{e.kind}")
def test_row_matches_json_dumps_of_payload(event: Event) -> None:
    assert encode_row(event) == reference(event)
    assert encode_rows([event, event]) == [reference(event), reference(event)]


def test_every_registered_kind_with_default_like_values() -> None:
    """Catches a kind someone adds later with a field type the generator mishandles."""
    samples = {str: "s", int: 3, float: 0.25, bool: True}
    checked = 0
    for cls in event_kinds().values():
        values: dict[str, Any] = {}
        for field in dataclasses.fields(cls):
            if field.name in ("mono", "wall") or field.default is not dataclasses.MISSING:
                continue
            if field.default_factory is not dataclasses.MISSING:
                continue
            annotation = str(field.type)
            values[field.name] = next(
                (v for t, v in samples.items() if annotation == t.__name__), ("x", "y")
            )
        try:
            event = cls(**values)
        except TypeError:
            continue  # a kind whose required fields we cannot guess; covered by its own tests
        assert encode_row(event) == reference(event), cls
        checked += 1
    assert checked >= 5


def test_redacting_payload_override_is_respected() -> None:
    row = encode_row(EncRedacted(user="ann", api_key="sk-secret"))
    assert "sk-secret" not in row[3]


def test_dict_field_uses_payload_semantics() -> None:
    row = encode_row(EncWithDict(attrs={True: 1}))
    assert json.loads(row[3]) == {"attrs": {"True": 1}}


def test_unencodable_payload_does_not_break_the_batch() -> None:
    cyclic: list[Any] = []
    cyclic.append(cyclic)
    bad = EncAllTypes(many=cyclic)  # type: ignore[arg-type]
    good = LogMessage(level="info", message="after")
    rows = encode_rows([bad, good])
    assert len(rows) == 2
    assert rows[0][:3] == (bad.wall, bad.mono, "test.enc_all_types")
    json.loads(rows[0][3])  # still valid JSON
    assert rows[1] == reference(good)


def test_encode_json_matches_dumps() -> None:
    value = {"a": [1, 2.5, None, True, "é"], "b": {"c": math.nan}}
    assert encode_json(value) == json.dumps(value, separators=(",", ":"))


def test_plain_kinds_get_a_generated_encoder_and_others_do_not() -> None:
    """The speed of ingest rests on this (see docs/performance.md); correctness on the rest."""
    from core.telemetry.encoding import _row_encoder_for

    def generated(cls: type[Event]) -> bool:
        return _row_encoder_for(cls).__code__.co_filename.startswith("<row encoder")

    assert generated(LogMessage)
    assert generated(EncAllTypes)
    assert generated(ConfigReloaded)
    assert not generated(EncWithDict)
    assert not generated(EncRedacted)
    assert not generated(EncCustomType)


def test_an_unregistered_subclass_is_flagged(caplog: pytest.LogCaptureFixture) -> None:
    @dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
    class Forgotten(LogMessage):
        extra: str = "lost"

    event = Forgotten(level="info", message="m")
    row = encode_row(event)
    assert row == reference(event)
    assert row[2] == "log" and "lost" not in row[3]  # what payload() gives: the parent's fields
    assert "Forgotten is not registered" in caplog.text
