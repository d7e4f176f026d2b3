"""Offline stand-ins for the outside world, for tests, the demo, and users' own checks.

- `wheelhouse`: write small but valid wheels and sdists without a build backend.
- `pypi`: a real pypiserver process on 127.0.0.1 serving a folder as a simple index.
- `simple_index`: an in-process simple index (PEP 503 HTML and PEP 691 JSON) with
  injectable latency, 5xx answers and dropped connections.
- `github`: the GitHub REST calls of the tracking issue (issues, comments, labels, runs,
  artifacts) with state, permission checks and injectable 403/422/429/5xx answers.
- `anaconda`: the anaconda.org API that anaconda-client speaks (upload, remove, reads)
  and each channel's simple index, with uploads kept in memory and faults per call.

Each server is a context manager that starts on a free loopback port and stops on exit,
so nothing is left running.
"""
