"""A sample project versioned by setuptools-scm."""
