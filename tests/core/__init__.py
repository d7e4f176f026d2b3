"""Tests of nightly_sessions.core: settings, errors, HTTP and the index client, tables, runner."""
