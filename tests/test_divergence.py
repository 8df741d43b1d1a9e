import warnings

import numpy as np
import ot
import pytest
from _problems import random_problem
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn.exceptions import ConvergenceWarning

from skwass.ot import cost_matrix, sinkhorn_divergence, sinkhorn_loss, sinkhorn_points
from skwass.ot._divergence import _unrolled_sinkhorn
from skwass.ot._validation import MIN_EPS_PER_COST

METRICS = ["sqeuclidean", "euclidean", "cityblock"]
EPS = 0.5


def finite_differences(fun, X, a, direction, h=1e-6):
    """Central differences of ``fun(X, a)`` in every coordinate of X and along
    a zero-sum weight direction."""
    grad_X = np.zeros_like(X)
    for idx in np.ndindex(*X.shape):
        up, down = X.copy(), X.copy()
        up[idx] += h
        down[idx] -= h
        grad_X[idx] = (fun(up, a) - fun(down, a)) / (2 * h)
    along_a = (fun(X, a + h * direction) - fun(X, a - h * direction)) / (2 * h)
    return grad_X, along_a


@pytest.fixture
def problem(rng):
    X, Y, a, b = random_problem(rng, 7, 9)
    direction = rng.normal(size=7)
    return X, Y, a, b, direction - direction.mean()


@pytest.mark.parametrize("metric", METRICS)
@pytest.mark.parametrize("kind, n_iter", [("dual", None), ("primal", None), ("primal", 20)])
def test_divergence_gradients_match_finite_differences(problem, metric, kind, n_iter):
    X, Y, a, b, direction = problem
    options = dict(eps=EPS, metric=metric, kind=kind, n_iter=n_iter, tol=1e-13,
                   max_iter=100_000)

    def fun(X_, a_):
        return sinkhorn_divergence(X_, Y, a_, b, **options)

    value, grad_X, grad_a = sinkhorn_divergence(X, Y, a, b, return_grad=True, **options)
    fd_X, fd_a = finite_differences(fun, X, a, direction)
    assert value == pytest.approx(fun(X, a))
    np.testing.assert_allclose(grad_X, fd_X, rtol=0, atol=1e-6 * np.abs(fd_X).max())
    assert grad_a @ direction == pytest.approx(fd_a, rel=1e-6)


@pytest.mark.parametrize("metric", METRICS)
def test_unrolled_loss_gradient_matches_finite_differences(problem, metric):
    X, Y, a, b, direction = problem

    def fun(X_, a_):
        return sinkhorn_loss(X_, Y, a_, b, eps=EPS, n_iter=7, metric=metric)

    _, grad_X, grad_a = sinkhorn_loss(X, Y, a, b, eps=EPS, n_iter=7, metric=metric,
                                      return_grad=True)
    fd_X, fd_a = finite_differences(fun, X, a, direction)
    np.testing.assert_allclose(grad_X, fd_X, rtol=0, atol=1e-6 * np.abs(fd_X).max())
    assert grad_a @ direction == pytest.approx(fd_a, rel=1e-6)


def test_unrolled_loss_is_genevay_algorithm_2(rng):
    X, Y, a, b = random_problem(rng, 6, 5)
    C = cost_matrix(X, Y)
    K = np.exp(-C / EPS)
    v = np.ones(5)
    for _ in range(4):
        u = a / (K @ v)
        v = b / (K.T @ u)
    expected = u @ (K * C) @ v
    assert sinkhorn_loss(X, Y, a, b, eps=EPS, n_iter=4) == pytest.approx(expected)
    # Many iterations reach POT's converged transport cost.
    converged = ot.sinkhorn2(a, b, C, EPS, stopThr=1e-14, numItermax=10_000)
    assert sinkhorn_loss(X, Y, a, b, eps=EPS, n_iter=500) == pytest.approx(
        float(converged), rel=1e-9)


def test_euclidean_subgradient_at_zero_distance():
    X = np.array([[0.0, 0.0], [1.0, 0.0]])
    _, grad_X, _ = sinkhorn_loss(X, X, eps=0.01, n_iter=5, metric="euclidean",
                                 return_grad=True)
    assert np.all(np.isfinite(grad_X))


def unrolled_in_long_double(C, a, b, eps, n_iter):
    """W_L from scaling iterations in long double (exponents up to e^11356, where
    float64 stops at e^709), and whether the same iterations overflow in float64."""
    results = []
    for dtype in (np.longdouble, np.float64):
        C_t = C.astype(dtype)
        K = np.exp(-(C_t - C_t.min(axis=1, keepdims=True)) / eps)
        v = np.ones(C.shape[1], dtype=dtype)
        with np.errstate(all="raise" if dtype == np.longdouble else "ignore",
                         under="ignore", divide="ignore", invalid="ignore"):
            for _ in range(n_iter):
                u = a / (K @ v)
                v = b / (K.T @ u)
        results.append((u, v, K, C_t))
    u, v, K, C_long = results[0]
    u64, v64 = results[1][:2]
    return float(u @ (K * C_long) @ v), not (np.isfinite(u64).all() and np.isfinite(v64).all())


def test_unrolled_loss_falls_back_to_the_log_domain(rng):
    """Where the scalings overflow, W_L comes from log-domain iterations.

    Reference: the same 20 scaling iterations in long double (exponent range
    up to e^11356, where float64 stops at e^709), and finite differences.
    """
    X, Y, a, b = random_problem(rng, 5, 6)
    C = cost_matrix(X, Y)
    eps = 0.002  # cost spreads of ~8000 eps: float64 scalings overflow
    from skwass.ot._divergence import _unrolled_sinkhorn_log

    expected, overflows = unrolled_in_long_double(C, a, b, eps, 20)
    assert overflows  # the fallback case
    loss, grad_X, grad_a = sinkhorn_loss(X, Y, a, b, eps=eps, return_grad=True)
    assert loss == pytest.approx(expected, rel=1e-11)
    direction = rng.normal(size=5)
    direction -= direction.mean()

    def fun(X_, a_):
        return sinkhorn_loss(X_, Y, a_, b, eps=eps)

    fd_X, fd_a = finite_differences(fun, X, a, direction, h=1e-7)
    np.testing.assert_allclose(grad_X, fd_X, rtol=1e-5, atol=1e-6 * np.abs(fd_X).max())
    assert grad_a @ direction == pytest.approx(fd_a, rel=1e-5)
    # Where the scalings do not overflow, both forms agree.
    scaled = _unrolled_sinkhorn(C, a, b, 0.3, 8)
    logged = _unrolled_sinkhorn_log(C, a, b, 0.3, 8)
    assert logged[0] == pytest.approx(scaled[0], rel=1e-13)
    for g_log, g_scaled in zip(logged[1:], scaled[1:], strict=True):
        np.testing.assert_allclose(g_log, g_scaled, rtol=1e-11, atol=1e-13)


def test_log_domain_unrolled_loss_with_zero_weights(rng):
    # It raised FloatingPointError ("positive weights") when the scalings
    # overflowed and a weight was zero.
    from skwass.ot._divergence import _unrolled_sinkhorn_log

    X, Y, a, b = random_problem(rng, 5, 6)
    a[1], b[4] = 0.0, 0.0
    a, b = a / a.sum(), b / b.sum()
    C = cost_matrix(X, Y)
    # Where the scalings do not overflow, both forms agree, zero weights included.
    scaled = _unrolled_sinkhorn(C, a, b, 0.3, 8)
    logged = _unrolled_sinkhorn_log(C, a, b, 0.3, 8)
    assert logged[0] == pytest.approx(scaled[0], rel=1e-13)
    for g_log, g_scaled in zip(logged[1:], scaled[1:], strict=True):
        np.testing.assert_allclose(g_log, g_scaled, rtol=1e-10, atol=1e-12)
    # Where they overflow: long-double scaling iterations and one-sided differences.
    eps = 0.002
    expected, overflows = unrolled_in_long_double(C, a, b, eps, 20)
    assert overflows  # the fallback case
    loss, grad_X, grad_a = sinkhorn_loss(X, Y, a, b, eps=eps, return_grad=True)
    assert loss == pytest.approx(expected, rel=1e-11)
    assert np.all(np.isfinite(grad_X)) and np.all(np.isfinite(grad_a))
    np.testing.assert_array_equal(grad_X[1], 0.0)
    direction = -a.copy()
    direction[1] = 1.0
    h = 1e-8
    one_sided = (sinkhorn_loss(X, Y, a + h * direction, b, eps=eps) - loss) / h
    assert grad_a @ direction == pytest.approx(one_sided, rel=1e-4, abs=1e-6)


def mmd_minus_cost(X, Y, a, b, metric):
    """MMD with kernel -c: 2 E c(X, Y) - E c(X, X') - E c(Y, Y')."""
    return (2 * a @ cost_matrix(X, Y, metric=metric) @ b
            - a @ cost_matrix(X, X, metric=metric) @ a
            - b @ cost_matrix(Y, Y, metric=metric) @ b)


@pytest.mark.parametrize("metric", ["sqeuclidean", "euclidean"])
def test_theorem_1_limits(rng, metric):
    X, Y, a, b = random_problem(rng, 30, 40)
    exact = ot.emd2(a, b, cost_matrix(X, Y, metric=metric))
    mean_cost = cost_matrix(X, Y, metric=metric).mean()
    small = 1e-3 * mean_cost
    dual = sinkhorn_divergence(X, Y, a, b, eps=small, metric=metric, tol=1e-8,
                               max_iter=200_000)
    primal = sinkhorn_divergence(X, Y, a, b, eps=small, metric=metric, kind="primal",
                                 tol=1e-8, max_iter=200_000)
    assert dual == pytest.approx(exact, rel=1e-2)
    assert primal == pytest.approx(2 * exact, rel=1e-2)

    large = 1e4 * mean_cost
    mmd = mmd_minus_cost(X, Y, a, b, metric)
    dual = sinkhorn_divergence(X, Y, a, b, eps=large, metric=metric)
    primal = sinkhorn_divergence(X, Y, a, b, eps=large, metric=metric, kind="primal")
    assert dual == pytest.approx(mmd / 2, rel=1e-3)
    assert primal == pytest.approx(mmd, rel=1e-3)


@settings(max_examples=20, deadline=None)
@given(n=st.integers(1, 8), m=st.integers(1, 8), seed=st.integers(0, 2**32 - 1),
       eps=st.floats(0.1, 3.0), kind=st.sampled_from(["dual", "primal"]))
def test_divergence_properties(n, m, seed, eps, kind):
    rng = np.random.default_rng(seed)
    X, Y, a, b = random_problem(rng, n, m)
    options = dict(eps=eps, kind=kind, max_iter=200_000)
    s_xy = sinkhorn_divergence(X, Y, a, b, **options)
    assert s_xy >= -1e-9
    assert sinkhorn_divergence(Y, X, b, a, **options) == pytest.approx(
        s_xy, rel=1e-7, abs=1e-9)
    assert abs(sinkhorn_divergence(X, X, a, a, **options)) <= 1e-9
    perm = rng.permutation(n)
    assert sinkhorn_divergence(X[perm], Y, a[perm], b, **options) == (
        pytest.approx(s_xy, rel=1e-7, abs=1e-9))


def test_gradient_needs_point_metric(rng):
    X = (rng.random((4, 3)) < 0.5).astype(float)
    with pytest.raises(ValueError, match="return_grad"):
        sinkhorn_divergence(X, X, eps=0.1, metric="hamming", return_grad=True)
    assert sinkhorn_divergence(X, 1 - X, eps=0.1, metric="hamming") > 0


def test_bad_input(rng):
    X, Y, _, _ = random_problem(rng, 4, 5)
    with pytest.raises(ValueError, match="kind"):
        sinkhorn_divergence(X, Y, eps=0.1, kind="both")
    with pytest.raises(ValueError, match="n_iter"):
        sinkhorn_divergence(X, Y, eps=0.1, n_iter=5)
    with pytest.raises(ValueError, match="eps"):
        sinkhorn_divergence(X, Y, eps=0.0)
    with pytest.raises(ValueError, match="NaN"):
        sinkhorn_loss(X * np.nan, Y, eps=0.1)


def test_one_dimensional_points_keep_their_shape(rng):
    x, y = rng.normal(size=5), rng.normal(size=6)
    _, grad_x, _ = sinkhorn_divergence(x, y, eps=0.5, return_grad=True)
    assert grad_x.shape == x.shape


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("metric", METRICS)
def test_online_divergence_matches_dense(rng, metric, dtype):
    """mode='online' (costs recomputed, blocks of 256) against the dense matrices."""
    X, Y, a, b = random_problem(rng, 300, 280, d=3, dtype=dtype)
    a[4] = 0.0
    a /= a.sum()
    tol = 1e-11 if dtype == np.float64 else 1e-6
    options = dict(eps=0.3, metric=metric, tol=tol, max_iter=20_000)
    dense = sinkhorn_divergence(X, Y, a, b, return_grad=True, mode="dense", **options)
    online = sinkhorn_divergence(X, Y, a, b, return_grad=True, mode="online", **options)
    rel = 1e-9 if dtype == np.float64 else 1e-4
    assert online[0] == pytest.approx(dense[0], rel=rel)
    np.testing.assert_allclose(online[1], dense[1], rtol=rel, atol=rel * np.abs(dense[1]).max())
    centered = [g - g[a > 0].mean() for g in (online[2], dense[2])]
    np.testing.assert_allclose(centered[0][a > 0], centered[1][a > 0],
                               atol=rel * np.abs(centered[1]).max())
    primal = [sinkhorn_divergence(X, Y, a, b, kind="primal", mode=mode, **options)
              for mode in ("online", "dense")]
    assert primal[0] == pytest.approx(primal[1], rel=rel)


def test_online_divergence_auto_and_errors(rng, monkeypatch):
    import skwass.ot._sinkhorn as sinkhorn_module

    X, Y, _, _ = random_problem(rng, 40, 30)
    dense = sinkhorn_divergence(X, Y, eps=0.5, return_grad=True, mode="dense")
    monkeypatch.setattr(sinkhorn_module, "DENSE_MEMORY_LIMIT", 1000)  # 2 * 40 * 30 * 8 bytes
    import skwass.ot._divergence as divergence_module

    calls = []
    original = divergence_module._points_divergence
    monkeypatch.setattr(divergence_module, "_points_divergence",
                        lambda *args: calls.append(args[-1]) or original(*args))
    auto = sinkhorn_divergence(X, Y, eps=0.5, return_grad=True)
    online = sinkhorn_divergence(X, Y, eps=0.5, return_grad=True, mode="online")
    assert calls == ["multiscale" if X.shape[1] <= 3 else "online", "online"]
    for out in (auto, online):
        assert out[0] == pytest.approx(dense[0], rel=1e-9)
        np.testing.assert_allclose(out[1], dense[1], atol=1e-9)
    with pytest.raises(ValueError, match="no unrolled n_iter"):
        sinkhorn_divergence(X, Y, eps=0.5, kind="primal", n_iter=5, mode="online")
    with pytest.raises(ValueError, match="primal' gradients need the transport plan"):
        sinkhorn_divergence(X, Y, eps=0.5, kind="primal", return_grad=True, mode="online")
    with pytest.raises(ValueError, match="mode='online' supports metric"):
        sinkhorn_divergence(X, Y, eps=0.5, metric=lambda P, Q: np.ones((40, 30)),
                            mode="online")


@pytest.mark.parametrize("metric", METRICS)
def test_online_divergence_on_the_device_matches_cpu(rng, fake_device, monkeypatch, metric):
    """The device path (reference backend posing as the GPU): online solves, the
    symmetric online solver and the chunked gradient, against the CPU's online path."""
    from skwass._backend import _xp_sinkhorn

    monkeypatch.setattr(_xp_sinkhorn, "_GRADIENT_CHUNK", 1000)  # several row chunks
    to_device, calls = fake_device
    X, Y, a, b = random_problem(rng, 60, 45, d=3)
    a[2] = 0.0
    a /= a.sum()
    options = dict(eps=0.3, metric=metric, tol=1e-11, max_iter=20_000, mode="online")
    gpu = sinkhorn_divergence(to_device(X), to_device(Y), a, b, return_grad=True, **options)
    assert ("sinkhorn_symmetric_points", "reference") in calls
    assert ("plan_cost_gradient_points", "reference") in calls
    assert ("sinkhorn_stack", "reference") not in calls  # nothing dense
    cpu = sinkhorn_divergence(X, Y, a, b, return_grad=True, **options)
    assert gpu[0] == pytest.approx(cpu[0], rel=1e-9)
    np.testing.assert_allclose(gpu[1], cpu[1], rtol=1e-7, atol=1e-7 * np.abs(cpu[1]).max())
    keep = a > 0
    np.testing.assert_allclose(gpu[2][keep] - gpu[2][keep].mean(),
                               cpu[2][keep] - cpu[2][keep].mean(), atol=1e-8)
    primal = sinkhorn_divergence(to_device(X), to_device(Y), a, b, kind="primal", **options)
    assert primal == pytest.approx(sinkhorn_divergence(X, Y, a, b, kind="primal", **options),
                                   rel=1e-9)


def _issue_clouds():
    rng = np.random.default_rng(1)
    return rng.normal(size=(40, 3)), rng.normal(size=(30, 3)) + 0.5


@pytest.mark.parametrize("scale", [3e-3, 1e-3])
def test_primal_gradient_at_small_eps_matches_finite_differences(scale):
    # The self term's plan is nearly diag(a) here: the general adjoint system
    # I - R^T Q was singular in float64 (a raw LinAlgError).
    X, Y = _issue_clouds()
    eps = scale * cost_matrix(X, Y).mean()
    options = dict(eps=eps, kind="primal", tol=1e-12, max_iter=200_000)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        _, grad_X, grad_a = sinkhorn_divergence(X, Y, return_grad=True, **options)
        rng = np.random.default_rng(0)
        h = 1e-5
        for _ in range(2):
            D = rng.normal(size=X.shape)
            fd = (sinkhorn_divergence(X + h * D, Y, **options)
                  - sinkhorn_divergence(X - h * D, Y, **options)) / (2 * h)
            assert np.isclose(np.sum(grad_X * D), fd, rtol=1e-3, atol=1e-5)
    assert np.all(np.isfinite(grad_a))


def test_symmetric_primal_adjoint_matches_the_general_one(rng):
    # Where the general elimination is well conditioned (large eps) the two
    # adjoints of OT(a, a) must agree: dL/dC exactly, dL/da up to a constant.
    from skwass.ot import sinkhorn
    from skwass.ot._divergence import _primal_adjoint

    X = rng.normal(size=(12, 2))
    a = rng.random(12)
    a /= a.sum()
    C = cost_matrix(X, X)
    res = sinkhorn(a, a, C, eps=2.0, tol=1e-14, max_iter=100_000)
    grad_C, alpha, beta = _primal_adjoint(res, C)
    grad_C_sym, alpha_sym, beta_sym = _primal_adjoint(res, C, symmetric=True)
    np.testing.assert_allclose(grad_C_sym, grad_C, atol=1e-9)
    shift = (alpha + beta) - (alpha_sym + beta_sym)
    np.testing.assert_allclose(shift, shift.mean(), atol=1e-9)


@pytest.mark.parametrize("function", ["loss", "primal"])
def test_unrolled_loss_with_a_zero_weight(function):
    # A zero weight raised FloatingPointError at any eps. Its point has a zero
    # scaling: the weight gradient there is the one-sided derivative of moving
    # mass onto it, and the loss is the limit of positive weights (W_L starts
    # from v = 1, so a zero-weight column still enters the first iteration).
    X, Y = _issue_clouds()
    a = np.r_[0.0, np.full(39, 1 / 39)]
    if function == "loss":
        def value(X, a, **kw):
            return sinkhorn_loss(X, Y, a, eps=1.0, **kw)
    else:
        def value(X, a, **kw):
            return sinkhorn_divergence(X, Y, a, eps=1.0, kind="primal", n_iter=5, **kw)
    loss, grad_X, grad_a = value(X, a, return_grad=True)
    direction = np.r_[1.0, np.full(39, -1 / 39)]
    h = 1e-7
    one_sided = (value(X, a + h * direction) - loss) / h
    assert grad_a @ direction == pytest.approx(one_sided, rel=1e-4)
    D = np.random.default_rng(0).normal(size=X.shape)
    central = (value(X + h * D, a) - value(X - h * D, a)) / (2 * h)
    assert np.sum(grad_X * D) == pytest.approx(central, rel=1e-5)
    if function == "loss":
        # Source rows with zero weight never enter: the loss of the cloud without it.
        np.testing.assert_array_equal(grad_X[0], 0.0)
        dropped, grad_X_dropped, _ = value(X[1:], a[1:], return_grad=True)
        assert loss == pytest.approx(dropped, rel=1e-12)
        np.testing.assert_allclose(grad_X[1:], grad_X_dropped, rtol=1e-9, atol=1e-12)


@pytest.mark.parametrize("eps", [1e-20, 1e-310, 5e-324])
@pytest.mark.parametrize("function", ["loss", "dual", "primal"])
def test_eps_below_float64_resolution_is_refused(eps, function):
    # At eps = 1e-20 W_L returned 49.1 > max C (47.9), at 1e-310 NaN.
    X, Y = _issue_clouds()
    with pytest.raises(ValueError, match="eps=.* is too small for costs up to 47.9"):
        if function == "loss":
            sinkhorn_loss(X, Y, eps=eps, return_grad=True)
        else:
            sinkhorn_divergence(X, Y, eps=eps, kind=function)


def test_smallest_resolved_eps_gives_values_within_their_bounds():
    # Just above the limit, W_L is the cost of a unit-mass plan (<= max C) and
    # the divergence tends to 2 W as in POT's exact solver.
    X, Y = _issue_clouds()
    C = cost_matrix(X, Y)
    eps = 1.01 * MIN_EPS_PER_COST * C.max()
    assert 0 < sinkhorn_loss(X, Y, eps=eps) <= C.max()
    exact = ot.emd2(np.full(40, 1 / 40), np.full(30, 1 / 30), C)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        divergence = sinkhorn_divergence(X, Y, eps=1e-6 * C.mean(), kind="primal",
                                         max_iter=100_000)
    assert divergence == pytest.approx(2 * exact, rel=1e-3)


def test_unrolled_gradient_overflow_falls_back_quietly():
    # Scalings finite but the reverse sweep overflows (it divides by K v):
    # the log-domain fallback copes, so no RuntimeWarning reaches the user
    # (pytest turns one into an error) and the result matches long double.
    rng = np.random.default_rng(0)
    X, Y = rng.normal(size=(8, 2)), rng.normal(size=(9, 2)) * 2
    a, b = np.full(8, 1 / 8), np.full(9, 1 / 9)
    C = cost_matrix(X, Y)
    eps = 0.0069
    scaled = _unrolled_sinkhorn(C, a, b, eps, 20)
    expected, _ = unrolled_in_long_double(C, a, b, eps, 20)
    assert scaled[0] == pytest.approx(expected, rel=1e-10)
    assert all(np.isfinite(g).all() for g in scaled[1:])


@pytest.mark.parametrize("mode", ["dense", "multiscale"])
def test_divergence_with_the_value_of_y_against_itself_given(rng, mode):
    # OT(b, b) from sinkhorn_points(Y, None), solved apart, replaces the divergence's
    # own third problem (the same symmetric solve): same value, same gradients. It
    # agrees with the alternating solve of (Y, Y) (which stalls near 4e-8 here) and
    # with POT.
    X, Y, a, b = random_problem(rng, 60, 50)
    self_plan = sinkhorn_points(Y, None, b, eps=0.1, tol=1e-10, mode=mode)
    np.testing.assert_array_equal(self_plan.f, self_plan.g)
    alternating = sinkhorn_points(Y, Y, b, b, eps=0.1, tol=1e-6, mode=mode)
    assert self_plan.value == pytest.approx(alternating.value, abs=1e-6)
    pot = ot.sinkhorn2(b, b, cost_matrix(Y, Y), 0.1, stopThr=1e-12, numItermax=100_000)
    assert self_plan.transport_cost == pytest.approx(float(pot), rel=1e-7)
    ot_yy = self_plan.value
    full = sinkhorn_divergence(X, Y, a, b, eps=0.1, return_grad=True, tol=1e-10, mode=mode)
    given = sinkhorn_divergence(X, Y, a, b, eps=0.1, return_grad=True, tol=1e-10, mode=mode,
                                ot_yy=ot_yy)
    assert given[0] == pytest.approx(full[0], abs=1e-12)
    for ours, reference in zip(given[1:], full[1:], strict=True):
        np.testing.assert_array_equal(ours, reference)
    with pytest.raises(ValueError, match="ot_yy is the entropic value"):
        sinkhorn_divergence(X, Y, eps=0.1, kind="primal", ot_yy=ot_yy)
    for bad in (np.nan, np.inf):
        with pytest.raises(ValueError, match="ot_yy"):
            sinkhorn_divergence(X, Y, eps=0.1, ot_yy=bad)
    for bad, message in (({"b": b}, "b must be None when Y is None"),
                         ({"init": (a, a)}, "init must be None when Y is None")):
        with pytest.raises(ValueError, match=message):
            sinkhorn_points(Y, None, eps=0.1, **bad)
    with pytest.raises(ValueError, match="not a batch"):
        sinkhorn_points(np.stack([Y, Y]), None, eps=0.1)
