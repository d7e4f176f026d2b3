"""`python -m nightly_sessions`: the sessions' work without nox."""

from nightly_sessions.cli import main

raise SystemExit(main())
