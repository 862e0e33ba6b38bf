"""Small dashboard widgets shared by screens (status bar)."""
