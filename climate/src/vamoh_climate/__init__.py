"""vamoh_climate: first-party vamoh plugin (work in progress)."""
