"""The agent turn: the loop, its scheduler, its context hooks and its tools."""
