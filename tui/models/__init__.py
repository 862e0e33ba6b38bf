"""Pane state, folded from core events: one plain, Textual-free module per pane.

Each model imports the event classes it understands from ``core/<area>/events.py`` and dispatches
on their class, so a pane's data sources are one import away. Panes and screens only render what
a model holds; the models are unit-tested without a running app.
"""
