import warnings

import numpy as np
import ot
import pytest
from scipy.spatial.distance import cdist
from scipy.stats import wasserstein_distance
from sklearn.exceptions import ConvergenceWarning

from skwass.ot import wasserstein


def random_weights(rng, n, zeros=()):
    w = rng.random(n)
    w[list(zeros)] = 0.0
    return w / w.sum()


def pot_wasserstein(x, y, a, b, metric, p):
    """Independent reference: POT's network simplex on the dense D**p."""
    X, Y = np.reshape(x, (len(x), -1)), np.reshape(y, (len(y), -1))
    return ot.emd2(a, b, cdist(X, Y, metric=metric) ** p, numItermax=10**7) ** (1 / p)


@pytest.mark.parametrize("weighted", [False, True])
def test_1d_sorting_matches_scipy(rng, weighted):
    x, y = rng.normal(size=40), rng.exponential(size=25)
    a = random_weights(rng, 40) if weighted else None
    b = random_weights(rng, 25) if weighted else None
    assert wasserstein(x, y, a, b) == pytest.approx(
        wasserstein_distance(x, y, a, b), rel=1e-10
    )


def test_1d_p2_matches_pot_on_squared_distances(rng):
    x, y = rng.normal(size=30), rng.normal(loc=0.5, size=20)
    a, b = random_weights(rng, 30), random_weights(rng, 20)
    D = np.abs(x[:, None] - y[None, :])
    expected = np.sqrt(ot.emd2(a, b, D**2))
    assert wasserstein(x, y, a, b, p=2) == pytest.approx(expected, rel=1e-9)


@pytest.mark.parametrize("seed", range(5))
@pytest.mark.parametrize(
    "p, metric", [(1, "euclidean"), (2, "euclidean"), (1.5, "cityblock"), (1, "sqeuclidean"),
                  (3, "cityblock")]
)
def test_1d_sorting_matches_pot(seed, p, metric):
    rng = np.random.default_rng(seed)
    n, m = rng.integers(1, 40, size=2)
    # Rounded points give ties, which the sorting path must handle too.
    x, y = np.round(rng.normal(size=n), 1), np.round(rng.normal(size=m), 1)
    a = random_weights(rng, n, zeros=[0] if n > 1 else [])
    b = random_weights(rng, m)
    expected = pot_wasserstein(x, y, a, b, metric, p)
    assert wasserstein(x, y, a, b, metric=metric, p=p) == pytest.approx(
        expected, rel=1e-9, abs=1e-12
    )


def test_zero_weights_are_ignored(rng):
    x, y = rng.normal(size=12), rng.normal(size=9)
    # Zero-weight atoms at both ends of the sorted order and in the middle.
    x[0], x[1], x[2] = x.min() - 5.0, x.max() + 5.0, np.median(x)
    a = random_weights(rng, 12, zeros=[0, 1, 2])
    b = random_weights(rng, 9)
    kept = a > 0
    for p, X, Y in [(1, x, y), (2, x, y), (2, np.c_[x, -x], np.c_[y, y])]:
        expected = wasserstein(X[kept], Y, a[kept] / a[kept].sum(), b, p=p)
        assert wasserstein(X, Y, a, b, p=p) == pytest.approx(expected, rel=1e-10)


@pytest.mark.parametrize("metric, p", [("euclidean", 2), ("sqeuclidean", 1), ("cityblock", 1)])
def test_multivariate_matches_pot(rng, metric, p):
    X, Y = rng.normal(size=(20, 3)), rng.normal(size=(15, 3))
    a, b = random_weights(rng, 20, zeros=[4]), random_weights(rng, 15)
    expected = ot.emd2(a, b, cdist(X, Y, metric=metric) ** p) ** (1 / p)
    assert wasserstein(X, Y, a, b, metric=metric, p=p) == pytest.approx(expected, rel=1e-10)


def test_callable_metric_matches_builtin(rng):
    X, Y = rng.normal(size=(10, 2)), rng.normal(size=(7, 2))
    def chebyshev(P, Q):
        return cdist(P, Q, metric="chebyshev")
    expected = ot.emd2(np.full(10, 0.1), np.full(7, 1 / 7), cdist(X, Y, "chebyshev"))
    assert wasserstein(X, Y, metric=chebyshev) == pytest.approx(expected, rel=1e-10)


def test_symmetric_and_one_column_input(rng):
    x, y = rng.normal(size=17), rng.gamma(2.0, size=11)
    a, b = random_weights(rng, 17), random_weights(rng, 11)
    forward = wasserstein(x, y, a, b, p=2)
    assert wasserstein(y, x, b, a, p=2) == pytest.approx(forward, rel=1e-12)
    assert wasserstein(x[:, None], y[:, None], a, b, p=2) == pytest.approx(forward, rel=1e-12)
    X, Y = rng.normal(size=(9, 2)), rng.normal(size=(6, 2))
    assert wasserstein(X, Y) == pytest.approx(wasserstein(Y, X), rel=1e-12)


def test_identical_samples_have_zero_distance(rng):
    x = rng.normal(size=8)
    assert wasserstein(x, x[::-1]) == pytest.approx(0.0, abs=1e-12)
    X = rng.normal(size=(8, 2))
    assert wasserstein(X, X[::-1], p=2) == pytest.approx(0.0, abs=1e-7)


def test_pot_non_convergence_is_a_convergence_warning(rng, monkeypatch):
    real_emd2 = ot.emd2
    def emd2_capped(a, b, M, numItermax):
        return real_emd2(a, b, M, numItermax=3)
    monkeypatch.setattr(ot, "emd2", emd2_capped)
    X, Y = rng.normal(size=(30, 2)), rng.normal(size=(30, 2))
    with pytest.warns(ConvergenceWarning, match="emd2"):
        wasserstein(X, Y)


def test_converged_solve_does_not_warn(rng):
    X, Y = rng.normal(size=(30, 2)), rng.normal(size=(25, 2))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        wasserstein(X, Y)


@pytest.mark.parametrize(
    "kwargs, match",
    [({"X": [np.nan, 1.0], "Y": [1.0]}, "X contains NaN"),
     ({"X": [1.0], "Y": [np.inf]}, "Y contains NaN"),
     ({"X": [[1.0, 2.0]], "Y": [[1.0]]}, "features"),
     ({"X": [], "Y": [1.0]}, "X is empty"),
     ({"X": [1.0], "Y": np.empty((0, 1))}, "Y is empty"),
     ({"X": [1.0], "Y": [1.0], "p": 0.5}, "'p'"),
     ({"X": [1.0], "Y": [1.0], "p": np.inf}, "'p'"),
     ({"X": [1.0, 2.0], "Y": [1.0], "a": [1.5, -0.5]}, "a has negative"),
     ({"X": [1.0], "Y": [1.0, 2.0], "b": [0.3, 0.3]}, "b sums to"),
     ({"X": [1.0], "Y": [1.0], "a": [0.5, 0.5]}, "a has 2 entries"),
     ({"X": [1.0], "Y": [1.0], "metric": "cosine"}, "'metric'"),
     ({"X": [1.0], "Y": [2.0], "metric": lambda P, Q: -np.ones((1, 1))}, "metric")],
)
def test_bad_input(kwargs, match):
    with pytest.raises(ValueError, match=match):
        wasserstein(**kwargs)


@pytest.mark.parametrize("shape", [(10,), (10, 3)])
def test_inputs_not_modified(rng, shape):
    X, Y = rng.normal(size=shape), rng.normal(size=(8,) + shape[1:])
    a, b = np.full(10, 0.1), np.full(8, 0.125)
    copies = [arr.copy() for arr in (X, Y, a, b)]
    wasserstein(X, Y, a, b, p=2)
    for arr, copy in zip((X, Y, a, b), copies, strict=True):
        np.testing.assert_array_equal(arr, copy)


@pytest.mark.parametrize("d, metric, p", [(1, "euclidean", 1), (1, "sqeuclidean", 1),
                                          (1, "euclidean", 2), (3, "euclidean", 1),
                                          (3, "sqeuclidean", 1), (3, "cityblock", 2)])
def test_gradient_matches_finite_differences(rng, d, metric, p):
    """With the optimal coupling unique, the gradient is that of W_p (central differences)."""
    X, Y = rng.normal(size=(7, d)), rng.normal(size=(5, d)) + 0.3
    a = rng.random(7) + 0.5
    a /= a.sum()
    value, grad = wasserstein(X, Y, a, metric=metric, p=p, return_grad=True)
    assert value == pytest.approx(wasserstein(X, Y, a, metric=metric, p=p), rel=1e-12)
    step = 1e-6
    expected = np.zeros_like(X)
    for i in range(X.shape[0]):
        for k in range(d):
            shift = np.zeros_like(X)
            shift[i, k] = step
            expected[i, k] = (wasserstein(X + shift, Y, a, metric=metric, p=p)
                              - wasserstein(X - shift, Y, a, metric=metric, p=p)) / (2 * step)
    np.testing.assert_allclose(grad, expected, atol=1e-6)


def test_gradient_needs_a_point_metric(rng):
    X = (rng.random((4, 3)) > 0.5).astype(float)
    with pytest.raises(ValueError, match="return_grad=True needs metric"):
        wasserstein(X, X, metric="hamming", return_grad=True)
