"""The GPU backend's algorithm, through ``skwass.ot``'s one front-end, on every machine.

``skwass._backend._reference`` implements the CuPy backend's primitives with
plain NumPy, under the same array-namespace solver (``_xp_sinkhorn``); the
``fake_device`` fixture sends marked arrays to it, so the public functions run
exactly the code they run on CuPy arrays (validation, eps schedule, stage loop,
results), and are compared with the Numba backend and POT. The CUDA kernels
themselves are only exercised by tests/test_gpu.py, on a machine with CuPy.
"""

import os
import subprocess
import sys
import warnings

import numpy as np
import ot
import pytest
from _problems import gauge, random_problem
from sklearn.exceptions import ConvergenceWarning

from skwass._backend import _numpy as numpy_backend
from skwass._backend import _reference as ref
from skwass._backend import _xp_sinkhorn, get_backend
from skwass._kernels import _blocks, _transforms
from skwass._kernels._costs import METRIC_CODES
from skwass.ot import (
    cost_matrix,
    mixture_mmd,
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


@pytest.fixture
def device(fake_device):
    return fake_device[0]


def test_get_backend_numpy_and_unknown():
    assert get_backend(np.zeros(2), None, [1.0], 0.5).name == "numpy"
    # Unregistered array types are converted by np.asarray, on the NumPy backend.
    assert get_backend(np.zeros(2), _fake_array_type("torch")()).name == "numpy"


def test_numpy_input_never_imports_the_cupy_backend():
    # In a fresh interpreter: in this one an earlier GPU test may have imported it.
    code = ("import sys, numpy as np; from skwass.ot import sinkhorn_points; "
            "x = np.random.default_rng(0).normal(size=(20, 2)); sinkhorn_points(x, x, eps=1.0); "
            "print('skwass._backend._cupy' in sys.modules)")
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    env = dict(os.environ, PYTHONPATH=root + os.pathsep + os.environ.get("PYTHONPATH", ""))
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True,
                         check=True)
    assert out.stdout.strip() == "False"


def test_other_array_likes_keep_the_numpy_path(rng):
    """Objects from unregistered libraries (pandas, ...) are converted as before."""
    X = rng.normal(size=(5, 2))
    frame = type("DataFrame", (), {"__module__": "pandas.core.frame",
                                   "__array__": lambda self, dtype=None, copy=None: X})()
    assert get_backend(frame, None).name == "numpy"
    np.testing.assert_allclose(cost_matrix(frame), cost_matrix(X))
    assert sinkhorn_points(frame, X, eps=0.5).transport_cost == pytest.approx(
        sinkhorn_points(X, X, eps=0.5).transport_cost)


def test_get_backend_recognizes_cupy_arrays_by_module(monkeypatch):
    fake = _fake_array_type("cupy._core.core")()
    sentinel = type(sys)("skwass._backend._cupy")
    sentinel.name = "cupy"
    monkeypatch.setitem(sys.modules, "skwass._backend._cupy", sentinel)
    assert get_backend(np.zeros(2), fake) is sentinel
    assert get_backend(None, fake) is sentinel
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
        ref.lse_rows(C[None], g[None], log_b[None], e)[0],
        _transforms.ctransform_rows(C, g, log_b, eps), rtol=1e-13,
    )
    np.testing.assert_allclose(
        ref.lse_cols(C[None], f[None], log_a[None], e)[0],
        _transforms.ctransform_cols(C, f, log_a, eps), rtol=1e-13,
    )
    cost, rows, cols = ref.plan_statistics(C[None], f[None], g[None], log_a[None],
                                           log_b[None], e)
    expected = numpy_backend.plan_statistics(C[None], f[None], g[None], log_a[None],
                                             log_b[None], e)
    for got, want in zip((cost, rows, cols), expected, strict=True):
        np.testing.assert_allclose(got, want, rtol=1e-12)
    for metric in METRICS:
        np.testing.assert_allclose(
            ref.lse_points(X, Y, g, log_b, eps, metric),
            _blocks.ctransform_points(X, Y, g, log_b, eps, METRIC_CODES[metric]),
            rtol=1e-12,
        )
        stats = ref.plan_statistics_points(X, Y, f, g, log_a, log_b, eps, metric)
        expected = numpy_backend.plan_statistics_points(X, Y, f, g, log_a, log_b, eps, metric)
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
# The array-namespace solver through skwass.ot's front-end
# ---------------------------------------------------------------------------


@pytest.mark.parametrize("eps_rel", [0.5, 0.05, 0.005])
def test_dense_matches_cpu_and_pot(rng, eps_rel, device):
    X, Y, a, b = random_problem(rng, 30, 22, d=2)
    C = cost_matrix(X, Y)
    eps = eps_rel * C.mean()
    res = sinkhorn(a, b, device(C), eps, **SOLVER)
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


def test_float32_matches_cpu(rng, device):
    X, Y, a, b = random_problem(rng, 25, 20, dtype=np.float32)
    C = cost_matrix(X, Y)
    assert C.dtype == np.float32
    res = sinkhorn(a, b, device(C), 0.1, **SOLVER)
    cpu = sinkhorn(a, b, C, 0.1, tol=1e-10)
    assert res.converged
    np.testing.assert_allclose(res.transport_cost, cpu.transport_cost, rtol=1e-3)
    np.testing.assert_allclose(gauge(res.f, res.g, a)[0], gauge(cpu.f, cpu.g, a)[0],
                               atol=1e-3 * np.abs(cpu.f).max())


def test_zero_weights(rng, device):
    X, Y, a, b = random_problem(rng, 15, 12)
    a[[0, 7]] = 0.0
    a /= a.sum()
    b[3] = 0.0
    b /= b.sum()
    C = cost_matrix(X, Y)
    res = sinkhorn(a, b, device(C), 0.2, **SOLVER)
    cpu = sinkhorn(a, b, C, 0.2, tol=1e-10)
    assert res.converged and np.all(np.isfinite(res.f)) and np.all(np.isfinite(res.g))
    np.testing.assert_allclose(res.plan(), cpu.plan(), atol=1e-9)
    # f is the exact c-transform of g everywhere, zero-weight rows included.
    np.testing.assert_allclose(res.f, cpu.f - cpu.f[1] + res.f[1], rtol=1e-7, atol=1e-9)


def test_batch_matches_cpu_batch(rng, device):
    problems = [random_problem(rng, 20, 16, d=2) for _ in range(3)]
    C = np.stack([cost_matrix(X, Y) for X, Y, _, _ in problems])
    a = np.stack([p[2] for p in problems])
    b = problems[0][3]
    eps = np.array([0.5, 0.05, 0.01]) * C.mean()
    res = sinkhorn(a, b, device(C), eps, **SOLVER)
    cpu = sinkhorn(a, b, C, eps, tol=1e-10)
    assert res.converged.all() and res.f.shape == (3, 20)
    assert res.n_iter.dtype == np.int64 and res.n_iter.shape == (3,)
    np.testing.assert_allclose(res.transport_cost, cpu.transport_cost, rtol=1e-8)
    np.testing.assert_allclose(res.value, cpu.value, rtol=1e-8)
    np.testing.assert_allclose(res.plan(), cpu.plan(), atol=1e-9)
    # Each problem stops on its own: the easy one needs fewer iterations.
    assert res.n_iter[0] < res.n_iter[2]


def test_sync_every_iteration_gives_the_same_answer(rng, monkeypatch, device):
    X, Y, a, b = random_problem(rng, 20, 18)
    C = cost_matrix(X, Y)
    windowed = sinkhorn(a, b, device(C), 0.05, **SOLVER)
    monkeypatch.setattr(_xp_sinkhorn, "_SYNC_EVERY_ITERATION", 0)
    every = sinkhorn(a, b, device(C), 0.05, **SOLVER)
    assert every.n_iter <= windowed.n_iter
    np.testing.assert_allclose(every.transport_cost, windowed.transport_cost, rtol=1e-9)


def test_warm_start_saves_iterations(rng, device):
    X, Y, a, b = random_problem(rng, 25, 25)
    C = cost_matrix(X, Y)
    cold = sinkhorn(a, b, device(C), 0.05, **SOLVER)
    warm = sinkhorn(a, b, device(C * (1 + 1e-6)), 0.05,
                            **{**SOLVER, "init": (cold.f, cold.g)})
    assert warm.converged and warm.n_iter < 0.6 * cold.n_iter
    batch = sinkhorn(a, b, device(np.stack([C, C])), 0.05,
                             **{**SOLVER, "init": (np.stack([cold.f] * 2),
                                                   np.stack([cold.g] * 2))})
    assert batch.converged.all() and np.all(batch.n_iter < 0.6 * cold.n_iter)


@pytest.mark.parametrize("metric", METRICS)
def test_online_matches_cpu_online(rng, metric, device):
    X, Y, a, b = random_problem(rng, 40, 30, d=3)
    a[5] = 0.0
    a /= a.sum()
    eps = 0.02 * cost_matrix(X, Y, metric=metric).mean()
    res = sinkhorn_points(device(X), Y, a, b, eps=eps, metric=metric, mode="online",
                                  **SOLVER)
    cpu = sinkhorn_points(X, Y, a, b, eps=eps, metric=metric, mode="online", tol=1e-10)
    assert res.converged
    np.testing.assert_allclose(res.transport_cost, cpu.transport_cost, rtol=1e-8)
    np.testing.assert_allclose(res.plan(), cpu.plan(), atol=1e-9)
    dense = sinkhorn_points(device(X), Y, a, b, eps=eps, metric=metric, mode="dense",
                                    **SOLVER)
    np.testing.assert_allclose(dense.transport_cost, cpu.transport_cost, rtol=1e-8)


def test_points_batch_matches_cpu(rng, device):
    X = rng.normal(size=(3, 12, 2))
    Y = rng.normal(size=(10, 2)) + 1.0
    res = sinkhorn_points(device(X), Y, None, None, eps=[0.1, 0.2, 0.3],
                                  metric="euclidean", mode="auto", **SOLVER)
    cpu = sinkhorn_points(X, Y, eps=[0.1, 0.2, 0.3], metric="euclidean", tol=1e-10)
    np.testing.assert_allclose(res.transport_cost, cpu.transport_cost, rtol=1e-8)
    with pytest.raises(ValueError, match="mode='online'"):
        sinkhorn_points(device(X), Y, None, None, eps=0.1, metric="euclidean",
                                mode="online", **SOLVER)
    with pytest.raises(ValueError, match="X holds 3 point clouds but Y holds 2"):
        sinkhorn_points(device(X), np.ones((2, 4, 2)), None, None, eps=0.1,
                                metric="euclidean", mode="auto", **SOLVER)


def test_non_convergence_warns_and_reports(rng, device):
    X, Y, a, b = random_problem(rng, 20, 20)
    C = cost_matrix(X, Y)
    with pytest.warns(ConvergenceWarning, match="did not converge in 3 iterations"):
        res = sinkhorn(a, b, device(C), 0.01, **{**SOLVER, "max_iter": 3,
                                                      "eps_scaling": None})
    P = res.plan()
    error = np.abs(P.sum(1) - a).sum() + np.abs(P.sum(0) - b).sum()
    assert not res.converged and res.n_iter == 3
    np.testing.assert_allclose(res.marginal_error, error, rtol=1e-8)
    with pytest.warns(ConvergenceWarning, match="1 of 3 problems"):
        sinkhorn(None, None, device(rng.random((3, 4, 5)) * 100), [1e3, 0.01, 1e3],
                         **{**SOLVER, "tol": 1e-6, "max_iter": 2, "eps_scaling": None})


@pytest.mark.parametrize(
    "args, kwargs, match",
    [
        ((None, None, [[np.nan, 1.0]], 0.1), {}, "C contains NaN"),
        ((None, None, np.ones(3), 0.1), {}, "C must be a 2-D"),
        ((None, None, np.ones((0, 2)), 0.1), {}, "C is empty"),
        (([0.5, -0.5, 1.0], None, np.ones((3, 2)), 0.1), {}, "a has negative"),
        ((None, [0.2, 0.2], np.ones((2, 2)), 0.1), {}, "b sums to"),
        ((None, None, np.ones((2, 2)), -1.0), {}, "eps"),
        ((None, None, np.ones((3, 2, 2)), [0.1, 0.2]), {}, "eps has 2 entries"),
        ((None, None, np.ones((2, 2)), 0.1), {"init": (np.zeros(3), np.zeros(2))}, "init"),
        ((None, None, np.ones((2, 2)), 0.1), {"max_iter": 0}, "max_iter"),
    ],
)
def test_bad_input(args, kwargs, match, device):
    with pytest.raises(ValueError, match=match):
        sinkhorn(*args[:2], device(args[2]), *args[3:], **{**SOLVER, **kwargs})


# ---------------------------------------------------------------------------
# Costs, divergences and MMD
# ---------------------------------------------------------------------------


@pytest.mark.parametrize("metric", METRICS + ["hamming"])
@pytest.mark.parametrize("normalize", [None, "median"])
def test_cost_matrix_matches_cpu(rng, metric, normalize, device):
    X, Y = rng.normal(size=(6, 3)), rng.normal(size=(5, 3))
    if metric == "hamming":
        X, Y = (X > 0).astype(float), (Y > 0).astype(float)
    np.testing.assert_allclose(
        cost_matrix(device(X), Y, metric=metric, normalize=normalize),
        cost_matrix(X, Y, metric=metric, normalize=normalize), rtol=1e-12, atol=1e-12,
    )
    with pytest.raises(ValueError, match="same number of features"):
        cost_matrix(device(X), Y[:, :2], metric=metric)


def test_cost_matrix_callable_and_errors(rng, device):
    X = rng.normal(size=(4, 2))
    C = cost_matrix(device(X), metric=lambda P, Q: np.abs(P[:, :1] - Q[:, 0]))
    np.testing.assert_allclose(C, np.abs(X[:, :1] - X[:, 0]))
    with pytest.raises(ValueError, match="binary"):
        cost_matrix(device(X), metric="hamming")
    with pytest.raises(ValueError, match="returned shape"):
        cost_matrix(device(X), metric=lambda P, Q: np.ones((2, 2)))


@pytest.mark.parametrize("kind", ["dual", "primal"])
@pytest.mark.parametrize("metric", ["sqeuclidean", "euclidean", "cityblock"])
def test_divergence_and_gradients_match_cpu(rng, fake_device, kind, metric):
    """Values and gradients on the device path: envelope theorem and implicit differentiation."""
    to_device, calls = fake_device
    X, Y, a, b = random_problem(rng, 10, 12, d=2)
    options = dict(eps=0.3, metric=metric, kind=kind, tol=1e-12, max_iter=50_000)
    value, grad_X, grad_a = sinkhorn_divergence(to_device(X), to_device(Y), a, b,
                                                return_grad=True, **options)
    assert ("sinkhorn_stack", "reference") in calls
    assert ("sinkhorn_symmetric", "reference") in calls
    cpu_value, cpu_grad_X, cpu_grad_a = sinkhorn_divergence(X, Y, a, b, return_grad=True,
                                                            **options)
    assert value == pytest.approx(cpu_value, rel=1e-8)
    assert ("cost_gradient", "reference") in calls
    np.testing.assert_allclose(grad_X, cpu_grad_X, atol=1e-7)
    # grad_a is defined up to a constant.
    np.testing.assert_allclose(grad_a - grad_a.mean(), cpu_grad_a - cpu_grad_a.mean(),
                               atol=1e-7)


@pytest.mark.parametrize("metric", ["sqeuclidean", "cityblock"])
def test_unrolled_loss_matches_cpu(rng, fake_device, metric):
    """W_L (sinkhorn_loss, and the divergence with n_iter) on the device path."""
    to_device, calls = fake_device
    X, Y, a, b = random_problem(rng, 9, 11, d=3)
    gpu = sinkhorn_loss(to_device(X), to_device(Y), a, b, eps=0.5, metric=metric,
                        return_grad=True)
    cpu = sinkhorn_loss(X, Y, a, b, eps=0.5, metric=metric, return_grad=True)
    assert gpu[0] == pytest.approx(cpu[0], rel=1e-12)
    assert ("pairwise_cost", "reference") in calls and ("cost_gradient", "reference") in calls
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
    # The kernel matrices came from the reference backend, not from Numba.
    assert calls and {backend for _, backend in calls} == {"reference"}
    cpu_value, cpu_grad = mmd(X, Y, **options)
    assert value == pytest.approx(cpu_value, rel=1e-10, abs=1e-12)
    np.testing.assert_allclose(grad, cpu_grad, rtol=1e-9, atol=1e-12)
    with pytest.raises(ValueError, match="callable kernel"):
        mmd(to_device(X), Y, **{**options, "kernel": lambda P, Q: P @ Q.T})


@pytest.mark.parametrize("unbiased", [False, True])
def test_mixture_mmd_matches_cpu(rng, fake_device, unbiased):
    to_device, calls = fake_device
    Z, Y = rng.normal(size=(6, 3, 2)), rng.normal(size=(5, 2))
    weights = rng.dirichlet(np.ones(3), size=6)
    options = dict(kernel="imq", bandwidth=[0.5, 2.0], unbiased=unbiased, return_grad=True)
    out = mixture_mmd(to_device(Z), to_device(weights), to_device(Y), **options)
    assert calls and {backend for _, backend in calls} == {"reference"}
    for device_part, cpu_part in zip(out, mixture_mmd(Z, weights, Y, **options), strict=True):
        np.testing.assert_allclose(device_part, cpu_part, rtol=1e-9, atol=1e-12)


def test_symmetric_solver_matches_cpu(rng):
    from skwass.ot._sinkhorn import _solve_symmetric

    X, _, a, _ = random_problem(rng, 20, 1)
    C = cost_matrix(X, X)
    with warnings.catch_warnings():
        warnings.simplefilter("error", ConvergenceWarning)
        res = _solve_symmetric(ref, a, C, 0.01, 1e-11, 10_000)
    cpu = _solve_symmetric(numpy_backend, a, C, 0.01, 1e-11, 10_000)
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
    assert calls[0] == ("sinkhorn_stack", "reference")
    assert res.transport_cost == pytest.approx(sinkhorn(a, b, C, 0.1).transport_cost, rel=1e-7)
    np.testing.assert_allclose(res.plan(), sinkhorn(a, b, C, 0.1, tol=1e-10).plan(),
                               atol=1e-9)
    assert calls[-1] == ("plan_matrix", "reference")
    calls.clear()
    batch = sinkhorn_points(device(np.stack([X, X])), Y, eps=[0.1, 0.2], tol=1e-10)
    assert calls[0] == ("pairwise_cost", "reference") and batch.f.shape == (2, 12)
    calls.clear()
    online = sinkhorn_points(device(X), Y, a, b, eps=0.1, mode="online", tol=1e-10)
    assert calls[0] == ("sinkhorn_points", "reference")
    assert online.transport_cost == pytest.approx(res.transport_cost, rel=1e-7)
    calls.clear()
    np.testing.assert_allclose(cost_matrix(device(X), Y, metric="cityblock"),
                               cost_matrix(X, Y, metric="cityblock"))
    assert calls == [("pairwise_cost", "reference")]
    calls.clear()
    assert sinkhorn_divergence(device(X), Y, eps=0.5) == pytest.approx(
        sinkhorn_divergence(X, Y, eps=0.5), rel=1e-7)
    assert ("sinkhorn_stack", "reference") in calls
    calls.clear()
    assert mmd(device(X), Y) == pytest.approx(mmd(X, Y), rel=1e-10)
    assert calls == [("pairwise_cost", "reference")] * 3
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
