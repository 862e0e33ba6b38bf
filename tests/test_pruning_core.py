"""The pruner's pieces and its docs/design/pruning.md#the-pruning-algorithm algorithm: byte-exact formats, gates, order,
protection."""

from __future__ import annotations

import dataclasses

import pytest

from core.config.schema.pruning import ContextPruningConfig
from core.pruning import (
    IMAGE_REMOVED_TEXT,
    compile_tool_predicate,
    estimate_message_chars,
    estimate_text_chars,
    hard_clear_message,
    prune,
    settings_from_config,
    soft_trim_message,
)
from core.pruning.glob import glob_matches
from tests.pruning_support import EXPIRED, NOW, ON, assistant_call, tool_result, tool_session


def run(msgs, settings=ON, window=100_000, **kw):
    kw.setdefault("last_cache_touch_ms", EXPIRED)
    return prune(msgs, settings=settings, context_window_tokens=window, now_ms=NOW, **kw)


# ---- formats (docs/design/pruning.md#soft-trim, docs/design/pruning.md#hard-clear)
# ---------------------------------------------------------------------

def test_soft_trim_is_byte_exact() -> None:
    text = "H" * 2000 + "M" * 1000 + "T" * 2000
    out = soft_trim_message(tool_result("c1", text), max_chars=4000, head_chars=1500, tail_chars=1500)
    assert out is not None and out.trimmed
    expected = ("H" * 1500 + "\n...\n" + "T" * 1500 + "\n\n"
                "[Tool result trimmed: kept first 1500 chars and last 1500 chars of 5000 chars.]")
    assert out.message["content"] == [{"type": "text", "text": expected}]
    assert out.message["toolCallId"] == "c1" and out.message["toolName"] == "exec"
    assert out.message["isError"] is False


def test_soft_trim_joins_segments_and_counts_newlines_and_zero_tail() -> None:
    msg = {"role": "toolResult", "toolCallId": "c", "toolName": "t", "isError": False,
           "content": [{"type": "text", "text": "a" * 3000}, {"type": "text", "text": "b" * 3000}]}
    out = soft_trim_message(msg, max_chars=100, head_chars=10, tail_chars=0)
    assert out is not None
    assert out.message["content"][0]["text"] == (
        "a" * 10 + "\n...\n\n\n[Tool result trimmed: kept first 10 chars and last 0 chars of 6001 chars.]")


def test_soft_trim_skips_short_and_covered_results() -> None:
    assert soft_trim_message(tool_result("c", "x" * 4000), max_chars=4000, head_chars=1500, tail_chars=1500) is None
    assert soft_trim_message(tool_result("c", "x" * 5000), max_chars=10, head_chars=2500, tail_chars=2500) is None


def test_images_become_text_even_without_trim() -> None:
    out = soft_trim_message(tool_result("c", "shot", images=2), max_chars=4000, head_chars=1500, tail_chars=1500)
    assert out is not None and not out.trimmed and out.images_removed == 2
    assert out.message["content"] == [{"type": "text", "text": f"shot\n{IMAGE_REMOVED_TEXT}\n{IMAGE_REMOVED_TEXT}"}]
    assert IMAGE_REMOVED_TEXT == "[image removed during context pruning]"


def test_hard_clear_placeholder_is_byte_exact() -> None:
    cleared = hard_clear_message(tool_result("c", "x" * 10, is_error=True), ON.hard_clear_placeholder)
    assert cleared["content"] == [{"type": "text", "text": "[Old tool result content cleared]"}]
    assert cleared["isError"] is True and cleared["toolCallId"] == "c"


# ---- estimate (docs/design/pruning.md#character-estimate) and globs (docs/design/pruning.md#tool-allow-and-deny-lists)
# ---------------------------------------------------------

def test_char_estimate_rules() -> None:
    assert estimate_text_chars("abc") == 3
    assert estimate_text_chars("日本語") == 12          # +3 per CJK char
    assert estimate_text_chars("\U00020000") == 4      # Ext-B counts once (+3)
    assert estimate_text_chars("한") == 4
    assert estimate_message_chars(tool_result("c", "ab", images=1)) == 2 + 8000
    call = {"role": "assistant", "content": [{"type": "toolCall", "name": "x", "arguments": {"a": 1}},
                                             {"type": "thinking", "thinking": "hmm", "thinkingSignature": "sig"},
                                             {"type": "text", "text": {"odd": True}}, None]}
    assert estimate_message_chars(call) == len('{"a":1}') + 3 + 3 + len('{"odd":true}')
    assert estimate_message_chars(call, drop_thinking=True) == len('{"a":1}') + len('{"odd":true}')
    assert estimate_message_chars({"role": "compactionSummary", "summary": "x" * 9999}) == 256


def test_tool_globs_deny_wins_and_anchor() -> None:
    pred = compile_tool_predicate(allow=["Read*", "exec"], deny=["read_secret"])
    assert pred("read_file") and pred(" EXEC ") and not pred("read_secret") and not pred("exec2")
    assert compile_tool_predicate()("anything")
    assert not compile_tool_predicate(deny=["*"])("exec")
    assert glob_matches("a*c", "ABC") and not glob_matches("a*c", "abcd") and glob_matches("a.c", "a.c")
    assert not glob_matches("a.c", "abc")  # '.' is literal


# ---- gates (docs/design/pruning.md#the-ttl-clock, docs/design/pruning.md#the-pruning-algorithm)
# ------------------------------------------------------------------------

@pytest.mark.parametrize(("kw", "settings", "reason"), [
    ({"last_cache_touch_ms": None}, ON, "no_cache_touch"),
    ({"last_cache_touch_ms": NOW - 1000}, ON, "ttl_not_elapsed"),
    ({}, dataclasses.replace(ON, ttl_ms=0), "ttl_disabled"),
    ({}, settings_from_config(ContextPruningConfig()), "mode_off"),
    ({"eligible": False}, ON, "not_eligible"),
])
def test_ttl_and_mode_gates(kw, settings, reason) -> None:
    msgs = tool_session(10, 20_000)
    result = run(msgs, settings, **kw)
    assert result.decision.skipped and result.decision.reason == reason
    assert result.messages is msgs and not result.touch_clock
    if reason == "ttl_not_elapsed":
        assert result.decision.ms_remaining == 300_000 - 1000


def test_structural_skips() -> None:
    msgs = tool_session(10, 20_000)
    assert run(msgs, window=0).decision.reason == "no_context_window"
    assert run(msgs[:5]).decision.reason == "too_few_assistants"
    no_user = [assistant_call("a"), tool_result("a", "x" * 90_000)] * 3
    assert run(no_user).decision.reason == "no_user_message"
    small = tool_session(2, 100)
    d = run(small).decision
    assert d.reason == "below_soft_ratio" and d.ratio_before is not None and d.ratio_before < 0.3


def test_soft_only_when_below_hard_ratio() -> None:
    msgs = tool_session(10, 20_000)  # ~200k chars; window 100k tokens = 400k chars → ratio ≈ 0.5
    result = run(msgs, window=150_000)  # 600k chars: ratio ≈ 0.33 → soft only
    d = result.decision
    assert not d.skipped and d.hard_clear_gate == "below_hard_ratio"
    assert {t["action"] for t in d.touched} == {"soft_trim"}
    assert msgs[2]["content"][0]["text"].startswith("0000")  # input untouched
    assert result.messages is not msgs and result.touch_clock
    assert result.sticky["t0"] == "soft"


def test_hard_clear_oldest_first_until_below_ratio() -> None:
    s = dataclasses.replace(ON, soft_trim_max_chars=10_000_000, min_prunable_tool_chars=0)  # no soft trim
    msgs = tool_session(10, 20_000)
    d = run(msgs, s, window=60_000).decision  # 240k chars, ratio ≈ 0.84
    cleared = [t["index"] for t in d.touched if t["action"] == "hard_clear"]
    assert cleared == sorted(cleared) and cleared[0] == 2
    assert d.ratio_after < 0.5 <= d.ratio_after_soft
    # stopping as soon as below the ratio: one fewer clear would still be above it
    assert (d.chars_after + 20_000 - len("[Old tool result content cleared]")) / d.char_window >= 0.5
    assert d.kept.get("ratio_reached", 0) > 0


def test_order_soft_pass_before_hard_pass() -> None:
    s = dataclasses.replace(ON, min_prunable_tool_chars=0, hard_clear_ratio=0.3, soft_trim_ratio=0.1)
    d = run(tool_session(10, 20_000), s, window=20_000).decision
    actions = [t["action"] for t in d.touched]
    first_hard = actions.index("hard_clear")
    assert all(a == "soft_trim" for a in actions[:first_hard])
    assert all(a == "hard_clear" for a in actions[first_hard:])


def test_hard_clear_never_grows_a_result() -> None:
    """A result not longer than the placeholder is left alone: clearing a 7-char result into the
    33-char placeholder would add to the context it is meant to shrink."""
    s = dataclasses.replace(ON, soft_trim_max_chars=10_000_000, min_prunable_tool_chars=0,
                            soft_trim_ratio=0.01, hard_clear_ratio=0.01)
    msgs = tool_session(6, 20_000)
    msgs[2:2] = [assistant_call("tiny"), tool_result("tiny", "exit: 0"),
                 assistant_call("edge"), tool_result("edge", "y" * len(ON.hard_clear_placeholder))]
    result = run(msgs, s, window=60_000)
    d = result.decision
    cleared = {t["index"]: t for t in d.touched if t["action"] == "hard_clear"}
    assert 3 not in cleared and 5 not in cleared  # the 7-char and the placeholder-sized results
    assert result.messages[3]["content"][0]["text"] == "exit: 0"
    assert result.messages[5] == msgs[5]
    assert cleared and all(t["charsAfter"] < t["charsBefore"] for t in cleared.values())
    assert "tiny" not in result.sticky and "edge" not in result.sticky


def test_hard_clear_gates() -> None:
    base = tool_session(10, 20_000)
    s = dataclasses.replace(ON, soft_trim_max_chars=10_000_000)
    assert run(base, dataclasses.replace(s, hard_clear_enabled=False),
               window=60_000).decision.reason == "hard_clear_disabled"
    d = run(base, dataclasses.replace(s, min_prunable_tool_chars=10_000_000), window=60_000).decision
    assert d.reason == "below_min_prunable" and d.prunable_chars == 10 * 20_000 - 6 * 0


def test_protected_tail_and_bootstrap() -> None:
    s = dataclasses.replace(ON, keep_last_assistants=3, min_prunable_tool_chars=0)
    msgs = tool_session(4, 20_000, tail_assistants=0, bootstrap=True)
    msgs += [assistant_call("late"), tool_result("late", "L" * 20_000),
             assistant_call("z"), tool_result("z", "Z" * 20_000)]
    d = run(msgs, s, window=10_000).decision
    touched = {t["toolCallId"] for t in d.touched}
    assert "boot" not in touched  # before the first user message
    # the 3rd assistant from the end is the call of t3: t3, late, z are protected
    assert touched == {"t0", "t1", "t2"}
    assert d.kept == {"before_first_user": 1, "protected_tail": 3}


def test_keep_zero_makes_everything_prunable_and_deny_is_respected() -> None:
    s = dataclasses.replace(ON, keep_last_assistants=0, is_prunable_tool=compile_tool_predicate(deny=["read"]))
    msgs = [*tool_session(3, 20_000), assistant_call("r", "read"), tool_result("r", "R" * 20_000, "read")]
    d = run(msgs, s, window=30_000).decision
    assert "r" not in {t["toolCallId"] for t in d.touched} and d.kept["tool_denied"] == 1
    assert {"t0", "t1", "t2"} <= {t["toolCallId"] for t in d.touched}


def test_images_stripped_once_soft_ratio_met() -> None:
    msgs = tool_session(6, 20_000)
    msgs.insert(3, assistant_call("img"))
    msgs.insert(4, tool_result("img", "small", images=1))
    d = run(msgs, window=100_000).decision
    assert {"index": 4, "action": "images_stripped"}.items() <= next(t for t in d.touched if t["index"] == 4).items()


def test_sticky_decisions_replay_byte_identically() -> None:
    msgs = tool_session(10, 20_000)
    first = run(msgs, window=150_000)
    again = run(msgs, window=150_000, last_cache_touch_ms=NOW - 10, sticky=first.sticky)
    assert again.decision.skipped and again.decision.reason == "ttl_not_elapsed"
    assert list(again.messages) == list(first.messages)
    assert {t["action"] for t in again.decision.touched} == {"replayed"}


def test_require_cache_payoff_skips_a_round_that_does_not_pay() -> None:
    s = dataclasses.replace(ON, require_cache_payoff=True, cost_horizon_requests=1)
    msgs = tool_session(10, 20_000)
    from core.pruning import CacheContext
    warm = CacheContext(last_request_start_ms=NOW - 1000)
    d = run(msgs, s, window=150_000, cache=warm).decision
    assert d.reason == "cache_payoff_not_met" and d.cache_cost["verdict"] == "does_not_pay"
    assert run(msgs, s, window=150_000).decision.reason == "pruned"  # cold cache pays now
