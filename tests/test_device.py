"""Estimators trained on a device, with NumPy standing in for the GPU.

``device="cuda"`` is served here by a stand-in device whose arrays are marked
NumPy arrays that :mod:`skwass.ot` sends to the reference backend (the CuPy
backend's log-domain algorithm written with NumPy, see tests/conftest.py). A fit
on it runs the estimator's device code (state moved to the device and back,
data copied once, host random numbers copied over) and the GPU algorithm of
every OT call, and is compared with the CPU fit, whose Sinkhorn solves run on
the Numba kernels. tests/test_gpu.py repeats the comparison with CuPy.
"""

import sys
import warnings

import numpy as np
import pytest
from sklearn.exceptions import ConvergenceWarning

from skwass._backend import _device
from skwass._backend._device import Device, host_copy, is_device_array, resolve_device
from skwass.mixture import EllipseMKE
from skwass.neural_network import WassersteinRBM


@pytest.fixture
def standin_gpu(fake_device, monkeypatch):
    """``device="cuda"`` resolves to NumPy arrays routed to the reference backend."""
    to_device, calls = fake_device

    class StandIn(Device):
        def asarray(self, x, dtype=np.float64):
            return to_device(np.asarray(x, dtype=dtype))

        def to_host(self, x):
            return np.asarray(x)  # a plain ndarray, as cupy.asnumpy gives

    monkeypatch.setitem(_device._DEVICE_FACTORIES, "cuda", lambda: StandIn("cuda", np))
    return calls


def _fake_cupy_array():
    return type("ndarray", (), {"__module__": "cupy._core.core"})()


def test_resolve_device(monkeypatch, standin_gpu):
    assert resolve_device("auto", np.zeros((2, 2))).name == "cpu"
    assert resolve_device("cpu", _fake_cupy_array()).name == "cpu"
    assert resolve_device("auto", _fake_cupy_array()).name == "cuda"
    assert is_device_array(_fake_cupy_array()) and not is_device_array([1.0])
    with pytest.raises(ValueError, match="device must be one of"):
        resolve_device("tpu")
    monkeypatch.setitem(_device._DEVICE_FACTORIES, "cuda", _device._cuda_device)
    monkeypatch.setitem(sys.modules, "cupy", None)  # CuPy not installed
    with pytest.raises(ImportError, match=r"pip install 'skwass\[gpu\]'"):
        resolve_device("cuda")
    X = np.ones((2, 2))
    assert host_copy(X) is X


def _rbm_data(rng, n=40):
    probs = np.array([0.85, 0.15, 0.7, 0.3, 0.5])
    return (rng.random((n, probs.size)) < probs).astype(np.float64)


def _assert_host_model(model):
    """Every fitted array is a plain NumPy array again."""
    for name in ("components_", "intercept_visible_", "intercept_hidden_", "chains_",
                 "visible_offset_", "hidden_offset_"):
        assert type(getattr(model, name)) is np.ndarray, name
    assert all(p is None or type(p) is np.ndarray for p in model._potentials)


@pytest.mark.parametrize("params", [
    {},  # full batch, PCD
    {"batch_size": 15},
    {"exact": True},
    {"metric": "cityblock", "lam": 0.5},
])
def test_rbm_fit_on_device_matches_cpu(rng, standin_gpu, params):
    X = _rbm_data(rng)
    common = dict(n_components=3, n_pretrain_iter=3, n_iter=6, learning_rate=0.1,
                  eps=0.2, sinkhorn_tol=1e-11, sinkhorn_max_iter=5000, random_state=0,
                  **params)
    cpu = WassersteinRBM(device="cpu", **common).fit(X)
    gpu = WassersteinRBM(device="cuda", **common).fit(X)
    # The OT work took the device path: costs and solves on the reference backend.
    assert {"hamming", "pairwise_cost"} & {op for op, _ in standin_gpu}
    assert ("sinkhorn_stack", "reference") in standin_gpu
    assert {backend for _, backend in standin_gpu} == {"reference"}
    _assert_host_model(gpu)
    for p_cpu, p_gpu in zip(cpu._parameters(), gpu._parameters(), strict=True):
        np.testing.assert_allclose(p_gpu, p_cpu, rtol=1e-7, atol=1e-9)
    np.testing.assert_allclose(gpu.wasserstein_curve_, cpu.wasserstein_curve_, rtol=1e-7)
    np.testing.assert_array_equal(gpu.chains_, cpu.chains_)
    assert gpu.n_steps_ == cpu.n_steps_
    # The fitted model is an ordinary host model.
    np.testing.assert_allclose(gpu.transform(X), cpu.transform(X), rtol=1e-6)


def test_rbm_partial_fit_on_device_matches_cpu(rng, standin_gpu):
    X = _rbm_data(rng)
    common = dict(n_components=3, n_pretrain_iter=2, learning_rate=0.1, eps=0.2,
                  sinkhorn_tol=1e-11, sinkhorn_max_iter=5000, random_state=0)
    cpu, gpu = WassersteinRBM(device="cpu", **common), WassersteinRBM(device="cuda", **common)
    for start in (0, 20, 0, 20, 0):
        cpu.partial_fit(X[start:start + 20])
        gpu.partial_fit(X[start:start + 20])
    _assert_host_model(gpu)
    assert gpu._potentials[1] is not None  # the warm start was kept, on the host
    for p_cpu, p_gpu in zip(cpu._parameters(), gpu._parameters(), strict=True):
        np.testing.assert_allclose(p_gpu, p_cpu, rtol=1e-7, atol=1e-9)
    assert len(gpu.wasserstein_curve_) == 3


def test_rbm_divergence_on_device_restores_host_parameters(rng, standin_gpu):
    X = _rbm_data(rng)
    model = WassersteinRBM(n_components=3, learning_rate=1e9, n_pretrain_iter=20,
                           device="cuda", random_state=0)
    with pytest.raises(FloatingPointError, match="diverged"):
        model.fit(X)
    _assert_host_model(model)
    assert all(np.all(np.isfinite(p)) for p in model._parameters())


def test_rbm_verbose_on_device(rng, standin_gpu, capsys):
    X = _rbm_data(rng)
    WassersteinRBM(n_components=2, n_pretrain_iter=1, n_iter=1, exact=True, verbose=1,
                   device="cuda", random_state=0).fit(X)
    out = capsys.readouterr().out
    assert "epoch 2/2 (fine-tune): W=" in out and "KL=" in out


def _two_blobs(rng):
    return np.vstack([rng.normal(size=(60, 2)) * 0.3, rng.normal(size=(60, 2)) * 0.3 + 3.0])


@pytest.mark.parametrize("params", [
    {"loss": "sinkhorn_divergence", "eps": 0.5},
    {"loss": "sinkhorn_divergence", "eps": 0.5, "solver": "lbfgs"},
    {"loss": "sinkhorn_divergence", "eps": 0.5, "metric": "euclidean"},
    {"loss": "sinkhorn", "eps": 1.0, "n_sinkhorn_iter": 10},
    {"loss": "mmd", "bandwidth": 1.0},
    {"loss": "energy"},
])
def test_ellipse_fit_on_device_matches_cpu(rng, standin_gpu, params):
    X = _two_blobs(rng)
    common = dict(n_components=2, max_iter=15, batch_size=50, learning_rate=0.05,
                  random_state=0, **params)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)  # see below
        cpu = EllipseMKE(device="cpu", **common).fit(X)
        standin_gpu.clear()
        gpu = EllipseMKE(device="cuda", **common).fit(X)
    marker = {"mmd": "pairwise_cost", "energy": "pairwise_cost",
              "sinkhorn": "cost_gradient",
              "sinkhorn_divergence": "sinkhorn_symmetric"}[params["loss"]]
    assert (marker, "reference") in standin_gpu
    assert {backend for _, backend in standin_gpu} == {"reference"}
    assert type(gpu.centers_) is np.ndarray and type(gpu.shapes_) is np.ndarray
    # Sinkhorn solves to 1e-6 on either side; MMD and W_L are closed forms.
    rtol = 1e-4 if params["loss"] == "sinkhorn_divergence" else 1e-9
    np.testing.assert_allclose(gpu.centers_, cpu.centers_, rtol=rtol, atol=rtol)
    np.testing.assert_allclose(gpu.shapes_, cpu.shapes_, rtol=rtol, atol=rtol)
    assert gpu.loss_ == pytest.approx(cpu.loss_, rel=rtol, abs=rtol)
    assert gpu.n_iter_ == cpu.n_iter_
    # score on the device selected by the parameter; the CPU model scores the same.
    standin_gpu.clear()
    with warnings.catch_warnings():
        # Early samples put unequal mass on the two blobs; moving it across the gap
        # takes Sinkhorn ~70,000 iterations at eps=0.5 (POT's too), on both paths.
        warnings.simplefilter("ignore", ConvergenceWarning)
        assert gpu.score(X) == pytest.approx(cpu.score(X), rel=max(rtol, 1e-6))
    assert standin_gpu


def test_ellipse_partial_fit_on_device_matches_cpu(rng, standin_gpu):
    X = _two_blobs(rng)
    common = dict(n_components=2, batch_size=40, eps=0.5, random_state=0)
    cpu, gpu = EllipseMKE(device="cpu", **common), EllipseMKE(device="cuda", **common)
    for batch in np.array_split(X, 4):
        cpu.partial_fit(batch)
        gpu.partial_fit(batch)
    assert ("sinkhorn_symmetric", "reference") in standin_gpu
    np.testing.assert_allclose(gpu.centers_, cpu.centers_, rtol=1e-4)
    assert gpu.n_iter_ == 4 and type(gpu.centers_) is np.ndarray


def test_ellipse_losses_not_on_device_are_refused(rng, standin_gpu):
    X = _two_blobs(rng)
    with pytest.raises(ValueError, match="'wasserstein' loss is not available on device='cuda'"):
        EllipseMKE(loss="wasserstein", device="cuda").fit(X)
    with pytest.raises(ValueError, match="'wasserstein' loss is not available"):
        EllipseMKE(loss="wasserstein", device="cuda").partial_fit(X)
    fitted = EllipseMKE(n_components=2, loss="wasserstein", max_iter=2, batch_size=20,
                        random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        fitted.fit(X[:40])
    with pytest.raises(ValueError, match="'wasserstein' loss is not available"):
        fitted.set_params(device="cuda").score(X)
    assert standin_gpu == []


@pytest.mark.parametrize("loss", ["sinkhorn_divergence", "mmd"])
def test_mke_fit_on_device_matches_cpu(rng, standin_gpu, loss):
    from skwass.mke import MinimumKantorovichEstimator

    X = rng.normal(size=(80, 2)) + [1.0, -2.0]
    common = dict(loss=loss, eps=0.5, max_iter=30, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        cpu = MinimumKantorovichEstimator(device="cpu", **common).fit(X)
        standin_gpu.clear()
        gpu = MinimumKantorovichEstimator(device="cuda", **common).fit(X)
    marker = "sinkhorn_symmetric" if loss == "sinkhorn_divergence" else "pairwise_cost"
    assert (marker, "reference") in standin_gpu
    assert type(gpu.theta_) is np.ndarray
    np.testing.assert_allclose(gpu.theta_, cpu.theta_, rtol=1e-5, atol=1e-6)
    assert gpu.score(X) == pytest.approx(cpu.score(X), rel=1e-5)


def test_mke_exact_loss_is_refused_on_device(rng, standin_gpu):
    from skwass.mke import MinimumKantorovichEstimator

    X = rng.normal(size=(30, 1))
    with pytest.raises(ValueError, match="'wasserstein' loss is not available on device"):
        MinimumKantorovichEstimator(device="cuda").fit(X)  # loss="auto", one feature
