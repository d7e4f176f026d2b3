"""Tests of nightly_sessions.wheels: building nightly wheels, their versions, the project copy."""
