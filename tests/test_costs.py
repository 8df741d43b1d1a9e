import numpy as np
import pytest
from scipy.spatial.distance import cdist

from skwass.ot import cost_matrix


@pytest.mark.parametrize("metric", ["sqeuclidean", "euclidean", "cityblock"])
def test_point_metrics_match_scipy(rng, metric):
    X, Y = rng.normal(size=(30, 5)), rng.normal(size=(20, 5))
    C = cost_matrix(X, Y, metric=metric)
    expected = cdist(X, Y, metric=metric)
    np.testing.assert_allclose(C, expected, rtol=0, atol=1e-12 * expected.max())


def test_hamming_counts_differing_bits(rng):
    X = (rng.random((25, 40)) < 0.3).astype(float)
    Y = (rng.random((15, 40)) < 0.6).astype(np.int64)
    np.testing.assert_array_equal(
        cost_matrix(X, Y, metric="hamming"), cdist(X, Y, metric="hamming") * 40
    )


def test_hamming_refuses_non_binary(rng):
    with pytest.raises(ValueError, match="binary"):
        cost_matrix(np.array([[0.0, 0.5]]), metric="hamming")


@pytest.mark.parametrize("normalize", ["mean", "median", "max"])
def test_normalize(rng, normalize):
    X = rng.normal(size=(10, 3))
    C = cost_matrix(X, metric="euclidean", normalize=normalize)
    raw = cdist(X, X)
    scale = {"mean": raw.mean(), "median": np.median(raw), "max": raw.max()}[normalize]
    np.testing.assert_allclose(C, raw / scale, atol=1e-12)


def test_callable_metric_and_self_cost(rng):
    X = rng.normal(size=(6, 2))
    C = cost_matrix(X, metric=lambda A, B: cdist(A, B, "chebyshev"))
    np.testing.assert_allclose(C, cdist(X, X, "chebyshev"))
    with pytest.raises(ValueError, match="shape"):
        cost_matrix(X, metric=lambda A, B: np.zeros((2, 2)))


def test_one_dimensional_input_is_one_feature():
    C = cost_matrix(np.array([0.0, 1.0]), np.array([3.0]))
    np.testing.assert_allclose(C, [[9.0], [4.0]])


def test_float32_kept(rng):
    X = rng.normal(size=(5, 2)).astype(np.float32)
    assert cost_matrix(X, X).dtype == np.float32


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"X": [[np.nan, 0.0]]}, "NaN"),
        ({"X": [[1.0, 2.0]], "Y": [[1.0]]}, "same number of features"),
        ({"X": np.zeros((0, 2))}, "empty"),
        ({"X": [[1.0]], "metric": "cosine"}, "metric"),
        ({"X": [[1.0]], "normalize": "sum"}, "normalize"),
    ],
)
def test_bad_input(kwargs, match):
    with pytest.raises(ValueError, match=match):
        cost_matrix(**kwargs)


def test_zero_cost_cannot_be_normalized():
    with pytest.raises(ValueError, match="normalize"):
        cost_matrix(np.zeros((3, 2)), normalize="mean")


@pytest.mark.parametrize(
    "metric, dtype, scale",
    [("sqeuclidean", np.float64, 1e155), ("euclidean", np.float64, 1e155),
     ("cityblock", np.float64, 1e308), ("sqeuclidean", np.float32, 1e19),
     ("cityblock", np.float32, 2e38)],
)
def test_overflowing_costs_are_refused(metric, dtype, scale):
    # sqeuclidean gave [[nan, inf]] silently (euclidean squares its differences too).
    X = np.array([[1.0, 0.0]], dtype=dtype) * dtype(scale)
    Y = np.array([[1.0, 0.0], [-1.0, 0.0]], dtype=dtype) * dtype(scale)
    with pytest.raises(ValueError, match="costs overflow"):
        cost_matrix(X, Y, metric=metric)
    # One step below, the costs are exact.
    ok = float(np.sqrt(np.finfo(dtype).max)) / 4 if metric != "cityblock" else scale / 4
    expected = 4 * ok**2 if metric == "sqeuclidean" else 2 * ok
    np.testing.assert_allclose(
        cost_matrix(X / scale * ok, Y / scale * ok, metric=metric), [[0.0, expected]],
        rtol=1e-6,
    )
