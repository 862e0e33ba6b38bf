"""Live tuning of the config (docs/design/tuning.md): the catalogue of tunable keys derived from the schema,
proposals validated in memory, applies written back through the comment-preserving writer with a journal
that makes every tuning undoable byte for byte, and the ``config.tuned`` event. No UI here: the dashboard's
Tune screen and ``clawtop tune`` both use this package (through the gateway or directly)."""

from core.tuning.apply import apply_tuning, route_of
from core.tuning.catalogue import (
    PRUNING,
    RETRY,
    SANDBOX,
    Tunable,
    TunableValue,
    in_scope,
    list_tunables,
    retry_scope,
    tunable_at,
)
from core.tuning.events import ConfigTuned
from core.tuning.journal import FileSnapshot, TunedChange, Tuning, TuningError, version_in_force
from core.tuning.propose import Change, Proposal, changes_from, parse_value, propose
from core.tuning.undo import tuning_history, undo_tuning

__all__ = [
    "PRUNING",
    "RETRY",
    "SANDBOX",
    "Change",
    "ConfigTuned",
    "FileSnapshot",
    "Proposal",
    "Tunable",
    "TunableValue",
    "TunedChange",
    "Tuning",
    "TuningError",
    "apply_tuning",
    "changes_from",
    "in_scope",
    "list_tunables",
    "parse_value",
    "propose",
    "retry_scope",
    "route_of",
    "tunable_at",
    "tuning_history",
    "undo_tuning",
    "version_in_force",
]
