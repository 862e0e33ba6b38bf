"""Sandbox pane: Docker sandbox containers and their resource use (sandbox capability)."""

from __future__ import annotations

from tui.panes.base import Pane


class SandboxPane(Pane):
    PANE_TITLE = "Sandbox"
    HELP_LINE = "Container usage against its limits."
    WAITING = "Waiting for the sandbox capability: no container data yet."
    HELP = """\
## Sandbox

Each sandbox container with CPU, memory and pids usage against its limits, and every
limit hit (OOM kill, pids limit, CPU throttling).

Data arrives with the sandbox capability; until then this pane only says so.
"""
