"""Template plugin."""
