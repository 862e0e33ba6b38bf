"""The clawtop dashboard: a Textual app that runs the gateway in its own loop and shows it live.

Threading model (harlequin's rule): background work never touches widgets. One worker starts
the gateway; one worker is the dashboard's only bus subscriber and posts one
:class:`~tui.messages.EventsArrived` per batch. Handlers on this App own all UI state and pass
values down to the dashboard screen and its panes.

Launch::

    from tui.app import ClawtopApp
    ClawtopApp(Gateway(load_config(path), env=os.environ)).run()

The app talks to the core only through :class:`core.view.GatewayView`.
"""

from __future__ import annotations

import asyncio
import collections
import logging
import time
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, ClassVar

from textual import on, work
from textual.app import App
from textual.binding import BindingType
from textual.reactive import reactive
from textual.timer import Timer

from core.events import ConfigInvalid, ConfigReloaded, Event
from tui import actions
from tui.commands import DashboardCommands
from tui.messages import EventsArrived, GatewayStateChanged
from tui.panes import Pane
from tui.panes.events import EventsPane
from tui.refresh import REFRESH_DEFAULT_MS, REFRESH_MAX_MS, REFRESH_MIN_MS
from tui.screens.dashboard import DashboardScreen
from tui.screens.help import KeyRow, KeysScreen, PaneHelpScreen
from tui.screens.inject_fault import InjectFaultScreen
from tui.screenshot_dir import screenshot_directory
from tui.theme_persist import ThemeSaver
from tui.themes import APP_CSS, DEFAULT_THEME, load_themes
from tui.widgets.status import StatusInfo

if TYPE_CHECKING:
    from core.events import Subscription
    from core.view import GatewayView

log = logging.getLogger("clawtop.tui")

PAUSE_BUFFER = 50_000
"""Events held while paused; beyond this the oldest are dropped (and counted)."""

BATCH_INTERVAL = 0.05
"""Seconds the subscriber waits after posting a batch, so a flood gathers into the next one."""


def _touches_ui(event: Event) -> bool:
    return isinstance(event, ConfigReloaded) and any(
        path == "ui" or path.startswith("ui.") for path in event.changed_paths)


class ClawtopApp(App[None], inherit_bindings=False):
    """The dashboard. ``gateway`` is a :class:`core.view.GatewayView` (in process: the
    :class:`core.gateway.Gateway`).

    ``clock`` is the monotonic clock used for rates and the events' time origin (inject a fixed
    one in tests). ``start_gateway=False`` leaves starting to the caller (tests, replays).
    """

    TITLE = "clawtop"
    SUB_TITLE = "gateway dashboard"
    CSS_PATH = APP_CSS
    BINDINGS: ClassVar[list[BindingType]] = [*actions.bindings()]
    COMMANDS = App.COMMANDS | {DashboardCommands}

    paused: reactive[bool] = reactive(False, init=False)
    """Live updates frozen; events are held in a ring buffer until resumed."""

    def __init__(
        self,
        gateway: GatewayView,
        *,
        clock: Callable[[], float] = time.monotonic,
        start_gateway: bool = True,
    ) -> None:
        super().__init__()
        self.gateway = gateway
        self._clock = clock
        self._start_gateway = start_gateway
        self._origin = clock()
        self._dashboard: DashboardScreen | None = None
        self.subscription: Subscription | None = None
        """The dashboard's own bus subscriber (its drops are shown separately)."""
        self._held: collections.deque[Event] = collections.deque(maxlen=PAUSE_BUFFER)
        self.held_dropped = 0
        """Events lost because the pause buffer overflowed."""
        self._rate_sample: tuple[float, int] | None = None
        self.events_per_second = 0.0
        self._shutdown_task: asyncio.Task[None] | None = None
        self.refresh_ms = REFRESH_DEFAULT_MS
        """Status refresh interval; from ``ui.refresh_ms``, nudged live with ``+`` / ``-``."""
        self._refresh_timer: Timer | None = None
        self._theme_saver = ThemeSaver(gateway)
        self._theme_from_config = False  # while ui settings apply: not written back

    # -- set-up ---------------------------------------------------------------------------

    def get_default_screen(self) -> DashboardScreen:
        self._dashboard = DashboardScreen(self.gateway, id="dashboard")
        return self._dashboard

    @property
    def dashboard(self) -> DashboardScreen:
        assert self._dashboard is not None, "the app is not running"
        return self._dashboard

    def on_mount(self) -> None:
        themes, errors = load_themes()
        for theme in themes:
            self.register_theme(theme)
        if errors:
            self.notify("\n".join(errors), title="Theme files skipped", severity="warning",
                        markup=False)
        self._apply_ui_settings()
        # Subscribe first so nothing published from here on is missed, not even "started".
        self.subscription = self.gateway.subscribe("dashboard")

    def on_ready(self) -> None:
        # The dashboard screen is composed only now; everything that feeds it starts here.
        self.dashboard.query_one(EventsPane).origin = self._origin
        assert self.subscription is not None
        self._pump(self.subscription)
        if self._start_gateway:
            self._run_gateway()
        self._start_refresh_timer()
        self.refresh_status()

    def _apply_ui_settings(self) -> None:
        """Theme, keymap and refresh interval from ``ui`` (at start and on every ui reload)."""
        ui = self.gateway.config.ui
        wanted = ui.theme
        if wanted not in self.available_themes:
            self.notify(f"Unknown theme {wanted!r} (ui.theme); using {DEFAULT_THEME}.",
                        severity="warning", markup=False)
            wanted = DEFAULT_THEME
        if self.theme != wanted:
            self._theme_from_config = True
            try:
                self.theme = wanted
            finally:
                self._theme_from_config = False
        keymap = dict(ui.keymap)
        unknown = actions.unknown_keymap_ids(keymap)
        if unknown:
            self.notify(f"ui.keymap: unknown action id(s) {', '.join(unknown)}; see ? for ids.",
                        severity="warning", markup=False)
        self.set_keymap({k: v for k, v in keymap.items() if k not in unknown})
        refresh_ms = min(max(ui.refresh_ms, REFRESH_MIN_MS), REFRESH_MAX_MS)
        if refresh_ms != self.refresh_ms:
            self.refresh_ms = refresh_ms
            if self._refresh_timer is not None:
                self._start_refresh_timer()

    def watch_theme(self, theme: str) -> None:
        """A user's theme change (palette, code) is saved to ``ui.theme``; config's own is not."""
        if not self._theme_from_config:
            self._save_theme(theme)

    @work(group="theme-save", exit_on_error=False)
    async def _save_theme(self, theme: str) -> None:
        if self.theme != theme:
            return  # superseded by a later pick, which saves itself
        error = await self._theme_saver.save(theme)
        if error is None:
            self.notify("Theme saved to ui.theme", timeout=3)
        else:
            self.notify(error, title="Theme not saved", severity="error", markup=False)

    # -- background work: these only post messages ---------------------------------------

    @work(group="gateway", exclusive=True, exit_on_error=False)
    async def _run_gateway(self) -> None:
        try:
            await self.gateway.start()
        except Exception as exc:  # shown to the user, never a crash of the dashboard
            log.exception("gateway failed to start")
            self.post_message(GatewayStateChanged(exc))
            return
        self.post_message(GatewayStateChanged())

    @work(group="bus", exclusive=True, exit_on_error=False)
    async def _pump(self, subscription: Subscription) -> None:
        while True:
            batch = await subscription.get_batch()
            if batch:
                self.post_message(EventsArrived(batch))
                await asyncio.sleep(BATCH_INTERVAL)
            elif subscription.closed:
                return

    # -- message handlers own all UI state -------------------------------------------------

    @on(EventsArrived)
    def _on_events_arrived(self, message: EventsArrived) -> None:
        events = message.events
        if not events:
            return
        # Config notices are safety information: they are shown even while paused.
        self._announce(events)
        if any(_touches_ui(event) for event in events):
            self._apply_ui_settings()
        if self.paused:
            overflow = len(self._held) + len(events) - PAUSE_BUFFER
            if overflow > 0:
                self.held_dropped += overflow
            self._held.extend(events)
        else:
            self.dashboard.apply_events(events)
        self._update_status()

    @on(GatewayStateChanged)
    def _on_gateway_state(self, message: GatewayStateChanged) -> None:
        if message.error is not None:
            self.notify(f"{type(message.error).__name__}: {message.error}",
                        title="The gateway failed to start", severity="error", timeout=30,
                        markup=False)
        self._update_status()

    def _announce(self, events: Sequence[Event]) -> None:
        for event in events:
            if isinstance(event, ConfigInvalid):
                issues = list(event.issues)
                shown = issues[:5] + ([f"… {len(issues) - 5} more"] if len(issues) > 5 else [])
                self.notify("\n".join(shown) or "the file did not validate",
                            title="Invalid config: the old config stays in force",
                            severity="error", timeout=15, markup=False)
            elif isinstance(event, ConfigReloaded):
                changed = list(event.changed_paths)
                restart = list(event.restart_paths)
                text = ", ".join(changed[:6]) + (" …" if len(changed) > 6 else "")
                if restart:
                    text += f"\nNeeds a restart: {', '.join(restart)}"
                self.notify(text or "no effective change", title="Config reloaded",
                            severity="warning" if restart else "information", markup=False)

    def watch_paused(self, paused: bool) -> None:
        if not paused and self._held:
            held = list(self._held)
            self._held.clear()
            # Catch up in one batch: one repaint, and the Events pane merges the flood.
            self.dashboard.apply_events(held)
        self._update_status()
        self.refresh_bindings()

    # -- status ----------------------------------------------------------------------------

    def _start_refresh_timer(self) -> None:
        if self._refresh_timer is not None:
            self._refresh_timer.stop()
        self._refresh_timer = self.set_interval(
            self.refresh_ms / 1000, self.refresh_status, name="status"
        )

    def refresh_status(self) -> None:
        """Sample the bus counter for events/s and repaint the status bar if anything changed."""
        now, published = self._clock(), self.gateway.events_published
        if self._rate_sample is None:
            self._rate_sample = (now, published)
        elif now > self._rate_sample[0]:
            then, before = self._rate_sample
            self.events_per_second = (published - before) / (now - then)
            self._rate_sample = (now, published)
        self._update_status()

    def status_info(self) -> StatusInfo:
        """What the status bar should show right now."""
        gateway = self.gateway
        error = gateway.config_error
        error_text = None
        if error is not None:
            issues = error.issues
            error_text = issues[0].format() if issues else str(error).splitlines()[0]
            if issues and len(issues) > 1:
                error_text += f" (+{len(issues) - 1} more)"
        own = self.subscription.dropped if self.subscription is not None else 0
        return StatusInfo(
            config_source=gateway.config_source,
            gateway_state=gateway.state.value,
            events_per_second=self.events_per_second,
            dropped=gateway.events_dropped + self.held_dropped,
            dashboard_dropped=own + self.held_dropped,
            paused=self.paused,
            buffered=len(self._held),
            config_error=error_text,
            restart_pending=len(gateway.restart_pending),
            session_cache_hit_rate=gateway.session_cache_hit_rate,
        )

    def _update_status(self) -> None:
        status = self._dashboard.status if self._dashboard is not None else None
        if status is not None:
            status.info = self.status_info()

    # -- actions (bound in tui.actions) ------------------------------------------------------

    def action_focus_pane(self, number: int) -> None:
        """Focus pane ``number`` (1-based, display order); ignored under a modal."""
        if self.screen is not self._dashboard:
            return
        panes = self.dashboard.panes
        if 1 <= number <= len(panes):
            panes[number - 1].focus_target().focus()

    def action_toggle_pause(self) -> None:
        self.paused = not self.paused

    def action_change_refresh(self, delta_ms: int) -> None:
        refresh_ms = min(max(self.refresh_ms + delta_ms, REFRESH_MIN_MS), REFRESH_MAX_MS)
        if refresh_ms != self.refresh_ms:
            self.refresh_ms = refresh_ms
            self._start_refresh_timer()
        self.notify(f"Status refresh every {self.refresh_ms} ms", timeout=2)

    def action_show_keys(self) -> None:
        if not isinstance(self.screen, KeysScreen):
            self.push_screen(KeysScreen(self.key_rows()))

    def action_inject_fault(self) -> None:
        if not isinstance(self.screen, InjectFaultScreen):
            self.push_screen(InjectFaultScreen(self.gateway.inject_fault))

    def deliver_screenshot(self, filename: str | None = None, path: str | None = None,
                           time_format: str | None = None) -> str | None:
        """The palette's Screenshot, into a folder that exists (Textual's toast says where)."""
        return super().deliver_screenshot(filename, path or str(screenshot_directory()), time_format)

    def action_pane_help(self) -> None:
        pane = self.focused_pane()
        if pane is not None and self.screen is self._dashboard:
            self.push_screen(PaneHelpScreen(pane.PANE_TITLE, pane.HELP))

    async def action_quit(self) -> None:
        await self.shutdown_gateway()
        self.exit()

    async def on_unmount(self) -> None:
        # Any other exit path (ctrl+c in a terminal, a test ending) still flushes the store.
        await self.shutdown_gateway()

    async def shutdown_gateway(self) -> None:
        """Stop the gateway once (it flushes the event store) and drop the subscription."""
        if self._shutdown_task is None:
            self._shutdown_task = asyncio.ensure_future(self._shutdown_gateway())
        await asyncio.shield(self._shutdown_task)

    async def _shutdown_gateway(self) -> None:
        try:
            await self.gateway.stop()
        except Exception:
            log.exception("gateway failed to stop cleanly")
        if self.subscription is not None:
            self.subscription.close()

    # -- helpers ---------------------------------------------------------------------------

    def focused_pane(self) -> Pane | None:
        """The pane holding focus (the pane itself or a widget inside it)."""
        node = self.focused
        while node is not None and not isinstance(node, Pane):
            node = node.parent  # type: ignore[assignment]
        return node

    def key_rows(self) -> list[KeyRow]:
        """Rows for the keys screen: every registry action with its live key(s), then every
        other active binding (screen and focused-widget keys) so the list is complete."""
        active = self.dashboard.active_bindings
        by_id: dict[str, list[str]] = collections.defaultdict(list)
        others: list[KeyRow] = []
        registry = actions.by_id()
        pane_listed = {spec.id for spec in actions.CHAT_ACTIONS}
        for active_binding in active.values():
            binding = active_binding.binding
            if binding.id in pane_listed:
                continue
            if binding.id in registry:
                by_id[binding.id].append(self.get_key_display(binding))
            else:
                others.append(KeyRow(
                    keys=self.get_key_display(binding),
                    description=binding.description or binding.action,
                    help=binding.tooltip
                    or f"{binding.description or binding.action} (built into Textual).",
                    binding_id=binding.id or "",
                    scope=type(active_binding.node).__name__,
                ))
        rows = [
            KeyRow(
                keys=", ".join(by_id.get(spec.id) or [self.get_key_display(spec.binding())]),
                description=spec.description,
                help=spec.help,
                binding_id=spec.id,
                scope="dashboard",
            )
            for spec in actions.ACTIONS
        ]
        tune = [
            KeyRow(keys=self.get_key_display(spec.binding()), description=spec.description, help=spec.help,
                   binding_id=spec.id, scope="tune screen")
            for spec in actions.TUNE_ACTIONS
        ]
        # Both chat keys are on escape (one enabled at a time), so the active bindings, keyed by
        # key, would hold one of them at most: list them from the registry.
        chat = [
            KeyRow(keys=self.get_key_display(spec.binding()), description=spec.description, help=spec.help,
                   binding_id=spec.id, scope="chat pane")
            for spec in actions.CHAT_ACTIONS
        ]
        return rows + chat + tune + others
