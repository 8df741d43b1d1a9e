"""Collection rules for the doctest run over ``skwass/`` (see ``testpaths``)."""

# The CuPy backend imports CuPy at module level and is only imported once a
# CuPy array is seen (tests/test_backend.py checks that NumPy input never
# imports it); it has no doctests, so the doctest run never imports it either.
collect_ignore = ["skwass/_backend/_cupy.py"]
