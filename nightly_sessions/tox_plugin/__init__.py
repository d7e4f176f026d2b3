"""The tox 4 front: `nightly = true` in a tox env runs the nightly steps around its commands.

tox loads `plugin` (the only module that imports tox) through the `tox` entry point;
`config` and `steps` are plain Python, so importing nightly_sessions never imports tox.
"""
