"""The GPU backend's algorithm and the ``skwass.ot`` device path, on every machine.

``skwass._backend._reference`` implements the CuPy backend's fused ops with
plain NumPy; running ``skwass.ot._device`` (validation, eps-scaling, the
generic log-domain solver of ``_xp_sinkhorn``, results) with it stands in for
the GPU, and is compared with the CPU (Numba) path and POT. The CUDA kernels
themselves are only exercised by tests/test_gpu.py, on a machine with CuPy.
"""

import sys
import warnings

import numpy as np
import ot
import pytest
from _fake_device import DeviceArray
from _problems import gauge, random_problem
from sklearn.exceptions import ConvergenceWarning

from skwass._backend import _numpy as numpy_backend
from skwass._backend import _reference as ref
from skwass._backend import _xp_sinkhorn, device_backend, get_backend
from skwass.ot import (
    _device,
    cost_matrix,
    mmd,
    sinkhorn,
    sinkhorn_divergence,
    sinkhorn_loss,
    sinkhorn_points,
)

SOLVER = {"tol": 1e-10, "max_iter": 20_000, "eps_scaling": "auto", "init": None}
METRICS = ["sqeuclidean", "euclidean", "cityblock"]


# ---------------------------------------------------------------------------
# Dispatch
# ---------------------------------------------------------------------------


def _fake_array_type(module):
    return type("ndarray", (), {"__module__": module})


def test_get_backend_numpy_and_unknown():
    assert get_backend(np.zeros(2), None, [1.0], 0.5).name == "numpy"
    with pytest.raises(TypeError, match="no backend for arrays of type torch"):
        get_backend(np.zeros(2), _fake_array_type("torch")())
    # NumPy input never imports the CuPy backend.
    assert "skwass._backend._cupy" not in sys.modules


def test_other_array_likes_keep_the_numpy_path(rng):
    """Objects from unregistered libraries (pandas, ...) are converted as before."""
    X = rng.normal(size=(5, 2))
    frame = type("DataFrame", (), {"__module__": "pandas.core.frame",
                                   "__array__": lambda self, dtype=None, copy=None: X})()
    assert device_backend(frame, None) is None
    np.testing.assert_allclose(cost_matrix(frame), cost_matrix(X))
    assert sinkhorn_points(frame, X, eps=0.5).transport_cost == pytest.approx(
        sinkhorn_points(X, X, eps=0.5).transport_cost)


def test_get_backend_recognizes_cupy_arrays_by_module(monkeypatch):
    fake = _fake_array_type("cupy._core.core")()
    sentinel = type(sys)("skwass._backend._cupy")
    sentinel.name = "cupy"
    monkeypatch.setitem(sys.modules, "skwass._backend._cupy", sentinel)
    assert get_backend(np.zeros(2), fake) is sentinel
    assert device_backend(None, fake) is sentinel
    with pytest.raises(TypeError, match="cannot be mixed"):
        monkeypatch.setitem(
            sys.modules["skwass._backend"]._REGISTRY, "jax", "skwass._backend._cupy"
        )
        get_backend(fake, _fake_array_type("jax")())


# ---------------------------------------------------------------------------
# Fused ops against the Numba kernels
# ---------------------------------------------------------------------------


def test_reference_ops_match_numba_kernels(rng):
    X, Y, a, b = random_problem(rng, 13, 9, d=3)
    b[4] = 0.0
    b /= b.sum()
    C = cost_matrix(X, Y)
    f, g = rng.normal(size=13), rng.normal(size=9)
    eps = 0.3
    with np.errstate(divide="ignore"):
        log_a, log_b = np.log(a), np.log(b)
    e = np.array([eps])
    np.testing.assert_allclose(
        ref.ctransform_rows(C[None], g[None], log_b[None], e)[0],
        numpy_backend.ctransform_rows(C, g, log_b, eps), rtol=1e-13,
    )
    np.testing.assert_allclose(
        ref.ctransform_cols(C[None], f[None], log_a[None], e)[0],
        numpy_backend.ctransform_cols(C, f, log_a, eps), rtol=1e-13,
    )
    cost, rows, cols = ref.plan_statistics(C[None], f[None], g[None], log_a[None],
                                           log_b[None], e)
    expected = numpy_backend.plan_statistics(C, f, g, log_a, log_b, eps)
    np.testing.assert_allclose(cost[0], expected[0], rtol=1e-12)
    np.testing.assert_allclose(rows[0], expected[1], rtol=1e-12)
    np.testing.assert_allclose(cols[0], expected[2], rtol=1e-12)
    for metric in METRICS:
        code = numpy_backend.METRIC_CODES[metric]
        np.testing.assert_allclose(
            ref.ctransform_points(X, Y, g, log_b, eps, metric),
            numpy_backend.ctransform_online(X, Y, g, log_b, eps, code), rtol=1e-12,
        )
        stats = ref.plan_statistics_points(X, Y, f, g, log_a, log_b, eps, metric)
        expected = numpy_backend.plan_statistics_online(X, Y, f, g, log_a, log_b, eps, code)
        for got, want in zip(stats, expected, strict=True):
            np.testing.assert_allclose(got, want, rtol=1e-12)
        np.testing.assert_allclose(ref.pairwise_cost(X, Y, metric),
                                   cost_matrix(X, Y, metric=metric), rtol=1e-12)


def test_relax_reads_the_marginal_error(rng):
    P, TP = rng.normal(size=(2, 5)), rng.normal(size=(2, 5))
    w = np.full((2, 5), 0.2)
    w[1, 0] = 0.0
    with np.errstate(divide="ignore"):
        log_w = np.log(w)
    eps = np.array([[0.5], [2.0]])
    new, err = ref.relax(P, TP, log_w, eps, np.array([[1.5], [0.0]]))
    np.testing.assert_allclose(new[0], -0.5 * P[0] + 1.5 * TP[0])
    np.testing.assert_array_equal(new[1], P[1])  # omega = 0 freezes a problem
    np.testing.assert_allclose(err, np.abs(w * np.exp((P - TP) / eps) - w).sum(axis=1))


# ---------------------------------------------------------------------------
# The generic solver through skwass.ot's device path
# ---------------------------------------------------------------------------


@pytest.mark.parametrize("eps_rel", [0.5, 0.05, 0.005])
def test_dense_matches_cpu_and_pot(rng, eps_rel):
    X, Y, a, b = random_problem(rng, 30, 22, d=2)
    C = cost_matrix(X, Y)
    eps = eps_rel * C.mean()
    res = _device.sinkhorn(ref, a, b, C, eps, **SOLVER)
    cpu = sinkhorn(a, b, C, eps, tol=1e-10)
    assert res.converged and res.marginal_error <= 1e-10
    assert isinstance(res.transport_cost, float) and res.f.shape == (30,)
    np.testing.assert_allclose(res.transport_cost, cpu.transport_cost, rtol=1e-8)
    np.testing.assert_allclose(res.value, cpu.value, rtol=1e-8)
    f, g = gauge(res.f, res.g, a)
    f_cpu, g_cpu = gauge(cpu.f, cpu.g, a)
    scale = np.abs(f_cpu).max()
    np.testing.assert_allclose(f, f_cpu, atol=1e-7 * scale)
    np.testing.assert_allclose(g, g_cpu, atol=1e-7 * scale)
    if eps_rel >= 0.05:  # POT's log solver is too slow at the smallest eps
        P_ref = ot.sinkhorn(a, b, C, eps, method="sinkhorn_log", stopThr=1e-14,
                            numItermax=100_000)
        np.testing.assert_allclose(res.plan(), P_ref, atol=1e-7 * P_ref.max())


def test_float32_matches_cpu(rng):
    X, Y, a, b = random_problem(rng, 25, 20, dtype=np.float32)
    C = cost_matrix(X, Y)
    assert C.dtype == np.float32
    res = _device.sinkhorn(ref, a, b, C, 0.1, **SOLVER)
    cpu = sinkhorn(a, b, C, 0.1, tol=1e-10)
    assert res.converged
    np.testing.assert_allclose(res.transport_cost, cpu.transport_cost, rtol=1e-3)
    np.testing.assert_allclose(gauge(res.f, res.g, a)[0], gauge(cpu.f, cpu.g, a)[0],
                               atol=1e-3 * np.abs(cpu.f).max())


def test_zero_weights(rng):
    X, Y, a, b = random_problem(rng, 15, 12)
    a[[0, 7]] = 0.0
    a /= a.sum()
    b[3] = 0.0
    b /= b.sum()
    C = cost_matrix(X, Y)
    res = _device.sinkhorn(ref, a, b, C, 0.2, **SOLVER)
    cpu = sinkhorn(a, b, C, 0.2, tol=1e-10)
    assert res.converged and np.all(np.isfinite(res.f)) and np.all(np.isfinite(res.g))
    np.testing.assert_allclose(res.plan(), cpu.plan(), atol=1e-9)
    # f is the exact c-transform of g everywhere, zero-weight rows included.
    np.testing.assert_allclose(res.f, cpu.f - cpu.f[1] + res.f[1], rtol=1e-7, atol=1e-9)


def test_batch_matches_cpu_batch(rng):
    problems = [random_problem(rng, 20, 16, d=2) for _ in range(3)]
    C = np.stack([cost_matrix(X, Y) for X, Y, _, _ in problems])
    a = np.stack([p[2] for p in problems])
    b = problems[0][3]
    eps = np.array([0.5, 0.05, 0.01]) * C.mean()
    res = _device.sinkhorn(ref, a, b, C, eps, **SOLVER)
    cpu = sinkhorn(a, b, C, eps, tol=1e-10)
    assert res.converged.all() and res.f.shape == (3, 20)
    assert res.n_iter.dtype == np.int64 and res.n_iter.shape == (3,)
    np.testing.assert_allclose(res.transport_cost, cpu.transport_cost, rtol=1e-8)
    np.testing.assert_allclose(res.value, cpu.value, rtol=1e-8)
    np.testing.assert_allclose(res.plan(), cpu.plan(), atol=1e-9)
    # Each problem stops on its own: the easy one needs fewer iterations.
    assert res.n_iter[0] < res.n_iter[2]


@pytest.mark.parametrize("max_iter, tol", [(1, 1e-12), (2, 1e-12), (10, 1e-12), (11, 1e-12),
                                           (12, 1e-12), (25, 1e-12), (40, 1e-12),
                                           (500, 1e-5), (500, 1e-8)])
def test_generic_solver_follows_the_numba_solvers_step_by_step(rng, monkeypatch, max_iter,
                                                                 tol):
    """Same iterates as the CPU log-domain solvers (batch and online), read-offs and
    stopping rules (the error estimate, the returned plan's check) included."""
    monkeypatch.setattr(_xp_sinkhorn, "_SYNC_EVERY_ITERATION", 0)
    X, Y, a, b = random_problem(rng, 25, 20, d=2)
    C = cost_matrix(X, Y)[None]
    log_a, log_b = np.log(a)[None], np.log(b)[None]
    eps = np.array([0.02 * C.mean()])
    F0, G0 = rng.normal(size=(1, 25)), rng.normal(size=(1, 20))
    F_cpu, G_cpu = F0.copy(), G0.copy()
    it_cpu, err_cpu = numpy_backend.sinkhorn_batch(C, log_a, log_b, eps, F_cpu, G_cpu,
                                                   tol, max_iter)
    it, err, F, G = ref.sinkhorn_dense(C, log_a, log_b, eps, F0.copy(), G0.copy(), tol,
                                       max_iter)
    np.testing.assert_array_equal(it, it_cpu)
    np.testing.assert_allclose(err, err_cpu, rtol=1e-6)
    np.testing.assert_allclose(F, F_cpu, atol=1e-12)
    np.testing.assert_allclose(G, G_cpu, atol=1e-12)
    F_cpu, G_cpu = F0[0].copy(), G0[0].copy()
    it_cpu, err_cpu = numpy_backend.sinkhorn_online(X, Y, log_a[0], log_b[0], eps[0], F_cpu,
                                                    G_cpu, tol, max_iter, 2)
    it, err, F, G = ref.sinkhorn_points(X, Y, log_a, log_b, eps[0], F0.copy(), G0.copy(),
                                        tol, max_iter, "cityblock")
    assert it[0] == it_cpu
    np.testing.assert_allclose(err[0], err_cpu, rtol=1e-6)
    np.testing.assert_allclose(F[0], F_cpu, atol=1e-12)
    np.testing.assert_allclose(G[0], G_cpu, atol=1e-12)


def test_sync_every_iteration_gives_the_same_answer(rng, monkeypatch):
    X, Y, a, b = random_problem(rng, 20, 18)
    C = cost_matrix(X, Y)
    windowed = _device.sinkhorn(ref, a, b, C, 0.05, **SOLVER)
    monkeypatch.setattr(_xp_sinkhorn, "_SYNC_EVERY_ITERATION", 0)
    every = _device.sinkhorn(ref, a, b, C, 0.05, **SOLVER)
    assert every.n_iter <= windowed.n_iter
    np.testing.assert_allclose(every.transport_cost, windowed.transport_cost, rtol=1e-9)


def test_warm_start_saves_iterations(rng):
    X, Y, a, b = random_problem(rng, 25, 25)
    C = cost_matrix(X, Y)
    cold = _device.sinkhorn(ref, a, b, C, 0.05, **SOLVER)
    warm = _device.sinkhorn(ref, a, b, C * (1 + 1e-6), 0.05,
                            **{**SOLVER, "init": (cold.f, cold.g)})
    assert warm.converged and warm.n_iter < 0.6 * cold.n_iter
    batch = _device.sinkhorn(ref, a, b, np.stack([C, C]), 0.05,
                             **{**SOLVER, "init": (np.stack([cold.f] * 2),
                                                   np.stack([cold.g] * 2))})
    assert batch.converged.all() and np.all(batch.n_iter < 0.6 * cold.n_iter)


@pytest.mark.parametrize("metric", METRICS)
def test_online_matches_cpu_online(rng, metric):
    X, Y, a, b = random_problem(rng, 40, 30, d=3)
    a[5] = 0.0
    a /= a.sum()
    eps = 0.02 * cost_matrix(X, Y, metric=metric).mean()
    res = _device.sinkhorn_points(ref, X, Y, a, b, eps=eps, metric=metric, mode="online",
                                  **SOLVER)
    cpu = sinkhorn_points(X, Y, a, b, eps=eps, metric=metric, mode="online", tol=1e-10)
    assert res.converged
    np.testing.assert_allclose(res.transport_cost, cpu.transport_cost, rtol=1e-8)
    np.testing.assert_allclose(res.plan(), cpu.plan(), atol=1e-9)
    dense = _device.sinkhorn_points(ref, X, Y, a, b, eps=eps, metric=metric, mode="dense",
                                    **SOLVER)
    np.testing.assert_allclose(dense.transport_cost, cpu.transport_cost, rtol=1e-8)


def test_points_batch_matches_cpu(rng):
    X = rng.normal(size=(3, 12, 2))
    Y = rng.normal(size=(10, 2)) + 1.0
    res = _device.sinkhorn_points(ref, X, Y, None, None, eps=[0.1, 0.2, 0.3],
                                  metric="euclidean", mode="auto", **SOLVER)
    cpu = sinkhorn_points(X, Y, eps=[0.1, 0.2, 0.3], metric="euclidean", tol=1e-10)
    np.testing.assert_allclose(res.transport_cost, cpu.transport_cost, rtol=1e-8)
    with pytest.raises(ValueError, match="mode='online'"):
        _device.sinkhorn_points(ref, X, Y, None, None, eps=0.1, metric="euclidean",
                                mode="online", **SOLVER)
    with pytest.raises(ValueError, match="X holds 3 point clouds but Y holds 2"):
        _device.sinkhorn_points(ref, X, np.ones((2, 4, 2)), None, None, eps=0.1,
                                metric="euclidean", mode="auto", **SOLVER)


def test_non_convergence_warns_and_reports(rng):
    X, Y, a, b = random_problem(rng, 20, 20)
    C = cost_matrix(X, Y)
    with pytest.warns(ConvergenceWarning, match="did not converge in 3 iterations"):
        res = _device.sinkhorn(ref, a, b, C, 0.01, **{**SOLVER, "max_iter": 3,
                                                      "eps_scaling": None})
    P = res.plan()
    error = np.abs(P.sum(1) - a).sum() + np.abs(P.sum(0) - b).sum()
    assert not res.converged and res.n_iter == 3
    np.testing.assert_allclose(res.marginal_error, error, rtol=1e-8)
    with pytest.warns(ConvergenceWarning, match="1 of 3 problems"):
        _device.sinkhorn(ref, None, None, rng.random((3, 4, 5)) * 100, [1e3, 0.01, 1e3],
                         **{**SOLVER, "tol": 1e-6, "max_iter": 2, "eps_scaling": None})


@pytest.mark.parametrize(
    "args, kwargs, match",
    [
        ((None, None, [[np.nan, 1.0]], 0.1), {}, "C contains NaN"),
        ((None, None, np.ones(3), 0.1), {}, "C must be a 2-D"),
        ((None, None, np.ones((0, 2)), 0.1), {}, "C is empty"),
        (([0.5, -0.5, 1.0], None, np.ones((3, 2)), 0.1), {}, "a has negative"),
        ((None, [0.2, 0.2], np.ones((2, 2)), 0.1), {}, "b sums to"),
        ((None, None, np.ones((2, 2)), -1.0), {}, "eps must be a positive"),
        ((None, None, np.ones((3, 2, 2)), [0.1, 0.2]), {}, "eps has 2 entries"),
        ((None, None, np.ones((2, 2)), 0.1), {"init": (np.zeros(3), np.zeros(2))}, "init"),
        ((None, None, np.ones((2, 2)), 0.1), {"max_iter": 0}, "max_iter"),
    ],
)
def test_bad_input(args, kwargs, match):
    with pytest.raises(ValueError, match=match):
        _device.sinkhorn(ref, *args, **{**SOLVER, **kwargs})


# ---------------------------------------------------------------------------
# Costs, divergences and MMD
# ---------------------------------------------------------------------------


@pytest.mark.parametrize("metric", METRICS + ["hamming"])
@pytest.mark.parametrize("normalize", [None, "median"])
def test_cost_matrix_matches_cpu(rng, metric, normalize):
    X, Y = rng.normal(size=(6, 3)), rng.normal(size=(5, 3))
    if metric == "hamming":
        X, Y = (X > 0).astype(float), (Y > 0).astype(float)
    np.testing.assert_allclose(
        _device.cost_matrix(ref, X, Y, metric=metric, normalize=normalize),
        cost_matrix(X, Y, metric=metric, normalize=normalize), rtol=1e-12, atol=1e-12,
    )
    with pytest.raises(ValueError, match="same number of features"):
        _device.cost_matrix(ref, X, Y[:, :2], metric=metric)


def test_cost_matrix_callable_and_errors(rng):
    X = rng.normal(size=(4, 2))
    C = _device.cost_matrix(ref, X, metric=lambda P, Q: np.abs(P[:, :1] - Q[:, 0]))
    np.testing.assert_allclose(C, np.abs(X[:, :1] - X[:, 0]))
    with pytest.raises(ValueError, match="binary"):
        _device.cost_matrix(ref, X, metric="hamming")
    with pytest.raises(ValueError, match="returned shape"):
        _device.cost_matrix(ref, X, metric=lambda P, Q: np.ones((2, 2)))


@pytest.mark.parametrize("kind", ["dual", "primal"])
@pytest.mark.parametrize("metric", ["sqeuclidean", "euclidean", "cityblock"])
def test_divergence_and_gradients_match_cpu(rng, fake_device, kind, metric):
    """Values and gradients on the device path: envelope theorem and implicit differentiation."""
    to_device, calls = fake_device
    X, Y, a, b = random_problem(rng, 10, 12, d=2)
    options = dict(eps=0.3, metric=metric, kind=kind, tol=1e-12, max_iter=50_000)
    value, grad_X, grad_a = sinkhorn_divergence(to_device(X), to_device(Y), a, b,
                                                return_grad=True, **options)
    assert ("divergence_solvers", "reference") in calls
    cpu_value, cpu_grad_X, cpu_grad_a = sinkhorn_divergence(X, Y, a, b, return_grad=True,
                                                            **options)
    assert value == pytest.approx(cpu_value, rel=1e-8)
    assert type(grad_X) is DeviceArray and type(grad_a) is DeviceArray  # stayed on the device
    np.testing.assert_allclose(grad_X, cpu_grad_X, atol=1e-7)
    # grad_a is defined up to a constant.
    np.testing.assert_allclose(grad_a - grad_a.mean(), cpu_grad_a - cpu_grad_a.mean(),
                               atol=1e-7)


@pytest.mark.parametrize("metric", ["sqeuclidean", "cityblock"])
def test_unrolled_loss_matches_cpu(rng, fake_device, metric):
    """W_L (sinkhorn_loss, and the divergence with n_iter) on the device path."""
    to_device, _ = fake_device
    X, Y, a, b = random_problem(rng, 9, 11, d=3)
    gpu = sinkhorn_loss(to_device(X), to_device(Y), a, b, eps=0.5, metric=metric,
                        return_grad=True)
    cpu = sinkhorn_loss(X, Y, a, b, eps=0.5, metric=metric, return_grad=True)
    assert gpu[0] == pytest.approx(cpu[0], rel=1e-12)
    assert type(gpu[1]) is DeviceArray  # (grad_a starts as xp.zeros: NumPy's, here)
    for g_gpu, g_cpu in zip(gpu[1:], cpu[1:], strict=True):
        np.testing.assert_allclose(g_gpu, g_cpu, rtol=1e-10, atol=1e-13)
    options = dict(eps=0.5, metric=metric, kind="primal", n_iter=15, return_grad=True)
    gpu = sinkhorn_divergence(to_device(X), to_device(Y), a, b, **options)
    cpu = sinkhorn_divergence(X, Y, a, b, **options)
    assert gpu[0] == pytest.approx(cpu[0], rel=1e-12)
    np.testing.assert_allclose(gpu[1], cpu[1], rtol=1e-10, atol=1e-13)


def test_cost_gradient_matches_numba(rng):
    """The array-namespace chain rule dL/dC -> dL/dX against the Numba kernel."""
    X, Y = rng.normal(size=(13, 4)), rng.normal(size=(9, 4))
    Y[3] = X[5]  # a coincident pair: |x - y| has gradient 0 there on both
    G = rng.random((13, 9))
    for metric in METRICS:
        np.testing.assert_allclose(ref.cost_gradient(G, X, Y, metric),
                                   numpy_backend.cost_gradient(G, X, Y, metric),
                                   rtol=1e-12, atol=1e-13)


@pytest.mark.parametrize("kernel", ["gaussian", "imq", "energy"])
@pytest.mark.parametrize("unbiased", [False, True])
def test_mmd_matches_cpu(rng, fake_device, kernel, unbiased):
    to_device, calls = fake_device
    X, Y = rng.normal(size=(9, 2)), rng.normal(size=(7, 2)) + 0.5
    X[3] = X[1]  # coincident points: the energy slope at 0
    options = dict(kernel=kernel, bandwidth=[0.5, 2.0], unbiased=unbiased, return_grad=True)
    value, grad = mmd(to_device(X), to_device(Y), **options)
    assert ("check_mmd_weights", "reference") in calls and type(grad) is DeviceArray
    # The kernel matrices came from the reference backend, not from Numba.
    assert {backend for _, backend in calls} == {"reference"}
    cpu_value, cpu_grad = mmd(X, Y, **options)
    assert value == pytest.approx(cpu_value, rel=1e-10, abs=1e-12)
    np.testing.assert_allclose(grad, cpu_grad, rtol=1e-9, atol=1e-12)
    with pytest.raises(ValueError, match="callable kernel"):
        mmd(to_device(X), Y, **{**options, "kernel": lambda P, Q: P @ Q.T})


def test_symmetric_solver_matches_cpu(rng):
    X, _, a, _ = random_problem(rng, 20, 1)
    C = cost_matrix(X, X)
    with warnings.catch_warnings():
        warnings.simplefilter("error", ConvergenceWarning)
        res = _device._solve_symmetric(ref, a, C, 0.01, 1e-11, 10_000)
    from skwass.ot._sinkhorn import _solve_symmetric

    cpu = _solve_symmetric(a, C, 0.01, 1e-11, 10_000)
    np.testing.assert_allclose(res.f, cpu.f, rtol=1e-8, atol=1e-10)
    assert res.value == pytest.approx(cpu.value, rel=1e-9)


# ---------------------------------------------------------------------------
# Routing of the public functions (the reference backend posing as a device)
# ---------------------------------------------------------------------------


def test_public_functions_route_device_arrays(rng, fake_device):
    device, calls = fake_device
    X, Y, a, b = random_problem(rng, 12, 10)
    C = cost_matrix(X, Y)
    res = sinkhorn(a, b, device(C), 0.1, tol=1e-10)
    assert calls[0] == ("sinkhorn", "reference")
    assert res.transport_cost == pytest.approx(sinkhorn(a, b, C, 0.1).transport_cost, rel=1e-7)
    calls.clear()
    batch = sinkhorn_points(device(np.stack([X, X])), Y, eps=[0.1, 0.2], tol=1e-10)
    assert calls[0] == ("sinkhorn_points", "reference") and batch.f.shape == (2, 12)
    online = sinkhorn_points(device(X), Y, a, b, eps=0.1, mode="online", tol=1e-10)
    assert online.transport_cost == pytest.approx(res.transport_cost, rel=1e-7)
    calls.clear()
    np.testing.assert_allclose(cost_matrix(device(X), Y, metric="cityblock"),
                               cost_matrix(X, Y, metric="cityblock"))
    assert calls[0] == ("cost_matrix", "reference")
    calls.clear()
    assert sinkhorn_divergence(device(X), Y, eps=0.5) == pytest.approx(
        sinkhorn_divergence(X, Y, eps=0.5), rel=1e-7)
    assert ("divergence_solvers", "reference") in calls
    calls.clear()
    assert mmd(device(X), Y) == pytest.approx(mmd(X, Y), rel=1e-10)
    assert calls == [("check_points", "reference"), ("check_mmd_weights", "reference")]
    # NumPy input keeps the Numba path.
    calls.clear()
    sinkhorn(a, b, C, 0.1)
    sinkhorn_points(X, Y, eps=0.1)
    assert calls == []


def test_merge_of_partial_log_sum_exps(rng):
    """The merge behind the GPU's split online c-transform (plain NumPy here)."""
    from scipy.special import logsumexp

    from skwass._kernels._cuda import merge_lse

    z = rng.normal(size=(7, 30)) * 50
    z[:, 20:] = -np.inf  # the last split holds only zero weights
    parts = np.array_split(np.arange(30), 3)
    top = np.stack([z[:, p].max(axis=1) for p in parts])
    acc = np.stack([np.exp(z[:, p] - t[:, None]).sum(axis=1) if np.isfinite(t).all()
                    else np.zeros(7) for p, t in zip(parts, top, strict=True)])
    np.testing.assert_allclose(merge_lse(np, top, acc), logsumexp(z, axis=1), rtol=1e-13)
    np.testing.assert_allclose(merge_lse(np, top[:1], acc[:1]),
                               logsumexp(z[:, parts[0]], axis=1), rtol=1e-13)


def test_gpu_online_tile_sizes():
    """Shared-memory tiles of the online CUDA kernels (plain Python, no GPU needed)."""
    from skwass._kernels._cuda import _tile

    assert _tile(2, 8) == (256, 256 * 24)
    tile, shared = _tile(64, 8)
    assert tile == 32 * 1024 // 520 and shared <= 32 * 1024
    assert _tile(5000, 8)[0] == 1
    with pytest.raises(ValueError, match="mode='dense'"):
        _tile(7000, 8)
