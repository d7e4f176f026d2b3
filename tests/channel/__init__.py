"""Tests of nightly_sessions.channel: the anaconda.org API and client, upload, replace, cleanup."""
