"""Tests of EllipseMKE (Genevay et al. 2018, section 4.1)."""

import warnings

import numpy as np
import pytest
from sklearn.datasets import load_iris
from sklearn.decomposition import PCA
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import GridSearchCV

from skwass.mixture import EllipseMKE
from skwass.mixture._ellipse import _EllipsoidPushForward, uniform_ball
from skwass.mke._engine import Loss, MinibatchState, _Objective, minibatch_step


@pytest.fixture(scope="module")
def iris3():
    X, y = load_iris(return_X_y=True)
    return PCA(3).fit_transform(X), y


def fitted(shapes, centers):
    """An EllipseMKE with given ellipsoids (fitted attributes set by hand)."""
    est = EllipseMKE(n_components=len(centers))
    est.shapes_, est.centers_ = np.asarray(shapes, float), np.asarray(centers, float)
    est.n_features_in_ = est.centers_.shape[1]
    return est


def test_uniform_ball_radius_distribution():
    z = uniform_ball(np.random.RandomState(0), 20000, 3)
    radius = np.linalg.norm(z, axis=1)
    assert radius.max() <= 1.0
    # P(|z| <= r) = r^3: E|z| = 3/4, E|z|^2 = 3/5; directions are isotropic.
    assert radius.mean() == pytest.approx(0.75, abs=0.01)
    assert np.mean(radius**2) == pytest.approx(0.6, abs=0.01)
    np.testing.assert_allclose(z.mean(axis=0), 0, atol=0.015)


@pytest.mark.parametrize("loss", [Loss("sinkhorn_divergence", eps=0.5),
                                  Loss("sinkhorn", eps=0.5), Loss("mmd", bandwidth=1.0)],
                         ids=lambda loss: loss.name)
def test_chained_gradient_matches_finite_differences(loss, rng):
    model = _EllipsoidPushForward(2, 2)
    noise = model.draw(np.random.RandomState(0), 12)
    Y = rng.normal(size=(15, 2))
    objective = _Objective(model, Y, loss, [noise], "ellipsoid model")
    theta = rng.normal(size=2 * 4 + 2 * 2)
    _, grad = objective.value_and_grad(theta)
    expected = np.array([
        (objective.value(theta + step) - objective.value(theta - step)) / 2e-6
        for step in 1e-6 * np.eye(theta.size)
    ])
    np.testing.assert_allclose(grad, expected, rtol=1e-4, atol=1e-7)


def test_push_forward_stays_in_ellipsoids():
    A = np.array([[[2.0, 0.0], [0.0, 0.5]], [[1.0, 1.0], [0.0, 1.0]]])
    c = np.array([[0.0, 0.0], [5.0, 5.0]])
    est = fitted(A, c)
    X, labels = est.sample(500, random_state=0)
    inside = est.contains(X)
    assert np.all(inside[np.arange(500), labels])
    np.testing.assert_array_equal(np.bincount(labels), [250, 250])


def test_contains_predict_and_table_against_brute_force(rng):
    A = np.array([[[2.0, 0.0], [0.0, 0.5]], [[1.0, 0.3], [0.0, 1.0]], [[0.7, 0.0], [0.2, 0.7]]])
    c = np.array([[0.0, 0.0], [1.0, 0.5], [-1.0, 1.0]])
    est = fitted(A, c)
    X = rng.uniform(-3, 3, size=(400, 2))
    y = rng.integers(0, 4, size=400)
    norms = np.array([[np.linalg.norm(np.linalg.solve(A[k], x - c[k])) for k in range(3)]
                      for x in X])
    np.testing.assert_array_equal(est.contains(X), norms <= 1)
    np.testing.assert_array_equal(est.predict(X), norms.argmin(axis=1))
    table = est.ellipsoid_class_table(X, y)
    expected = [[np.sum((norms[:, i] <= 1) & (y == j)) for j in range(4)] for i in range(3)]
    np.testing.assert_array_equal(table, expected)


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
def test_recovers_two_uniform_discs():
    rng = np.random.RandomState(0)
    disc = uniform_ball(rng, 300, 2)
    X = np.vstack([disc[:150] * [2.0, 0.5], disc[150:] * 0.8 + [6.0, 0.0]])
    est = EllipseMKE(n_components=2, solver="lbfgs", eps=0.05, batch_size=300,
                     max_iter=200, random_state=0).fit(X)
    order = np.argsort(est.centers_[:, 0])
    np.testing.assert_allclose(est.centers_[order], [[0, 0], [6, 0]], atol=0.3)
    # A_k is identifiable up to a rotation: compare the semi-axes (singular values).
    semi_axes = np.linalg.svd(est.shapes_[order], compute_uv=False)
    np.testing.assert_allclose(semi_axes, [[2.0, 0.5], [0.8, 0.8]], rtol=0.1)
    assert est.score(X) > EllipseMKE(n_components=2, max_iter=1, random_state=0).fit(X).score(X)


def test_iris_table_mmd(iris3):
    """Table 1 (MMD column block): one ellipsoid holds setosa, two split the others."""
    X, y = iris3
    est = EllipseMKE(loss="mmd", bandwidth=1.0, max_iter=300, random_state=0).fit(X)
    table = est.ellipsoid_class_table(X, y)
    setosa = np.argmax(table[:, 0])
    assert table[setosa, 0] >= 30 and table[setosa, 1:].sum() == 0
    others = np.delete(table, setosa, axis=0)[:, 1:]
    assert np.trace(others) >= 60 or np.trace(others[::-1]) >= 60


def test_errors_warnings_verbose_gridsearch(capsys, iris3):
    X, _ = iris3
    with pytest.raises(ValueError, match="n_samples=2 should be >= n_components=3"):
        EllipseMKE().fit(X[:2])
    est = EllipseMKE(max_iter=3, tol=0, verbose=1, random_state=0)
    with pytest.warns(ConvergenceWarning):
        est.fit(X)
    assert "Iteration 3, loss = " in capsys.readouterr().out
    with pytest.raises(ValueError, match="y must have shape"):
        est.ellipsoid_class_table(X, np.zeros(3))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        search = GridSearchCV(EllipseMKE(loss="sinkhorn", max_iter=20, random_state=0),
                              {"eps": [0.5, 1.0]}, cv=2).fit(X)
    assert search.best_params_["eps"] in (0.5, 1.0)




def test_partial_fit_stream_reaches_the_fit_loss():
    """Epochs of partial_fit over 4 batches recover the discs as well as fit does."""
    rng = np.random.RandomState(0)
    disc = uniform_ball(rng, 400, 2)
    X = np.vstack([disc[:200] * [2.0, 0.5], disc[200:] * 0.8 + [6.0, 0.0]])
    X = X[rng.permutation(400)]
    params = dict(n_components=2, loss="sinkhorn", eps=0.1, batch_size=100,
                  learning_rate=0.05, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        full = EllipseMKE(max_iter=100, n_iter_no_change=1000, **params).fit(X)
    stream = EllipseMKE(**params)
    initial = None
    for _ in range(5):
        for batch in np.split(X, 4):
            assert stream.partial_fit(batch) is stream
            initial = stream.score(X) if initial is None else initial
    assert stream.n_iter_ == 20 and stream.labels_.shape == (100,)
    # Both near the truth, the 20 streamed steps as close to the data as 100 full ones.
    for est in (full, stream):
        order = np.argsort(est.centers_[:, 0])
        np.testing.assert_allclose(est.centers_[order], [[0, 0], [6, 0]], atol=0.3)
    assert -stream.score(X) < 1.5 * -full.score(X)
    assert -stream.score(X) < 0.3 * -initial
    with pytest.raises(ValueError, match="features"):
        stream.partial_fit(X[:, :1])
    # After fit, partial_fit continues from the fitted ellipsoids.
    centers = full.centers_.copy()
    full.partial_fit(X[:100])
    assert full.n_iter_ == 101
    np.testing.assert_allclose(full.centers_, centers, atol=0.1)


def test_sgd_step_follows_the_finite_difference_gradient(rng):
    """One SGD step moves theta by -learning_rate times the gradient, projected on bounds."""
    model = _EllipsoidPushForward(2, 2)
    noise = model.draw(np.random.RandomState(0), 12)
    Y = rng.normal(size=(15, 2))
    loss = Loss("sinkhorn", eps=0.5)
    objective = _Objective(model, Y, loss, [noise], "ellipsoid model")
    theta = rng.normal(size=2 * 4 + 2 * 2)
    grad = np.array([(objective.value(theta + step) - objective.value(theta - step)) / 2e-6
                     for step in 1e-6 * np.eye(theta.size)])
    state = MinibatchState(theta, "sgd")
    value = minibatch_step(state, model, noise, Y, loss, None, 0.3)
    assert value == pytest.approx(objective.value(theta))
    np.testing.assert_allclose(state.theta, theta - 0.3 * grad, rtol=1e-6, atol=1e-8)
    bounds = np.column_stack([theta - 1e-3, theta + 1e-3])
    state = MinibatchState(theta, "sgd")
    minibatch_step(state, model, noise, Y, loss, bounds, 0.3)
    np.testing.assert_allclose(state.theta, np.clip(theta - 0.3 * grad, *bounds.T))


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
def test_sgd_recovers_two_uniform_discs():
    rng = np.random.RandomState(0)
    disc = uniform_ball(rng, 300, 2)
    X = np.vstack([disc[:150] * [2.0, 0.5], disc[150:] * 0.8 + [6.0, 0.0]])
    est = EllipseMKE(n_components=2, loss="sinkhorn", solver="sgd", eps=0.1, learning_rate=1.0,
                     max_iter=300, n_iter_no_change=300, random_state=0).fit(X)
    assert est.n_iter_ == 300
    order = np.argsort(est.centers_[:, 0])
    np.testing.assert_allclose(est.centers_[order], [[0, 0], [6, 0]], atol=0.3)
    semi_axes = np.linalg.svd(est.shapes_[order], compute_uv=False)
    np.testing.assert_allclose(semi_axes, [[2.0, 0.5], [0.8, 0.8]], rtol=0.15)


def test_sgd_keeps_shapes_the_loss_does_not_see(iris3):
    """At eps >> the costs the loss is MMD_{-c} = 2 |mean difference|^2 (Theorem 1).

    Its gradient in the shapes A_k is then ~1/eps: SGD leaves them at the unit
    balls, while Adam's normalized steps move every parameter by ~learning_rate.
    """
    X, _ = iris3
    params = dict(loss="sinkhorn", eps=1e5, learning_rate=0.05, max_iter=20,
                  n_iter_no_change=20, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        sgd = EllipseMKE(solver="sgd", **params).fit(X)
        adam = EllipseMKE(solver="adam", **params).fit(X)
        start = EllipseMKE(solver="sgd", **{**params, "max_iter": 1, "learning_rate": 1e-12})
        start.fit(X)
    assert np.abs(sgd.shapes_ - np.eye(3)).max() < 0.01
    assert np.abs(adam.shapes_ - np.eye(3)).max() > 0.1
    # The mixture mean moves to the data mean under both.
    assert np.linalg.norm(sgd.centers_.mean(axis=0) - X.mean(axis=0)) < 0.5 * np.linalg.norm(
        start.centers_.mean(axis=0) - X.mean(axis=0))


@pytest.mark.parametrize("solver", ["sgd", "adam"])
def test_partial_fit_steps_replay_fit(iris3, solver):
    """On data no larger than batch_size, n partial_fit calls make fit's n steps exactly."""
    X, _ = iris3
    params = dict(loss="sinkhorn", eps=1.0, solver=solver, learning_rate=0.1, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        full = EllipseMKE(max_iter=5, n_iter_no_change=5, **params).fit(X)
    stream = EllipseMKE(**params)
    for _ in range(5):
        stream.partial_fit(X)
    np.testing.assert_allclose(stream.shapes_, full.shapes_, rtol=1e-12)
    np.testing.assert_allclose(stream.centers_, full.centers_, rtol=1e-12)
