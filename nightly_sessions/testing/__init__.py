"""Offline stand-ins for the outside world, for tests, the demo, and users' own checks.

- `wheelhouse`: write small but valid wheels and sdists without a build backend.
- `pypi`: a real pypiserver process on 127.0.0.1 serving a folder as a simple index.

Each server is a context manager that starts on a free loopback port and stops on exit,
so nothing is left running.
"""
