"""Input checks shared by the public OT functions.

Every check copies or converts, never writes into what the user passed, and
raises a ``ValueError`` that names the offending parameter.
"""

import numbers

import numpy as np
from sklearn.utils._param_validation import StrOptions

from skwass._backend import get_backend

# @validate_params constraints of two weighted point clouds and their ground cost,
# shared by the public functions that take them.
POINT_CLOUD_PARAMS = {
    "X": ["array-like"],
    "Y": ["array-like"],
    "a": ["array-like", None],
    "b": ["array-like", None],
}
METRIC_PARAM = [StrOptions({"sqeuclidean", "euclidean", "cityblock", "hamming"}), callable]

_FLOAT_DTYPES = (np.float64, np.float32)


def check_float_array(x, name, *, ndim, dtype=None, allow_empty=False, column=False):
    """Return ``x`` as a C-contiguous float array of ``ndim`` dimensions.

    The array stays in its library's namespace (a CuPy array stays on the GPU;
    lists and other array-likes become NumPy arrays). Integer and boolean
    input becomes float64; float32 stays float32 unless ``dtype`` says
    otherwise. NaN and inf are refused. With ``column=True`` a 1-D array is
    read as one column (points with one feature).
    """
    xp = get_backend(x).xp
    arr = xp.asarray(x)
    if arr.dtype.kind not in "fiub":
        if arr.dtype.kind == "c":
            raise ValueError(f"{name} must be real-valued, got complex values.")
        raise ValueError(f"{name} must be a numeric array, got dtype {arr.dtype}.")
    if column and ndim == 2 and arr.ndim == 1:
        arr = arr.reshape(-1, 1)
    if arr.ndim != ndim:
        raise ValueError(f"{name} must be a {ndim}-D array, got shape {arr.shape}.")
    if not allow_empty and arr.size == 0:
        raise ValueError(f"{name} is empty (shape {arr.shape}).")
    if dtype is None:
        dtype = arr.dtype if arr.dtype in _FLOAT_DTYPES else np.float64
    arr = xp.ascontiguousarray(arr, dtype=dtype)
    if not bool(xp.isfinite(arr).all()):
        raise ValueError(f"{name} contains NaN or infinite values.")
    return arr


def check_weights(w, n, name, dtype=np.float64):
    """Validate a probability vector of length ``n``; ``None`` gives uniform.

    Weights must be finite, non-negative, not all zero and sum to 1 up to a
    relative error of 1e-6; they are then renormalized exactly. Zero weights
    are allowed.
    """
    if w is None:
        return np.full(n, 1.0 / n, dtype=dtype)
    w = check_float_array(w, name, ndim=1, dtype=dtype)
    if w.shape[0] != n:
        raise ValueError(
            f"{name} has {w.shape[0]} entries but the matching points or cost "
            f"dimension has {n}."
        )
    if np.any(w < 0):
        raise ValueError(f"{name} has negative entries.")
    total = float(w.sum(dtype=np.float64))
    if total == 0:
        raise ValueError(f"{name} sums to zero; at least one weight must be positive.")
    if abs(total - 1.0) > 1e-6:
        raise ValueError(
            f"{name} sums to {total:.8g}, not 1. Pass probability weights "
            f"(for example {name} / {name}.sum())."
        )
    return w / w.dtype.type(total)


def check_eps(eps, name="eps"):
    """Return ``eps`` as a positive finite float."""
    if isinstance(eps, bool) or not isinstance(eps, numbers.Real):
        raise ValueError(f"{name} must be a positive real number, got {eps!r}.")
    eps = float(eps)
    if not np.isfinite(eps) or eps <= 0:
        raise ValueError(f"{name} must be a positive finite number, got {eps!r}.")
    return eps


# The plan exp((f + g - C) / eps) is formed from potentials and costs held in
# float64, each rounded to about finfo.eps times the cost scale, so its entries
# carry a relative error of about finfo.eps * scale / eps. Below this ratio of
# eps to the cost scale that error exceeds 0.1%: no tolerance can be met and
# the algorithmic loss W_L is meaningless.
MIN_EPS_PER_COST = 1e3 * np.finfo(np.float64).eps


def cost_extremes(C):
    """``(max, min)`` of each cost matrix of ``C`` (its last two axes).

    Row by row, then across the rows: CuPy reduces a whole matrix to one number
    with few threads, many times slower than its row-wise reductions.
    """
    return C.max(axis=-1).max(axis=-1), C.min(axis=-1).min(axis=-1)


def largest_cost(C):
    """Largest absolute entry of each cost matrix of ``C``, with no temporary of its size."""
    top, bottom = cost_extremes(C)
    return np.maximum(top, -bottom)


def check_cost_scale(cost_scale, eps, dtype=np.float64):
    """Refuse costs that overflow, and an ``eps`` too small for their scale.

    ``cost_scale`` bounds the absolute costs (the largest entry, or the
    diameter of the point clouds); ``dtype`` is the one they are computed in.
    """
    cost_scale = float(cost_scale)
    # The costs must fit their dtype, and sums of two potentials and a cost float64.
    if not (np.isfinite(4.0 * cost_scale) and cost_scale <= float(np.finfo(dtype).max)):
        raise ValueError(
            f"The costs reach {cost_scale:.3g}: they overflow {np.dtype(dtype)} sums of "
            "potentials and costs. Rescale the points or the cost matrix."
        )
    limit = max(MIN_EPS_PER_COST * cost_scale, np.finfo(np.float64).tiny)
    if eps < limit:
        raise ValueError(
            f"eps={eps:.3g} is too small for costs up to {cost_scale:.3g}: float64 "
            f"potentials resolve the plan only for eps >= {limit:.3g} "
            f"({MIN_EPS_PER_COST:.1e} x the largest cost). Increase eps, rescale the "
            "costs, or use exact OT (skwass.ot.wasserstein)."
        )


def check_points(X, Y, name_x="X", name_y="Y"):
    """Validate two point clouds with the same number of features.

    1-D input is read as one feature. Both arrays share a float dtype: float32
    only when both are float32. They stay in their array library.
    """
    X = check_float_array(X, name_x, ndim=2, column=True)
    Y = check_float_array(Y, name_y, ndim=2, column=True)
    if X.shape[1] != Y.shape[1]:
        raise ValueError(
            f"{name_x} and {name_y} must have the same number of features, got "
            f"{X.shape[1]} and {Y.shape[1]}."
        )
    dtype = np.result_type(X.dtype, Y.dtype)
    return X.astype(dtype, copy=False), Y.astype(dtype, copy=False)
