#!/usr/bin/env python3
"""Print the version from git tags, as projects that pair meson with setuptools-scm do.

get_version is called with a root and no distribution name, so setuptools-scm reads the
plain SETUPTOOLS_SCM_PRETEND_VERSION and not the _FOR_<NAME> one.
"""

import setuptools_scm

print(setuptools_scm.get_version(root="..", relative_to=__file__))
