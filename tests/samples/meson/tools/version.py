"""Print the version, as numpy's gitversion.py does: BASE+git<commit date>.<hash>."""

import subprocess

BASE = "0.3.0.dev0"
line = subprocess.check_output(
    ["git", "log", "-1", "--format=%cd %h", "--date=format:%Y%m%d", "--abbrev=7"], text=True
)
date, commit = line.split()
print(f"{BASE}+git{date}.{commit}")
