"""mode="multiscale": grid cells and kernel truncation, against the dense solver."""

import warnings

import numpy as np
import pytest
from scipy.special import logsumexp
from sklearn.exceptions import ConvergenceWarning

from skwass._backend import numpy_backend
from skwass.ot import sinkhorn_divergence, sinkhorn_points
from skwass.ot._multiscale import Clusters, grid_cell
from skwass.ot._sinkhorn import (
    DENSE_MEMORY_LIMIT,
    _resolve_mode,
    _solve_multiscale,
    plan_cost_gradient,
)


def _centered(f, w):
    return f - f[w > 0].mean()


def _uniform(rng, n, d, shift=0.0):
    return rng.uniform(size=(n, d)) + shift


@pytest.mark.parametrize(
    "metric, eps, d", [("sqeuclidean", 1e-3, 2), ("sqeuclidean", 3e-3, 3),
                       ("sqeuclidean", 1e-3, 1), ("euclidean", 1e-2, 2),
                       ("cityblock", 1e-2, 2)],
)
def test_matches_dense_value_potentials_and_gradient(rng, metric, eps, d):
    """Cells much smaller than the clouds: most pairs of cells are left out."""
    X, Y = _uniform(rng, 900, d), _uniform(rng, 700, d)
    a = rng.uniform(0.5, 1.5, size=900)
    a[:40] = 0.0  # zero weights are legal, as in every mode
    a /= a.sum()
    b = np.full(700, 1 / 700)
    dense = sinkhorn_points(X, Y, a, b, eps=eps, metric=metric, mode="dense", tol=1e-10)
    multi, problem = _solve_multiscale(numpy_backend, X, Y, a[None], b[None], eps, metric,
                                       1e-9, 10_000, "auto", None)
    assert multi.converged and multi.marginal_error <= 1e-9
    assert multi.transport_cost == pytest.approx(dense.transport_cost, rel=1e-8)
    assert multi.value == pytest.approx(dense.value, rel=1e-8, abs=1e-12)
    scale = np.abs(dense.f).max() + eps
    np.testing.assert_allclose(_centered(multi.f, a), _centered(dense.f, a), atol=1e-8 * scale)
    np.testing.assert_allclose(_centered(multi.g, b), _centered(dense.g, b), atol=1e-8 * scale)
    # Zero-weight points get their c-transform values, as in the dense solver.
    np.testing.assert_allclose(multi.f[:40] - multi.f[40:].mean(),
                               dense.f[:40] - dense.f[40:].mean(), atol=1e-8 * scale)
    np.testing.assert_allclose(problem.cost_gradient(multi.f, multi.g),
                               plan_cost_gradient(dense, X, Y, metric), atol=1e-8)


def test_the_grid_leaves_pairs_out(rng):
    """A small eps keeps a minority of the pairs of cells (else nothing is saved)."""
    X, Y = _uniform(rng, 4000, 1), _uniform(rng, 4000, 1)
    # The kernel length sqrt(eps) is above the sparse floor (8 points per cell).
    assert grid_cell(1e-5, "sqeuclidean", np.ones(1), 4000) == pytest.approx(np.sqrt(1e-5))
    a = b = np.full((1, 4000), 1 / 4000)
    res, problem = _solve_multiscale(numpy_backend, X, Y, a, b, 1e-5, "sqeuclidean", 1e-4,
                                     10_000, "auto", None)
    assert res.converged
    n_cells = len(problem.X.weight) * len(problem.Y.weight)
    assert len(problem.blocks[1]) < 0.1 * n_cells
    assert problem.dropped <= 0.05 * 1e-4


def test_reported_error_bounds_the_full_plan(rng):
    """``marginal_error`` covers the pairs the solver never visited."""
    X, Y = _uniform(rng, 600, 2), _uniform(rng, 500, 2, shift=0.3)
    for tol in (1e-3, 1e-6):
        res = sinkhorn_points(X, Y, eps=2e-3, mode="multiscale", tol=tol)
        P = res.plan()  # every pair, computed densely from the returned potentials
        full = np.abs(P.sum(axis=1) - res.a).sum() + np.abs(P.sum(axis=0) - res.b).sum()
        assert full <= res.marginal_error * (1 + 1e-9) + 1e-15
        assert res.marginal_error <= tol


def test_block_ctransform_against_logsumexp(rng):
    """The kernel over merged runs of cells equals SciPy on the kept points."""
    from skwass._kernels._blocks import ctransform_blocks, point_ranges

    X, Y = rng.normal(size=(50, 2)), rng.normal(size=(300, 2))
    Y[200:] += 3.0
    start = np.array([0, 100, 150, 200, 300])
    # Row cluster 0 keeps target cells 0, 1 and 3; cluster 1 keeps cell 2 only.
    ptr, idx = np.array([0, 3, 4]), np.array([0, 1, 3, 2])
    ranges = point_ranges(ptr, idx, start)
    assert ranges[0].tolist() == [0, 2, 3] and ranges[1].tolist() == [0, 200, 150]
    x_cluster = (np.arange(50) >= 30).astype(np.int64)
    G = rng.normal(size=300) * 5
    log_b = np.log(rng.uniform(0.1, 1, size=300))
    F = ctransform_blocks(X, x_cluster, Y, ranges, G, log_b, 0.3, 0)
    C = ((X[:, None] - Y[None]) ** 2).sum(axis=2)
    kept = [np.r_[0:150, 200:300], np.r_[150:200]]
    for i in range(50):
        cols = kept[x_cluster[i]]
        expected = -0.3 * logsumexp(log_b[cols] + (G[cols] - C[i, cols]) / 0.3)
        assert F[i] == pytest.approx(expected, rel=1e-13, abs=1e-12)


@pytest.mark.parametrize("metric", ["sqeuclidean", "euclidean", "cityblock"])
def test_block_selection_drops_least_mass_within_budget(rng, metric):
    """Kept pairs against the bounds computed in NumPy: the dropped bounds sum to the
    reported mass, within the budget, and every kept bound exceeds every dropped one
    but for the width of a histogram bin. ``dropped_bound`` sums the same bounds."""
    from skwass._kernels._blocks import _BIN, dropped_bound, select_blocks
    from skwass._kernels._costs import METRIC_CODES

    nx, ny, d, eps, log_budget = 300, 250, 3, 0.01, np.log(5e-5)
    lo_x, lo_y = rng.uniform(size=(nx, d)), rng.uniform(size=(ny, d))
    hi_x = lo_x + rng.uniform(0, 0.1, size=(nx, d))
    hi_y = lo_y + rng.uniform(0, 0.1, size=(ny, d))
    top_x, top_y = rng.normal(size=nx) * 0.01, rng.normal(size=ny) * 0.01
    log_A, log_B = np.log(rng.dirichlet(np.ones(nx))), np.log(rng.dirichlet(np.ones(ny)))
    ptr, idx, dropped = select_blocks(lo_x, hi_x, top_x, log_A, lo_y, hi_y, top_y, log_B, eps,
                                      log_budget, METRIC_CODES[metric])
    gap = np.maximum(np.maximum(lo_y[None] - hi_x[:, None], lo_x[:, None] - hi_y[None]), 0)
    cost = (gap if metric == "cityblock" else gap**2).sum(axis=2)
    cost = np.sqrt(cost) if metric == "euclidean" else cost
    bound = log_A[:, None] + log_B[None] + (top_x[:, None] + top_y[None] - cost) / eps
    kept = np.zeros((nx, ny), dtype=bool)
    for k in range(nx):
        kept[k, idx[ptr[k]:ptr[k + 1]]] = True
    assert 0 < kept.sum() < kept.size
    assert dropped == pytest.approx(np.exp(bound[~kept]).sum(), rel=1e-12)
    assert dropped <= np.exp(log_budget)
    assert bound[kept].min() > bound[~kept].max() - _BIN
    assert dropped_bound(lo_x, hi_x, top_x, log_A, lo_y, hi_y, top_y, log_B, eps, ptr, idx,
                         METRIC_CODES[metric]) == pytest.approx(dropped, rel=1e-12)
    # Any other list: the bounds of the pairs it leaves out.
    other = rng.uniform(size=(nx, ny)) < 0.5
    ptr = np.append(0, np.cumsum(other.sum(axis=1)))
    idx = np.nonzero(other)[1]
    assert dropped_bound(lo_x, hi_x, top_x, log_A, lo_y, hi_y, top_y, log_B, eps, ptr, idx,
                         METRIC_CODES[metric]) == pytest.approx(np.exp(bound[~other]).sum(),
                                                                rel=1e-12)


def test_clusters_sort_points_and_keep_their_mass(rng):
    X = rng.uniform(size=(500, 3))
    w = rng.uniform(size=500)
    w[::7] = 0.0
    cells = Clusters(X, w, X.min(axis=0), 0.25)
    assert np.array_equal(cells.points, X[cells.order])
    assert np.array_equal(cells.unsort(cells.points), X)
    assert cells.weight.sum() == pytest.approx(w.sum())
    for k in range(len(cells.weight)):
        members = cells.points[cells.start[k]:cells.start[k + 1]]
        assert np.all(members >= cells.lo[k]) and np.all(members <= cells.hi[k])
        assert np.all(cells.hi[k] - cells.lo[k] <= 0.25)
        assert np.all(cells.cluster[cells.start[k]:cells.start[k + 1]] == k)


def test_divergence_and_its_gradient_match_dense(rng):
    X, Y = _uniform(rng, 500, 2), _uniform(rng, 400, 2, shift=0.2)
    a = np.full(500, 1 / 500)
    b = rng.uniform(size=400)
    b /= b.sum()
    value, grad_X, grad_a = sinkhorn_divergence(X, Y, a, b, eps=2e-3, return_grad=True,
                                                mode="multiscale", tol=1e-9)
    ref, ref_X, ref_a = sinkhorn_divergence(X, Y, a, b, eps=2e-3, return_grad=True,
                                            mode="dense", tol=1e-10)
    assert value == pytest.approx(ref, rel=1e-7)
    np.testing.assert_allclose(grad_X, ref_X, atol=1e-8 * np.abs(ref_X).max())
    np.testing.assert_allclose(grad_a - grad_a.mean(), ref_a - ref_a.mean(), atol=1e-8)
    primal = sinkhorn_divergence(X, Y, a, b, eps=2e-3, kind="primal", mode="multiscale")
    assert primal == pytest.approx(
        sinkhorn_divergence(X, Y, a, b, eps=2e-3, kind="primal", mode="dense"), rel=1e-7)


def test_divergence_on_clouds_with_sparse_tails(rng):
    # Gaussian clouds: where the coarse start leaves the self term's potential far
    # below its c-transform (the sparse tails), the plan of (f, f) drops whole rows.
    # The self term's first block list used to be built from it, and its
    # c-transforms were infinite there (FloatingPointError).
    X, Y = rng.standard_normal((500, 2)), rng.standard_normal((500, 2))
    value, grad_X, _ = sinkhorn_divergence(X, Y, eps=0.01, return_grad=True,
                                           mode="multiscale", tol=1e-7)
    ref, ref_X, _ = sinkhorn_divergence(X, Y, eps=0.01, return_grad=True, mode="dense",
                                        tol=1e-8)
    assert value == pytest.approx(ref, rel=1e-5)
    # An L1 error of 1e-7 lets a point of mass 1/500 be off by 5e-5 of its mass.
    np.testing.assert_allclose(grad_X, ref_X, atol=5e-5 * np.abs(ref_X).max())


def test_tight_tolerance_on_clouds_whose_kept_pairs_split():
    # At tol 1e-8 the kept pairs of these Gaussian clouds split into groups of
    # unequal mass; the solve ran 10,000 iterations on one list while the groups'
    # potentials drifted apart, and ended with an L1 error of 2.6e9. Rounds are
    # now capped, and the check between them brings back the pairs across groups.
    rng = np.random.default_rng(2)
    X, Y = rng.standard_normal((500, 2)), rng.standard_normal((500, 2))
    res = sinkhorn_points(X, Y, eps=0.01, mode="multiscale", tol=1e-8)
    ref = sinkhorn_points(X, Y, eps=0.01, mode="dense", tol=1e-8)
    assert res.converged and res.marginal_error <= 1e-8
    assert res.value == pytest.approx(ref.value, rel=1e-8)


def test_warm_start_from_potentials(rng):
    X, Y = _uniform(rng, 500, 2), _uniform(rng, 400, 2)
    cold = sinkhorn_points(X, Y, eps=1e-3, mode="multiscale", tol=1e-9)
    init = (cold.f.copy(), cold.g.copy())
    warm = sinkhorn_points(X, Y, eps=1e-3, mode="multiscale", tol=1e-9, init=init)
    assert warm.n_iter <= 2
    assert np.array_equal(init[0], cold.f)  # the caller's arrays are left alone
    assert warm.transport_cost == pytest.approx(cold.transport_cost, rel=1e-9)


def test_not_converged_warns_and_says_so(rng):
    X, Y = _uniform(rng, 500, 2), _uniform(rng, 400, 2)
    with pytest.warns(ConvergenceWarning, match="did not converge"):
        res = sinkhorn_points(X, Y, eps=1e-4, mode="multiscale", tol=1e-12, max_iter=3)
    assert not res.converged and res.marginal_error > 1e-12


def test_auto_chooses_multiscale_for_large_low_dimensional_clouds():
    n = int(np.sqrt(DENSE_MEMORY_LIMIT / 16)) + 1  # past the dense memory limit
    for d, expected in ((2, "multiscale"), (3, "multiscale"), (4, "online")):
        X = np.empty((n, d))
        assert _resolve_mode("auto", "sqeuclidean", X, X, numpy_backend) == expected
    small = np.empty((100, 2))
    assert _resolve_mode("auto", "sqeuclidean", small, small, numpy_backend) == "dense"


@pytest.mark.parametrize(
    "kwargs, match",
    [(dict(metric="hamming"), "supports metric"),
     (dict(metric=lambda x, y: 0.0), "supports metric"),
     (dict(X4=True), "at most 3 dimensions")],
)
def test_bad_input(rng, kwargs, match):
    X = rng.uniform(size=(30, 4 if kwargs.pop("X4", False) else 2))
    with pytest.raises(ValueError, match=match):
        sinkhorn_points(X, X, eps=0.1, mode="multiscale", **kwargs)
    with pytest.raises(ValueError, match="batches"):
        sinkhorn_points(np.stack([X, X]), X, eps=0.1, mode="multiscale")


def test_float32_points(rng):
    X, Y = _uniform(rng, 400, 2).astype(np.float32), _uniform(rng, 300, 2).astype(np.float32)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        res = sinkhorn_points(X, Y, eps=1e-3, mode="multiscale", tol=1e-5)
        ref = sinkhorn_points(X, Y, eps=1e-3, mode="dense", tol=1e-5)
    assert res.transport_cost == pytest.approx(ref.transport_cost, rel=1e-4)


def test_many_cells_are_solved_by_multiscale_too(rng, monkeypatch):
    """Past the dense coarse size the cells' problem recurses (coarser cells of the cells)."""
    import skwass.ot._sinkhorn as sinkhorn_module

    X, Y = _uniform(rng, 3000, 1), _uniform(rng, 2500, 1)
    dense = sinkhorn_points(X, Y, eps=1e-4, mode="dense", tol=1e-9)
    levels = []
    solve = sinkhorn_module._solve_multiscale
    monkeypatch.setattr(sinkhorn_module, "_DENSE_COARSE_SIZE", 400)
    monkeypatch.setattr(sinkhorn_module, "_solve_multiscale",
                        lambda *args, **kw: levels.append(args[1].shape[0]) or solve(*args, **kw))
    multi = sinkhorn_points(X, Y, eps=1e-4, mode="multiscale", tol=1e-9)
    assert len(levels) >= 2 and levels[1] < levels[0] / 2  # points, then cells
    assert multi.converged
    assert multi.transport_cost == pytest.approx(dense.transport_cost, rel=1e-7)
