"""The tracking issues on GitHub: the API client, the jobs' reports and pytest's report
log, the pure decisions (open, update, close), the issue bodies, and the keepalive call.
"""
