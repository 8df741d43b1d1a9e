"""Settings of the test process, and collection rules for the doctest run over ``skwass/``."""

from skwass.utils._threads import let_idle_openmp_threads_sleep

# Before any parallel kernel runs: idle OpenMP threads sleep soon in the test
# process, as in the skwass command (benchmarks/bench_threads.py; CI's cores
# are shared).
let_idle_openmp_threads_sleep()

# The CuPy backend imports CuPy at module level and is only imported once a
# CuPy array is seen (tests/test_backend.py checks that NumPy input never
# imports it); it has no doctests, so the doctest run never imports it either.
collect_ignore = ["skwass/_backend/_cupy.py"]
