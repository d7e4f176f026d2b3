"""Tests of the stand-ins in nightly_sessions.testing: anaconda.org, GitHub, a simple index."""
