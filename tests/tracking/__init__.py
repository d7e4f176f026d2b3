"""Tests of nightly_sessions.tracking: GitHub, the issue and its body, job reports, keepalive."""
