"""Array backends: the operations ``skwass.ot`` needs, for each array library.

A backend is a plain module; every backend exposes the same operations under
the same names, and metrics are the same strings everywhere:

``name``, ``xp``, ``to_host(x)``
    Its name, its array namespace, and a NumPy copy of an array.
``sinkhorn_stack(C, log_a, log_b, eps, F, G, tol, max_iter, statistics)``
    One eps stage on each problem of a ``(B, n, m)`` cost stack: ``(n_iter,
    F, G, stats)``; ``eps`` is a host ``(B,)`` array (``nan``: problem left
    alone). With ``statistics`` ``F`` ends as the exact row c-transform of
    ``G`` and ``stats`` is ``(<P, C>, column sums)`` when the solver got them
    for free, else None.
``sinkhorn_points(X, Y, log_a, log_b, eps, F, G, tol, max_iter, metric)``
    One eps stage on one problem with costs computed from the points (the
    public ``mode="online"``): ``(n_iter, F, G)``, ``F`` exact.
``sinkhorn_symmetric(C, log_a, eps, F, tol, max_iter)``,
``sinkhorn_symmetric_points(X, log_a, eps, F, tol, max_iter, metric)``
    ``OT(a, a)`` by the averaged update: ``(n_iter, F)``.
``ctransform_rows(C, G, log_b, eps)``, ``plan_statistics(C, F, G, log_a, log_b, eps)``
    On a stack: exact rows, and ``(<P, C>, row sums, column sums)``.
``plan_statistics_points(X, Y, F, G, log_a, log_b, eps, metric)``
    The same for one problem, costs from the points.
``plan_matrix(C, F, G, log_a, log_b, eps)``
    The dense plan (2-D, or a stack with ``eps`` of shape ``(B,)``).
``cost_gradient(G, X, Y, metric)``, ``plan_cost_gradient_points(X, Y, F, G, log_a, log_b,
eps, metric)``
    ``sum_j G_ij grad_x c(x_i, y_j)``, for a given ``G`` or for the plan of
    ``(F, G)`` with costs from the points.
``pairwise_cost(X, Y, metric)``, ``hamming(X, Y)``
    Dense cost matrices.

:func:`get_backend` picks the module from the arrays' type through a small
registry keyed by the array's top-level module:

* ``numpy`` (and anything else ``np.asarray`` converts): the Numba kernels
  (:mod:`skwass._backend._numpy`);
* ``cupy``: the array-namespace solver on fused CUDA kernels
  (:mod:`skwass._backend._cupy`), imported on first sight of a CuPy array, so
  CuPy is never imported otherwise.
"""

import importlib

import numpy as np

from skwass._backend import _numpy as numpy_backend

_REGISTRY = {"cupy": "skwass._backend._cupy"}


def _array_module(arr):
    """Top-level module of ``arr``'s type (``"numpy"`` for lists and scalars)."""
    if arr is None or isinstance(arr, (np.ndarray, list, tuple, float, int)):
        return "numpy"
    return type(arr).__module__.split(".")[0]


def get_backend(*arrays):
    """Return the backend module for ``arrays`` (ignoring ``None``).

    Arrays of a registered library (CuPy) choose its backend; everything else
    (NumPy arrays, lists, scalars, pandas objects, ...) goes with it, to be
    converted, and alone gets the NumPy backend. Two registered libraries in
    one call are refused.

    Examples
    --------
    >>> import numpy as np
    >>> from skwass._backend import get_backend
    >>> get_backend(np.zeros(3), [1.0], None).name
    'numpy'
    """
    found = None
    for arr in arrays:
        module = _array_module(arr)
        if module not in _REGISTRY:
            continue
        if found not in (None, module):
            raise TypeError(f"Arrays from {found} and {module} cannot be mixed in one call.")
        found = module
    if found is None:
        return numpy_backend
    return importlib.import_module(_REGISTRY[found])
