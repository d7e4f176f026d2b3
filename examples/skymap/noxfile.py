"""Nightly sessions for skymap."""

import nightly_sessions

nightly_sessions.register()
