"""vamoh_voxels: first-party vamoh plugin (work in progress)."""
