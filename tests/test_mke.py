"""Tests of the shared MKE engine and of MinimumKantorovichEstimator."""

import warnings

import numpy as np
import ot
import pytest
from scipy import special, stats
from scipy.spatial.distance import cdist
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import GridSearchCV

from skwass.datasets import gandk_simulator, make_gandk
from skwass.mke import MinimumKantorovichEstimator
from skwass.mke._engine import Loss, _Objective
from skwass.mke._estimator import _SimulatorPushForward
from skwass.ot import sinkhorn_divergence, sinkhorn_points, wasserstein

GANDK = np.array([3.0, 1.0, 2.0, 0.5])


def normal_simulator(theta, z):
    return theta[0] + theta[1] * np.asarray(z)


def numerical_gradient(f, x, step=1e-6):
    grad = np.zeros_like(x)
    for idx in np.ndindex(x.shape):
        shift = np.zeros_like(x)
        shift[idx] = step
        grad[idx] = (f(x + shift) - f(x - shift)) / (2 * step)
    return grad


# ---------------------------------------------------------------------------
# Engine: losses and their gradients with respect to the sample
# ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "loss",
    [
        Loss("sinkhorn_divergence", eps=0.5),
        Loss("sinkhorn_divergence", eps=0.5, metric="euclidean"),
        Loss("sinkhorn", eps=0.5, n_sinkhorn_iter=5),
        Loss("entropic", eps=0.3, metric="cityblock"),
        Loss("entropic", eps=0.3, metric="euclidean"),
        Loss("mmd", bandwidth=0.7),
        Loss("energy"),
        Loss("wasserstein", metric="euclidean"),
        Loss("wasserstein", metric="sqeuclidean", p=2),
    ],
    ids=lambda loss: f"{loss.name}-{loss.metric}",
)
def test_loss_gradient_matches_finite_differences(loss, rng):
    X = rng.normal(size=(7, 2))
    Y = rng.normal(size=(9, 2)) + 0.5
    _, grad = loss(X, Y, return_grad=True)
    expected = numerical_gradient(lambda Z: loss(Z, Y), X)
    np.testing.assert_allclose(grad, expected, rtol=1e-4, atol=1e-6)


@pytest.mark.parametrize("n_features", [2, 4])  # multiscale, online
def test_entropic_gradient_past_the_dense_limit_forms_no_plan(n_features, rng, monkeypatch):
    """Past the dense limit the entropic loss and its gradient come from the points alone."""
    import skwass.ot._sinkhorn as sinkhorn_module
    from skwass._backend import numpy_backend

    X = rng.uniform(size=(300, n_features))
    Y = rng.uniform(size=(250, n_features)) + 0.2
    loss = Loss("entropic", eps=0.02, metric="sqeuclidean", tol=1e-10)
    dense = sinkhorn_points(X, Y, eps=0.02, mode="dense", tol=1e-10)
    P = dense.plan()
    # sum_j P_ij grad_x |x_i - y_j|^2 = 2 (a_i x_i - (P Y)_i)
    expected = 2 * (P.sum(axis=1)[:, None] * X - P @ Y)

    def dense_route(*args):
        raise AssertionError("the dense plan or its cost gradient was formed")

    monkeypatch.setattr(sinkhorn_module, "DENSE_MEMORY_LIMIT", 2 * 300 * 250 * 8 - 1)
    monkeypatch.setattr(numpy_backend, "plan_matrix", dense_route)
    monkeypatch.setattr(numpy_backend, "cost_gradient", dense_route)
    value, grad = loss(X, Y, return_grad=True)
    assert value == pytest.approx(dense.value, rel=1e-8)
    np.testing.assert_allclose(grad, expected, atol=1e-8)


@pytest.mark.parametrize("n, m", [(50, 50), (40, 70)])
@pytest.mark.parametrize("metric, p", [("euclidean", 1), ("euclidean", 2), ("sqeuclidean", 1)])
def test_exact_1d_loss_matches_pot_and_public_wasserstein(n, m, metric, p, rng):
    X, Y = rng.standard_cauchy(size=(n, 1)), rng.normal(size=(m, 1))
    loss = Loss("wasserstein", metric=metric, p=p)
    value, grad = loss(X, Y, return_grad=True)
    power = {"euclidean": 1, "sqeuclidean": 2}[metric] * p
    M = np.abs(X - Y.T) ** power
    expected = ot.emd2(np.full(n, 1 / n), np.full(m, 1 / m), M) ** (1 / p)
    assert value == pytest.approx(expected, rel=1e-10)
    assert value == pytest.approx(wasserstein(X, Y, metric=metric, p=p), rel=1e-10)
    np.testing.assert_allclose(grad, numerical_gradient(lambda Z: loss(Z, Y), X), atol=1e-6)


def test_cost_gradient_matches_finite_differences(rng):
    """Each backend's sum_j P_ij grad_x c(x_i, y_j) against finite differences."""
    from skwass._backend import _numpy, _reference

    X, Y, P = rng.normal(size=(5, 3)), rng.normal(size=(4, 3)), rng.random((5, 4))
    for metric in ("sqeuclidean", "euclidean", "cityblock"):
        expected = numerical_gradient(lambda Z, m=metric: np.sum(P * cdist(Z, Y, m)), X)
        for backend in (_numpy, _reference):
            np.testing.assert_allclose(backend.cost_gradient(P, X, Y, metric), expected,
                                       rtol=1e-6, atol=1e-8)


@pytest.mark.parametrize("with_jac", [True, False])
def test_chained_parameter_gradient(with_jac, rng):
    """d/dtheta loss(simulator(theta, z), Y) through the user or FD Jacobian."""

    def jac(theta, z):
        A, B, g, k = theta
        c = 0.8
        t = np.tanh(g * z / 2)
        base = (1 + z * z) ** k * z
        return np.stack([np.ones_like(z), (1 + c * t) * base,
                         B * c * (1 - t * t) * z / 2 * base,
                         B * (1 + c * t) * base * np.log1p(z * z)], axis=1)

    Y = make_gandk(60, GANDK, random_state=0)
    z = rng.standard_normal(40)
    model = _SimulatorPushForward(gandk_simulator, jac if with_jac else None, 1)
    objective = _Objective(model, Y, Loss("sinkhorn_divergence", eps=1.0), [z], "simulator")
    theta = np.array([2.5, 1.2, 1.5, 0.4])
    _, grad = objective.value_and_grad(theta)
    np.testing.assert_allclose(grad, numerical_gradient(objective.value, theta), rtol=1e-4)


# ---------------------------------------------------------------------------
# MinimumKantorovichEstimator
# ---------------------------------------------------------------------------


def cauchy_projection_sigma():
    """Closed form of argmin_sigma W_1(Cauchy(0, 1), N(0, sigma^2)).

    The derivative in sigma, -int sign(tan(pi (u - 1/2)) - sigma Phi^-1(u)) Phi^-1(u) du,
    vanishes when the quantile functions cross at z* with phi(z*) = phi(0) / 2,
    i.e. z* = sqrt(2 log 2), so sigma = tan(pi (Phi(z*) - 1/2)) / z*.
    """
    z = np.sqrt(2 * np.log(2))
    return np.tan(np.pi * (stats.norm.cdf(z) - 0.5)) / z


def test_cauchy_projection_closed_form_by_quadrature():
    from scipy import integrate, optimize

    def derivative(sigma):
        # u = Phi(z): -int_0^inf sign(F^-1(Phi(z)) - sigma z) z phi(z) dz (times 2).
        def integrand(z):
            return -np.sign(np.tan(np.pi * (special.ndtr(z) - 0.5)) - sigma * z) \
                * z * np.exp(-z * z / 2) / np.sqrt(2 * np.pi)
        return integrate.quad(integrand, 0, 12, limit=200)[0]

    root = optimize.brentq(derivative, 1.5, 3.0)
    assert root == pytest.approx(cauchy_projection_sigma(), abs=1e-6)
    assert cauchy_projection_sigma() == pytest.approx(2.1547, abs=1e-4)


@pytest.mark.parametrize("method", ["Nelder-Mead", "L-BFGS-B"])
def test_cauchy_fit_quantile_discretization(method):
    """Quantile-grid data and noise: the fit is the Wasserstein projection."""
    n = 4000
    u = (np.arange(n) + 0.5) / n
    X = np.tan(np.pi * (u - 0.5))[:, None]
    est = MinimumKantorovichEstimator(
        normal_simulator, theta0=[0.5, 1.0], bounds=[(None, None), (0, None)],
        noise=lambda rng, n: stats.norm.ppf((np.arange(n) + 0.5) / n), method=method,
    ).fit(X)
    assert abs(est.theta_[0]) < 1e-3
    assert est.theta_[1] == pytest.approx(cauchy_projection_sigma(), abs=5e-3)


def test_cauchy_fit_random_data():
    X = stats.cauchy.rvs(size=(5000, 1), random_state=0)
    est = MinimumKantorovichEstimator(
        normal_simulator, theta0=[0.5, 1.0], bounds=[(None, None), (0, None)],
        n_simulations=2, random_state=0,
    ).fit(X)
    assert abs(est.theta_[0]) < 0.1
    assert est.theta_[1] == pytest.approx(cauchy_projection_sigma(), abs=0.15)
    assert est.score(X) == pytest.approx(-est.loss_, rel=0.2)


def test_gandk_point_estimate():
    X = make_gandk(1000, GANDK, random_state=1)
    est = MinimumKantorovichEstimator(
        gandk_simulator, theta0=[2.0, 1.5, 1.0, 0.2],
        bounds=[(None, None), (1e-3, None), (None, None), (0, None)],
        n_simulations=2, max_iter=400, random_state=0,
    ).fit(X)
    error = np.abs(est.theta_ - GANDK)
    assert np.all(error < [0.15, 0.3, 0.6, 0.15]), est.theta_


def test_default_location_model_and_gridsearch(rng):
    """Squared-Euclidean OT splits off the mean: theta = mean(X) - mean(noise)."""
    X = rng.normal(size=(60, 2)) + [1.0, -2.0]
    est = MinimumKantorovichEstimator(eps=0.5, metric="sqeuclidean", random_state=0).fit(X)
    noise = np.random.RandomState(0).standard_normal((60, 2))
    np.testing.assert_allclose(est.theta_, X.mean(axis=0) - noise.mean(axis=0), atol=1e-4)
    search = GridSearchCV(MinimumKantorovichEstimator(random_state=0), {"eps": [0.5, 2.0]},
                          cv=2).fit(X)
    assert search.best_params_["eps"] in (0.5, 2.0)


def test_full_batch_fit_past_the_dense_limit_matches_the_dense_fit(monkeypatch):
    """Past the dense limit the divergence and its gradient come from the points (multiscale
    in 2-D) and L-BFGS reaches the dense fit."""
    import skwass.ot._sinkhorn as sinkhorn_module
    from skwass._backend import numpy_backend

    def box(rng, n):
        return rng.uniform(size=(n, 2)) * [1.0, 0.6]

    X = box(np.random.RandomState(1), 200) + [0.2, -0.1]

    def fit():
        return MinimumKantorovichEstimator(loss="sinkhorn_divergence", eps=0.01,
                                           metric="sqeuclidean", noise=box,
                                           random_state=0).fit(X)

    dense = fit()
    monkeypatch.setattr(sinkhorn_module, "DENSE_MEMORY_LIMIT", 2 * 200 * 200 * 8 - 1)

    def dense_route(*args):
        raise AssertionError("the dense plan was formed")

    monkeypatch.setattr(numpy_backend, "plan_matrix", dense_route)
    multiscale = fit()
    np.testing.assert_allclose(multiscale.theta_, dense.theta_, atol=1e-5)
    assert multiscale.loss_ == pytest.approx(dense.loss_, rel=1e-5, abs=1e-8)
    np.testing.assert_allclose(dense.theta_, [0.2, -0.1], atol=0.05)


def test_full_batch_fit_solves_the_data_against_itself_once(rng, monkeypatch):
    """OT(Y, Y) does not depend on theta: one symmetric solve per fit, and the loss the
    fit reports is the whole divergence between its sample and the data."""
    import skwass.mke._engine as engine

    calls = []
    original = engine.sinkhorn_points
    monkeypatch.setattr(engine, "sinkhorn_points",
                        lambda X, Y=None, **kw: calls.append(Y) or original(X, Y, **kw))
    X = rng.normal(size=(80, 2)) + [1.0, -2.0]
    est = MinimumKantorovichEstimator(eps=0.5, metric="sqeuclidean", random_state=0).fit(X)
    assert calls == [None] and est.n_iter_ > 1
    sample = est.theta_ + np.random.RandomState(0).standard_normal((80, 2))
    whole = sinkhorn_divergence(sample, X, eps=0.5, tol=1e-10)
    assert est.loss_ == pytest.approx(whole, abs=1e-6)


def test_adam_method(rng):
    X = rng.normal(2.0, 1.0, size=(300, 1))
    est = MinimumKantorovichEstimator(
        normal_simulator, theta0=[0.0, 0.5], loss="sinkhorn_divergence", eps=0.1,
        metric="sqeuclidean", method="adam", learning_rate=0.05, max_iter=300, tol=0,
        batch_size=100, random_state=0,
    )
    with warnings.catch_warnings():
        warnings.simplefilter("error", ConvergenceWarning)
        est.fit(X)  # stops on its n_iter_no_change rule, before max_iter
    assert est.n_iter_ < 300
    np.testing.assert_allclose(est.theta_, [2.0, 1.0], atol=0.25)


def test_bad_simulators_and_theta0():
    X = np.random.default_rng(0).normal(size=(20, 1))
    with pytest.raises(ValueError, match="simulator returned an array of shape"):
        MinimumKantorovichEstimator(lambda t, z: np.ones((len(z), 3)), theta0=[0.0]).fit(X)
    with pytest.raises(ValueError, match="simulator returned NaN"):
        MinimumKantorovichEstimator(lambda t, z: np.full(len(z), np.nan), theta0=[0.0]).fit(X)
    with pytest.raises(ValueError, match="theta0 .* outside bounds"):
        MinimumKantorovichEstimator(normal_simulator, theta0=[0.0, -1.0],
                                    bounds=[(None, None), (0, None)]).fit(X)
    with pytest.raises(ValueError, match="theta0 is required"):
        MinimumKantorovichEstimator(normal_simulator).fit(X)
    with pytest.raises(ValueError, match="bounds must give"):
        MinimumKantorovichEstimator(normal_simulator, theta0=[0.0, 1.0], bounds=[(0, 1)]).fit(X)


def test_convergence_warning_and_verbose(capsys):
    X = np.random.default_rng(0).normal(size=(50, 1))
    est = MinimumKantorovichEstimator(normal_simulator, theta0=[3.0, 0.2], max_iter=2,
                                      verbose=1, random_state=0)
    with pytest.warns(ConvergenceWarning, match="max_iter=2"):
        est.fit(X)
    assert "Iteration 1, loss = " in capsys.readouterr().out
    assert est.sample(7, random_state=0).shape == (7, 1)


