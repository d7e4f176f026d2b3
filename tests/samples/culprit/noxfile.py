"""Nightly sessions for starmap."""

import nightly_sessions

nightly_sessions.register()
