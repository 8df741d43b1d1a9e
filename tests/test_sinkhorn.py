import warnings

import numpy as np
import ot
import pytest
from _problems import gauge, random_problem
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn.exceptions import ConvergenceWarning

from skwass.ot import centered_potential, cost_matrix, sinkhorn, sinkhorn_points


def pot_log_reference(a, b, C, eps):
    """POT's log-domain Sinkhorn, converged tightly: plan and gauge-fixed potentials."""
    P, log = ot.sinkhorn(
        a, b, C, eps, method="sinkhorn_log", stopThr=1e-15, numItermax=200_000, log=True
    )
    f = eps * (log["log_u"] - np.log(a))
    g = eps * (log["log_v"] - np.log(b))
    return P, f, g


@pytest.mark.parametrize("shape", [(1, 7), (20, 20), (50, 30), (17, 80)])
@pytest.mark.parametrize("metric", ["sqeuclidean", "euclidean", "cityblock"])
@pytest.mark.parametrize("eps_rel", [0.5, 0.05])
def test_matches_pot_log_domain(rng, shape, metric, eps_rel):
    X, Y, a, b = random_problem(rng, *shape, d=3)
    C = cost_matrix(X, Y, metric=metric)
    eps = eps_rel * C.mean()
    res = sinkhorn(a, b, C, eps, tol=1e-13, max_iter=200_000)
    P_ref, f_ref, g_ref = pot_log_reference(a, b, C, eps)
    P = res.plan()
    assert res.converged
    np.testing.assert_allclose(P, P_ref, rtol=0, atol=1e-7 * P_ref.max())
    f, g = gauge(res.f, res.g, a)
    f_ref, g_ref = gauge(f_ref, g_ref, a)
    scale = max(np.abs(f_ref).max(), np.abs(g_ref).max())
    np.testing.assert_allclose(f, f_ref, rtol=0, atol=1e-7 * scale)
    np.testing.assert_allclose(g, g_ref, rtol=0, atol=1e-7 * scale)
    cost_ref = ot.sinkhorn2(a, b, C, eps, method="sinkhorn_log", stopThr=1e-15,
                            numItermax=200_000)
    assert res.transport_cost == pytest.approx(float(cost_ref), rel=1e-7)


def test_value_is_the_entropic_objective(rng):
    X, Y, a, b = random_problem(rng, 15, 25)
    C = cost_matrix(X, Y)
    eps = 0.3
    res = sinkhorn(a, b, C, eps, tol=1e-13)
    P, _, _ = pot_log_reference(a, b, C, eps)
    kl = np.sum(P * np.log(P / np.outer(a, b)))
    assert res.value == pytest.approx(np.sum(P * C) + eps * kl, rel=1e-9)
    assert res.transport_cost == pytest.approx(np.sum(P * C), rel=1e-9)


def test_float32_agrees_with_pot(rng):
    X, Y, a, b = random_problem(rng, 40, 30, dtype=np.float32)
    C = cost_matrix(X, Y)
    assert C.dtype == np.float32
    res = sinkhorn(a, b, C, 0.1 * float(C.mean()))
    P_ref, _, _ = pot_log_reference(a, b, C.astype(np.float64), 0.1 * float(C.mean()))
    assert res.converged
    np.testing.assert_allclose(res.plan(), P_ref, rtol=0, atol=1e-4 * P_ref.max())


@pytest.mark.parametrize("dtype, rtol", [(np.float64, 1e-7), (np.float32, 1e-4)])
def test_parallel_row_blocks_agree_with_pot(rng, dtype, rtol):
    # 301 x 263 > 2**16 entries: the dense solver splits the rows between
    # threads and walks them in blocks of 8 with a ragged last block.
    X, Y, a, b = random_problem(rng, 301, 263, d=3, dtype=dtype)
    C = cost_matrix(X, Y)
    eps = 0.1 * float(C.mean())
    res = sinkhorn(a, b, C, eps, tol=1e-12 if dtype == np.float64 else 1e-5)
    P_ref, _, _ = pot_log_reference(a, b, C.astype(np.float64), eps)
    assert res.converged and res.n_iter > 10
    np.testing.assert_allclose(res.plan(), P_ref, rtol=0, atol=rtol * P_ref.max())
    assert res.transport_cost == pytest.approx(float(np.sum(P_ref * C)), rel=rtol)


def test_marginals_and_diagnostics(rng):
    X, Y, a, b = random_problem(rng, 30, 40)
    res = sinkhorn(a, b, cost_matrix(X, Y), 0.05, tol=1e-10)
    P = res.plan()
    error = np.abs(P.sum(1) - a).sum() + np.abs(P.sum(0) - b).sum()
    assert res.converged and res.n_iter > 0
    assert res.marginal_error == pytest.approx(error, abs=1e-12)
    assert error <= 1e-10


def test_zero_weights_match_solving_on_the_support(rng):
    X, Y, a, b = random_problem(rng, 12, 10)
    a[[0, 5]] = 0.0
    b[3] = 0.0
    a, b = a / a.sum(), b / b.sum()
    C = cost_matrix(X, Y)
    res = sinkhorn(a, b, C, 0.2, tol=1e-13)
    keep_a, keep_b = a > 0, b > 0
    sub = sinkhorn(a[keep_a], b[keep_b], C[np.ix_(keep_a, keep_b)], 0.2, tol=1e-13)
    P = res.plan()
    np.testing.assert_allclose(P[np.ix_(keep_a, keep_b)], sub.plan(), atol=1e-12)
    assert np.all(P[~keep_a] == 0) and np.all(P[:, ~keep_b] == 0)
    assert np.all(np.isfinite(res.f)) and np.all(np.isfinite(res.g))
    # A zero-weight point's potential is the c-transform of the other side.
    i = 0
    expected = -0.2 * np.log(np.sum(b * np.exp((res.g - C[i]) / 0.2)))
    assert res.f[i] == pytest.approx(expected, rel=1e-10)


def test_small_eps_is_stable_where_pot_fails(rng):
    X, Y, _, _ = random_problem(rng, 1000, 1000, weights=False)
    C = cost_matrix(X, Y)
    eps = 1e-4 * np.median(C)
    res = sinkhorn(None, None, C, eps, tol=1e-5, max_iter=200_000)
    assert res.converged
    assert np.all(np.isfinite(res.f)) and np.all(np.isfinite(res.g))
    assert np.isfinite(res.transport_cost) and np.isfinite(res.value)
    exact = ot.emd2(np.full(1000, 1e-3), np.full(1000, 1e-3), C)
    assert res.transport_cost == pytest.approx(exact, rel=1e-3)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        with np.errstate(all="ignore"):
            P_pot = ot.sinkhorn(np.full(1000, 1e-3), np.full(1000, 1e-3), C, eps,
                                numItermax=200)
    pot_failed = np.any(~np.isfinite(P_pot)) or any(
        "numerical errors" in str(w.message) for w in caught
    )
    assert pot_failed


def test_warm_start_saves_iterations(rng):
    X, Y, a, b = random_problem(rng, 60, 50)
    C = cost_matrix(X, Y)
    cold = sinkhorn(a, b, C, 0.05)
    nearby = sinkhorn(a, b, C * 1.01, 0.05, init=(cold.f, cold.g))
    fresh = sinkhorn(a, b, C * 1.01, 0.05)
    assert nearby.converged and nearby.n_iter < fresh.n_iter / 2
    np.testing.assert_allclose(nearby.plan(), fresh.plan(), atol=1e-8)


def test_non_convergence_warns(rng):
    X, Y, a, b = random_problem(rng, 30, 30)
    with pytest.warns(ConvergenceWarning, match="did not converge"):
        res = sinkhorn(a, b, cost_matrix(X, Y), 0.001, max_iter=3, eps_scaling=None)
    assert not res.converged and res.n_iter == 3


@pytest.mark.parametrize("mode", ["dense", "online", "batch"])
@pytest.mark.parametrize("max_iter", [1, 5, 24, 27, 30, 33, 60])
def test_converged_agrees_with_returned_plan(rng, mode, max_iter):
    # converged must describe the returned plan: its L1 marginal error,
    # recomputed here from plan(), is at most tol exactly when converged is
    # True, and a warning is raised exactly when it is not.
    # (Budgets 24-33 stop where the solver's in-loop error estimate was above
    # tol while the returned plan was already within it.)
    X, Y, a, b = random_problem(rng, 25, 20, d=2)
    eps = 0.05 * cost_matrix(X, Y).mean()
    tol = 1e-4
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        if mode == "batch":
            res = sinkhorn(a, b, cost_matrix(X, Y)[None], eps, tol=tol, max_iter=max_iter,
                           eps_scaling=None)
            P, converged = res.plan()[0], bool(res.converged[0])
        else:
            res = sinkhorn_points(X, Y, a, b, eps=eps, mode=mode, tol=tol, max_iter=max_iter,
                                  eps_scaling=None)
            P, converged = res.plan(), res.converged
    error = np.abs(P.sum(axis=1) - a).sum() + np.abs(P.sum(axis=0) - b).sum()
    np.testing.assert_allclose(np.ravel(res.marginal_error)[0], error, rtol=1e-6, atol=1e-15)
    assert converged == (error <= tol)
    warned = any(issubclass(w.category, ConvergenceWarning) for w in caught)
    assert warned == (not converged)


@pytest.mark.parametrize("mode", ["dense", "online", "batch"])
def test_stops_when_returned_plan_is_within_tol(mode):
    # Two far outliers at eps = 0.1: over-relaxed steps keep the solvers' own
    # error estimate above 1e-6 for thousands of iterations, while the plan
    # with exact rows that they return is within tol after about 1000. The
    # solvers must notice (before this check, all three ran to max_iter).
    rng = np.random.default_rng(1)
    X = np.concatenate([rng.normal(size=98), [5.0, 7.0]])[:, None]
    Y = rng.normal(size=(100, 1))
    with warnings.catch_warnings():
        warnings.simplefilter("error", ConvergenceWarning)
        if mode == "batch":
            res = sinkhorn(None, None, cost_matrix(X, Y)[None], 0.1, tol=1e-6, max_iter=5000)
            n_iter, P = int(res.n_iter[0]), res.plan()[0]
        else:
            res = sinkhorn_points(X, Y, eps=0.1, mode=mode, tol=1e-6, max_iter=5000)
            n_iter, P = res.n_iter, res.plan()
    assert n_iter < 2500
    error = np.abs(P.sum(axis=1) - 0.01).sum() + np.abs(P.sum(axis=0) - 0.01).sum()
    assert error <= 1e-6


@pytest.mark.parametrize("metric", ["sqeuclidean", "euclidean", "cityblock"])
def test_online_matches_dense(rng, metric):
    X, Y, a, b = random_problem(rng, 70, 45, d=3)
    a[2] = 0.0
    a /= a.sum()
    eps = 0.05
    dense = sinkhorn_points(X, Y, a, b, eps=eps, metric=metric, mode="dense", tol=1e-12)
    online = sinkhorn_points(X, Y, a, b, eps=eps, metric=metric, mode="online",
                             tol=1e-12)
    assert online.converged and dense.converged
    np.testing.assert_allclose(online.plan(), dense.plan(), atol=1e-9)
    assert online.transport_cost == pytest.approx(dense.transport_cost, rel=1e-9)
    assert online.value == pytest.approx(dense.value, rel=1e-9)


@pytest.mark.parametrize("mode", ["dense", "online", "multiscale"])
@pytest.mark.parametrize("metric", ["sqeuclidean", "euclidean", "cityblock"])
def test_position_gradient_matches_finite_differences(rng, mode, metric):
    X, Y, a, b = random_problem(rng, 12, 9, d=2)

    def value(Z):
        return sinkhorn_points(Z, Y, a, b, eps=0.1, metric=metric, mode=mode,
                               tol=1e-13).value

    grad = sinkhorn_points(X, Y, a, b, eps=0.1, metric=metric, mode=mode,
                           tol=1e-13).position_gradient()
    step, expected = 1e-6, np.zeros_like(X)
    for idx in np.ndindex(X.shape):
        shift = np.zeros_like(X)
        shift[idx] = step
        expected[idx] = (value(X + shift) - value(X - shift)) / (2 * step)
    np.testing.assert_allclose(grad, expected, rtol=1e-5, atol=1e-7)


def test_position_gradient_needs_points(rng):
    X, Y, _, _ = random_problem(rng, 5, 4, d=2)
    for res in (sinkhorn(None, None, cost_matrix(X, Y), eps=0.1),
                sinkhorn_points(np.stack([X, X]), Y, eps=0.1),
                sinkhorn_points(X, Y, eps=0.1, metric=lambda P, Q: cost_matrix(P, Q))):
        with pytest.raises(ValueError, match="position_gradient needs one problem"):
            res.position_gradient()


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("metric", ["sqeuclidean", "euclidean", "cityblock"])
def test_online_kernels_over_several_blocks(rng, dtype, metric):
    """The blocked online c-transform and plan sums against whole-matrix SciPy.

    600 targets make three blocks (256, 256, 88); the middle block holds only
    zero weights, and the first block's maximum is far below the last's, so the
    running log-sum-exp is rescaled between blocks.
    """
    from scipy.special import logsumexp

    from skwass._kernels._blocks import ctransform_points, plan_statistics_points
    from skwass._kernels._costs import METRIC_CODES

    X = rng.normal(size=(37, 5)).astype(dtype)
    Y = rng.normal(size=(600, 5)).astype(dtype)
    Y[512:] += dtype(3.0)
    eps = 0.3
    G = rng.normal(size=600)
    G[512:] += 40.0
    log_b = np.log(rng.random(600) + 0.1)
    log_b[256:512] = -np.inf
    log_b[3] = -np.inf
    log_a = np.log(np.full(37, 1 / 37))
    code = METRIC_CODES[metric]
    # Pair-by-pair costs with the kernel's arithmetic: differences (and squares)
    # in the points' dtype, sums in float64.
    diff = X[:, None, :] - Y[None, :, :]
    terms = np.abs(diff) if metric == "cityblock" else diff * diff
    C = terms.astype(np.float64).sum(axis=2)
    C = np.sqrt(C) if metric == "euclidean" else C
    expected = -eps * logsumexp(log_b + (G - C) / eps, axis=1)
    F = ctransform_points(X, Y, G, log_b, eps, code)
    np.testing.assert_allclose(F, expected, rtol=1e-13, atol=1e-11)
    P = np.exp(log_a[:, None] + log_b + (F[:, None] + G - C) / eps)
    cost, rows, cols = plan_statistics_points(X, Y, F, G, log_a, log_b, eps, code)
    np.testing.assert_allclose(rows, P.sum(axis=1), rtol=1e-12)
    np.testing.assert_allclose(cols, P.sum(axis=0), rtol=1e-12, atol=1e-300)
    assert cost == pytest.approx((P * C).sum(), rel=1e-12)


def test_online_refuses_matrix_metrics(rng):
    X = (rng.random((5, 4)) < 0.5).astype(float)
    with pytest.raises(ValueError, match="online"):
        sinkhorn_points(X, X, eps=0.1, metric="hamming", mode="online")


def test_centered_potential_is_the_simplex_gradient(rng):
    X, Y, a, b = random_problem(rng, 8, 11)
    C = cost_matrix(X, Y)
    res = sinkhorn(a, b, C, 0.3, tol=1e-13)
    alpha = centered_potential(res)
    assert abs(a @ alpha) < 1e-12
    direction = rng.normal(size=8)
    direction -= direction.mean()
    h = 1e-6
    up = sinkhorn(a + h * direction, b, C, 0.3, tol=1e-13).value
    down = sinkhorn(a - h * direction, b, C, 0.3, tol=1e-13).value
    assert alpha @ direction == pytest.approx((up - down) / (2 * h), rel=1e-6)
    assert abs(res.b @ centered_potential(res, which="g")) < 1e-12


@settings(max_examples=25, deadline=None)
@given(
    n=st.integers(1, 12),
    m=st.integers(1, 12),
    seed=st.integers(0, 2**32 - 1),
    eps=st.floats(0.05, 5.0),
)
def test_property_marginals_hold_at_convergence(n, m, seed, eps):
    rng = np.random.default_rng(seed)
    X, Y, a, b = random_problem(rng, n, m)
    res = sinkhorn(a, b, cost_matrix(X, Y), eps, tol=1e-10, max_iter=100_000)
    P = res.plan()
    assert res.converged
    assert np.abs(P.sum(1) - a).sum() + np.abs(P.sum(0) - b).sum() <= 1e-9
    # Permuting the points permutes the potentials.
    perm = rng.permutation(n)
    res_perm = sinkhorn(a[perm], b, cost_matrix(X[perm], Y), eps, tol=1e-10,
                        max_iter=100_000)
    assert res_perm.value == pytest.approx(res.value, rel=1e-8, abs=1e-12)


@pytest.mark.parametrize(
    "args, kwargs, match",
    [
        ((None, None, [[np.nan, 1.0]], 0.1), {}, "NaN"),
        ((None, None, [[np.inf, 1.0]], 0.1), {}, "NaN or infinite"),
        (([0.5, -0.5, 1.0], None, np.ones((3, 2)), 0.1), {}, "negative"),
        (([0.0, 0.0], None, np.ones((2, 2)), 0.1), {}, "sums to zero"),
        (([0.2, 0.2], None, np.ones((2, 2)), 0.1), {}, "sums to"),
        (([0.5, 0.5], None, np.ones((3, 2)), 0.1), {}, "entries"),
        ((None, None, np.ones((0, 2)), 0.1), {}, "empty"),
        ((None, None, np.ones((2, 2)), 0.0), {}, "eps"),
        ((None, None, np.ones((2, 2)), -1.0), {}, "eps"),
        ((None, None, np.ones(3), 0.1), {}, "2-D"),
        ((None, None, np.ones((2, 2)), 0.1), {"init": (np.zeros(3), np.zeros(2))}, "init"),
        ((None, None, np.ones((2, 2)), 0.1), {"max_iter": 0}, "max_iter"),
        ((None, None, np.ones((2, 2)), 0.1), {"eps_scaling": 2.0}, "eps_scaling"),
    ],
)
def test_bad_input(args, kwargs, match):
    with pytest.raises(ValueError, match=match):
        sinkhorn(*args, **kwargs)


def test_points_bad_input(rng):
    with pytest.raises(ValueError, match="same number of features"):
        sinkhorn_points(np.ones((3, 2)), np.ones((3, 3)), eps=0.1)
    with pytest.raises(ValueError, match="mode"):
        sinkhorn_points(np.ones((3, 2)), np.ones((3, 2)), eps=0.1, mode="sparse")


def test_inputs_not_modified(rng):
    X, Y, a, b = random_problem(rng, 10, 12)
    C = cost_matrix(X, Y)
    copies = [arr.copy() for arr in (a, b, C)]
    res = sinkhorn(a, b, C, 0.1)
    init = (res.f.copy(), res.g.copy())
    sinkhorn(a, b, C, 0.1, init=init)
    for arr, copy in zip((a, b, C), copies, strict=True):
        np.testing.assert_array_equal(arr, copy)
    np.testing.assert_array_equal(init[0], res.f)


# ---------------------------------------------------------------------------
# Batches
# ---------------------------------------------------------------------------


def test_batch_matches_single_problems(rng):
    """A stack of problems with per-problem weights and eps equals B solves."""
    problems = [random_problem(rng, 30, 25, d=2) for _ in range(4)]
    C = np.stack([cost_matrix(X, Y) for X, Y, _, _ in problems])
    a = np.stack([p[2] for p in problems])
    b = np.stack([p[3] for p in problems])
    a[1, 3] = 0.0
    a[1] /= a[1].sum()
    eps = np.array([0.05, 0.1, 0.5, 0.01]) * C.mean()
    batch = sinkhorn(a, b, C, eps, tol=1e-10)
    assert batch.converged.all() and batch.f.shape == (4, 30) and batch.g.shape == (4, 25)
    plans = batch.plan()
    for k in range(4):
        single = sinkhorn(a[k], b[k], C[k], eps[k], tol=1e-10)
        # POT's log-domain solver takes log(0) on the zero weight of problem 1.
        P_ref = single.plan() if k == 1 else pot_log_reference(a[k], b[k], C[k], eps[k])[0]
        np.testing.assert_allclose(plans[k], P_ref, atol=1e-7 * P_ref.max())
        np.testing.assert_allclose(batch.transport_cost[k], single.transport_cost, rtol=1e-8)
        np.testing.assert_allclose(batch.value[k], single.value, rtol=1e-8)
        assert batch.marginal_error[k] <= 1e-9


def test_batch_runs_each_problem_like_a_single_solve(rng):
    # A grid of eps on one cost matrix: only the smallest eps needs eps-scaling
    # stages. With positive weights every problem must follow its own single
    # solve iteration for iteration (the others sit out the extra stages).
    # At 120 x 100 a single solve also runs on one thread (below the backend's
    # PARALLEL_MIN_SIZE), so both do the same arithmetic.
    X, Y, _, _ = random_problem(rng, 120, 100, d=2)
    C = cost_matrix(X, Y)
    eps = np.array([0.5, 0.1, 0.03, 1e-3]) * C.mean()
    batch = sinkhorn(None, None, np.stack([C] * 4), eps, tol=1e-8)
    for k in range(4):
        single = sinkhorn(None, None, C, eps[k], tol=1e-8)
        assert batch.n_iter[k] == single.n_iter
        np.testing.assert_allclose(batch.f[k], single.f, rtol=0, atol=1e-9 * np.abs(single.f).max())
        assert batch.transport_cost[k] == pytest.approx(single.transport_cost, rel=1e-10)


def test_large_batch_solved_in_turn_matches_single_solves(rng):
    # 520 x 520 is above the backend's BATCH_IN_TURN_MIN_SIZE: the problems are
    # solved one after another with every thread, each as its single solve.
    X, Y, _, _ = random_problem(rng, 520, 520, d=2)
    C = cost_matrix(X, Y)
    eps = np.array([0.2, 1e-3]) * C.mean()  # the second one needs eps-scaling stages
    batch = sinkhorn(None, None, np.stack([C, C]), eps, tol=1e-7)
    assert batch.converged.all()
    for k in range(2):
        single = sinkhorn(None, None, C, eps[k], tol=1e-7)
        assert batch.n_iter[k] == single.n_iter
        assert batch.transport_cost[k] == pytest.approx(single.transport_cost, rel=1e-10)


def test_batch_shared_weights_and_warm_start(rng):
    X, Y, a, b = random_problem(rng, 20, 20)
    C = cost_matrix(X, Y)
    stack = np.stack([C, 2 * C])
    cold = sinkhorn(a, b, stack, 0.05)
    np.testing.assert_allclose(
        cold.transport_cost[1], sinkhorn(a, b, 2 * C, 0.05).transport_cost, rtol=1e-8
    )
    warm = sinkhorn(a, b, stack * (1 + 1e-6), 0.05, init=(cold.f, cold.g))
    # Each problem keeps its own potentials (the slow 2C problem saves less).
    assert warm.converged.all() and np.all(warm.n_iter < cold.n_iter)
    assert warm.n_iter[0] < cold.n_iter[0] / 2


def test_batch_bad_input(rng):
    C = rng.random((3, 4, 5))
    with pytest.raises(ValueError, match="eps has 2 entries"):
        sinkhorn(None, None, C, [0.1, 0.2])
    with pytest.raises(ValueError, match="a has 2 rows"):
        sinkhorn(np.full((2, 4), 0.25), None, C, 0.1)
    with pytest.raises(ValueError, match="eps must be positive"):
        sinkhorn(None, None, C, [0.1, -1.0, 0.2])
    with pytest.raises(ValueError, match="eps must be a positive real"):
        sinkhorn(None, None, C[0], [0.1, 0.2])
    with pytest.warns(ConvergenceWarning, match="1 of 3 problems|of 3 problems"):
        sinkhorn(None, None, C * 100, [1.0, 0.01, 1.0], max_iter=2, eps_scaling=None)


def test_points_batch_matches_single_solves_and_pot(rng):
    problems = [random_problem(rng, 20, 15, d=3) for _ in range(3)]
    X = np.stack([p[0] for p in problems])
    Y = np.stack([p[1] for p in problems])
    a = np.stack([p[2] for p in problems])
    b = problems[0][3]
    eps = np.array([0.05, 0.2, 1.0])
    batch = sinkhorn_points(X, Y, a, b, eps=eps, metric="euclidean", tol=1e-11)
    assert batch.converged.all() and batch.f.shape == (3, 20) and batch.g.shape == (3, 15)
    plans = batch.plan()
    for k in range(3):
        single = sinkhorn_points(X[k], Y[k], a[k], b, eps=eps[k], metric="euclidean",
                                 tol=1e-11)
        np.testing.assert_allclose(batch.transport_cost[k], single.transport_cost, rtol=1e-8)
        np.testing.assert_allclose(batch.value[k], single.value, rtol=1e-8)
        C = cost_matrix(X[k], Y[k], metric="euclidean")
        P_ref = pot_log_reference(a[k], b, C, eps[k])[0]
        np.testing.assert_allclose(plans[k], P_ref, atol=1e-7 * P_ref.max())


def test_points_batch_shares_a_2d_cloud(rng):
    X, Y, a, b = random_problem(rng, 12, 10)
    shifts = np.array([0.0, 0.5, 2.0])
    Ys = Y[None] + shifts[:, None, None]
    shared_x = sinkhorn_points(X, Ys, a, b, eps=0.1, tol=1e-11)
    shared_y = sinkhorn_points(Ys, X, b, a, eps=0.1, tol=1e-11)
    for k, shift in enumerate(shifts):
        single = sinkhorn_points(X, Y + shift, a, b, eps=0.1, tol=1e-11)
        assert shared_x.transport_cost[k] == pytest.approx(single.transport_cost, rel=1e-8)
        # OT(b, a) with the transposed cost has the same transport cost.
        assert shared_y.transport_cost[k] == pytest.approx(single.transport_cost, rel=1e-8)


def test_points_batch_bad_input(rng):
    X = rng.normal(size=(3, 5, 2))
    with pytest.raises(ValueError, match="X holds 3 point clouds but Y holds 2"):
        sinkhorn_points(X, rng.normal(size=(2, 4, 2)), eps=0.1)
    with pytest.raises(ValueError, match="same number of features"):
        sinkhorn_points(X, rng.normal(size=(4, 3)), eps=0.1)
    with pytest.raises(ValueError, match="mode='online'"):
        sinkhorn_points(X, X, eps=0.1, mode="online")
    with pytest.raises(ValueError, match="eps has 2 entries"):
        sinkhorn_points(X, X, eps=[0.1, 0.2])
    with pytest.raises(ValueError, match="b has 2 rows"):
        sinkhorn_points(X, X, None, np.full((2, 5), 0.2), eps=0.1)
    with pytest.raises(ValueError, match="Y must be a 3-D array|Y must be a 2-D array"):
        sinkhorn_points(X, np.ones((3, 4, 2, 1)), eps=0.1)


def test_relaxation_recovers_from_an_early_overshoot(fake_device):
    """A 50 x 50 problem (a model sample of EllipseMKE against a data batch, two
    clusters each) with a slow mode: plain Sinkhorn needs over 200,000 iterations at
    eps = 0.5, relaxation with omega = 1.99 about 1,300. An early overshoot used
    to pin omega's cap at 1.8 for good: 69,441 iterations (dense), 54,020 (online).
    The cap now climbs back while the error contracts."""
    import pathlib

    data = np.load(pathlib.Path(__file__).parent / "data" / "two_clusters_slow_mode.npz")
    X, Y = data["X"], data["Y"]
    C = cost_matrix(X, Y)
    dense = sinkhorn(None, None, C, 0.5, tol=1e-6, max_iter=20_000)
    online = sinkhorn_points(X, Y, eps=0.5, mode="online", tol=1e-6, max_iter=20_000)
    device = sinkhorn(None, None, fake_device[0](C), 0.5, tol=1e-6, max_iter=20_000)
    for res in (dense, online, device):
        assert res.converged and res.n_iter < 5000
    assert online.transport_cost == pytest.approx(dense.transport_cost, rel=1e-5)


def _issue_cost():
    rng = np.random.default_rng(1)
    return cost_matrix(rng.normal(size=(40, 3)), rng.normal(size=(30, 3)) + 0.5)


def test_reported_marginal_error_is_that_of_the_returned_plan():
    # Potentials near 1e12 at eps = 1 resolve the plan only to ~1e-4 per entry:
    # the solver's absorbed kernel met tol (converged=True, error 1e-10) while
    # plan() missed it by 3e-6. Both fields now describe plan().
    C = _issue_cost()
    C = np.where(C > C.mean(), 1e12, 0.0)
    with pytest.warns(ConvergenceWarning, match="float64 resolves the plan only"):
        res = sinkhorn(None, None, C, eps=1.0)
    P = res.plan()
    error = np.abs(P.sum(axis=1) - res.a).sum() + np.abs(P.sum(axis=0) - res.b).sum()
    assert res.marginal_error == pytest.approx(error, rel=1e-6)
    assert res.converged == (error <= 1e-9)
    assert not res.converged


@pytest.mark.parametrize("batch", [False, True])
def test_batch_and_single_errors_describe_their_plans(batch):
    C = _issue_cost()
    wide = np.where(C > C.mean(), 1e12, 0.0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        if batch:
            res = sinkhorn(None, None, np.stack([wide, C]), eps=1.0)
            plans, errors = res.plan(), res.marginal_error
        else:
            res = sinkhorn(None, None, wide, eps=1.0)
            plans, errors = res.plan()[None], np.array([res.marginal_error])
    for P, error in zip(plans, errors, strict=True):
        recomputed = np.abs(P.sum(axis=1) - 1 / 40).sum() + np.abs(P.sum(axis=0) - 1 / 30).sum()
        assert error == pytest.approx(recomputed, rel=1e-6, abs=1e-15)


@pytest.mark.parametrize("how", ["dense", "batch", "float32"])
@pytest.mark.parametrize(
    "cost, eps",
    [("issue", 5e-324), ("issue", 1e-300), ("wide", 1e-300), ("wide", 1.0),
     ("huge_range", 1.0)],
)
def test_eps_below_float64_resolution_is_refused_up_front(how, cost, eps):
    # These reached "non-finite potentials; this is a bug" or returned plans
    # whose reported error did not match.
    C = _issue_cost()
    if cost == "wide":
        C = 10.0 ** np.random.default_rng(0).uniform(-300, 300, C.shape)
        if how == "float32":
            C = np.minimum(C, 1e30)
    elif cost == "huge_range":
        C = np.where(C > C.mean(), 1e16, 0.0)
    if how == "batch":
        C = np.stack([C, C])
    elif how == "float32":
        C = C.astype(np.float32)
    with pytest.raises(ValueError, match="is too small for costs up to"):
        sinkhorn(None, None, C, eps=eps)


@pytest.mark.parametrize("mode", ["dense", "online"])
@pytest.mark.parametrize(
    "scale, dtype, eps, match",
    [(1.0, np.float64, 5e-324, "too small"), (1e155, np.float64, 1e300, "overflow"),
     (1e19, np.float32, 1.0, "overflow")],
)
def test_points_at_extreme_scales_are_refused(mode, scale, dtype, eps, match):
    rng = np.random.default_rng(1)
    X = (rng.normal(size=(40, 3)) * scale).astype(dtype)
    Y = ((rng.normal(size=(30, 3)) + 0.5) * scale).astype(dtype)
    with pytest.raises(ValueError, match=match):
        sinkhorn_points(X, Y, eps=eps, mode=mode)
