"""Dashboard screens: the main dashboard and the help modals."""
