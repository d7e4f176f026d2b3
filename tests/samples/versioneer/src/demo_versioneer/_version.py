# Replaced by versioneer's build commands with the computed version.
def get_versions():
    return {"version": "0+unknown", "full-revisionid": None, "dirty": None, "error": None}
