"""Generative networks fitted by minimum Kantorovich estimation.

Genevay, Peyre & Cuturi (2018), section 4.2 and Algorithm 1; Li et al.'s
generative moment matching networks (GMMN) and MMD-GAN's learned kernel.
"""

import numbers

import numpy as np
from sklearn.base import BaseEstimator, _fit_context
from sklearn.utils import check_random_state, metadata_routing
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.validation import check_is_fitted, validate_data

from skwass.mke._engine import (
    GRAD_METRICS,
    Loss,
    MinibatchState,
    _check_sample,
    minibatch_epoch,
    minimize_loss,
)
from skwass.neural_network._layers import ACTIVATIONS, DenseNetwork
from skwass.ot import cost_matrix
from skwass.utils._docstrings import fill_doc
from skwass.utils._optimizers import AdamOptimizer
from skwass.utils._threads import _with_thread_limits

# MLPGenerator's loss names -> the engine's.
_LOSSES = {"sinkhorn": "sinkhorn_divergence", "sinkhorn_unrolled": "sinkhorn",
           "mmd": "mmd", "energy": "energy"}
# Default GMMN kernel mixture: these multiples of the median pairwise distance.
_BANDWIDTH_FACTORS = (0.25, 0.5, 1.0, 2.0, 4.0)


def _draw_latent(latent, n_components):
    if latent == "uniform":
        return lambda rng, n: rng.uniform(size=(n, n_components))
    return lambda rng, n: rng.standard_normal((n, n_components))


def check_output_range(estimator, X, reset, **kwargs):
    """``validate_data`` of a network's training data, refusing what its output cannot reach.

    With ``estimator.out_activation == "sigmoid"`` the data must lie in ``[0, 1]``.
    """
    X = validate_data(estimator, X, dtype=np.float64, reset=reset, **kwargs)
    if estimator.out_activation == "sigmoid" and (X.min() < 0.0 or X.max() > 1.0):
        raise ValueError(
            f"X has values in [{X.min():.3g}, {X.max():.3g}], outside [0, 1], which "
            "out_activation='sigmoid' cannot generate; rescale X or use "
            "out_activation='identity'."
        )
    return X


def check_codes(Z, n_components):
    """Latent codes for a decoder: a finite float array of shape ``(n, n_components)``."""
    Z = np.asarray(Z, dtype=np.float64)
    if Z.ndim != 2 or Z.shape[1] != n_components or not np.all(np.isfinite(Z)):
        raise ValueError(
            f"Z must be a finite array of shape (n_samples, {n_components}), "
            f"got shape {Z.shape}."
        )
    return Z


class _GeneratorPushForward:
    """``x = g_theta(z)``: the engine's model, keeping the activations for its pullback."""

    def __init__(self, network):
        self.network = network

    def __call__(self, theta, noise):
        return self.network.forward(theta, noise)[-1]

    def forward(self, theta, noise):
        activations = self.network.forward(theta, noise)
        return activations[-1], lambda G: self.network.backward(theta, activations, G)


def _project_lipschitz(network, theta):
    """Rescale every layer of ``theta`` in place to spectral norm at most 1."""
    for coef in network.unpack(theta)[0]:
        norm = np.linalg.norm(coef, 2)
        if norm > 1.0:
            coef /= norm


class LearnedCost:
    """A loss between ``f_phi(X)`` and ``f_phi(Y)`` whose feature map plays adversary.

    The cost is ``c_phi(x, y) = c(f_phi(x), f_phi(y))`` (Genevay et al. 2018,
    Algorithm 1; MMD-GAN). Each call with ``return_grad`` returns the loss and
    its gradient with respect to ``X`` at the current ``phi``, then takes one
    Adam ascent step on ``phi`` from the same minibatch: the generator step and
    the critic step alternate with ``n_c = 1``.

    Safeguard: after each ascent step every weight matrix of ``f_phi`` is
    rescaled to spectral norm at most 1. With 1-Lipschitz activations
    (softplus, relu, tanh) ``f_phi`` is then 1-Lipschitz, so the adversary
    cannot raise the loss by stretching its features (the losses grow without
    bound with the scale of ``f_phi``), and ``eps`` keeps its meaning in the
    data's cost units. Genevay et al. clip each weight to ``[-c, c]``, which
    bounds the same Lipschitz constant only loosely and needs ``c`` tuned.

    Parameters
    ----------
    base : Loss
        The loss between the features.
    network : DenseNetwork
        ``f_phi``.
    theta : ndarray of shape (network.n_params,)
        ``phi``, updated in place.
    optimizer : AdamOptimizer
        The ascent's optimizer over ``[theta]`` (its state carries across calls).
    """

    def __init__(self, base, network, theta, optimizer):
        self.base, self.network, self.theta, self.optimizer = base, network, theta, optimizer
        _project_lipschitz(network, theta)

    @property
    def device(self):
        return self.base.device

    def gradients(self, X, Y):
        """Loss, its gradient with respect to ``X`` and with respect to ``phi``."""
        act_X = self.network.forward(self.theta, X)
        act_Y = self.network.forward(self.theta, Y)
        value, grad_FX = self.base(act_X[-1], act_Y[-1], return_grad=True)
        # Every loss is symmetric in its two samples but the unrolled W_L, whose
        # Y-gradient this swap gives only up to its (small) asymmetry.
        _, grad_FY = self.base(act_Y[-1], act_X[-1], return_grad=True)
        grad_phi, grad_X = self.network.backward(self.theta, act_X, grad_FX, input_grad=True)
        grad_phi += self.network.backward(self.theta, act_Y, grad_FY)
        return value, grad_X, grad_phi

    def __call__(self, X, Y, return_grad=False):
        if not return_grad:
            return self.base(self.network.forward(self.theta, X)[-1],
                             self.network.forward(self.theta, Y)[-1])
        value, grad_X, grad_phi = self.gradients(X, Y)
        self.optimizer.update_params([self.theta], [-grad_phi])  # ascent
        _project_lipschitz(self.network, self.theta)
        return value, grad_X


@fill_doc
class MLPGenerator(BaseEstimator):
    """A generative multilayer perceptron fitted by minimum Kantorovich estimation.

    The generator ``x = g_theta(z)`` pushes latent noise ``z`` (uniform on
    ``[0, 1]^k`` or standard normal) through dense layers. Each Adam step draws
    ``batch_size`` latent codes and compares their images with a minibatch of
    the data through a loss from :mod:`skwass.ot`, whose gradient with respect
    to the generated points is chained through the hand-derived backward pass
    (Genevay, Peyre & Cuturi 2018, section 4.2; Li et al.'s GMMN for
    ``loss="mmd"``).

    Parameters
    ----------
    n_components : int, default=2
        Latent dimension ``k``: the codes that :meth:`inverse_transform` takes.
    hidden_layer_sizes : int or tuple of int, default=(500, 500)
        Hidden layers of the generator.
    activation : {"softplus", "relu", "tanh", "sigmoid", "identity"}, default="softplus"
        Hidden activation.
    out_activation : {"sigmoid", "identity"}, default="sigmoid"
        ``"sigmoid"`` for data in ``[0, 1]`` (images), ``"identity"`` otherwise.
    latent : {"uniform", "normal"}, default="uniform"
        Latent distribution: uniform on ``[0, 1]^k`` or standard normal.
    loss : {"sinkhorn", "sinkhorn_unrolled", "mmd", "energy"}, default="sinkhorn"
        ``"sinkhorn"``: the debiased Sinkhorn divergence solved to convergence
        (:func:`skwass.ot.sinkhorn_divergence`); ``"sinkhorn_unrolled"``:
        Genevay et al.'s ``2 W_L(x, y) - W_L(x, x) - W_L(y, y)`` after
        ``n_sinkhorn_iter`` iterations, differentiated through them;
        ``"mmd"``: squared MMD with a sum of Gaussian kernels (GMMN);
        ``"energy"``: the energy distance.
    eps : float, default=1.0
        Entropic regularization of the Sinkhorn losses, in cost units.
    metric : {"sqeuclidean", "euclidean", "cityblock"}, default="sqeuclidean"
        Ground cost of the Sinkhorn losses.
    n_sinkhorn_iter : int, default=20
        L, the Sinkhorn iterations of ``"sinkhorn_unrolled"``.
    kernel : array-like of float or None, default=None
        Bandwidths of the Gaussian kernels summed by ``loss="mmd"``; ``None``
        takes the median pairwise distance of (up to 1000 points of) the
        training data times 1/4, 1/2, 1, 2 and 4.
    learned_cost : int, tuple of int or None, default=None
        ``None``: the fixed cost. Otherwise the layer sizes of an adversarial
        feature map ``f_phi`` (``n_features -> learned_cost[0] -> ... ->
        learned_cost[-1]``, hidden ``activation``, identity output), trained by
        Adam to maximize the loss between ``f_phi(data)`` and
        ``f_phi(generated)``, one ascent step per generator step, with every
        layer kept at spectral norm at most 1 (see ``LearnedCost``).
    batch_size : int, default=200
        Data points per minibatch and generated points per step.
    learning_rate : float, default=5e-3
        Adam step size (also the feature map's).
    max_iter : int, default=100
        Maximum number of epochs (passes over the data).
    tol : float, default=1e-4
        Fitting stops when the epoch's mean minibatch loss has not improved by
        ``tol`` for ``n_iter_no_change`` epochs.
    n_iter_no_change : int, default=10
    score_eps : float, default=1.0
        Regularization of the Sinkhorn divergence that :meth:`score` reports,
        whatever ``loss`` and ``eps``, so that scores compare across them.
    {n_jobs}
    random_state : int, RandomState instance or None, default=None
        Seeds the weights, the latent noise and the minibatches.
    verbose : int, default=0
        Print the loss at each epoch.

    Attributes
    ----------
    coefs_ : list of ndarray
        Weight matrices of the generator, ``coefs_[i]`` of shape
        ``(layer_sizes[i], layer_sizes[i + 1])``.
    intercepts_ : list of ndarray
        Biases of the generator.
    critic_coefs_, critic_intercepts_ : list of ndarray
        Weights and biases of ``f_phi`` (with ``learned_cost`` only).
    bandwidths_ : ndarray
        Kernel bandwidths (with ``loss="mmd"`` only).
    loss_ : float
        Mean minibatch loss of the last epoch.
    n_iter_ : int
        Epochs run.
    {n_features_in_}

    Notes
    -----
    The weights start Glorot-uniform as in scikit-learn, except the first
    layer, drawn with variance ``1 / n_components`` (LeCun). Glorot's
    ``2 / (fan_in + fan_out)`` makes a 2 -> 500 layer 11 times smaller, and
    then every latent code decodes to nearly the same image (sample pixel
    standard deviation 0.001 against 0.19 for MNIST): training first sits
    on a plateau at the mean digit until Adam has grown the first layer
    (60 to 200 Adam steps at Genevay et al.'s MNIST settings); see
    ``benchmarks/generator_ablation.py``.

    Examples
    --------
    >>> import numpy as np
    >>> from skwass.neural_network import MLPGenerator
    >>> X = np.random.default_rng(0).normal(size=(200, 2)) * 0.5 + [3.0, -1.0]
    >>> gen = MLPGenerator(hidden_layer_sizes=(32,), out_activation="identity",
    ...                    latent="normal", eps=0.1, max_iter=100, learning_rate=0.02,
    ...                    random_state=0).fit(X)
    >>> gen.sample(2000, random_state=0).mean(axis=0).round(0)
    array([ 3., -1.])
    """

    # inverse_transform's argument is Z, not X: it is data, not metadata to route.
    __metadata_request__inverse_transform = {"Z": metadata_routing.UNUSED}

    _parameter_constraints: dict = {
        "n_components": [Interval(numbers.Integral, 1, None, closed="left")],
        "hidden_layer_sizes": ["array-like", Interval(numbers.Integral, 1, None, closed="left")],
        "activation": [StrOptions(set(ACTIVATIONS))],
        "out_activation": [StrOptions({"sigmoid", "identity"})],
        "latent": [StrOptions({"uniform", "normal"})],
        "loss": [StrOptions(set(_LOSSES))],
        "eps": [Interval(numbers.Real, 0, None, closed="neither")],
        "metric": [StrOptions(set(GRAD_METRICS))],
        "n_sinkhorn_iter": [Interval(numbers.Integral, 1, None, closed="left")],
        "kernel": ["array-like", None],
        "learned_cost": ["array-like", Interval(numbers.Integral, 1, None, closed="left"), None],
        "batch_size": [Interval(numbers.Integral, 1, None, closed="left")],
        "learning_rate": [Interval(numbers.Real, 0, None, closed="neither")],
        "max_iter": [Interval(numbers.Integral, 1, None, closed="left")],
        "tol": [Interval(numbers.Real, 0, None, closed="left")],
        "n_iter_no_change": [Interval(numbers.Integral, 1, None, closed="left")],
        "score_eps": [Interval(numbers.Real, 0, None, closed="neither")],
        "n_jobs": [numbers.Integral, None],
        "random_state": ["random_state"],
        "verbose": ["verbose"],
    }

    def __init__(self, n_components=2, *, hidden_layer_sizes=(500, 500), activation="softplus",
                 out_activation="sigmoid", latent="uniform", loss="sinkhorn", eps=1.0,
                 metric="sqeuclidean", n_sinkhorn_iter=20, kernel=None, learned_cost=None,
                 batch_size=200, learning_rate=5e-3, max_iter=100, tol=1e-4,
                 n_iter_no_change=10, score_eps=1.0, n_jobs=None, random_state=None, verbose=0):
        self.n_components = n_components
        self.hidden_layer_sizes = hidden_layer_sizes
        self.activation = activation
        self.out_activation = out_activation
        self.latent = latent
        self.loss = loss
        self.eps = eps
        self.metric = metric
        self.n_sinkhorn_iter = n_sinkhorn_iter
        self.kernel = kernel
        self.learned_cost = learned_cost
        self.batch_size = batch_size
        self.learning_rate = learning_rate
        self.max_iter = max_iter
        self.tol = tol
        self.n_iter_no_change = n_iter_no_change
        self.score_eps = score_eps
        self.n_jobs = n_jobs
        self.random_state = random_state
        self.verbose = verbose

    # -- helpers -----------------------------------------------------------

    @staticmethod
    def _layer_sizes(name, sizes, first, last=None):
        sizes = [sizes] if isinstance(sizes, numbers.Integral) else list(sizes)
        if not sizes and last is None:
            raise ValueError(f"{name} must name at least one layer size.")
        if any(not isinstance(s, numbers.Integral) or s < 1 for s in sizes):
            raise ValueError(f"{name} must be positive integers, got {sizes!r}.")
        return (first, *sizes) + (() if last is None else (last,))

    def _network(self):
        sizes = self._layer_sizes("hidden_layer_sizes", self.hidden_layer_sizes,
                                  self.n_components, self.n_features_in_)
        return DenseNetwork(sizes, self.activation, self.out_activation)

    def _critic_network(self):
        sizes = self._layer_sizes("learned_cost", self.learned_cost, self.n_features_in_)
        return DenseNetwork(sizes, self.activation, "identity")

    def _check_data(self, X, reset):
        return check_output_range(self, X, reset)

    def _base_loss(self, X):
        """The fixed-cost loss; the first call picks the MMD bandwidths from ``X``."""
        bandwidth = 1.0
        if self.loss == "mmd":
            if not hasattr(self, "bandwidths_"):
                if self.kernel is None:
                    sub = X[:1000]
                    dist = np.sqrt(cost_matrix(sub, sub, metric="sqeuclidean"))
                    median = np.median(dist[np.triu_indices(len(sub), 1)]) if len(sub) > 1 \
                        else 0.0
                    self.bandwidths_ = np.asarray(_BANDWIDTH_FACTORS) * (median or 1.0)
                else:
                    self.bandwidths_ = np.atleast_1d(np.asarray(self.kernel, dtype=np.float64))
                    if self.bandwidths_.ndim != 1 or not np.all(self.bandwidths_ > 0):
                        raise ValueError(
                            f"kernel must be positive bandwidths, got {self.kernel!r}."
                        )
            bandwidth = tuple(self.bandwidths_)
        return Loss(_LOSSES[self.loss], self.eps, self.metric, self.n_sinkhorn_iter, bandwidth)

    def _training_loss(self, X, rng):
        base = self._base_loss(X)
        if self.learned_cost is None:
            return base
        critic = self._critic_network()
        if getattr(self, "_critic", None) is None:
            phi = critic.init(rng)
            self._critic = (phi, AdamOptimizer([phi], self.learning_rate))
        return LearnedCost(base, critic, *self._critic)

    def _set_fitted(self, theta, n_iter, loss):
        self.coefs_, self.intercepts_ = (
            [a.copy() for a in arrays] for arrays in self._network().unpack(theta)
        )
        if self.learned_cost is not None:
            self.critic_coefs_, self.critic_intercepts_ = (
                [a.copy() for a in arrays]
                for arrays in self._critic_network().unpack(self._critic[0])
            )
        self.n_iter_, self.loss_ = n_iter, loss

    def _theta(self):
        return np.concatenate([c.ravel() for c in self.coefs_] + list(self.intercepts_))

    # -- public API --------------------------------------------------------

    @_fit_context(prefer_skip_nested_validation=True)
    @_with_thread_limits
    def fit(self, X, y=None):
        """Fit the generator to ``X`` with minibatch Adam for ``max_iter`` epochs.

        {network_fit_parameters}
        """
        for attr in ("bandwidths_", "_critic"):
            self.__dict__.pop(attr, None)
        X = self._check_data(X, reset=True)
        rng = check_random_state(self.random_state)
        network = self._network()
        theta0 = network.init(rng, input_fan_in=True)
        loss = self._training_loss(X, rng)
        result = minimize_loss(
            _GeneratorPushForward(network), theta0, X, loss, solver="adam",
            draw_noise=_draw_latent(self.latent, self.n_components), max_iter=self.max_iter,
            tol=self.tol, learning_rate=self.learning_rate, batch_size=self.batch_size,
            n_iter_no_change=self.n_iter_no_change, epochs=True, rng=rng,
            verbose=self.verbose, name="generator",
        )
        self._set_fitted(result.theta, result.n_iter, result.loss)
        self._rng, self._adam_state = rng, None
        return self

    @_fit_context(prefer_skip_nested_validation=True)
    @_with_thread_limits
    def partial_fit(self, X, y=None):
        """One epoch of minibatch Adam over ``X``.

        The first call initializes the weights; a call after :meth:`fit`
        continues from the fitted weights with fresh Adam moments.

        {partial_fit_parameters}
        """
        first_call = not hasattr(self, "coefs_")
        X = self._check_data(X, reset=first_call)
        if first_call:
            self._rng = check_random_state(self.random_state)
            self._adam_state = MinibatchState(self._network().init(self._rng, input_fan_in=True))
            self.n_iter_ = 0
        elif getattr(self, "_adam_state", None) is None:
            self._adam_state = MinibatchState(self._theta())
        loss = self._training_loss(X, self._rng)
        value = minibatch_epoch(self._adam_state, _GeneratorPushForward(self._network()),
                                _draw_latent(self.latent, self.n_components), X, loss, None,
                                self.learning_rate, self.batch_size, self._rng, "generator")
        if self.verbose:
            print(f"Iteration {self.n_iter_ + 1}, loss = {value:.6g}")
        self._set_fitted(self._adam_state.theta, self.n_iter_ + 1, value)
        return self

    def inverse_transform(self, Z):
        """Decode latent codes: the generator's images ``g_theta(Z)``.

        {inverse_transform_parameters}
        """
        check_is_fitted(self)
        Z = check_codes(Z, self.n_components)
        return self._network().forward(self._theta(), Z)[-1]

    def sample(self, n_samples=1, random_state=None):
        """Draw ``n_samples`` points from the generator.

        {sample_parameters}
        """
        check_is_fitted(self)
        rng = check_random_state(random_state)
        Z = _draw_latent(self.latent, self.n_components)(rng, n_samples)
        return _check_sample(self.inverse_transform(Z), self.n_features_in_, "generator")

    @_with_thread_limits
    def score(self, X, y=None):
        """Minus the Sinkhorn divergence at ``score_eps`` between a sample and ``X``.

        The sample has ``len(X)`` points drawn with ``random_state``. The
        score is the same for every ``loss`` (higher is better), so that
        ``GridSearchCV`` can compare losses, ``eps`` and layer sizes.

        {score_parameters}
        """
        check_is_fitted(self)
        X = validate_data(self, X, dtype=np.float64, reset=False)
        loss = Loss("sinkhorn_divergence", self.score_eps, self.metric)
        return -loss(self.sample(X.shape[0], self.random_state), X)
