"""Array-namespace dispatch: pick the kernels that match the input arrays.

A backend is a module exposing the same small set of array-level functions
(costs, c-transforms, Sinkhorn stages, plan statistics). ``skwass.ot`` asks
:func:`get_backend` for the one that matches its inputs and never imports a
kernel itself. Only NumPy (Numba kernels) is registered for now; other array
types get a clear error instead of a silent conversion.
"""

import numpy as np

from skwass._backend import _numpy as numpy_backend


def get_backend(*arrays):
    """Return the backend module for ``arrays`` (ignoring ``None``).

    Examples
    --------
    >>> import numpy as np
    >>> from skwass._backend import get_backend
    >>> get_backend(np.zeros(3)).name
    'numpy'
    """
    for arr in arrays:
        if arr is None or isinstance(arr, (np.ndarray, list, tuple, float, int)):
            continue
        module = type(arr).__module__.split(".")[0]
        if module == "numpy":
            continue
        raise TypeError(
            f"skwass has no backend for arrays of type {type(arr).__module__}."
            f"{type(arr).__name__}; pass NumPy arrays."
        )
    return numpy_backend
