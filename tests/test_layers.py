"""Dense layers and Adam: hand-derived gradients against finite differences."""

import numpy as np
import pytest

from skwass.neural_network._layers import ACTIVATIONS, DERIVATIVES, DenseNetwork
from skwass.utils._optimizers import AdamOptimizer


def _central_differences(f, x, step=1e-6):
    grad = np.empty_like(x)
    for k in range(x.size):
        shift = np.zeros_like(x)
        shift.flat[k] = step
        grad.flat[k] = (f(x + shift) - f(x - shift)) / (2 * step)
    return grad


def test_tables_cover_the_same_activations():
    assert set(ACTIVATIONS) == set(DERIVATIVES)


@pytest.mark.parametrize("name", sorted(ACTIVATIONS))
def test_derivative_of_each_activation(name):
    rng = np.random.RandomState(0)
    Z = rng.normal(scale=3.0, size=(5, 4))
    Z[0, 0] = 40.0  # softplus and sigmoid far in their tails
    Z[0, 1] = -40.0
    delta = rng.normal(size=Z.shape)
    out = delta.copy()
    DERIVATIVES[name](ACTIVATIONS[name](Z.copy()), out)
    expected = _central_differences(lambda z: np.sum(delta * ACTIVATIONS[name](z.copy())), Z)
    assert np.allclose(out, expected, rtol=1e-6, atol=1e-8)


def test_softplus_is_stable():
    z = np.array([-800.0, -30.0, 0.0, 30.0, 800.0])
    assert np.allclose(ACTIVATIONS["softplus"](z.copy()),
                       [0.0, np.exp(-30.0), np.log(2.0), 30.0, 800.0], rtol=1e-12)


def _check_backward(net, theta, X, G, rtol):
    """Parameter and input gradients of sum(G * output) against central differences."""
    grad, grad_input = net.backward(theta, net.forward(theta, X), G, input_grad=True)
    assert np.allclose(grad, _central_differences(
        lambda t: np.sum(G * net.forward(t, X)[-1]), theta), rtol=rtol, atol=1e-8)
    assert np.allclose(grad_input, _central_differences(
        lambda x: np.sum(G * net.forward(theta, x)[-1]), X), rtol=rtol, atol=1e-8)
    return grad


@pytest.mark.parametrize("name", sorted(ACTIVATIONS))
def test_one_layer_gradient(name):
    rng = np.random.RandomState(1)
    net = DenseNetwork((3, 4), "identity", name)
    _check_backward(net, net.init(rng), rng.normal(size=(6, 3)), rng.normal(size=(6, 4)), 1e-6)


@pytest.mark.parametrize("activation", ["softplus", "relu", "tanh", "sigmoid"])
def test_end_to_end_gradient(activation):
    rng = np.random.RandomState(2)
    net = DenseNetwork((2, 7, 5, 3), activation, "sigmoid")
    theta = net.init(rng)
    grad = _check_backward(net, theta, rng.uniform(size=(8, 2)), rng.normal(size=(8, 3)), 1e-5)
    # The gradient lists are views of the flat gradient, shaped as the parameters.
    coef_grads, intercept_grads = net.unpack(grad)
    coefs, intercepts = net.unpack(theta)
    assert [g.shape for g in coef_grads] == [c.shape for c in coefs]
    assert [g.shape for g in intercept_grads] == [b.shape for b in intercepts]


def test_forward_matches_sklearn_mlp():
    # The same weights in scikit-learn's MLPRegressor give the same outputs.
    from sklearn.neural_network import MLPRegressor

    rng = np.random.RandomState(3)
    X = rng.normal(size=(20, 3))
    mlp = MLPRegressor(hidden_layer_sizes=(6, 4), activation="tanh", max_iter=1)
    mlp.partial_fit(X, rng.normal(size=(20, 2)))
    net = DenseNetwork((3, 6, 4, 2), "tanh", "identity")
    theta = np.concatenate([c.ravel() for c in mlp.coefs_] + list(mlp.intercepts_))
    assert np.allclose(net.forward(theta, X)[-1], mlp.predict(X))


def test_adam_matches_the_paper_update():
    # Kingma & Ba, Algorithm 1, written out for one parameter vector.
    rng = np.random.RandomState(4)
    theta = rng.normal(size=5)
    params = [theta.copy()]
    opt = AdamOptimizer(params, learning_rate=0.05)
    m = v = np.zeros(5)
    for t in range(1, 6):
        g = rng.normal(size=5)
        opt.update_params(params, [g])
        m = 0.9 * m + 0.1 * g
        v = 0.999 * v + 0.001 * g**2
        theta = theta - 0.05 * (m / (1 - 0.9**t)) / (np.sqrt(v / (1 - 0.999**t)) + 1e-8)
    assert np.allclose(params[0], theta, rtol=1e-12)
    assert opt.t == 5


def test_adam_minimizes_a_quadratic():
    params = [np.array([3.0, -2.0]), np.array([[1.0]])]
    opt = AdamOptimizer(params, learning_rate=0.05)
    for _ in range(2000):
        opt.update_params(params, [2 * params[0], 2 * params[1]])
    assert np.abs(params[0]).max() < 1e-2 and abs(params[1][0, 0]) < 1e-2


@pytest.mark.parametrize("input_fan_in", [False, True])
def test_init_variances(input_fan_in):
    # Uniform(-b, b) has variance b**2 / 3: Glorot's 2 / (fan_in + fan_out), or
    # LeCun's 1 / fan_in for the first layer with input_fan_in.
    net = DenseNetwork((2, 2000, 300), "softplus", "identity")
    coefs, intercepts = net.unpack(net.init(np.random.RandomState(0), input_fan_in))
    first = 1 / 2 if input_fan_in else 2 / (2 + 2000)
    assert np.var(coefs[0]) == pytest.approx(first, rel=0.1)
    assert np.var(coefs[1]) == pytest.approx(2 / 2300, rel=0.05)
    assert np.var(intercepts[1]) == pytest.approx(2 / 2300, rel=0.2)
