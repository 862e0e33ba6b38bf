"""Sessions: OpenClaw-format JSONL transcripts, the ``sessions.json`` index and their caches.

``model`` is the in-memory representation (see its docstring for the API); ``transcript`` reads
and durably appends files; ``store`` manages the per-agent directory; ``cache`` holds the
session-manager and session-store caches of docs/design/sessions.md#session-caches; ``locks``
the index lock file and the per-key turn lock (docs/design/sessions.md#locking); ``repair``
rebuilds the index from the transcripts (docs/design/sessions.md#repair).
"""
