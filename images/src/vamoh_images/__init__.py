"""vamoh_images: first-party vamoh plugin (work in progress)."""
