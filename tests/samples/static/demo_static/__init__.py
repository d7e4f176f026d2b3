"""A sample project with a static version."""
