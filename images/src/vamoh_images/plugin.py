"""Entry point of the vamoh_images plugin: its hook implementations."""
