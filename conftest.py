"""Collection rules for the doctest run over ``skwass/`` (see ``testpaths``)."""

import importlib.util

# The CuPy backend imports CuPy at module level (it is only imported once a
# CuPy array is seen); without the gpu extra there is nothing to collect.
collect_ignore = []
if importlib.util.find_spec("cupy") is None:
    collect_ignore.append("skwass/_backend/_cupy.py")
