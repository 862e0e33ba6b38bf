"""Live tuning of the running gateway's settings (docs/design/tuning.md): what-if previews of a
change before it is written (:mod:`core.tuning.preview`)."""
