"""Tests of GaussianShrinkageModel (Montavon et al. 2016, section 4.3, Figure 5)."""

import numpy as np
import ot
import pytest
from scipy.spatial.distance import cdist, pdist
from sklearn.model_selection import GridSearchCV

from skwass.covariance import GaussianShrinkageModel
from skwass.covariance._shrinkage import _ScalePushForward
from skwass.mke._engine import Loss, _Objective

GAMMAS = [0.0, 0.01, 0.03, 0.1, 0.32, 1.0]
THETAS = np.linspace(0.0, 1.0, 21)


@pytest.fixture(scope="module")
def gaussian_sample():
    """N = 100 points of N(0, I_10), as in Figure 5."""
    return np.random.default_rng(0).normal(size=(100, 10))


@pytest.mark.parametrize("metric", ["cityblock", "euclidean"])
def test_figure5_best_model_is_shrunk(gaussian_sample, metric):
    """For every gamma the argmin theta is < 1, and it is 0 for large gamma."""
    argmins = []
    for gamma in GAMMAS:
        curve = GaussianShrinkageModel(eps=gamma, metric=metric, random_state=0).loss_curve(
            gaussian_sample, THETAS
        )
        argmins.append(THETAS[np.argmin(curve)])
    argmins = np.array(argmins)
    assert np.all(argmins < 1.0)
    assert 0.4 < argmins[0] < 0.9  # exact OT already shrinks
    assert argmins[-1] == 0.0 and argmins[-2] == 0.0
    # More smoothing, more shrinkage.
    assert np.all(np.diff(argmins) <= 0.05 + 1e-12)


@pytest.mark.parametrize("metric", ["cityblock", "euclidean"])
def test_exact_curve_matches_pot(gaussian_sample, metric):
    X = gaussian_sample
    model = GaussianShrinkageModel(eps=0, metric=metric, random_state=0)
    thetas = [0.0, 0.3, 0.7, 1.0]
    curve = model.loss_curve(X, thetas)
    # Independent reconstruction: documented noise draw, pdist-based unit.
    noise = np.random.RandomState(0).standard_normal(X.shape)
    sigma = np.sqrt(np.mean((X - X.mean(axis=0)) ** 2))
    unit = pdist(X, metric).mean()
    uniform = np.full(len(X), 1 / len(X))
    for theta, value in zip(thetas, curve, strict=True):
        model_sample = X.mean(axis=0) + theta * sigma * noise
        expected = ot.emd2(uniform, uniform, cdist(model_sample, X, metric) / unit)
        assert value == pytest.approx(expected, rel=1e-9)


@pytest.mark.parametrize("gamma", [0.01, 0.1, 1.0])
def test_dirac_model_closed_form(gaussian_sample, gamma):
    """theta = 0: every coupling is the product one, W = mean distance to the mean."""
    X = gaussian_sample
    curve = GaussianShrinkageModel(eps=gamma, random_state=0).loss_curve(X, [0.0])
    expected = np.linalg.norm(X - X.mean(axis=0), axis=1).mean() / pdist(X).mean()
    assert curve[0] == pytest.approx(expected, rel=1e-7)


@pytest.mark.parametrize("gamma, metric", [(0.03, "euclidean"), (0.01, "cityblock"),
                                           (0.0, "euclidean")])
def test_fit_finds_curve_minimum(gaussian_sample, gamma, metric):
    model = GaussianShrinkageModel(eps=gamma, metric=metric, random_state=0).fit(gaussian_sample)
    fine = np.linspace(0, 1, 101)
    curve = model.loss_curve(gaussian_sample, fine)
    assert model.loss_ <= curve.min() + 1e-6
    assert model.shrinkage_ == pytest.approx(fine[np.argmin(curve)], abs=0.03)
    np.testing.assert_allclose(model.location_, gaussian_sample.mean(axis=0))
    assert model.metric_scale_ == pytest.approx(pdist(gaussian_sample, metric).mean())


def test_scale_gradient_matches_finite_differences(gaussian_sample):
    base = np.random.default_rng(1).normal(size=(30, 10))
    objective = _Objective(_ScalePushForward(), gaussian_sample[:40] / 4,
                           Loss("entropic", eps=0.1, metric="euclidean"), [base / 4], "model")
    for theta in (0.3, 0.8):
        _, grad = objective.value_and_grad(np.array([theta]))
        step = 1e-6
        expected = (objective.value(np.array([theta + step]))
                    - objective.value(np.array([theta - step]))) / (2 * step)
        assert grad[0] == pytest.approx(expected, rel=1e-5)


def test_full_covariance(rng):
    A = np.array([[2.0, 0.0, 0.0], [0.5, 0.5, 0.0], [0.0, 0.3, 0.1]])
    X = rng.normal(size=(120, 3)) @ A.T + [1.0, 2.0, 3.0]
    model = GaussianShrinkageModel(eps=0.05, covariance_type="full", random_state=0).fit(X)
    assert 0 < model.shrinkage_ < 1
    empirical = np.cov(X.T, bias=True)
    np.testing.assert_allclose(model.covariance_, model.shrinkage_**2 * empirical, rtol=1e-10)
    assert model.sample(5, random_state=0).shape == (5, 3)
    assert np.isfinite(model.score(X))


def test_gridsearch_over_eps(gaussian_sample):
    search = GridSearchCV(GaussianShrinkageModel(random_state=0), {"eps": [0.03, 0.3]}, cv=2)
    search.fit(gaussian_sample)
    assert search.best_params_["eps"] in (0.03, 0.3)


def test_bad_input():
    with pytest.raises(ValueError, match="n_samples >= 2"):
        GaussianShrinkageModel().fit(np.ones((1, 3)))
    with pytest.raises(ValueError, match="non-negative"):
        GaussianShrinkageModel().loss_curve(np.eye(3), [-1.0])


