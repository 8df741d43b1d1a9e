import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.stats import energy_distance

from skwass.ot import mixture_mmd, mmd

KERNELS = {
    "gaussian": lambda x, y, h: np.exp(-np.sum((x - y) ** 2) / (2 * h * h)),
    "imq": lambda x, y, h: h / (h + np.sum((x - y) ** 2)),
    "energy": lambda x, y, h: -np.sqrt(np.sum((x - y) ** 2)),
}


def kernel_gradient(kernel, x, y, h):
    """grad_x k(x, y), with the energy kernel's gradient at x == y set to 0."""
    diff = x - y
    sq = np.sum(diff**2)
    if kernel == "gaussian":
        return -np.exp(-sq / (2 * h * h)) / (h * h) * diff
    if kernel == "imq":
        return -2 * h / (h + sq) ** 2 * diff
    return -diff / np.sqrt(sq) if sq > 0 else np.zeros_like(x)


def pair_weight(w, i, j, same, unbiased):
    if same and unbiased:
        return 0.0 if i == j else 1.0 / (len(w) * (len(w) - 1))
    return w[i] * w[j]


def reference(X, Y, a, b, kernel, bandwidths, unbiased):
    """Double-loop MMD^2 and its gradient with respect to X."""
    if kernel == "energy":  # no bandwidth
        bandwidths = [None]
    def k(x, y):
        return sum(KERNELS[kernel](x, y, h) for h in bandwidths)
    def grad_k(x, y):
        return sum(kernel_gradient(kernel, x, y, h) for h in bandwidths)

    value, grad = 0.0, np.zeros_like(X)
    for i in range(len(X)):
        for j in range(len(X)):
            w = pair_weight(a, i, j, True, unbiased)
            value += w * k(X[i], X[j])
            # x_i sits in both slots of the pair; k is symmetric.
            grad[i] += 2 * w * grad_k(X[i], X[j])
    for i in range(len(Y)):
        for j in range(len(Y)):
            value += pair_weight(b, i, j, True, unbiased) * k(Y[i], Y[j])
    for i in range(len(X)):
        for j in range(len(Y)):
            value -= 2 * a[i] * b[j] * k(X[i], Y[j])
            grad[i] -= 2 * a[i] * b[j] * grad_k(X[i], Y[j])
    return value, grad


def sample_problem(rng, unbiased, n=6, m=5, d=2):
    X, Y = rng.normal(size=(n, d)), rng.normal(size=(m, d)) + 0.5
    if unbiased:
        return X, Y, np.full(n, 1 / n), np.full(m, 1 / m), {}
    a, b = rng.random(n), rng.random(m)
    a, b = a / a.sum(), b / b.sum()
    return X, Y, a, b, {"a": a, "b": b}


@pytest.mark.parametrize("kernel", ["gaussian", "imq", "energy"])
@pytest.mark.parametrize("unbiased", [False, True])
@pytest.mark.parametrize("bandwidth", [0.7, [0.5, 2.0]])
def test_value_and_gradient(rng, kernel, unbiased, bandwidth):
    X, Y, a, b, weights = sample_problem(rng, unbiased)
    options = dict(kernel=kernel, bandwidth=bandwidth, unbiased=unbiased, **weights)
    value, grad = mmd(X, Y, return_grad=True, **options)
    expected_value, expected_grad = reference(
        X, Y, a, b, kernel, np.atleast_1d(bandwidth), unbiased
    )
    assert value == pytest.approx(expected_value, rel=1e-12)
    assert mmd(X, Y, **options) == value
    np.testing.assert_allclose(grad, expected_grad, rtol=1e-10, atol=1e-14)
    h = 1e-6
    fd = np.zeros_like(X)
    for idx in np.ndindex(*X.shape):
        up, down = X.copy(), X.copy()
        up[idx] += h
        down[idx] -= h
        fd[idx] = (mmd(up, Y, **options) - mmd(down, Y, **options)) / (2 * h)
    np.testing.assert_allclose(grad, fd, rtol=0, atol=1e-6 * np.abs(fd).max())


@pytest.mark.parametrize("unbiased", [False, True])
def test_energy_gradient_at_coincident_points(rng, unbiased):
    # Repeated points within X and points shared with Y: |x - y| has no
    # gradient there, and skwass takes it as 0.
    X, Y, a, b, weights = sample_problem(rng, unbiased)
    X[1] = X[0]
    Y[2] = X[3]
    value, grad = mmd(X, Y, kernel="energy", unbiased=unbiased, return_grad=True, **weights)
    expected_value, expected_grad = reference(X, Y, a, b, "energy", [None], unbiased)
    assert value == pytest.approx(expected_value, rel=1e-12)
    np.testing.assert_allclose(grad, expected_grad, rtol=1e-10, atol=1e-14)


@pytest.mark.parametrize("kernel", ["gaussian", "imq", "energy"])
def test_one_feature_gradient_keeps_the_shape(rng, kernel):
    x, y = rng.normal(size=7), rng.normal(size=4)
    value, grad = mmd(x, y, kernel=kernel, return_grad=True)
    value_2d, grad_2d = mmd(x[:, None], y[:, None], kernel=kernel, return_grad=True)
    assert grad.shape == (7,)
    assert value == pytest.approx(value_2d, rel=1e-14)
    np.testing.assert_allclose(grad, grad_2d[:, 0], rtol=1e-14)


def test_energy_kernel_is_the_energy_distance(rng):
    # scipy's energy_distance is sqrt(2 E|X-Y| - E|X-X'| - E|Y-Y'|) in 1-D.
    x, y = rng.normal(size=30), rng.normal(size=20) + 1
    assert mmd(x, y, kernel="energy") == pytest.approx(energy_distance(x, y) ** 2, rel=1e-12)
    a, b = rng.random(30), rng.random(20)
    a, b = a / a.sum(), b / b.sum()
    assert mmd(x, y, a, b, kernel="energy") == pytest.approx(
        energy_distance(x, y, a, b) ** 2, rel=1e-12
    )


def test_accurate_far_from_the_origin(rng):
    X, Y = rng.normal(size=(20, 3)), rng.normal(size=(15, 3)) + 0.1
    shift = np.array([1e4, -3e4, 5e3])
    for kernel in ["gaussian", "imq", "energy"]:
        value, grad = mmd(X, Y, kernel=kernel, return_grad=True)
        shifted_value, shifted_grad = mmd(X + shift, Y + shift, kernel=kernel, return_grad=True)
        assert shifted_value == pytest.approx(value, rel=1e-9)
        np.testing.assert_allclose(shifted_grad, grad, rtol=0, atol=1e-9 * np.abs(grad).max())


def test_float32_input(rng):
    X, Y = rng.normal(size=(5, 2)), rng.normal(size=(4, 2))
    value = mmd(X.astype(np.float32), Y.astype(np.float32))
    assert value == pytest.approx(mmd(X.astype(np.float32).astype(float),
                                      Y.astype(np.float32).astype(float)), rel=1e-12)


@pytest.mark.parametrize("unbiased", [False, True])
def test_callable_kernel(rng, unbiased):
    X, Y, a, b, weights = sample_problem(rng, unbiased, n=4, m=3)
    def gaussian(P, Q):
        sq = np.sum((P[:, None, :] - Q[None, :, :]) ** 2, axis=-1)
        return np.exp(-sq / 2)
    expected, _ = reference(X, Y, a, b, "gaussian", [1.0], unbiased)
    assert mmd(X, Y, kernel=gaussian, unbiased=unbiased, **weights) == pytest.approx(
        expected, rel=1e-12)
    def linear(P, Q):  # not translation invariant: must not be centered
        return P @ Q.T
    assert mmd(X + 3.0, Y, kernel=linear) == pytest.approx(
        np.sum((X.mean(0) + 3.0 - Y.mean(0)) ** 2))
    with pytest.raises(ValueError, match="callable"):
        mmd(X, Y, kernel=linear, return_grad=True)
    with pytest.raises(ValueError, match="shape"):
        mmd(X, Y, kernel=lambda P, Q: np.ones((2, 2)))


@settings(max_examples=30, deadline=None)
@given(n=st.integers(1, 6), m=st.integers(1, 6), seed=st.integers(0, 2**32 - 1),
       kernel=st.sampled_from(["gaussian", "imq", "energy"]),
       bandwidth=st.sampled_from([0.3, 1.0, [0.2, 5.0]]), weighted=st.booleans())
def test_biased_estimate_is_nonnegative(n, m, seed, kernel, bandwidth, weighted):
    rng = np.random.default_rng(seed)
    X, Y = rng.normal(size=(n, 2)), rng.normal(size=(m, 2))
    a = rng.dirichlet(np.ones(n)) if weighted else None
    b = rng.dirichlet(np.ones(m)) if weighted else None
    options = dict(kernel=kernel, bandwidth=bandwidth)
    assert mmd(X, Y, a, b, **options) >= -1e-12
    assert abs(mmd(X, X, a, a, **options)) <= 1e-12


@pytest.mark.parametrize(
    "kwargs, match",
    [({"X": [np.nan], "Y": [1.0]}, "X contains NaN"),
     ({"X": [1.0], "Y": [np.inf]}, "Y contains NaN"),
     ({"X": [[1.0, 2.0]], "Y": [[1.0]]}, "features"),
     ({"X": [1.0], "Y": [1.0], "bandwidth": -1.0}, "bandwidth"),
     ({"X": [1.0], "Y": [1.0], "bandwidth": 0.0}, "bandwidth"),
     ({"X": [1.0], "Y": [1.0], "bandwidth": [1.0, 0.0]}, "bandwidth"),
     ({"X": [1.0], "Y": [1.0], "bandwidth": []}, "bandwidth"),
     ({"X": [1.0], "Y": [1.0], "kernel": "laplace"}, "kernel"),
     ({"X": [], "Y": [1.0]}, "X is empty"),
     ({"X": [1.0], "Y": np.empty((0, 1))}, "Y is empty"),
     ({"X": [1.0, 2.0], "Y": [1.0], "a": [1.5, -0.5]}, "a has negative"),
     ({"X": [1.0, 2.0], "Y": [1.0, 3.0], "a": [0.5, 0.5], "unbiased": True}, "a and b"),
     ({"X": [1.0], "Y": [1.0, 2.0], "unbiased": True}, "at least 2")],
)
def test_bad_input(kwargs, match):
    with pytest.raises(ValueError, match=match):
        mmd(**kwargs)


def test_inputs_not_modified(rng):
    X, Y = rng.normal(size=(5, 2)), rng.normal(size=(4, 2))
    a, b = np.full(5, 0.2), np.full(4, 0.25)
    bandwidth = np.array([0.5, 1.0])
    copies = [arr.copy() for arr in (X, Y, a, b, bandwidth)]
    mmd(X, Y, a, b, bandwidth=bandwidth, return_grad=True)
    for arr, copy in zip((X, Y, a, b, bandwidth), copies, strict=True):
        np.testing.assert_array_equal(arr, copy)


# -- mixture_mmd: codes grouped by data point ---------------------------------


def mixture_reference(Z, weights, Y, kernel, bandwidths, unbiased):
    """The grouped MMD^2 written out pair by pair, from its definition."""
    if kernel == "energy":
        bandwidths = [None]
    def k(x, y):
        return sum(KERNELS[kernel](x, y, h) for h in bandwidths)

    n, n_components, _ = Z.shape
    m = len(Y)
    # The U-statistic drops the pairs of codes of one data point and Y's diagonal.
    zz = sum(weights[i, a] * weights[j, b] * k(Z[i, a], Z[j, b])
             for i in range(n) for j in range(n) if i != j or not unbiased
             for a in range(n_components) for b in range(n_components))
    yy = sum(k(Y[i], Y[j]) for i in range(m) for j in range(m) if i != j or not unbiased)
    zy = sum(weights[i, a] * k(Z[i, a], Y[j])
             for i in range(n) for a in range(n_components) for j in range(m))
    if unbiased:
        return zz / (n * (n - 1)) + yy / (m * (m - 1)) - 2 * zy / (n * m)
    return zz / n**2 + yy / m**2 - 2 * zy / (n * m)


def mixture_problem(rng, n=5, n_components=3, m=6, d=2):
    Z, Y = rng.normal(size=(n, n_components, d)), rng.normal(size=(m, d)) + 0.5
    return Z, rng.dirichlet(np.ones(n_components), size=n), Y


@pytest.mark.parametrize("kernel", ["gaussian", "imq", "energy"])
@pytest.mark.parametrize("unbiased", [False, True])
def test_mixture_value_and_gradients(rng, kernel, unbiased):
    Z, weights, Y = mixture_problem(rng)
    options = dict(kernel=kernel, bandwidth=[0.01, 0.5, 2.0, 50.0], unbiased=unbiased)
    value, grad_Z, grad_weights = mixture_mmd(Z, weights, Y, return_grad=True, **options)
    assert value == pytest.approx(
        mixture_reference(Z, weights, Y, kernel, options["bandwidth"], unbiased), rel=1e-12)
    assert mixture_mmd(Z, weights, Y, **options) == value
    h = 1e-6
    for array, grad, name in ((Z, grad_Z, "Z"), (weights, grad_weights, "weights")):
        fd = np.zeros_like(array)
        for idx in np.ndindex(*array.shape):
            up, down = array.copy(), array.copy()
            up[idx] += h
            down[idx] -= h
            fd[idx] = (mixture_mmd(**{"Z": Z, "weights": weights, "Y": Y, name: up}, **options)
                       - mixture_mmd(**{"Z": Z, "weights": weights, "Y": Y, name: down},
                                     **options)) / (2 * h)
        np.testing.assert_allclose(grad, fd, rtol=0, atol=1e-6 * np.abs(fd).max())


@pytest.mark.parametrize("kernel", ["gaussian", "imq", "energy"])
@pytest.mark.parametrize("unbiased", [False, True])
def test_mixture_of_one_component_is_mmd(rng, kernel, unbiased):
    Z, _, Y = mixture_problem(rng, n_components=1)
    options = dict(kernel=kernel, bandwidth=[0.5, 2.0], unbiased=unbiased, return_grad=True)
    value, grad_Z, _ = mixture_mmd(Z, np.ones((5, 1)), Y, **options)
    expected, expected_grad = mmd(Z[:, 0], Y, **options)
    assert value == pytest.approx(expected, rel=1e-12)
    np.testing.assert_allclose(grad_Z[:, 0], expected_grad, rtol=1e-10, atol=1e-14)


@pytest.mark.parametrize("kernel", ["gaussian", "imq", "energy"])
def test_mixture_v_statistic_is_the_weighted_mmd_of_all_codes(rng, kernel):
    """Without dropped pairs the groups do not matter: mmd with weights[i, k] / n."""
    Z, weights, Y = mixture_problem(rng)
    value, grad_Z, _ = mixture_mmd(Z, weights, Y, kernel=kernel, return_grad=True)
    expected, expected_grad = mmd(Z.reshape(-1, 2), Y, weights.ravel() / 5, kernel=kernel,
                                  return_grad=True)
    assert value == pytest.approx(expected, rel=1e-12)
    np.testing.assert_allclose(grad_Z.reshape(-1, 2), expected_grad, rtol=1e-10, atol=1e-14)


@pytest.mark.parametrize(
    "kwargs, match",
    [({"Z": np.zeros((3, 2))}, "Z must be a 3-D"),
     ({"Z": np.full((3, 2, 2), np.nan)}, "Z contains NaN"),
     ({"weights": np.full((3, 3), 1 / 3)}, "weights must have shape"),
     ({"weights": [[1.5, -0.5]] * 3}, "weights has negative"),
     ({"Y": np.zeros((4, 3))}, "features"),
     ({"Y": np.zeros((1, 2)), "unbiased": True}, "at least 2"),
     ({"bandwidth": 0.0}, "bandwidth"),
     ({"kernel": "laplace"}, "kernel")],
)
def test_mixture_bad_input(kwargs, match):
    problem = {"Z": np.zeros((3, 2, 2)), "weights": np.full((3, 2), 0.5), "Y": np.ones((4, 2))}
    with pytest.raises(ValueError, match=match):
        mixture_mmd(**{**problem, **kwargs})


def test_mixture_inputs_not_modified(rng):
    Z, weights, Y = mixture_problem(rng)
    copies = [arr.copy() for arr in (Z, weights, Y)]
    mixture_mmd(Z, weights, Y, kernel="imq", unbiased=True, return_grad=True)
    for arr, copy in zip((Z, weights, Y), copies, strict=True):
        np.testing.assert_array_equal(arr, copy)
