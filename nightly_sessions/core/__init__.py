"""What every command shares and no command owns: settings, pyproject.toml, errors and
exit codes, redaction, HTTP and the simple-index client, running tools, environments and
installers, text and Markdown helpers, GitHub Actions output, and the files jobs leave
each other (report names and schema, wheels and sdists).

Nothing here imports from the families above it.
"""
