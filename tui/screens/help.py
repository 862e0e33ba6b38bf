"""Help modals: the searchable keys list (``?``) and the focused pane's help (``F1``); and
:class:`FramedModal`, the frame the retry and prune drill-downs share with them."""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from typing import ClassVar

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import DataTable, Input, Markdown, Static


@dataclasses.dataclass(frozen=True, slots=True)
class KeyRow:
    """One line of the keys list: the key(s) as displayed, what it does, and its keymap id."""

    keys: str
    description: str
    help: str
    binding_id: str
    scope: str

    def matches(self, needle: str) -> bool:
        haystack = f"{self.keys} {self.description} {self.help} {self.binding_id} {self.scope}"
        return needle.casefold() in haystack.casefold()


class FramedModal(ModalScreen[None]):
    """The frame every dashboard modal shares: one centred, bordered ``Vertical`` over the
    dimmed dashboard. Subclasses compose that ``Vertical`` and set only its size; Textual
    applies a subclass's DEFAULT_CSS after its base's, so their ``width``/``height`` win."""

    DEFAULT_CSS = """
    FramedModal {
        align: center middle;
        background: $background 60%;

        & > Vertical {
            max-width: 98%;
            height: auto;
            max-height: 90%;
            border: round $accent;
            border-title-color: $accent;
            border-title-style: bold;
            background: $surface;
            padding: 0 1;
        }
    }
    """


class _HelpModal(FramedModal):
    DEFAULT_CSS = """
    _HelpModal {
        & > Vertical { width: 116; }
        .help--hint {
            color: $text-muted;
            height: 1;
        }
    }
    """

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "dismiss_help", "Close", id="close-help"),
    ]

    def action_dismiss_help(self) -> None:
        self.dismiss(None)


class KeysScreen(_HelpModal):
    """Every binding, generated from the action registry plus whatever else is active.

    The filter box takes focus, so letters typed here search instead of firing actions.
    """

    DEFAULT_CSS = """
    KeysScreen DataTable {
        height: auto;
        max-height: 30;
    }
    """

    def __init__(self, rows: Sequence[KeyRow]) -> None:
        super().__init__()
        self.rows = list(rows)

    def compose(self) -> ComposeResult:
        with Vertical() as box:
            box.border_title = "Keys"
            yield Input(placeholder="Filter keys…", id="keys-filter")
            yield DataTable(id="keys-table", cursor_type="row", zebra_stripes=True)
            yield Static(
                "esc closes · rebind any id in ui.keymap, e.g. {\"pause\": \"space\"}",
                classes="help--hint",
                markup=False,
            )

    def on_mount(self) -> None:
        table = self.query_one(DataTable)
        table.add_columns("Key", "Action", "Keymap id", "What it does")
        self._fill("")

    @on(Input.Changed, "#keys-filter")
    def _filter(self, event: Input.Changed) -> None:
        self._fill(event.value.strip())

    @property
    def shown_rows(self) -> list[KeyRow]:
        """The rows visible under the current filter."""
        return self._matching(self.query_one("#keys-filter", Input).value.strip())

    def _matching(self, needle: str) -> list[KeyRow]:
        # One predicate for the table and for shown_rows, so what tests read is what users see.
        return [row for row in self.rows if not needle or row.matches(needle)]

    def _fill(self, needle: str) -> None:
        table = self.query_one(DataTable)
        table.clear()
        for row in self._matching(needle):
            table.add_row(row.keys, row.description, row.binding_id or "—", row.help)


class PaneHelpScreen(_HelpModal):
    """The focused pane's ``HELP`` markdown (posting's F1 help, per pane)."""

    def __init__(self, title: str, markdown: str) -> None:
        super().__init__()
        self.title_text = title
        self.markdown = markdown

    def compose(self) -> ComposeResult:
        with Vertical() as box:
            box.border_title = f"{self.title_text} help"
            yield Markdown(self.markdown)
            yield Static("esc closes", classes="help--hint")
