"""The ``clawtop`` command line: a thin layer over ``core`` (headless) and ``tui`` (dashboard).

``core`` never imports this package; only the dashboard command imports ``tui``.
"""

__version__ = "0.1.0"
