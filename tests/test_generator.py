"""MLPGenerator: chained gradients, scikit-learn compatibility, persistence, bad input."""

import pickle
import warnings

import numpy as np
import pytest
from _problems import central_differences
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import GridSearchCV

from skwass import MLPGenerator
from skwass.mke._engine import Loss, _loss_and_grad
from skwass.neural_network._generator import (
    _LOSSES,
    LearnedCost,
    _GeneratorPushForward,
)
from skwass.neural_network._layers import DenseNetwork
from skwass.ot import sinkhorn_divergence
from skwass.utils._optimizers import AdamOptimizer


def _ring(rng, n, n_modes=8, radius=2.0, scale=0.05):
    angles = 2 * np.pi * rng.randint(n_modes, size=n) / n_modes
    centers = radius * np.c_[np.cos(angles), np.sin(angles)]
    return centers + scale * rng.normal(size=(n, 2))


@pytest.mark.parametrize("name", sorted(_LOSSES))
def test_chained_loss_gradient(name):
    """The engine's loss gradient through the generator matches finite differences."""
    rng = np.random.RandomState(0)
    net = DenseNetwork((2, 6, 3), "softplus", "sigmoid")
    theta, noise = net.init(rng), rng.uniform(size=(15, 2))
    Y = rng.uniform(size=(12, 3))
    loss = Loss(_LOSSES[name], eps=0.5, n_sinkhorn_iter=10, bandwidth=(0.3, 1.0), tol=1e-13)
    model = _GeneratorPushForward(net)
    value, grad = _loss_and_grad(model, theta, noise, Y, loss, "generator")
    assert value == pytest.approx(loss(model(theta, noise), Y))
    coords = rng.choice(theta.size, 12, replace=False)
    expected = central_differences(lambda t: loss(model(t, noise), Y), theta, coords)
    assert np.allclose(grad[coords], expected, rtol=1e-4, atol=1e-8)


@pytest.mark.parametrize("name", ["sinkhorn", "mmd", "energy"])
def test_learned_cost_gradients(name):
    """Gradients of loss(f_phi(X), f_phi(Y)) in X and phi match finite differences."""
    rng = np.random.RandomState(1)
    critic = DenseNetwork((3, 5, 2), "tanh", "identity")
    base = Loss(_LOSSES[name], eps=0.3, bandwidth=(0.5, 2.0), tol=1e-13)
    phi = critic.init(rng)
    learned = LearnedCost(base, critic, phi, AdamOptimizer([phi], 0.01))
    X, Y = rng.normal(size=(10, 3)), rng.normal(size=(9, 3)) + 0.5
    phi = learned.theta.copy()
    value, grad_X, grad_phi = learned.gradients(X, Y)

    def loss_at(phi_, X_):
        return base(critic.forward(phi_, X_)[-1], critic.forward(phi_, Y)[-1])

    assert value == pytest.approx(loss_at(phi, X))
    coords = rng.choice(phi.size, 10, replace=False)
    assert np.allclose(grad_phi[coords],
                       central_differences(lambda p: loss_at(p, X), phi, coords),
                       rtol=1e-4, atol=1e-8)
    flat = central_differences(lambda x: loss_at(phi, x.reshape(X.shape)), X.ravel(),
                                range(X.size))
    assert np.allclose(grad_X.ravel(), flat, rtol=1e-4, atol=1e-8)


def test_learned_cost_step_ascends_and_bounds_lipschitz():
    rng = np.random.RandomState(2)
    critic = DenseNetwork((2, 16, 4), "softplus", "identity")
    phi = critic.init(rng)
    learned = LearnedCost(Loss("sinkhorn_divergence", eps=0.1), critic, phi,
                          AdamOptimizer([phi], 0.05))
    X, Y = rng.normal(size=(50, 2)), rng.normal(size=(50, 2)) + 1.0
    before = learned(X, Y)
    for _ in range(30):
        learned(X, Y, return_grad=True)
    assert learned(X, Y) > before  # the critic maximizes the loss
    for coef in critic.unpack(learned.theta)[0]:
        assert np.linalg.norm(coef, 2) <= 1.0 + 1e-12
    # A 1-Lipschitz feature map cannot separate the samples more than the data cost.
    assert learned(X, Y) <= sinkhorn_divergence(X, Y, eps=0.1) + 1e-8


def test_fit_learns_a_gaussian():
    rng = np.random.RandomState(3)
    X = rng.normal(size=(300, 2)) * [1.0, 0.3] + [2.0, -1.0]
    gen = MLPGenerator(hidden_layer_sizes=(32,), out_activation="identity", latent="normal",
                       eps=0.05, learning_rate=0.005, max_iter=150, n_iter_no_change=150,
                       batch_size=100, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        gen.fit(X)
    S = gen.sample(3000, random_state=1)
    # Constant-step Adam on minibatches of 100 keeps moving by about the
    # minibatch's standard error (0.1 on the first mean).
    assert np.allclose(S.mean(axis=0), [2.0, -1.0], atol=0.15)
    assert np.allclose(S.std(axis=0), [1.0, 0.3], atol=0.1)
    assert [c.shape for c in gen.coefs_] == [(2, 32), (32, 2)]
    assert [b.shape for b in gen.intercepts_] == [(32,), (2,)]


def test_partial_fit_epochs_lower_the_loss():
    rng = np.random.RandomState(4)
    X = _ring(rng, 400)
    gen = MLPGenerator(hidden_layer_sizes=(32, 32), out_activation="identity", eps=0.1,
                       learning_rate=0.01, batch_size=100, random_state=0)
    scores = []
    for _ in range(15):
        gen.partial_fit(X)
        scores.append(gen.score(X))
    assert gen.n_iter_ == 15
    assert scores[-1] > scores[0] + 0.5 * abs(scores[0])


def test_inverse_transform_decodes_the_sample():
    rng = np.random.RandomState(5)
    gen = MLPGenerator(hidden_layer_sizes=(8,), max_iter=1, batch_size=50,
                       random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        gen.fit(rng.uniform(size=(50, 4)))
    Z = np.random.RandomState(7).uniform(size=(5, 2))
    assert np.array_equal(gen.sample(5, random_state=7), gen.inverse_transform(Z))
    by_hand = 1 / (1 + np.exp(-(np.logaddexp(0, Z @ gen.coefs_[0] + gen.intercepts_[0])
                                @ gen.coefs_[1] + gen.intercepts_[1])))
    assert np.allclose(gen.inverse_transform(Z), by_hand)


def test_pickle_round_trip_gives_identical_samples():
    rng = np.random.RandomState(6)
    gen = MLPGenerator(hidden_layer_sizes=(16,), learned_cost=(8,), loss="mmd", max_iter=2,
                       batch_size=40, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        gen.fit(rng.uniform(size=(80, 3)))
    restored = pickle.loads(pickle.dumps(gen))
    assert np.array_equal(restored.sample(20, random_state=3), gen.sample(20, random_state=3))
    X = rng.uniform(size=(30, 3))
    assert restored.score(X) == gen.score(X)
    restored.partial_fit(X)  # continues training after unpickling
    assert restored.n_iter_ == gen.n_iter_ + 1


def test_fit_is_reproducible():
    X = np.random.RandomState(8).uniform(size=(60, 3))
    gens = [MLPGenerator(hidden_layer_sizes=(8,), loss=loss, max_iter=2, batch_size=30,
                         random_state=0) for loss in ("sinkhorn", "sinkhorn")]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        a, b = (g.fit(X).sample(10, random_state=0) for g in gens)
    assert np.array_equal(a, b)


def test_grid_search_over_eps_and_loss():
    rng = np.random.RandomState(9)
    X = _ring(rng, 200)
    search = GridSearchCV(
        MLPGenerator(hidden_layer_sizes=(16,), out_activation="identity", max_iter=3,
                     batch_size=50, score_eps=0.5, random_state=0),
        {"eps": [0.1, 1.0], "loss": ["sinkhorn", "mmd"]}, cv=2,
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        search.fit(X)
    assert len(search.cv_results_["mean_test_score"]) == 4
    assert np.all(np.isfinite(search.cv_results_["mean_test_score"]))
    assert search.best_params_["loss"] in ("sinkhorn", "mmd")


@pytest.mark.parametrize("X, match", [
    (np.array([[0.1, np.nan], [0.2, 0.3]]), "NaN"),
    (np.array([[0.1, 1.5], [0.2, 0.3]]), "outside \\[0, 1\\].*out_activation='sigmoid'"),
    (np.array([0.1, 0.2, 0.3]), "2D array"),
])
def test_bad_training_data(X, match):
    X_before = X.copy()
    with pytest.raises(ValueError, match=match):
        MLPGenerator(hidden_layer_sizes=(4,), max_iter=1).fit(X)
    assert np.array_equal(X, X_before, equal_nan=True)


def test_bad_input_after_fit():
    gen = MLPGenerator(hidden_layer_sizes=(4,), max_iter=1, batch_size=10, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        gen.fit(np.random.RandomState(0).uniform(size=(10, 3)))
    with pytest.raises(ValueError, match="3 features"):
        gen.score(np.zeros((5, 4)))
    with pytest.raises(ValueError, match="Z must be .* shape \\(n_samples, 2\\)"):
        gen.inverse_transform(np.zeros((5, 3)))
    with pytest.raises(ValueError, match="Z must be a finite"):
        gen.inverse_transform([[0.0, np.inf]])
    with pytest.raises(ValueError, match="hidden_layer_sizes must be positive"):
        MLPGenerator(hidden_layer_sizes=(4, 0)).fit(np.zeros((5, 2)))
    with pytest.raises(ValueError, match="kernel must be positive"):
        MLPGenerator(loss="mmd", kernel=[1.0, -1.0]).fit(np.zeros((5, 2)))




def test_integer_layer_sizes():
    X = np.random.RandomState(10).uniform(size=(30, 3))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        gen = MLPGenerator(hidden_layer_sizes=5, learned_cost=4, max_iter=1, batch_size=30,
                           random_state=0).fit(X)
    assert [c.shape for c in gen.coefs_] == [(2, 5), (5, 3)]
    assert [c.shape for c in gen.critic_coefs_] == [(3, 4)]


def test_first_layer_starts_at_fan_in_scale():
    # Glorot's 2 -> 500 first layer would decode every latent code to nearly
    # the same image (benchmarks/generator_ablation.py); the generator draws it
    # with variance 1 / n_components instead.
    X = np.random.RandomState(0).uniform(size=(50, 3))
    gen = MLPGenerator(hidden_layer_sizes=(500,), learning_rate=1e-12, batch_size=50,
                       random_state=0).partial_fit(X)
    assert np.var(gen.coefs_[0]) == pytest.approx(1 / 2, rel=0.15)
    assert np.var(gen.coefs_[1]) == pytest.approx(2 / 503 / 3, rel=0.15)
