"""One row of the Tune screen: a tunable key with its values in force, its docstring and the
input its new value is typed in (docs/design/dashboard.md#the-tune-screen)."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.containers import Vertical
from textual.widgets import Input, Static

from tui.models.tune import TuneRow

__all__ = ["TuneRowView"]


class TuneRowView(Vertical):
    """One key: path, type and values in force, the docstring (one line; all of it while the row
    has focus), the input and the schema's message for what is typed."""

    DEFAULT_CSS = """
    TuneRowView {
        height: auto;
        padding: 0 0 1 0;
        & > .tune--path { text-style: bold; color: $accent; }
        & > .tune--meta { color: $text-muted; }
        & > .tune--doc { height: 1; text-wrap: nowrap; text-overflow: ellipsis; color: $text-muted; }
        &.-focused > .tune--doc { height: auto; text-wrap: wrap; color: $foreground; }
        & > Input { margin: 0; background: $boost; }
        & > .tune--error { color: $text-error; display: none; }
        &.-invalid > .tune--error { display: block; }
        &.-edited > .tune--path { color: $text-warning; }
    }
    """

    def __init__(self, row: TuneRow, *, id: str) -> None:
        super().__init__(id=id)
        self.path = row.path
        self._row = row

    def compose(self) -> ComposeResult:
        row = self._row
        yield Static(row.path, classes="tune--path", markup=False)
        yield Static(row.meta_line(), classes="tune--meta", markup=False)
        yield Static(row.doc, classes="tune--doc", markup=False)
        yield Input(row.text, placeholder="(unset)", select_on_focus=True, compact=True)
        yield Static("", classes="tune--error", markup=False)

    def on_descendant_focus(self) -> None:
        # A class, not :focus-within: the children's styles follow a class change at once.
        self.add_class("-focused")
        # The whole row (path, meta, the docstring now in full), not just its input, comes into view.
        self.call_after_refresh(self.scroll_visible, animate=False)

    def on_descendant_blur(self) -> None:
        self.remove_class("-focused")

    def show(self, row: TuneRow) -> None:
        self._row = row
        self.query_one(".tune--meta", Static).update(row.meta_line())
        self.query_one(".tune--error", Static).update(f"✗ {row.error}" if row.error else "")
        self.set_class(row.error is not None, "-invalid")
        self.set_class(row.edited, "-edited")
        field = self.query_one(Input)
        if field.value != row.text:
            with field.prevent(Input.Changed):
                field.value = row.text
