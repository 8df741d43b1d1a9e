"""The Gaussian-mixture Wasserstein autoencoder (Gaujac, Feige & Barber 2021).

A WAE (Tolstikhin et al. 2018) minimizes a reconstruction cost plus
``lam`` times a divergence between the aggregated posterior of the codes and
the prior; here the prior is a mixture of Gaussians and the encoder mirrors it,
``q(z, k | x) = pi_k(x) N(z; mu_k(x), diag(sigma_k(x)^2))``, with the
expectation over the discrete ``k`` computed exactly (their eq. 16 and 18).

The objective is not a loss between a model sample and the data, which is what
the minimum Kantorovich engine (:mod:`skwass.mke._engine`) minimizes: it
depends on the data through an encoder and a decoder and compares the codes,
not the points, with the prior. So the WAE takes its own minibatch Adam steps,
with the package's :class:`~skwass.utils._optimizers.AdamOptimizer`.
"""

import numbers

import numpy as np
from scipy.special import softmax
from sklearn.base import (
    BaseEstimator,
    ClassNamePrefixFeaturesOutMixin,
    TransformerMixin,
    _fit_context,
)
from sklearn.utils import check_random_state, metadata_routing
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.validation import check_is_fitted, validate_data

from skwass.mke._engine import _warn_max_iter
from skwass.neural_network._generator import MLPGenerator, check_codes, check_output_range
from skwass.neural_network._layers import ACTIVATIONS, DenseNetwork
from skwass.ot import mixture_mmd
from skwass.utils._docstrings import fill_doc
from skwass.utils._optimizers import AdamOptimizer, NoImprovementStopper
from skwass.utils._threads import _with_thread_limits

# The scales s of the IMQ kernels C / (C + |z - z'|^2) summed by the MMD,
# s in {1, 2, 5} x 10^j, j = -2..2 (Gaujac et al., section 2.2), each kernel's
# bandwidth C = 2 dim(z) sigma^2 s relative to the prior's variance sigma^2, as
# in Tolstikhin et al.'s WAE, which section 2.2 follows ("As in Tolstikhin et
# al. (2018)"), and in the GM-WAE authors' code: 2 dim(z) sigma^2 is the mean
# squared distance between two draws of N(0, sigma^2 I).
IMQ_SCALES = tuple(c * 10.0**j for j in range(-2, 3) for c in (1.0, 2.0, 5.0))
# Initial standard deviation of the encoder's Gaussians, in units of prior_std.
_INITIAL_NOISE = 0.01


def simplex_means(n_clusters, n_components, distance):
    """``n_clusters`` mutually equidistant points of ``R^n_components``, centered at 0.

    The vertices of a regular simplex, ``distance`` apart (needs
    ``n_clusters <= n_components + 1``).

    Examples
    --------
    >>> from scipy.spatial.distance import pdist
    >>> means = simplex_means(3, 2, distance=4.0)
    >>> means.shape, pdist(means).round(6).tolist()
    ((3, 2), [4.0, 4.0, 4.0])
    """
    if n_clusters > n_components + 1:
        raise ValueError(
            f"{n_clusters} mutually equidistant prior means need n_components >= "
            f"{n_clusters - 1}, got n_components={n_components}; raise n_components or "
            "pass the means as prior."
        )
    # The centered basis vectors e_k - 1/K span a (K - 1)-dimensional space;
    # an orthonormal basis of it gives their coordinates, |e_k - e_l| = sqrt(2).
    vertices = np.eye(n_clusters) - 1.0 / n_clusters
    basis = np.linalg.svd(vertices, full_matrices=False)[2][:max(n_clusters - 1, 1)]
    means = np.zeros((n_clusters, n_components))
    means[:, :basis.shape[0]] = vertices @ basis.T
    return means * (distance / np.sqrt(2.0))


def mmd_bandwidths(n_components, prior_std, kernel="imq"):
    """Bandwidths of the MixtureWAE's MMD kernels, one per scale of ``IMQ_SCALES``.

    ``C = 2 n_components prior_std^2 s`` for the IMQ kernel ``C / (C + |z - z'|^2)``;
    for the Gaussian kernel ``exp(-|z - z'|^2 / (2 h^2))``, ``h = sqrt(C)``, so that
    both kernels fall off over the same squared distances.

    Examples
    --------
    >>> mmd_bandwidths(10, 1.0)[[0, -1]].tolist()
    [0.2, 10000.0]
    """
    bandwidths = 2.0 * n_components * prior_std**2 * np.asarray(IMQ_SCALES)
    return bandwidths if kernel == "imq" else np.sqrt(bandwidths)


def _minibatches(n_samples, batch_size):
    """``(start, stop)`` of consecutive minibatches; a last one of a single row,
    which has no U-statistic, joins the one before."""
    starts = list(range(0, n_samples - 1, batch_size))
    return list(zip(starts, [*starts[1:], n_samples], strict=True))


@fill_doc
class MixtureWAE(ClassNamePrefixFeaturesOutMixin, TransformerMixin, BaseEstimator):
    """Gaussian-mixture Wasserstein autoencoder (GM-WAE; Gaujac, Feige & Barber 2021).

    A generative model ``x = g(z)``, ``z ~ N(mu0_k, prior_std^2 I)``, ``k``
    uniform over ``n_clusters`` components, fitted as a Wasserstein
    autoencoder (their eq. 16): minibatch Adam on

    ``E_x sum_k pi_k(x) E_{z ~ N(mu_k(x), sigma_k(x)^2)} |x - g(z)|^2
    + lam * MMD^2(aggregated q(z | x), prior)``

    where one encoder network outputs the mixture weights ``pi_k(x)``
    (softmax), the means ``mu_k(x)`` and log standard deviations of
    ``q(z, k | x)``, the expectation over ``k`` is exact and the one over
    ``z`` reparametrized (one draw per point and component). The MMD is the
    U-statistic with a sum of inverse-multiquadric kernels
    ``C / (C + |z - z'|^2)`` over the paper's scales ``s`` in ``IMQ_SCALES``,
    ``C = 2 n_components prior_std^2 s`` (``mmd_bandwidths``), between the
    codes of the minibatch and as many prior draws. Each component clusters
    the data: :meth:`predict` returns ``argmax_k pi_k(x)``.

    The prior is fixed, as in the paper (section 3.2): the means are
    mutually equidistant, ``4 prior_std`` apart (about 5% overlap between
    components). Differences from the paper's MNIST model (section 3), and
    what each did to the matched accuracy of :meth:`predict` on MNIST
    (``benchmarks/wae_ablation.py``, 3500 training images, Adam 2e-3, 15 and 30 epochs;
    the paper: just under 0.70, here 0.35 and 0.29, KMeans on the pixels 0.50; the
    figures for the variants were measured with IMQ bandwidths ``C = s``, which
    gave 0.35 and 0.26):

    - Encoder: one dense network outputs ``pi``, ``mu_k`` and ``sigma_k``;
      the paper has a convolutional network for ``pi_k(x)`` and one dense
      network of two 32-unit hidden layers per component for ``mu_k(x)``
      and ``sigma_k(x)``. Those separate networks, in dense layers, lowered
      the accuracy (0.20 at both), so they are not an option here.
    - Start: the paper pretrains the Gaussian networks "to match the prior
      moments"; here the output biases start at the prior means and at
      ``log(prior_std / 100)``, which puts each component's codes around its
      prior mode from the first step, at a small noise that the MMD widens.
      Pretraining each component's code mean and variance to the prior's
      (1000 Adam steps) left the accuracy where it was (0.29 and 0.31);
      starting every image at the prior's moments (``mu_k(x) = mu0_k``,
      ``sigma_k(x) = prior_std``) collapsed it onto one component (0.10 at 15
      epochs, reconstructions the mean image). The separate networks with
      pretraining and the paper's step size 5e-4 gave 0.26 at both.
    - No batch normalization, no convolutions (the decoder is dense too): the
      package has neither layer. Trained in PyTorch on the same split
      (``benchmarks/wae_torch_architecture.py``, Adam 5e-4), the paper's
      encoder (a convolutional network for ``pi``, one (32, 32) network per
      component, batch normalization) reached 0.38 to 0.42 after 15 and 30
      epochs (three seeds), these dense networks 0.30 to 0.36. Batch
      normalization alone, or the convolutional network for ``pi`` beside a
      shared dense one, gathered 455 to all 1500 test images in one component
      (0.10 to 0.32).
    - Prior sample of the MMD: ``batch_size`` draws of random components;
      the GM-WAE authors' code draws each component ``batch_size`` times
      (the paper does not say). That left the accuracy where it was (0.28
      and 0.32).

    With the paper's ``lam`` the mixture weights stay close to uniform in
    every variant (the largest weight of an image is 0.1 to 0.2 on average),
    so every component codes every digit. The MMD's gradient on the logits
    of ``pi(x)`` is 15 to 30 times the reconstruction term's, mostly the
    noise of the prior sample (the cosine between its directions for two
    draws is 0.2 to 0.5 per image, the reconstruction term's 0.9 to 1; 0.8
    with each component drawn ``batch_size`` times, the MMD's gradient then
    still 11 times the reconstruction's). Without that gradient the weights
    collapse onto one component within an epoch (the GM-VAE failure of the
    paper's section 2.1); keeping only its minibatch mean (the balance
    between components), not the image-specific rest, raised the accuracy
    to 0.39 and 0.43. Neither is the paper's objective, so neither is an
    option here. ``lam`` ten times below the paper's made the weights sharp
    (0.97 with the separate networks and pretraining) and the accuracy was
    still 0.34 and 0.35 (the shared encoder with the bandwidths above: 0.27
    and 0.26, four components empty).

    Parameters
    ----------
    n_components : int, default=10
        Latent dimension, as in PCA (the paper's ``dim(z) = 10``).
    n_clusters : int, default=10
        Mixture components of the prior (and of the encoder).
    hidden_layer_sizes : int or tuple of int, default=(256, 256)
        Hidden layers of the encoder; the decoder uses them in reverse.
    activation : {"relu", "softplus", "tanh", "sigmoid", "identity"}, default="relu"
        Hidden activation (the paper's ReLU).
    out_activation : {"sigmoid", "identity"}, default="sigmoid"
        Decoder output: ``"sigmoid"`` for data in ``[0, 1]`` (images).
    lam : float, default=500.0
        Weight of the MMD penalty (the paper's ``lambda = 500``).
    kernel : {"imq", "gaussian"}, default="imq"
        Kernel of the MMD, summed over the bandwidths of
        ``mmd_bandwidths`` (for ``"gaussian"`` the standard deviations
        ``sqrt(C)``).
    encoder : {"gaussian", "deterministic"}, default="gaussian"
        ``"gaussian"``: the paper's ``q(z | k, x) = N(mu_k(x), diag(sigma_k(x)^2))``,
        reparametrized; ``"deterministic"``: ``z = mu_k(x)``, the
        deterministic encoder of Tolstikhin et al.'s WAE, whose codes the
        MMD cannot blur with encoder noise.
    prior : "simplex" or array-like of shape (n_clusters, n_components), default="simplex"
        Means of the prior components: ``"simplex"`` places them at the
        vertices of a regular simplex, ``4 * prior_std`` apart (needs
        ``n_components >= n_clusters - 1``).
    prior_std : float, default=1.0
        Standard deviation of every prior component.
    batch_size : int, default=100
    learning_rate : float, default=5e-4
        Adam step size (the paper's).
    max_iter : int, default=100
        Maximum number of epochs.
    tol : float, default=1e-4
        Fitting stops when the epoch's mean minibatch objective has not
        improved by ``tol`` for ``n_iter_no_change`` epochs.
    n_iter_no_change : int, default=10
    {n_jobs}
    random_state : int, RandomState instance or None, default=None
        Seeds the weights, the minibatches, the encoder noise and the prior draws.
    verbose : int, default=0
        Print the objective at each epoch.

    Attributes
    ----------
    means_ : ndarray of shape (n_clusters, n_components)
        Means of the prior components.
    encoder_coefs_, encoder_intercepts_ : list of ndarray
        Weights of the encoder ``n_features -> hidden -> n_clusters * (1 + 2 n_components)``.
    coefs_, intercepts_ : list of ndarray
        Weights of the decoder ``n_components -> hidden (reversed) -> n_features``.
    loss_ : float
        Mean minibatch objective of the last epoch.
    n_iter_ : int
        Epochs run.
    {n_features_in_}

    Examples
    --------
    >>> import numpy as np
    >>> from skwass.neural_network import MixtureWAE
    >>> rng = np.random.RandomState(0)
    >>> X = np.repeat(np.eye(3), 40, axis=0) * 0.8 + 0.1 * rng.uniform(size=(120, 3))
    >>> wae = MixtureWAE(n_components=2, n_clusters=3, hidden_layer_sizes=(16,),
    ...                  learning_rate=1e-2, max_iter=30, random_state=0).fit(X)
    >>> wae.transform(X).shape
    (120, 2)
    >>> samples, labels = wae.sample(6, random_state=0)
    >>> samples.shape, labels.shape
    ((6, 3), (6,))
    """

    # inverse_transform's argument is Z, not X: it is data, not metadata to route.
    __metadata_request__inverse_transform = {"Z": metadata_routing.UNUSED}

    _parameter_constraints: dict = {
        "n_components": [Interval(numbers.Integral, 1, None, closed="left")],
        "n_clusters": [Interval(numbers.Integral, 1, None, closed="left")],
        "hidden_layer_sizes": ["array-like", Interval(numbers.Integral, 1, None, closed="left")],
        "activation": [StrOptions(set(ACTIVATIONS))],
        "out_activation": [StrOptions({"sigmoid", "identity"})],
        "lam": [Interval(numbers.Real, 0, None, closed="left")],
        "kernel": [StrOptions({"imq", "gaussian"})],
        "encoder": [StrOptions({"gaussian", "deterministic"})],
        "prior": [StrOptions({"simplex"}), "array-like"],
        "prior_std": [Interval(numbers.Real, 0, None, closed="neither")],
        "batch_size": [Interval(numbers.Integral, 2, None, closed="left")],
        "learning_rate": [Interval(numbers.Real, 0, None, closed="neither")],
        "max_iter": [Interval(numbers.Integral, 1, None, closed="left")],
        "tol": [Interval(numbers.Real, 0, None, closed="left")],
        "n_iter_no_change": [Interval(numbers.Integral, 1, None, closed="left")],
        "n_jobs": [numbers.Integral, None],
        "random_state": ["random_state"],
        "verbose": ["verbose"],
    }

    def __init__(self, n_components=10, *, n_clusters=10, hidden_layer_sizes=(256, 256),
                 activation="relu", out_activation="sigmoid", lam=500.0, kernel="imq",
                 encoder="gaussian", prior="simplex", prior_std=1.0, batch_size=100,
                 learning_rate=5e-4, max_iter=100, tol=1e-4, n_iter_no_change=10,
                 n_jobs=None, random_state=None, verbose=0):
        self.n_components = n_components
        self.n_clusters = n_clusters
        self.hidden_layer_sizes = hidden_layer_sizes
        self.activation = activation
        self.out_activation = out_activation
        self.lam = lam
        self.kernel = kernel
        self.encoder = encoder
        self.prior = prior
        self.prior_std = prior_std
        self.batch_size = batch_size
        self.learning_rate = learning_rate
        self.max_iter = max_iter
        self.tol = tol
        self.n_iter_no_change = n_iter_no_change
        self.n_jobs = n_jobs
        self.random_state = random_state
        self.verbose = verbose

    # -- networks and parameters -------------------------------------------

    def _networks(self):
        hidden = MLPGenerator._layer_sizes("hidden_layer_sizes", self.hidden_layer_sizes, 0)[1:]
        n_std = self.n_components if self.encoder == "gaussian" else 0
        n_out = self.n_clusters * (1 + self.n_components + n_std)
        encoder = DenseNetwork((self.n_features_in_, *hidden, n_out), self.activation,
                               "identity")
        decoder = DenseNetwork((self.n_components, *hidden[::-1], self.n_features_in_),
                               self.activation, self.out_activation)
        return encoder, decoder

    def _prior_means(self):
        if isinstance(self.prior, str):
            return simplex_means(self.n_clusters, self.n_components, 4.0 * self.prior_std)
        means = np.asarray(self.prior, dtype=np.float64)
        if means.shape != (self.n_clusters, self.n_components) or not np.all(np.isfinite(means)):
            raise ValueError(
                f"prior must be 'simplex' or finite means of shape (n_clusters, n_components)"
                f" = {(self.n_clusters, self.n_components)}, got shape {means.shape}."
            )
        return means.copy()

    def _init_theta(self, rng):
        encoder, decoder = self._networks()
        theta_enc = encoder.init(rng)
        # Each component's codes start around its prior mean (the paper
        # pretrains the Gaussian networks to the prior's moments). The encoder
        # noise starts small: started at half the prior's spread, the MMD
        # widened it to the prior's and the noisy codes carried too little of
        # x for the decoder to learn (8x8 digits: reconstructions stayed at the
        # mean image; with prior_std / 100 they improve).
        bias = encoder.unpack(theta_enc)[1][-1]
        K, d = self.n_clusters, self.n_components
        bias[K:K + K * d] = self.means_.ravel()
        bias[K + K * d:] = np.log(_INITIAL_NOISE * self.prior_std)
        return np.concatenate([theta_enc, decoder.init(rng)])

    def _split(self, theta):
        encoder, decoder = self._networks()
        return encoder, theta[:encoder.n_params], decoder, theta[encoder.n_params:]

    def _theta(self):
        return np.concatenate([a.ravel() for a in (*self.encoder_coefs_,
                                                   *self.encoder_intercepts_,
                                                   *self.coefs_, *self.intercepts_)])

    def _set_fitted(self, theta):
        encoder, theta_enc, decoder, theta_dec = self._split(theta)
        self.encoder_coefs_, self.encoder_intercepts_ = (
            [a.copy() for a in arrays] for arrays in encoder.unpack(theta_enc))
        self.coefs_, self.intercepts_ = (
            [a.copy() for a in arrays] for arrays in decoder.unpack(theta_dec))

    def _encode(self, encoder, theta_enc, X):
        """Encoder activations, mixture weights, means and standard deviations."""
        activations = encoder.forward(theta_enc, X)
        K, d = self.n_clusters, self.n_components
        out = activations[-1]
        pi = softmax(out[:, :K], axis=1)
        mu = out[:, K:K + K * d].reshape(-1, K, d)
        if self.encoder == "deterministic":
            return activations, pi, mu, np.zeros_like(mu)
        return activations, pi, mu, np.exp(out[:, K + K * d:]).reshape(-1, K, d)

    def _bandwidths(self):
        return mmd_bandwidths(self.n_components, self.prior_std, self.kernel)

    def _draw_prior(self, rng, n_samples, labels=None):
        if labels is None:
            labels = rng.randint(self.n_clusters, size=n_samples)
        noise = rng.standard_normal((n_samples, self.n_components))
        return self.means_[labels] + self.prior_std * noise, labels

    def _objective(self, theta, X, rng, return_grad=False):
        """The GM-WAE objective on the minibatch ``X`` (eq. 16) and its gradient."""
        n = X.shape[0]
        encoder, theta_enc, decoder, theta_dec = self._split(theta)
        act_enc, pi, mu, std = self._encode(encoder, theta_enc, X)
        eps = rng.standard_normal(mu.shape)
        Z = mu + std * eps
        act_dec = decoder.forward(theta_dec, Z.reshape(-1, self.n_components))
        residual = act_dec[-1].reshape(n, self.n_clusters, -1) - X[:, None, :]
        sq_error = np.einsum("ikp,ikp->ik", residual, residual)
        prior_sample, _ = self._draw_prior(rng, n)
        mmd2, grad_Z, grad_pi = mixture_mmd(Z, pi, prior_sample, kernel=self.kernel,
                                              bandwidth=self._bandwidths(), unbiased=True,
                                              return_grad=True)
        value = float((pi * sq_error).sum() / n + self.lam * mmd2)
        if not np.isfinite(value):
            raise FloatingPointError(
                "The MixtureWAE objective is not finite; lower learning_rate or lam, or "
                "rescale X."
            )
        if not return_grad:
            return value
        grad_out = (2.0 / n) * pi[:, :, None] * residual
        grad_dec, grad_codes = decoder.backward(
            theta_dec, act_dec, grad_out.reshape(n * self.n_clusters, -1), input_grad=True)
        grad_Z = grad_Z * self.lam + grad_codes.reshape(Z.shape)
        grad_pi = grad_pi * self.lam + sq_error / n
        grad_logits = pi * (grad_pi - (pi * grad_pi).sum(axis=1, keepdims=True))
        grad_out = [grad_logits, grad_Z.reshape(n, -1)]
        if self.encoder == "gaussian":  # d z / d log(std) = eps * std
            grad_out.append((grad_Z * eps * std).reshape(n, -1))
        grad_enc = encoder.backward(theta_enc, act_enc, np.hstack(grad_out))
        return value, np.concatenate([grad_enc, grad_dec])

    def _epoch(self, X):
        """One pass of Adam steps over shuffled minibatches; sets ``loss_`` and ``n_iter_``."""
        order = self._rng.permutation(X.shape[0])
        values = []
        for start, stop in _minibatches(X.shape[0], self.batch_size):
            value, grad = self._objective(self._state, X[order[start:stop]], self._rng,
                                          return_grad=True)
            self._optimizer.update_params([self._state], [grad])
            values.append(value)
        self.loss_ = float(np.mean(values))
        self.n_iter_ += 1
        if self.verbose:
            print(f"Iteration {self.n_iter_}, objective = {self.loss_:.6g}")

    def _check_data(self, X, reset):
        return check_output_range(self, X, reset, ensure_min_samples=2 if reset else 1)

    def _start(self, X):
        self.means_ = self._prior_means()
        self._rng = check_random_state(self.random_state)
        self._state = self._init_theta(self._rng)
        self._optimizer = AdamOptimizer([self._state], self.learning_rate)
        self.n_iter_ = 0

    # -- public API --------------------------------------------------------

    @_fit_context(prefer_skip_nested_validation=True)
    @_with_thread_limits
    def fit(self, X, y=None):
        """Fit the autoencoder to ``X`` with minibatch Adam for up to ``max_iter`` epochs.

        {network_fit_parameters}
        """
        X = self._check_data(X, reset=True)
        self._start(X)
        stopper = NoImprovementStopper(self.tol, self.n_iter_no_change)
        for _ in range(self.max_iter):
            self._epoch(X)
            if stopper.should_stop(self.loss_):
                break
        else:
            _warn_max_iter("adam", self.max_iter)
        self._set_fitted(self._state)
        return self

    @_fit_context(prefer_skip_nested_validation=True)
    @_with_thread_limits
    def partial_fit(self, X, y=None):
        """One epoch of minibatch Adam over ``X``.

        The first call initializes the networks; later calls (also after
        :meth:`fit`) continue from the current weights and Adam moments.

        {partial_fit_parameters}
        """
        first_call = not hasattr(self, "coefs_")
        X = self._check_data(X, reset=first_call)
        if first_call:
            self._start(X)
        self._epoch(X)
        self._set_fitted(self._state)
        return self

    def _encode_fitted(self, X):
        check_is_fitted(self)
        X = validate_data(self, X, dtype=np.float64, reset=False)
        encoder, theta_enc, _, _ = self._split(self._theta())
        return self._encode(encoder, theta_enc, X)[1:]

    def predict_proba(self, X):
        """The encoder's mixture weights ``pi_k(x)``, ``q(k | x)``.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)

        Returns
        -------
        proba : ndarray of shape (n_samples, n_clusters)
        """
        return self._encode_fitted(X)[0]

    def predict(self, X):
        """The mixture component of each row: ``argmax_k pi_k(x)``.

        {predict_parameters}
        """
        return self.predict_proba(X).argmax(axis=1)

    def transform(self, X):
        """Encode: the mean ``mu_k(x)`` of the most probable component ``k = predict(x)``.

        The decoder is trained to reconstruct ``x`` from each component's codes
        in proportion to ``pi_k(x)``, not from their average, so the code is
        that of the component the point is assigned to.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)

        Returns
        -------
        Z : ndarray of shape (n_samples, n_components)
        """
        pi, mu, _ = self._encode_fitted(X)
        return mu[np.arange(len(mu)), pi.argmax(axis=1)]

    def sample_codes(self, X, random_state=None):
        """Draw one code of each row from the encoder, ``(z, k) ~ q(z, k | x)``.

        The codes whose aggregate the MMD penalty matches with the prior
        (:meth:`transform` returns their most probable component's mean).

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
        random_state : int, RandomState instance or None, default=None

        Returns
        -------
        Z : ndarray of shape (n_samples, n_components)
        labels : ndarray of shape (n_samples,)
            The component ``k`` each code was drawn from.
        """
        pi, mu, std = self._encode_fitted(X)
        rng = check_random_state(random_state)
        # Inverse-CDF draw of k ~ Cat(pi(x)), row by row.
        labels = (pi.cumsum(axis=1) < rng.uniform(size=(len(pi), 1))).sum(axis=1)
        labels = np.minimum(labels, self.n_clusters - 1)
        rows = np.arange(len(pi))
        noise = rng.standard_normal(mu[:, 0].shape)
        return mu[rows, labels] + std[rows, labels] * noise, labels

    def inverse_transform(self, Z):
        """Decode latent codes: ``g(Z)``.

        {inverse_transform_parameters}
        """
        check_is_fitted(self)
        Z = check_codes(Z, self.n_components)
        _, _, decoder, theta_dec = self._split(self._theta())
        return decoder.forward(theta_dec, Z)[-1]

    def sample(self, n_samples=1, component=None, random_state=None):
        """Draw from the generative model, grouped by mixture component.

        Parameters
        ----------
        n_samples : int, default=1
        component : int or None, default=None
            Draw from this prior component only; ``None`` draws the components
            uniformly, as the prior does.
        random_state : int, RandomState instance or None, default=None

        Returns
        -------
        X : ndarray of shape (n_samples, n_features)
        labels : ndarray of shape (n_samples,)
            The component of each sample, sorted as in
            :meth:`sklearn.mixture.GaussianMixture.sample`.
        """
        check_is_fitted(self)
        if not isinstance(n_samples, numbers.Integral) or n_samples < 1:
            raise ValueError(f"n_samples must be a positive integer, got {n_samples!r}.")
        rng = check_random_state(random_state)
        if component is None:
            labels = np.sort(rng.randint(self.n_clusters, size=n_samples))
        elif isinstance(component, numbers.Integral) and 0 <= component < self.n_clusters:
            labels = np.full(n_samples, int(component))
        else:
            raise ValueError(
                f"component must be None or an integer in [0, {self.n_clusters}), "
                f"got {component!r}."
            )
        Z, labels = self._draw_prior(rng, n_samples, labels)
        return self.inverse_transform(Z), labels

    @_with_thread_limits
    def score(self, X, y=None):
        """Minus the GM-WAE objective on ``X`` (higher is better).

        The objective that :meth:`fit` minimizes, reconstruction plus ``lam``
        times the MMD, averaged over consecutive minibatches of
        ``batch_size`` rows, with encoder noise and prior draws seeded by
        ``random_state``. It depends on ``lam``; to compare fits across
        ``lam``, score reconstructions or the MMD of the codes directly. ``X``
        needs at least two rows.

        {score_parameters}
        """
        check_is_fitted(self)
        X = validate_data(self, X, dtype=np.float64, reset=False, ensure_min_samples=2)
        rng = check_random_state(self.random_state)
        theta = self._theta()
        values = [self._objective(theta, X[a:b], rng) * (b - a)
                  for a, b in _minibatches(X.shape[0], self.batch_size)]
        return -float(np.sum(values) / X.shape[0])

    @property
    def _n_features_out(self):
        return self.n_components
