"""The nightly tests: plan which packages come from the nightly channel, install
them, prove what got installed, run pytest, and write the report.
"""
