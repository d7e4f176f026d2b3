import nightly_sessions

nightly_sessions.register()
