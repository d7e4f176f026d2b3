"""Nightly wheels: the nightly version (stamped or computed, checked against the
newest release before anything compiles), the project copy it builds in, and the build.
"""
