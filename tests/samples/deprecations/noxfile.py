"""Nightly sessions for quillmap."""

import nightly_sessions

nightly_sessions.register()
