"""The anaconda.org channel: its API, the upload token, the anaconda-client driver,
uploads (with `--replace`'s safety net) and the cleanup of old nightlies.
"""
