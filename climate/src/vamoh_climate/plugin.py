"""Entry point of the vamoh_climate plugin: its hook implementations."""
