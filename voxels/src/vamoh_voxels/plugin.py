"""Entry point of the vamoh_voxels plugin: its hook implementations."""
