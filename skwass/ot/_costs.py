"""Ground cost matrices between point clouds."""

import numpy as np
from sklearn.utils._param_validation import StrOptions, validate_params

from skwass._backend import get_backend
from skwass.ot._validation import check_float_array, check_points, largest_cost

POINT_METRICS = ("sqeuclidean", "euclidean", "cityblock")
METRICS = POINT_METRICS + ("hamming",)


def check_metric(metric):
    """Raise a ValueError naming ``metric`` unless it is known or callable."""
    if not callable(metric) and metric not in METRICS:
        raise ValueError(
            f"Unknown metric {metric!r}; use one of {METRICS} or a callable."
        )


@validate_params(
    {
        "X": ["array-like"],
        "Y": ["array-like", None],
        "metric": [StrOptions(set(METRICS)), callable],
        "normalize": [StrOptions({"mean", "median", "max"}), None],
    },
    prefer_skip_nested_validation=True,
)
def cost_matrix(X, Y=None, metric="sqeuclidean", normalize=None):
    """Pairwise ground costs ``C[i, j] = c(X[i], Y[j])``.

    Parameters
    ----------
    X : array-like of shape (n, d)
        First point cloud; a 1-D array is one feature.
    Y : array-like of shape (m, d), default=None
        Second point cloud; ``None`` means ``X``.
    metric : {"sqeuclidean", "euclidean", "cityblock", "hamming"} or callable
        ``"hamming"`` counts differing coordinates of binary (0/1) rows (SciPy's
        ``"hamming"`` is this count divided by ``d``). A callable gets the two
        2-D float arrays and must return the ``(n, m)`` cost matrix.
    normalize : {None, "mean", "median", "max"}, default=None
        Divide the matrix by this statistic of its entries, as Montavon et al.
        (2016) do with ``D = H / mean(H)``.

    Returns
    -------
    C : ndarray of shape (n, m)
        Float64, or float32 when the inputs are float32; a CuPy array for
        CuPy input.

    Examples
    --------
    >>> import numpy as np
    >>> from skwass.ot import cost_matrix
    >>> cost_matrix(np.array([[0.0, 0.0], [1.0, 1.0]]), metric="cityblock")
    array([[0., 2.],
           [2., 0.]])
    """
    backend = get_backend(X, Y)
    if Y is None:
        X = check_float_array(X, "X", ndim=2, column=True)
        Y = X
    else:
        X, Y = check_points(X, Y)
    return costs_of_points(backend, X, Y, metric, normalize)


def costs_of_points(backend, X, Y, metric, normalize=None):
    """The cost matrix of checked clouds ``X``, ``Y``, computed by ``backend``."""
    check_metric(metric)
    xp = backend.xp
    if metric == "hamming":
        for name, arr in (("X", X), ("Y", Y)):
            if not bool(xp.all((arr == 0) | (arr == 1))):
                raise ValueError(
                    f"metric='hamming' needs binary data, but {name} has entries "
                    "other than 0 and 1."
                )
        C = backend.hamming(X, Y)
    elif callable(metric):
        C = xp.asarray(metric(X, Y))
        if C.shape != (X.shape[0], Y.shape[0]):
            raise ValueError(
                f"The callable metric returned shape {C.shape}; expected "
                f"{(X.shape[0], Y.shape[0])}."
            )
        C = check_float_array(C, "metric(X, Y)", ndim=2)
    else:
        # Overflow shows as inf or nan in C, refused below with its cause.
        with np.errstate(over="ignore", invalid="ignore"):
            C = backend.pairwise_cost(X, Y, metric)
        if not bool(xp.isfinite(largest_cost(C))):
            largest = max(float(xp.abs(X).max()), float(xp.abs(Y).max()))
            raise ValueError(
                f"The {metric} costs overflow {C.dtype} (coordinates up to {largest:.3g}): "
                "rescale or center the points" + (", or pass float64 points."
                                                  if C.dtype == np.float32 else ".")
            )
    if normalize is not None:
        scale = float({"mean": xp.mean, "median": xp.median, "max": xp.max}[normalize](C))
        if not scale > 0:
            raise ValueError(
                f"Cannot normalize by the {normalize} cost: it is {scale}, not positive."
            )
        C = C / C.dtype.type(scale)
    return C
