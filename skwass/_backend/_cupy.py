"""CuPy backend: the generic log-domain solver on fused CUDA kernels.

Imported by :func:`skwass._backend.get_backend` only when it sees a CuPy
array, so CuPy (the ``gpu`` extra) is never imported otherwise. Its primitives
follow :mod:`skwass._backend._xp_sinkhorn`'s contract, which turns them into
the backend interface; their NumPy twins in :mod:`skwass._backend._reference`
are what the CPU test suite runs through the same code.
"""

import sys

try:
    import cupy
except ImportError as exc:  # pragma: no cover - only without the gpu extra
    raise ImportError(
        "CuPy arrays need CuPy: install the gpu extra, pip install 'skwass[gpu]'."
    ) from exc

from skwass._backend import _xp_sinkhorn
from skwass._kernels import _cuda

name = "cupy"
xp = cupy


def to_host(x):
    return cupy.asnumpy(x)


def prepare(C):
    """Keep ``C`` and a contiguous ``C^T``: both c-transforms then read rows."""
    return C, cupy.ascontiguousarray(C.transpose(0, 2, 1))


def lse_rows(state, G, log_b, eps):
    return _cuda.lse_rows(state[0], G, log_b, eps)


def lse_cols(state, F, log_a, eps):
    return _cuda.lse_rows(state[1], F, log_a, eps)


def statistics(state, F, G, log_a, log_b, eps):
    rows, row_cost = _cuda.plan_rows(state[0], F, log_a, G, log_b, eps)
    cols, _ = _cuda.plan_rows(state[1], G, log_b, F, log_a, eps)
    return row_cost.sum(axis=1), rows, cols


def lse_points(X, Y, G, log_b, eps, metric):
    return _cuda.lse_points(X, Y, G, log_b, eps, metric)


def plan_statistics_points(X, Y, F, G, log_a, log_b, eps, metric):
    rows, row_cost = _cuda.plan_points(X, Y, F, log_a, G, log_b, eps, metric)
    cols, _ = _cuda.plan_points(Y, X, G, log_b, F, log_a, eps, metric)
    return row_cost.sum(), rows, cols


relax = _cuda.relax


def pairwise_cost(X, Y, metric):
    """Dense cost matrix: one GEMM for sqeuclidean (as on the CPU), else pair by pair."""
    if metric == "sqeuclidean":
        sq = (X * X).sum(axis=1)[:, None] + (Y * Y).sum(axis=1)[None, :] - 2.0 * (X @ Y.T)
        return cupy.maximum(sq, 0.0, out=sq)
    return _cuda.pairwise(X, Y, metric)


(sinkhorn_stack, sinkhorn_points, sinkhorn_symmetric, sinkhorn_symmetric_points,
 ctransform_rows, plan_statistics, plan_cost_gradient_points, plan_matrix, cost_gradient,
 hamming) = _xp_sinkhorn.operations(sys.modules[__name__])
