"""Restricted Boltzmann machine trained by smoothed Wasserstein minimization.

Montavon, Müller and Cuturi, "Wasserstein Training of Restricted Boltzmann
Machines", NIPS 2016. The gradient is eq. (5): the centered Sinkhorn potential
of the persistent (PCD) model sample against the data weights the free-energy
gradients of the sample.
"""

import time
import warnings
from contextlib import contextmanager
from numbers import Integral, Real

import numpy as np
from scipy.special import logsumexp
from sklearn.base import (
    BaseEstimator,
    ClassNamePrefixFeaturesOutMixin,
    TransformerMixin,
    _fit_context,
)
from sklearn.exceptions import ConvergenceWarning
from sklearn.utils import check_random_state, gen_batches
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.validation import check_is_fitted, validate_data

from skwass._backend._device import (
    DEVICES,
    expit,
    host_copy,
    namespace,
    resolve_device,
    uniform_like,
)
from skwass.ot import centered_potential, cost_matrix, sinkhorn
from skwass.utils._docstrings import fill_doc
from skwass.utils._threads import _with_thread_limits

# Exact enumeration of the 2**d visible states is offered up to this dimension.
MAX_EXACT_FEATURES = 20
# Sliding-average rate of the hidden offsets of the centered parameterization.
_OFFSET_RATE = 0.05
# Parameters beyond this magnitude (or non-finite) mean the training diverged.
_DIVERGENCE_LIMIT = 1e6
# Largest subsample used to estimate the mean pairwise cost of a non-Hamming metric.
_SCALE_SUBSAMPLE = 1000

_METRICS = {"hamming", "cityblock", "euclidean", "sqeuclidean"}
# Training state that lives on the device during a GPU fit.
_TRAINING_STATE = ("components_", "intercept_visible_", "intercept_hidden_", "visible_offset_",
                   "hidden_offset_", "chains_", "_chain_hiddens")


def binary_states(n_features):
    """All ``2**n_features`` binary vectors, one per row.

    Row ``i`` holds the bits of ``i``, least significant first.

    Parameters
    ----------
    n_features : int
        Dimension ``d``; at most 20 here (a million states).

    Returns
    -------
    states : ndarray of shape (2**n_features, n_features)
        Float64 zeros and ones.

    Examples
    --------
    >>> from skwass.neural_network import binary_states
    >>> binary_states(2)
    array([[0., 0.],
           [1., 0.],
           [0., 1.],
           [1., 1.]])
    """
    if not 0 <= n_features <= MAX_EXACT_FEATURES:
        raise ValueError(
            f"Enumerating 2**{n_features} states is refused; the exact mode supports "
            f"at most {MAX_EXACT_FEATURES} features."
        )
    codes = np.arange(2**n_features)[:, None]
    return ((codes >> np.arange(n_features)) & 1).astype(np.float64)


def _check_unit_interval(X, metric=None, what="X"):
    """Raise a ValueError unless ``X`` lies in [0, 1] (and is 0/1 for Hamming)."""
    if X.size == 0:
        return
    low, high = float(X.min()), float(X.max())
    if low < 0 or high > 1:
        raise ValueError(
            f"{what} must contain values in [0, 1] (visible units are Bernoulli), "
            f"but its values range over [{low:.4g}, {high:.4g}]. Rescale it, for "
            "example with sklearn.preprocessing.MinMaxScaler, then binarize it."
        )
    if metric == "hamming" and not np.all((X == 0) | (X == 1)):
        raise ValueError(
            f"metric='hamming' needs binary 0/1 data, but {what} has values strictly "
            "between 0 and 1. Binarize it first, for example with "
            "sklearn.preprocessing.Binarizer(threshold=0.5)."
        )


@fill_doc
class WassersteinRBM(ClassNamePrefixFeaturesOutMixin, TransformerMixin, BaseEstimator):
    """Bernoulli restricted Boltzmann machine trained with a Wasserstein objective.

    Minimizes ``W_eps(p_theta, p_hat) + lam * (KL(p_hat | p_theta) + eta * R(theta))``
    as in Montavon et al. (2016), where ``R`` is the squared norm of the visible
    biases and the weights, starting from the KL pretrained model
    ``argmin KL + eta * R``. ``W_eps`` is the entropic optimal transport value
    under the ground cost ``D = H / <H>_p_hat`` (Hamming distance over its mean
    over pairs of training points), estimated between the data and a persistent
    contrastive divergence (PCD) sample of the model. The gradient is eq. (5)
    of the paper: minus the average over the PCD sample of the centered Sinkhorn
    potential times the free-energy gradient; the potentials are warm-started
    from one step to the next.

    The model itself is scikit-learn's :class:`~sklearn.neural_network.BernoulliRBM`
    (same ``components_``, ``intercept_hidden_``, ``intercept_visible_``,
    ``transform``, ``gibbs``, ``score_samples``); with ``lam=np.inf`` it is
    trained by PCD maximum likelihood only.

    Parameters
    ----------
    n_components : int, default=400
        Number of binary hidden units (the paper's 400).
    eps : float, default=0.1
        Entropic smoothing ``gamma`` of the Wasserstein distance, in units of
        the normalized cost (mean pairwise cost of the training data is 1).
    lam : float, default=1e-3
        Weight ``lambda`` of the regularizer ``Omega = KL + eta * R``.
        ``np.inf`` trains a standard KL RBM (no optimal transport at all);
        ``0`` fine-tunes the pretrained model on the Wasserstein distance alone.
        The default is the paper's ``lambda = 0.1`` in the units of the exact
        gradient, ``0.1 * eps**2`` (see Notes).
    eta : float, default=1e-3
        Quadratic containment ``eta`` on the visible biases and the weights.
    metric : {"hamming", "cityblock", "euclidean", "sqeuclidean"} or callable, \
            default="hamming"
        Ground metric between visible vectors, see :func:`skwass.ot.cost_matrix`;
        it is divided by its mean over all pairs of training points.
        ``"hamming"`` requires binary 0/1 data.
    learning_rate : float, default=1.0
        Step size on the mean gradient. The fine-tuning phase uses
        ``learning_rate * min(1, 1 / lam)``, as in the paper. The default is
        the paper's fine-tuning step ``0.01 / eps**2`` (see Notes); KL
        pretraining at that rate settles within the default epochs on
        MNIST-small. The containment ``eta * R`` takes an implicit
        (proximal) step, stable at any rate: an explicit one diverged at
        ``eta=1e-2`` with 400 hidden units (see Notes).
    n_pretrain_iter : int, default=250
        Epochs of KL pretraining (minimizing ``Omega``).
    n_iter : int, default=100
        Epochs of fine-tuning on the full objective.
    batch_size : int or None, default=None
        Training points per update; ``None`` is full batch, as in the paper.
        The PCD chains are split into as many groups as there are batches and
        each update advances one group by one Gibbs step.
    n_chains : int or None, default=None
        Size of the PCD sample; ``None`` is the number of training points.
        At least 2: the centered potential of a single sample is zero, so its
        Wasserstein gradient vanishes.
    centered : bool, default=True
        Take gradient steps in the centered parameterization (visible offsets
        at the data mean, hidden offsets at a sliding mean of the hidden
        activations); the model is the same, only the steps differ.
    exact : bool, default=False
        Replace the PCD sample by the exact model distribution, enumerating the
        ``2**n_features`` visible states (at most 20 features): exact KL and
        Wasserstein gradients. Costs ``2**n_features * n_samples`` per step.
    score_eps : float, default=0.1
        Fixed smoothing used by :meth:`score`, so that models trained with
        different ``eps`` compare fairly.
    sinkhorn_tol : float, default=1e-5
        L1 marginal tolerance of the Sinkhorn solves during training.
    sinkhorn_max_iter : int, default=1000
        Iteration budget of each Sinkhorn solve during training.
    device : {"auto", "cpu", "cuda"}, default="auto"
        Where ``fit`` and ``partial_fit`` train: ``"cuda"`` keeps the model,
        the PCD chains and the data on the GPU (CuPy, the ``gpu`` extra) and
        solves the Sinkhorn problems there; ``"auto"`` trains on the GPU when
        ``X`` is a CuPy array. Random numbers are drawn on the host from
        ``random_state`` either way, and the fitted attributes are NumPy arrays.
    {n_jobs}
    random_state : int, RandomState instance or None, default=None
        Seeds the initial weights, the PCD chains, minibatch order and the
        Gibbs sampling done by :meth:`gibbs`, :meth:`sample` and
        :meth:`score_samples`.
    verbose : int, default=0
        Print the objective, the Wasserstein distance and the time per epoch.

    Attributes
    ----------
    components_ : ndarray of shape (n_components, n_features)
        Weights ``W``.
    intercept_hidden_ : ndarray of shape (n_components,)
        Hidden biases ``b``.
    intercept_visible_ : ndarray of shape (n_features,)
        Visible biases ``a``.
    chains_ : ndarray of shape (n_chains, n_features)
        The persistent visible sample of the model (unused when ``exact``).
    cost_scale_ : float
        Mean pairwise ground cost of the training data, the unit of ``eps``.
    visible_offset_, hidden_offset_ : ndarray
        Offsets of the centered parameterization.
    wasserstein_curve_ : list of float
        Mean Wasserstein value over each fine-tuning epoch (empty when ``lam``
        is infinite).
    n_iter_ : int
        Fine-tuning epochs run.
    n_steps_ : int
        Gradient updates done, pretraining included.
    {n_features_in_}
    feature_names_in_ : ndarray of shape (`n_features_in_`,)
        Names of features seen during fit, when they are all strings.

    See Also
    --------
    sklearn.neural_network.BernoulliRBM : The same model trained by PCD alone.

    Notes
    -----
    ``W_eps`` here is the entropic OT value of :func:`skwass.ot.sinkhorn`,
    ``<P, D> + eps * KL(P | p x q)``. The paper's eq. (2) uses
    ``<P, D> - eps * H(P)``, which is smaller by ``eps * (H(p) + H(q))``. On a
    uniformly weighted sample (eq. 5, the PCD mode) the two have the same
    centered potential, so the same gradient; with ``exact=True`` the
    relative-entropy form is the one whose gradient the sample estimates (the
    entropy form would add ``eps * log p_theta`` to the potential), and it is
    the one used.

    The paper's Sinkhorn recipe writes the potential as ``log(u / u~) / gamma``,
    which is ``1 / gamma**2`` times the dual potential ``gamma * log(u)`` used
    here (the gradient of ``W_eps``, checked against finite differences). Its
    step ``lr * min(1, 1/lam) * (grad W / gamma**2 + lam * grad Omega)`` is
    therefore the exact-gradient step of this class with ``lam * gamma**2``
    and ``learning_rate = lr / gamma**2`` (for ``lam <= 1``). The defaults are
    the paper's ``lr = 0.01`` and ``lambda = 0.1`` at ``gamma = 0.1`` written
    that way: ``learning_rate=1.0``, ``lam=1e-3``, with 400 hidden units,
    full batch. Changing ``eps`` does not rescale them. The user guide's
    replication page shows what they give on MNIST-small and how they were
    chosen.

    Each update is a gradient step on ``W_eps + lam * KL`` (on ``KL`` in
    pretraining) followed by the exact minimizer of ``|z - z_step|**2 / 2 +
    lr * w * eta * R`` in the (centered) parameters ``z``, ``w`` the weight
    of ``Omega`` in the step (forward-backward splitting: same fixed points
    as gradient descent on the whole objective). In the centered
    parameterization, ``a = a_c - W^T beta`` makes the curvature of
    ``eta * R`` as large as ``2 eta (1 + |beta|**2)``, which grows with the
    number of hidden units; an explicit step on it is unstable once that
    exceeds ``2 / learning_rate``.

    References
    ----------
    G. Montavon, K.-R. Müller and M. Cuturi. Wasserstein Training of Restricted
    Boltzmann Machines. NIPS 2016.

    Examples
    --------
    >>> import numpy as np
    >>> from skwass.neural_network import WassersteinRBM
    >>> rng = np.random.default_rng(0)
    >>> X = (rng.random((60, 6)) < [0.9, 0.9, 0.9, 0.1, 0.1, 0.1]).astype(float)
    >>> rbm = WassersteinRBM(n_components=4, n_pretrain_iter=20, n_iter=10,
    ...                      learning_rate=0.1, random_state=0).fit(X)
    >>> rbm.transform(X).shape
    (60, 4)
    >>> rbm.sample(3, random_state=0).shape
    (3, 6)
    >>> bool(rbm.score(X) < 0)
    True
    """

    _parameter_constraints: dict = {
        "n_components": [Interval(Integral, 1, None, closed="left")],
        "eps": [Interval(Real, 0, None, closed="neither")],
        "lam": [Interval(Real, 0, np.inf, closed="both")],
        "eta": [Interval(Real, 0, None, closed="left")],
        "metric": [StrOptions(_METRICS), callable],
        "learning_rate": [Interval(Real, 0, None, closed="neither")],
        "n_pretrain_iter": [Interval(Integral, 0, None, closed="left")],
        "n_iter": [Interval(Integral, 0, None, closed="left")],
        "batch_size": [Interval(Integral, 1, None, closed="left"), None],
        "n_chains": [Interval(Integral, 2, None, closed="left"), None],
        "centered": ["boolean"],
        "exact": ["boolean"],
        "score_eps": [Interval(Real, 0, None, closed="neither")],
        "sinkhorn_tol": [Interval(Real, 0, None, closed="neither")],
        "sinkhorn_max_iter": [Interval(Integral, 1, None, closed="left")],
        "device": [StrOptions(set(DEVICES))],
        "n_jobs": [Integral, None],
        "random_state": ["random_state"],
        "verbose": ["verbose"],
    }

    def __init__(
        self,
        n_components=400,
        *,
        eps=0.1,
        lam=1e-3,
        eta=1e-3,
        metric="hamming",
        learning_rate=1.0,
        n_pretrain_iter=250,
        n_iter=100,
        batch_size=None,
        n_chains=None,
        centered=True,
        exact=False,
        score_eps=0.1,
        sinkhorn_tol=1e-5,
        sinkhorn_max_iter=1000,
        device="auto",
        n_jobs=None,
        random_state=None,
        verbose=0,
    ):
        self.n_components = n_components
        self.eps = eps
        self.lam = lam
        self.eta = eta
        self.metric = metric
        self.learning_rate = learning_rate
        self.n_pretrain_iter = n_pretrain_iter
        self.n_iter = n_iter
        self.batch_size = batch_size
        self.n_chains = n_chains
        self.centered = centered
        self.exact = exact
        self.score_eps = score_eps
        self.sinkhorn_tol = sinkhorn_tol
        self.sinkhorn_max_iter = sinkhorn_max_iter
        self.device = device
        self.n_jobs = n_jobs
        self.random_state = random_state
        self.verbose = verbose

    # ------------------------------------------------------------------ model

    def _mean_hiddens(self, v):
        p = v @ self.components_.T
        p += self.intercept_hidden_
        return expit(p)

    def _sample_hiddens(self, v, rng):
        p = self._mean_hiddens(v)
        return (uniform_like(rng, p) < p).astype(np.float64)

    def _sample_visibles(self, h, rng):
        p = h @ self.components_
        p += self.intercept_visible_
        expit(p)
        return (uniform_like(rng, p) < p).astype(np.float64)

    def _free_energy(self, v):
        return -(v @ self.intercept_visible_) - namespace(v).logaddexp(
            0, v @ self.components_.T + self.intercept_hidden_
        ).sum(axis=1)

    def _exact_probabilities(self, states):
        """Model probabilities of ``states`` (all of them, so they sum to 1)."""
        neg_f = -self._free_energy(states)
        p = namespace(neg_f).exp(neg_f - neg_f.max())
        return p / p.sum()

    def _cost(self, V, X):
        return cost_matrix(V, X, metric=self.metric) / self.cost_scale_

    def _check_exact_size(self):
        if self.n_features_in_ > MAX_EXACT_FEATURES:
            raise ValueError(
                f"Exact enumeration needs at most {MAX_EXACT_FEATURES} features; "
                f"this model has {self.n_features_in_}."
            )

    # -------------------------------------------------------------- gradients

    def _centered_potential(self, V, X, weights=None, init=None):
        """Sinkhorn between the model support ``V`` and ``X``: (alpha*, result)."""
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            result = sinkhorn(
                weights, None, self._cost(V, X), self.eps, tol=self.sinkhorn_tol,
                max_iter=self.sinkhorn_max_iter, init=init,
            )
        return centered_potential(result), result

    # --------------------------------------------------------------- training

    def _initialize(self, X, rng):
        n, d = X.shape
        self.components_ = rng.normal(0, 0.01, (self.n_components, d))
        mean = X.mean(axis=0)
        clipped = np.clip(mean, 1e-3, 1 - 1e-3)
        self.intercept_visible_ = np.log(clipped / (1 - clipped))
        self.intercept_hidden_ = np.zeros(self.n_components)
        self.visible_offset_ = mean.copy()
        self.hidden_offset_ = np.full(self.n_components, 0.5)
        self._n_features_out = self.n_components
        self.cost_scale_ = self._mean_pairwise_cost(X, rng)
        n_chains = n if self.n_chains is None else self.n_chains
        if n_chains < 2 and not self.exact:
            raise ValueError(
                f"WassersteinRBM needs at least 2 PCD chains, got {n_chains} (n_chains=None "
                "uses one per training sample): the centered potential of a single "
                "sample is zero, so its Wasserstein gradient vanishes."
            )
        self.chains_ = X[rng.choice(n, n_chains, replace=n_chains > n)].copy()
        self._chain_hiddens = self._sample_hiddens(self.chains_, rng)
        self._potentials = (None, None)
        self.wasserstein_curve_ = []
        self.n_iter_ = 0
        self.n_steps_ = 0

    def _mean_pairwise_cost(self, X, rng):
        """``<D(x, x')>`` over all ordered pairs of training points (diagonal included)."""
        if self.metric == "hamming":
            m = X.mean(axis=0)
            scale = float(2 * np.sum(m * (1 - m)))
        else:
            rows = X
            if X.shape[0] > _SCALE_SUBSAMPLE:
                rows = X[rng.choice(X.shape[0], _SCALE_SUBSAMPLE, replace=False)]
            scale = float(cost_matrix(rows, rows, metric=self.metric).mean())
        # All training points equal: any positive unit will do.
        return scale if scale > 0 else 1.0

    def _factors(self, pretraining):
        """Weights of (W, Omega) in the step: (W + lam Omega) / max(1, lam)."""
        if pretraining:
            return 0.0, 1.0
        if np.isinf(self.lam):
            return 0.0, 1.0
        scale = max(1.0, self.lam)
        return 1.0 / scale, self.lam / scale

    def _step(self, X, chain_idx, g_init, pretraining, rng, exact_support=None):
        """One update on the batch ``X``; returns (Wasserstein value or None, g).

        The gradient of ``w_factor * W + omega_factor * (KL + eta * R)`` is
        ``sum_i c_i grad F(v_i) + 2 eta omega_factor (W, a, 0)`` over the data
        and the model support stacked, with ``c = omega_factor / n`` on the data
        and ``-weights * (omega_factor + w_factor * alpha)`` on the model (eqs. 1
        and 5); it is formed with one matrix product.
        """
        w_factor, omega_factor = self._factors(pretraining)
        xp = namespace(X)
        if exact_support is not None:
            V = exact_support
            weights = self._exact_probabilities(V)
            f_init = self._potentials[0]
        else:
            V = self._sample_visibles(self._chain_hiddens[chain_idx], rng)
            self.chains_[chain_idx] = V
            weights = xp.full(V.shape[0], 1.0 / V.shape[0])
            f_init = None if self._potentials[0] is None else self._potentials[0][chain_idx]
        H_model = self._mean_hiddens(V)
        if exact_support is None:
            self._chain_hiddens[chain_idx] = (uniform_like(rng, H_model) < H_model).astype(
                np.float64
            )

        value = None
        model_coef = -omega_factor * weights
        if w_factor > 0:
            init = None if f_init is None or g_init is None else (f_init, g_init)
            alpha, result = self._centered_potential(
                V, X, None if exact_support is None else weights, init
            )
            model_coef -= w_factor * weights * alpha
            value = result.value
            self._sinkhorn_failures += not result.converged
            if exact_support is not None:
                self._potentials = (result.f, None)
            else:
                if self._potentials[0] is None:
                    self._potentials = (xp.zeros(self.chains_.shape[0]), None)
                self._potentials[0][chain_idx] = result.f
            g_init = result.g

        # r = -c: the gradient is sum_i r_i (h_i v_i^T, v_i, h_i) plus the penalty.
        H_data = self._mean_hiddens(X) if omega_factor > 0 or self.centered else None
        if omega_factor > 0:
            points = xp.vstack([X, V])
            hiddens = xp.vstack([H_data, H_model])
            r = xp.concatenate([xp.full(X.shape[0], -omega_factor / X.shape[0]), -model_coef])
        else:
            points, hiddens, r = V, H_model, -model_coef
        weighted = hiddens * r[:, None]
        gW = weighted.T @ points
        ga = r @ points
        gb = weighted.sum(axis=0)

        lr = self.learning_rate
        if self.centered:
            # Centered parameters (W, a_c, b_c) with a = a_c - W^T beta and
            # b = b_c - W mu: a gradient step on them, mapped back to (W, a, b).
            mu, beta = self.visible_offset_, self.hidden_offset_
            gW -= beta[:, None] * ga
            gW -= gb[:, None] * mu
            self.intercept_visible_ -= lr * (ga - gW.T @ beta)
            self.intercept_hidden_ -= lr * (gb - gW @ mu)
        else:
            mu, beta = xp.zeros_like(ga), xp.zeros_like(gb)
            self.intercept_visible_ -= lr * ga
            self.intercept_hidden_ -= lr * gb
        self.components_ -= lr * gW
        if omega_factor > 0 and self.eta > 0:
            self._containment_step(2 * lr * self.eta * omega_factor, mu, beta)
        if self.centered:
            self.hidden_offset_ = (
                (1 - _OFFSET_RATE) * beta + _OFFSET_RATE * H_data.mean(axis=0)
            )
        self.n_steps_ += 1
        return value, g_init

    def _containment_step(self, t, mu, beta):
        """Implicit step ``z <- argmin |z - z0|**2 / 2 + t/2 (|a|**2 + |W|**2)``.

        ``z`` is the centered parameters (W, a_c, b_c) of ``_step``. In them the
        penalty has curvature ``2 eta (1 + |beta|**2)`` along ``a_c - beta.w_i``
        (``a = a_c - W^T beta``), which with 400 hidden units near 0.5 exceeds
        the explicit-step limit ``2 / learning_rate`` at ``eta = 1e-2``; the
        implicit step is stable for any step size and has the same fixed
        points. Per visible unit ``i`` it solves ``(I + t (u u^T + P)) z_i =
        z0_i`` with ``u = (1, -beta)`` and ``P`` the projection on ``w_i``
        (Sherman-Morrison).
        """
        W = self.components_
        b_c = self.intercept_hidden_ + W @ mu
        a_c = self.intercept_visible_ + W.T @ beta
        s = a_c - (beta @ W) / (1 + t)
        s *= t / (1 + t * (1 + (beta @ beta) / (1 + t)))
        W += beta[:, None] * s
        W /= 1 + t
        a_c -= s
        self.intercept_visible_ = a_c - W.T @ beta
        self.intercept_hidden_ = b_c - W @ mu

    def _parameters(self):
        return (self.components_, self.intercept_visible_, self.intercept_hidden_)

    def _diverged(self):
        # abs().max() is NaN when p holds one; NaN < limit is False.
        return not all(
            p.size == 0 or float(abs(p).max()) < _DIVERGENCE_LIMIT for p in self._parameters()
        )

    def _move_state(self, move):
        for name in _TRAINING_STATE:
            setattr(self, name, move(getattr(self, name)))
        self._potentials = tuple(None if p is None else move(p) for p in self._potentials)

    @contextmanager
    def _training_on(self, device):
        """Hold the training state on ``device`` inside the block, on the host after."""
        if device.on_host:
            yield
            return
        self._move_state(device.asarray)
        try:
            yield
        finally:
            self._move_state(device.to_host)

    def _raise_divergence(self, snapshot, where):
        self.components_, self.intercept_visible_, self.intercept_hidden_ = snapshot
        raise FloatingPointError(
            f"WassersteinRBM training diverged {where}: the parameters became "
            f"non-finite or exceeded {_DIVERGENCE_LIMIT:g} in magnitude. The "
            "parameters were restored to their last finite values. Lower "
            "learning_rate, or raise eta or lam."
        )

    def _check_fit_data(self, X):
        _check_unit_interval(X, self.metric)
        if self.exact and X.shape[1] > MAX_EXACT_FEATURES:
            raise ValueError(
                f"exact=True enumerates 2**n_features states and supports at most "
                f"{MAX_EXACT_FEATURES} features; X has {X.shape[1]}."
            )

    @_fit_context(prefer_skip_nested_validation=True)
    @_with_thread_limits
    def fit(self, X, y=None):
        """Pretrain on ``Omega``, then fine-tune on ``W_eps + lam * Omega``.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Training data in [0, 1]; binary for ``metric="hamming"``.
        y : None
            Ignored.

        Returns
        -------
        self : WassersteinRBM
            The fitted model.
        """
        device = resolve_device(self.device, X)
        X = validate_data(self, host_copy(X), dtype=np.float64)
        self._check_fit_data(X)
        rng = check_random_state(self.random_state)
        self.random_state_ = rng
        self._initialize(X, rng)
        with self._training_on(device):
            self._train(device, X, rng)
        self._warn_sinkhorn_failures()
        return self

    def _warn_sinkhorn_failures(self):
        """One ConvergenceWarning for the Sinkhorn solves of this fit or update."""
        if self._sinkhorn_failures:
            warnings.warn(
                f"{self._sinkhorn_failures} Sinkhorn solves did not reach "
                f"sinkhorn_tol={self.sinkhorn_tol:g} within sinkhorn_max_iter="
                f"{self.sinkhorn_max_iter}; raise sinkhorn_max_iter or eps.",
                ConvergenceWarning,
                stacklevel=5,  # past _fit_context and _with_thread_limits
            )

    def _train(self, device, X_host, rng):
        """The epochs of :meth:`fit`, with the training state already on ``device``."""
        xp = device.xp
        X = device.asarray(X_host)
        n = X.shape[0]
        states = device.asarray(binary_states(X.shape[1])) if self.exact else None

        n_batches = 1 if self.batch_size is None else -(-n // min(self.batch_size, n))
        n_groups = max(1, min(n_batches, self.chains_.shape[0] // 2))
        chain_groups = [
            xp.asarray(group)
            for group in np.array_split(rng.permutation(self.chains_.shape[0]), n_groups)
        ]
        g_data = None
        self._sinkhorn_failures = 0
        total = self.n_pretrain_iter + self.n_iter
        for epoch in range(total):
            pretraining = epoch < self.n_pretrain_iter
            start = time.perf_counter()
            snapshot = tuple(p.copy() for p in self._parameters())
            order = np.arange(n) if self.batch_size is None else rng.permutation(n)
            values = []
            with np.errstate(over="ignore", invalid="ignore"):
                for k, batch in enumerate(gen_batches(n, self.batch_size or n)):
                    idx = xp.asarray(order[batch])
                    g_init = None if g_data is None else g_data[idx]
                    value, g = self._step(
                        X[idx], chain_groups[k % n_groups], g_init, pretraining, rng, states
                    )
                    if value is not None:
                        if g_data is None:
                            g_data = xp.zeros(n)
                        g_data[idx] = g
                        values.append(value)
            if self._diverged():
                self._raise_divergence(snapshot, f"in epoch {epoch + 1}")
            if not pretraining:
                self.n_iter_ += 1
                if values:
                    self.wasserstein_curve_.append(float(np.mean(values)))
            if self.verbose:
                elapsed = time.perf_counter() - start
                self._move_state(device.to_host)
                self._report(epoch, total, pretraining, values, X_host,
                             None if states is None else device.to_host(states), elapsed)
                self._move_state(device.asarray)

    def _report(self, epoch, total, pretraining, values, X, states, elapsed):
        stage = "pretrain" if pretraining else "fine-tune"
        w = f"{np.mean(values):.4f}" if values else "-"
        penalty = self.eta * (
            np.sum(self.components_**2) + np.sum(self.intercept_visible_**2)
        )
        if states is not None:
            counts = np.unique(X, axis=0, return_counts=True)[1] / X.shape[0]
            kl = -np.mean(self._log_likelihood(X, states)) + counts @ np.log(counts)
            omega = kl + penalty
            objective = omega if pretraining or np.isinf(self.lam) else (
                float(np.mean(values)) + self.lam * omega
            )
            fit = f"objective={objective:.4f}, KL={kl:.4f}"
        else:
            # A fixed seed: reporting must not change the training draws.
            pll = np.mean(self._pseudo_likelihood(X, np.random.RandomState(epoch)))
            fit = f"pseudo-loglik={pll:.3f}"
        print(
            f"[{type(self).__name__}] epoch {epoch + 1}/{total} ({stage}): "
            f"W={w}, {fit}, penalty={penalty:.4f}, time={elapsed:.2f}s"
        )

    @_fit_context(prefer_skip_nested_validation=True)
    @_with_thread_limits
    def partial_fit(self, X, y=None):
        """Do one gradient update on the batch ``X``.

        The first ``n_pretrain_iter`` updates minimize ``Omega`` (pretraining);
        later ones the full objective. PCD chains and offsets are created on the
        first call (``n_chains`` defaults to the size of that batch).

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            A batch of training data.
        y : None
            Ignored.

        Returns
        -------
        self : WassersteinRBM
            The updated model.
        """
        device = resolve_device(self.device, X)
        first_call = not hasattr(self, "components_")
        X = validate_data(self, host_copy(X), dtype=np.float64, reset=first_call)
        self._check_fit_data(X)
        if first_call:
            self.random_state_ = check_random_state(self.random_state)
            self._initialize(X, self.random_state_)
        self._sinkhorn_failures = 0
        pretraining = self.n_steps_ < self.n_pretrain_iter
        with self._training_on(device):
            xp = device.xp
            states = device.asarray(binary_states(X.shape[1])) if self.exact else None
            g = self._potentials[1]
            g_init = g if g is not None and g.shape[0] == X.shape[0] else None
            snapshot = tuple(p.copy() for p in self._parameters())
            with np.errstate(over="ignore", invalid="ignore"):
                value, g = self._step(
                    device.asarray(X), xp.arange(self.chains_.shape[0]), g_init, pretraining,
                    self.random_state_, states,
                )
            if self._diverged():
                self._raise_divergence(snapshot, f"at update {self.n_steps_}")
            self._potentials = (self._potentials[0], g)
        if value is not None:
            self.wasserstein_curve_.append(float(value))
        self._warn_sinkhorn_failures()
        return self

    # ------------------------------------------------------------- inference

    def _validate(self, X):
        check_is_fitted(self)
        X = validate_data(self, host_copy(X), dtype=np.float64, reset=False)
        _check_unit_interval(X)
        return X

    def transform(self, X):
        """Hidden activation probabilities ``P(h = 1 | v = X)``.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Visible vectors in [0, 1].

        Returns
        -------
        h : ndarray of shape (n_samples, n_components)
        """
        return self._mean_hiddens(self._validate(X))

    def free_energy(self, X):
        """Free energy ``F(x) = -a.x - sum_j log(1 + exp(w_j.x + b_j))``.

        ``p_theta(x) = exp(-F(x)) / Z``.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)

        Returns
        -------
        free_energy : ndarray of shape (n_samples,)
        """
        return self._free_energy(self._validate(X))

    def gibbs(self, v):
        """One block Gibbs step ``v -> h -> v``, as ``BernoulliRBM.gibbs``.

        Parameters
        ----------
        v : array-like of shape (n_samples, n_features)
            Visible states to start from.

        Returns
        -------
        v_new : ndarray of shape (n_samples, n_features)
            Visible states after one step (float zeros and ones).
        """
        v = self._validate(v)
        if not hasattr(self, "random_state_"):
            self.random_state_ = check_random_state(self.random_state)
        h = self._sample_hiddens(v, self.random_state_)
        return self._sample_visibles(h, self.random_state_)

    def sample(self, n_samples=1, *, n_gibbs=100, random_state=None):
        """Draw visible vectors from the model.

        With ``exact=True`` the draws are exact (from the enumerated
        distribution). Otherwise chains start at randomly chosen PCD states
        and run ``n_gibbs`` block Gibbs steps.

        Parameters
        ----------
        n_samples : int, default=1
            Number of vectors.
        n_gibbs : int, default=100
            Gibbs steps from the PCD states (ignored when exact).
        random_state : int, RandomState instance or None, default=None
            Seed of the draws; ``None`` continues the model's own stream.

        Returns
        -------
        X : ndarray of shape (n_samples, n_features)
            Float zeros and ones.
        """
        check_is_fitted(self)
        if random_state is not None:
            rng = check_random_state(random_state)
        else:
            if not hasattr(self, "random_state_"):
                self.random_state_ = check_random_state(self.random_state)
            rng = self.random_state_
        if self.exact:
            states, proba = self.exact_distribution()
            return states[rng.choice(states.shape[0], n_samples, p=proba)]
        v = self.chains_[rng.randint(0, self.chains_.shape[0], n_samples)]
        for _ in range(n_gibbs):
            v = self._sample_visibles(self._sample_hiddens(v, rng), rng)
        return v

    def _pseudo_likelihood(self, v, rng):
        ind = (np.arange(v.shape[0]), rng.randint(0, v.shape[1], v.shape[0]))
        v_ = v.copy()
        v_[ind] = 1 - v_[ind]
        fe = self._free_energy(v)
        fe_ = self._free_energy(v_)
        return -v.shape[1] * np.logaddexp(0, -(fe_ - fe))

    def score_samples(self, X):
        """Pseudo-likelihood of ``X``, as ``BernoulliRBM.score_samples``.

        Flips one random feature of each row (drawn from ``random_state``) and
        returns ``n_features * log(sigmoid(F(x_flipped) - F(x)))``. For the exact
        log-likelihood of small models use :meth:`log_likelihood`.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Binary visible vectors.

        Returns
        -------
        pseudo_likelihood : ndarray of shape (n_samples,)
        """
        v = self._validate(X)
        return self._pseudo_likelihood(v, check_random_state(self.random_state))

    def exact_distribution(self):
        """All ``2**n_features`` visible states and their model probabilities.

        Returns
        -------
        states : ndarray of shape (2**n_features, n_features)
            As :func:`binary_states`.
        proba : ndarray of shape (2**n_features,)
            ``p_theta(state)``, summing to 1.
        """
        check_is_fitted(self)
        self._check_exact_size()
        states = binary_states(self.n_features_in_)
        return states, self._exact_probabilities(states)

    def _log_likelihood(self, X, states):
        neg_f = -self._free_energy(states)
        return -self._free_energy(X) - logsumexp(neg_f)

    def log_likelihood(self, X):
        """Exact ``log p_theta(x)`` per row, by enumerating the partition function.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Binary vectors; at most 20 features.

        Returns
        -------
        log_proba : ndarray of shape (n_samples,)
        """
        X = self._validate(X)
        self._check_exact_size()
        return self._log_likelihood(X, binary_states(self.n_features_in_))

    @_with_thread_limits
    def score(self, X, y=None):
        """Minus the smoothed Wasserstein distance between the model and ``X``.

        The model is its PCD sample (or, with ``exact=True``, its exact
        distribution); the cost is the training metric over the training
        scale ``cost_scale_``, the smoothing is ``score_eps`` whatever ``eps``
        was, so that :class:`~sklearn.model_selection.GridSearchCV` compares
        models trained with different ``eps`` fairly. Higher is better.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Held-out data.
        y : None
            Ignored.

        Returns
        -------
        score : float
            ``-W_score_eps(model, X)``, the entropic OT value.
        """
        X = self._validate(X)
        _check_unit_interval(X, self.metric)
        if self.exact:
            V, weights = self.exact_distribution()
        else:
            V, weights = self.chains_, None
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            result = sinkhorn(weights, None, self._cost(V, X), self.score_eps, tol=1e-6)
        return -result.value

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.positive_only = True
        return tags
