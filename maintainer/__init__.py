"""Tools for maintaining nightly-sessions itself (network, never run in CI)."""
