"""A sample project versioned by versioneer."""
