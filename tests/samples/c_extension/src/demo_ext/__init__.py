"""A sample project with a C extension."""
