"""Array-namespace dispatch: pick the kernels that match the input arrays.

A backend is a module exposing the array-level functions that ``skwass.ot``
calls. :func:`get_backend` picks it from the arrays' type through a small
registry keyed by the array's top-level module:

* ``numpy``: the Numba kernels (:mod:`skwass._backend._numpy`);
* ``cupy``: the generic log-domain solver on fused CUDA kernels
  (:mod:`skwass._backend._cupy`), imported on first sight of a CuPy array, so
  CuPy is never imported otherwise.

Other array types get a clear error instead of a silent conversion.
"""

import importlib

import numpy as np

from skwass._backend import _numpy as numpy_backend

_REGISTRY = {"numpy": "skwass._backend._numpy", "cupy": "skwass._backend._cupy"}


def _array_module(arr):
    """Top-level module of ``arr``'s type (``"numpy"`` for lists and scalars)."""
    if arr is None or isinstance(arr, (np.ndarray, list, tuple, float, int)):
        return "numpy"
    return type(arr).__module__.split(".")[0]


def get_backend(*arrays):
    """Return the backend module for ``arrays`` (ignoring ``None``).

    NumPy arrays, lists and scalars go with any backend (they are moved to
    the device); two different array libraries in one call are refused.

    Examples
    --------
    >>> import numpy as np
    >>> from skwass._backend import get_backend
    >>> get_backend(np.zeros(3)).name
    'numpy'
    """
    found = "numpy"
    for arr in arrays:
        module = _array_module(arr)
        if module == "numpy":
            continue
        if module not in _REGISTRY:
            raise TypeError(
                f"skwass has no backend for arrays of type {type(arr).__module__}."
                f"{type(arr).__name__}; pass NumPy or CuPy arrays."
            )
        if found not in ("numpy", module):
            raise TypeError(f"Arrays from {found} and {module} cannot be mixed in one call.")
        found = module
    if found == "numpy":
        return numpy_backend
    return importlib.import_module(_REGISTRY[found])


def device_backend(*arrays):
    """The backend of the first array from a registered non-NumPy library, else None.

    The public functions of ``skwass.ot`` call this first: CuPy input goes to
    its backend, everything else (NumPy, lists, pandas objects, ...) keeps the
    NumPy path, which converts it with ``np.asarray`` as before.

    Examples
    --------
    >>> import numpy as np
    >>> from skwass._backend import device_backend
    >>> device_backend(np.zeros(3), [1.0], None) is None
    True
    """
    for arr in arrays:
        module = _array_module(arr)
        if module != "numpy" and module in _REGISTRY:
            return get_backend(*arrays)
    return None
