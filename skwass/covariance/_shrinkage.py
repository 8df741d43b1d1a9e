"""Gaussian scale fitted by minimum Kantorovich estimation (Montavon et al. 2016, 4.3)."""

import numbers

import numpy as np
from sklearn.base import BaseEstimator, _fit_context
from sklearn.utils import check_array, check_random_state
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.validation import check_is_fitted, validate_data

from skwass.mke._engine import LOSSES, Loss, minimize_loss
from skwass.ot import cost_matrix
from skwass.utils._docstrings import fill_doc
from skwass.utils._threads import _with_thread_limits

_SHRINKAGE_LOSSES = set(LOSSES) | {"entropic"}


class _ScalePushForward:
    """``x = theta * b`` for fixed base points ``b`` (already centered and scaled)."""

    def __call__(self, theta, noise):
        return theta[0] * noise

    def vjp(self, theta, noise, G):
        return np.array([np.sum(G * noise)])


@fill_doc
class GaussianShrinkageModel(BaseEstimator):
    """Scale of a Gaussian fitted by minimizing a smoothed Wasserstein distance.

    The model is ``N(mu, theta^2 sigma^2 I)`` (``covariance_type="spherical"``)
    or ``N(mu, theta^2 Sigma)`` (``"full"``), where ``mu``, ``sigma^2`` (the mean
    feature variance) and ``Sigma`` are the sample estimates; only the scale
    ``theta`` is fitted, by minimizing the loss between a model sample (fixed
    standard normal noise pushed through the model) and the data. The ground
    metric is divided by the mean distance between pairs of data points, so
    that the expected distance between pairs of points is 1, as in Montavon,
    Mueller & Cuturi (2016), section 4.3: for every smoothing ``eps`` the best
    model is a shrunk one (``theta < 1``), and ``theta = 0`` for large ``eps``.

    Parameters
    ----------
    eps : float, default=0.1
        Entropic smoothing ``gamma``, in units of the rescaled metric; ``0`` is
        the exact Wasserstein distance (POT's network simplex).
    covariance_type : {"spherical", "full"}, default="spherical"
        Shape of the model covariance before scaling.
    metric : {"euclidean", "cityblock"}, default="euclidean"
        Ground distance.
    loss : {"entropic", "sinkhorn_divergence", "sinkhorn", "mmd", "energy", \
"wasserstein"}, default="entropic"
        ``"entropic"`` is Montavon et al.'s ``W_gamma``: the entropic OT value
        ``<P, D> + eps KL(P | a x b)`` (their ``<P, D> - gamma H(P)`` up to the
        constant ``gamma log(n m)``), not debiased. The others are as in
        :class:`skwass.mixture.EllipseMKE`.
    n_samples_model : int or None, default=None
        Size of the model sample; ``None`` uses the number of training points.
    max_iter : int, default=100
        Maximum L-BFGS-B iterations.
    tol : float, default=1e-8
        L-BFGS-B tolerance.
    {n_jobs}
    random_state : int, RandomState instance or None, default=None
        Seeds the model noise: the first draw is
        ``standard_normal((n_samples_model, n_features))``.
    verbose : int, default=0
        Print the loss at each iteration.

    Attributes
    ----------
    shrinkage_ : float
        Fitted scale ``theta``.
    location_ : ndarray of shape (n_features,)
        Sample mean ``mu``.
    covariance_ : ndarray of shape (n_features, n_features)
        Model covariance ``theta^2 sigma^2 I`` or ``theta^2 Sigma``.
    metric_scale_ : float
        Mean distance between pairs of training points (the metric unit).
    loss_ : float
        Loss at ``shrinkage_``.
    n_iter_ : int
        L-BFGS-B iterations.
    {n_features_in_}

    Examples
    --------
    >>> import numpy as np
    >>> from skwass.covariance import GaussianShrinkageModel
    >>> X = np.random.default_rng(0).normal(size=(100, 10))
    >>> model = GaussianShrinkageModel(eps=0.1, random_state=0).fit(X)
    >>> bool(model.shrinkage_ < 1)
    True
    """

    _parameter_constraints: dict = {
        "eps": [Interval(numbers.Real, 0, None, closed="left")],
        "covariance_type": [StrOptions({"spherical", "full"})],
        "metric": [StrOptions({"euclidean", "cityblock"})],
        "loss": [StrOptions(_SHRINKAGE_LOSSES)],
        "n_samples_model": [Interval(numbers.Integral, 1, None, closed="left"), None],
        "max_iter": [Interval(numbers.Integral, 1, None, closed="left")],
        "tol": [Interval(numbers.Real, 0, None, closed="left")],
        "n_jobs": [numbers.Integral, None],
        "random_state": ["random_state"],
        "verbose": ["verbose"],
    }

    def __init__(self, *, eps=0.1, covariance_type="spherical", metric="euclidean",
                 loss="entropic", n_samples_model=None, max_iter=100, tol=1e-8,
                 n_jobs=None, random_state=None, verbose=0):
        self.eps = eps
        self.covariance_type = covariance_type
        self.metric = metric
        self.loss = loss
        self.n_samples_model = n_samples_model
        self.max_iter = max_iter
        self.tol = tol
        self.n_jobs = n_jobs
        self.random_state = random_state
        self.verbose = verbose

    def _loss(self):
        return Loss(self.loss, self.eps, self.metric)

    def _setup(self, X):
        """Location, covariance root, metric scale and rescaled base points for ``X``."""
        if X.shape[0] < 2:
            raise ValueError(
                f"GaussianShrinkageModel needs n_samples >= 2 to estimate a covariance, "
                f"got n_samples={X.shape[0]}."
            )
        rng = check_random_state(self.random_state)
        n_model = self.n_samples_model or X.shape[0]
        noise = rng.standard_normal((n_model, X.shape[1]))
        location = X.mean(axis=0)
        centered = X - location
        if self.covariance_type == "spherical":
            base_cov = np.mean(centered**2) * np.eye(X.shape[1])
        else:
            base_cov = centered.T @ centered / X.shape[0]
        values, vectors = np.linalg.eigh(base_cov)
        root = vectors * np.sqrt(np.clip(values, 0.0, None))
        distances = cost_matrix(X, metric=self.metric)
        scale = distances.sum() / (X.shape[0] * (X.shape[0] - 1))
        if not scale > 0:
            raise ValueError("All training points are equal: the metric cannot be rescaled.")
        return location, base_cov, scale, noise @ root.T / scale, centered / scale

    @_fit_context(prefer_skip_nested_validation=True)
    @_with_thread_limits
    def fit(self, X, y=None):
        """Fit the shrinkage ``theta`` to ``X``.

        {fit_parameters}
        """
        X = validate_data(self, X, dtype=np.float64)
        location, base_cov, scale, base, data = self._setup(X)
        result = minimize_loss(
            _ScalePushForward(), np.array([1.0]), data, self._loss(), solver="lbfgs",
            noise_sets=[base], bounds=np.array([[0.0, np.inf]]), max_iter=self.max_iter,
            tol=self.tol, verbose=self.verbose, name="Gaussian model",
        )
        self.shrinkage_ = float(result.theta[0])
        self.location_ = location
        self.covariance_ = self.shrinkage_**2 * base_cov
        self.metric_scale_ = scale
        self.loss_ = result.loss
        self.n_iter_ = result.n_iter
        return self

    def loss_curve(self, X, thetas):
        """Loss between the model at each ``theta`` and ``X`` (Figure 5 of Montavon et al.).

        Uses the same noise as :meth:`fit` with the same ``random_state``; does
        not need a fitted estimator.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Data.
        thetas : array-like of shape (n_thetas,)
            Scales to evaluate.

        Returns
        -------
        losses : ndarray of shape (n_thetas,)

        Examples
        --------
        >>> import numpy as np
        >>> from skwass.covariance import GaussianShrinkageModel
        >>> X = np.random.default_rng(0).normal(size=(50, 3))
        >>> curve = GaussianShrinkageModel(eps=0, random_state=0).loss_curve(X, [0.5, 1.0])
        >>> curve.shape
        (2,)
        """
        X = check_array(X, dtype=np.float64)
        thetas = np.asarray(thetas, dtype=np.float64).reshape(-1)
        if np.any(thetas < 0):
            raise ValueError("thetas must be non-negative scales.")
        _, _, _, base, data = self._setup(X)
        loss = self._loss()
        return np.array([loss(theta * base, data) for theta in thetas])

    def sample(self, n_samples=1, random_state=None):
        """Draw from the fitted ``N(location_, covariance_)``.

        {sample_parameters}
        """
        check_is_fitted(self)
        rng = check_random_state(random_state)
        return rng.multivariate_normal(self.location_, self.covariance_, size=n_samples)

    @_with_thread_limits
    def score(self, X, y=None):
        """Minus the loss between the fitted model and ``X`` (higher is better).

        The model sample uses the noise of :meth:`fit`, the fitted location and
        covariance, and the training metric scale.

        {score_parameters}
        """
        check_is_fitted(self)
        X = validate_data(self, X, dtype=np.float64, reset=False)
        rng = check_random_state(self.random_state)
        noise = rng.standard_normal((self.n_samples_model or X.shape[0], X.shape[1]))
        values, vectors = np.linalg.eigh(self.covariance_)
        model = noise @ (vectors * np.sqrt(np.clip(values, 0.0, None))).T + self.location_
        return -self._loss()(model / self.metric_scale_, X / self.metric_scale_)
