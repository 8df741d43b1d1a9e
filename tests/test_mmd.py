import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.stats import energy_distance

from skwass.ot import mmd

KERNELS = {
    "gaussian": lambda x, y, h: np.exp(-np.sum((x - y) ** 2) / (2 * h * h)),
    "imq": lambda x, y, h: h / (h + np.sum((x - y) ** 2)),
    "energy": lambda x, y, h: -np.sqrt(np.sum((x - y) ** 2)),
}


def reference(X, Y, a, b, kernel, bandwidths, unbiased):
    """Double-loop MMD^2."""
    if kernel == "energy":  # no bandwidth
        bandwidths = [None]

    def k(x, y):
        return sum(KERNELS[kernel](x, y, h) for h in bandwidths)

    def mean(P, Q, w, v, same):
        total = 0.0
        for i, p in enumerate(P):
            for j, q in enumerate(Q):
                if same and unbiased and i == j:
                    continue
                total += w[i] * v[j] * k(p, q)
        if same and unbiased:
            total *= len(P) / (len(P) - 1)
        return total

    return mean(X, X, a, a, True) + mean(Y, Y, b, b, True) - 2 * mean(X, Y, a, b, False)


@pytest.mark.parametrize("kernel", ["gaussian", "imq", "energy"])
@pytest.mark.parametrize("unbiased", [False, True])
@pytest.mark.parametrize("bandwidth", [0.7, [0.5, 2.0]])
def test_value_and_gradient(rng, kernel, unbiased, bandwidth):
    X, Y = rng.normal(size=(6, 2)), rng.normal(size=(5, 2)) + 0.5
    if unbiased:
        a, b, weights = np.full(6, 1 / 6), np.full(5, 1 / 5), {}
    else:
        a, b = rng.random(6), rng.random(5)
        a, b = a / a.sum(), b / b.sum()
        weights = {"a": a, "b": b}
    options = dict(kernel=kernel, bandwidth=bandwidth, unbiased=unbiased, **weights)
    value, grad = mmd(X, Y, return_grad=True, **options)
    assert value == pytest.approx(
        reference(X, Y, a, b, kernel, np.atleast_1d(bandwidth), unbiased), rel=1e-12)
    h = 1e-6
    fd = np.zeros_like(X)
    for idx in np.ndindex(*X.shape):
        up, down = X.copy(), X.copy()
        up[idx] += h
        down[idx] -= h
        fd[idx] = (mmd(up, Y, **options) - mmd(down, Y, **options)) / (2 * h)
    np.testing.assert_allclose(grad, fd, rtol=0, atol=1e-6 * np.abs(fd).max())


def test_energy_kernel_is_the_energy_distance(rng):
    x, y = rng.normal(size=30), rng.normal(size=20) + 1
    assert mmd(x, y, kernel="energy") == pytest.approx(energy_distance(x, y) ** 2)


def test_callable_kernel(rng):
    X, Y = rng.normal(size=(4, 2)), rng.normal(size=(3, 2))
    def linear(P, Q):
        return P @ Q.T
    assert mmd(X, Y, kernel=linear) == pytest.approx(
        np.sum((X.mean(0) - Y.mean(0)) ** 2))
    with pytest.raises(ValueError, match="callable"):
        mmd(X, Y, kernel=linear, return_grad=True)


@settings(max_examples=30, deadline=None)
@given(n=st.integers(1, 6), m=st.integers(1, 6), seed=st.integers(0, 2**32 - 1),
       kernel=st.sampled_from(["gaussian", "imq", "energy"]))
def test_biased_estimate_is_nonnegative(n, m, seed, kernel):
    rng = np.random.default_rng(seed)
    X, Y = rng.normal(size=(n, 2)), rng.normal(size=(m, 2))
    assert mmd(X, Y, kernel=kernel) >= -1e-12
    assert abs(mmd(X, X, kernel=kernel)) <= 1e-12


@pytest.mark.parametrize(
    "kwargs, match",
    [({"X": [np.nan], "Y": [1.0]}, "NaN"),
     ({"X": [[1.0, 2.0]], "Y": [[1.0]]}, "features"),
     ({"X": [1.0], "Y": [1.0], "bandwidth": -1.0}, "bandwidth"),
     ({"X": [1.0], "Y": [1.0], "kernel": "laplace"}, "kernel"),
     ({"X": [], "Y": [1.0]}, "empty"),
     ({"X": [1.0, 2.0], "Y": [1.0, 3.0], "a": [0.5, 0.5], "unbiased": True}, "weights"),
     ({"X": [1.0], "Y": [1.0, 2.0], "unbiased": True}, "at least 2")],
)
def test_bad_input(kwargs, match):
    with pytest.raises(ValueError, match=match):
        mmd(**kwargs)


def test_inputs_not_modified(rng):
    X, Y = rng.normal(size=(5, 2)), rng.normal(size=(4, 2))
    copies = X.copy(), Y.copy()
    mmd(X, Y, return_grad=True)
    np.testing.assert_array_equal(X, copies[0])
    np.testing.assert_array_equal(Y, copies[1])
