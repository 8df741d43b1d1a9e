import numpy as np
import ot
import pytest
from scipy.spatial.distance import cdist
from scipy.stats import wasserstein_distance

from skwass.ot import wasserstein


@pytest.mark.parametrize("weighted", [False, True])
def test_1d_sorting_matches_scipy(rng, weighted):
    x, y = rng.normal(size=40), rng.exponential(size=25)
    a = rng.random(40) if weighted else None
    b = rng.random(25) if weighted else None
    a = a / a.sum() if weighted else None
    b = b / b.sum() if weighted else None
    assert wasserstein(x, y, a, b) == pytest.approx(
        wasserstein_distance(x, y, a, b), rel=1e-10)


@pytest.mark.parametrize("p, metric", [(2, "euclidean"), (1, "sqeuclidean"), (3, "cityblock")])
def test_1d_sorting_matches_pot(rng, p, metric):
    x, y = rng.normal(size=33), rng.normal(size=21)
    a, b = rng.random(33), rng.random(21)
    a[3] = 0.0
    a, b = a / a.sum(), b / b.sum()
    D = cdist(x[:, None], y[:, None], metric=metric) ** p
    expected = ot.emd2(a, b, D) ** (1 / p)
    assert wasserstein(x, y, a, b, metric=metric, p=p) == pytest.approx(expected, rel=1e-9)


def test_multivariate_uses_pot(rng):
    X, Y = rng.normal(size=(20, 3)), rng.normal(size=(15, 3))
    expected = ot.emd2(np.full(20, 0.05), np.full(15, 1 / 15), cdist(X, Y) ** 2) ** 0.5
    assert wasserstein(X, Y, p=2) == pytest.approx(expected, rel=1e-10)
    assert wasserstein(X, Y, p=2) == pytest.approx(wasserstein(Y, X, p=2), rel=1e-10)


@pytest.mark.parametrize(
    "kwargs, match",
    [({"X": [np.nan, 1.0], "Y": [1.0]}, "NaN"),
     ({"X": [[1.0, 2.0]], "Y": [[1.0]]}, "features"),
     ({"X": [], "Y": [1.0]}, "empty"),
     ({"X": [1.0], "Y": [1.0], "p": 0.5}, "p"),
     ({"X": [1.0], "Y": [1.0], "a": [-1.0]}, "negative"),
     ({"X": [1.0], "Y": [1.0], "metric": "cosine"}, "metric")],
)
def test_bad_input(kwargs, match):
    with pytest.raises(ValueError, match=match):
        wasserstein(**kwargs)


def test_inputs_not_modified(rng):
    x, y = rng.normal(size=10), rng.normal(size=8)
    a = np.full(10, 0.1)
    copies = x.copy(), y.copy(), a.copy()
    wasserstein(x, y, a)
    for arr, copy in zip((x, y, a), copies, strict=True):
        np.testing.assert_array_equal(arr, copy)
