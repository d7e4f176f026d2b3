"""A sample project versioned by hatch-vcs."""
