"""Tests of nightly_sessions.nightly_tests: plan, install, probe, verify, report, the run."""
