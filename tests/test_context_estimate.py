"""Token estimation (docs/design/pruning.md#character-estimate, docs/design/context.md#token-estimates) and the
incremental history estimate."""

from __future__ import annotations

import time

from core.context.estimate import (
    IMAGE_CHARS,
    OTHER_ROLE_CHARS,
    estimate_message,
    estimate_text_chars,
    tokens_from_chars,
)
from core.context.history import HistoryEstimator
from core.sessions.messages import COMPACTION_SUMMARY_PREFIX, COMPACTION_SUMMARY_SUFFIX, AgentMessage
from core.sessions.model import CompactionEntry, MessageEntry, Session


def test_ascii_is_length_and_tokens_round_up() -> None:
    assert estimate_text_chars("hello") == 5
    assert tokens_from_chars(5) == 2
    assert tokens_from_chars(8) == 2
    assert tokens_from_chars(0) == 0
    assert tokens_from_chars(7, 3.5) == 2


def test_cjk_counts_four_per_char_so_one_token_each() -> None:
    assert estimate_text_chars("你好") == 8  # 2 code points + 3 extra each
    assert estimate_text_chars("안녕") == 8  # Hangul
    assert estimate_text_chars("カナ") == 8  # Katakana (U+30A0..30FF is inside U+2E80–9FFF)
    assert estimate_text_chars("a你") == 5
    assert estimate_text_chars("é") == 1  # non-CJK non-ASCII counts once
    assert estimate_text_chars("\U00020000") == 4  # Ext-B: one code point, weighted once
    assert tokens_from_chars(estimate_text_chars("你好世界")) == 4


def test_message_categories() -> None:
    user = estimate_message({"role": "user",
                             "content": [{"type": "text", "text": "abcd"}, {"type": "image", "data": "x"}]})
    assert (user.user, user.images, user.image_count, user.chars) == (4, IMAGE_CHARS, 1, 4 + IMAGE_CHARS)
    assistant = estimate_message(AgentMessage.assistant([
        {"type": "text", "text": "hi"},
        {"type": "thinking", "thinking": "hmm", "thinkingSignature": "sig"},
        {"type": "toolCall", "id": "c1", "name": "read", "arguments": {"path": "a"}},
        None,
    ]))
    assert assistant.assistant_text == 2
    assert assistant.thinking == 6
    assert assistant.tool_calls == len('{"path":"a"}')
    result = estimate_message(AgentMessage.tool_result("c1", "read", "x" * 10))
    assert (result.tool_results, result.tool_name, result.chars) == (10, "read", 10)
    summary = estimate_message({"role": "compactionSummary", "summary": "S"})
    assert summary.chars == OTHER_ROLE_CHARS  # the pruner's flat figure
    assert summary.compaction_summaries == len(COMPACTION_SUMMARY_PREFIX) + 1 + len(COMPACTION_SUMMARY_SUFFIX)
    custom = estimate_message({"role": "custom", "content": "zz"})
    assert (custom.chars, custom.other) == (OTHER_ROLE_CHARS, 2)


def test_non_serialisable_tool_args_count_128() -> None:
    est = estimate_message({"role": "assistant", "content": [{"type": "toolCall", "arguments": {"x": object()}}]})
    assert est.tool_calls == 128


def _session(n: int) -> Session:
    session = Session.new("s1")
    for i in range(n):
        if i % 2 == 0:
            session.add(MessageEntry(AgentMessage.user(f"question {i}")))
        else:
            session.add(MessageEntry(AgentMessage.assistant([{"type": "text", "text": f"answer {i}"}])))
    return session


def test_appending_one_message_estimates_only_that_message() -> None:
    session = _session(1000)
    est = HistoryEstimator()
    est.update(session.messages())
    assert est.estimated_count == 1000
    before = est.totals.chars
    session.add(MessageEntry(AgentMessage.tool_result("c", "exec", "y" * 40)))
    totals = est.update(session.messages())
    assert est.estimated_count == 1001
    assert totals.chars == before + 40
    assert totals.tool_results_by_tool == {"exec": 40}
    est.update(session.messages())
    assert est.estimated_count == 1001  # nothing new, nothing rescanned


def test_compaction_rebuilds_from_cache_without_re_estimating_kept_messages() -> None:
    session = _session(10)
    est = HistoryEstimator()
    est.update(session.messages())
    kept = session.entries[6].id
    session.add(CompactionEntry("summary", kept, 1234))
    totals = est.update(session.messages())
    assert est.estimated_count == 11  # only the new summary message
    assert totals.messages == 5
    assert totals.by_category["compaction_summaries"] > 0


def test_incremental_estimate_on_10k_session_is_fast() -> None:
    session = _session(10_000)
    messages = session.messages()
    est = HistoryEstimator()
    est.update(messages)
    samples = []
    for i in range(21):
        messages.append(AgentMessage.user(f"more {i}"))
        start = time.perf_counter()
        est.update(messages)
        samples.append(time.perf_counter() - start)
    samples.sort()
    assert samples[len(samples) // 2] < 0.005  # bench target is 1 ms; generous for CI noise
    start = time.perf_counter()
    est.append(AgentMessage.user("x"))
    assert time.perf_counter() - start < 0.005
