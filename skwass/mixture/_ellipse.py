"""Uniform ellipsoids fitted by minimum Kantorovich estimation (Genevay et al. 2018, 4.1)."""

import numbers

import numpy as np
from sklearn.base import BaseEstimator, ClusterMixin, _fit_context
from sklearn.cluster import KMeans
from sklearn.utils import check_random_state
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.validation import check_is_fitted, validate_data

from skwass._backend._device import DEVICES, host_copy, resolve_device
from skwass.mke._engine import (
    GRAD_METRICS,
    LOSSES,
    OPTIMIZERS,
    Loss,
    MinibatchState,
    minibatch_step,
    minimize_loss,
)
from skwass.utils._docstrings import fill_doc
from skwass.utils._threads import _with_thread_limits


def uniform_ball(rng, n_samples, n_features):
    """``n_samples`` points drawn uniformly in the unit ball of ``R^n_features``."""
    direction = rng.standard_normal((n_samples, n_features))
    norm = np.linalg.norm(direction, axis=1, keepdims=True)
    norm[norm == 0] = 1.0
    radius = rng.uniform(size=(n_samples, 1)) ** (1.0 / n_features)
    return direction / norm * radius


class _EllipsoidPushForward:
    """``x = A_k z + c_k`` for ``z`` in the unit ball of component ``k``.

    ``theta`` stacks the K matrices ``A_k`` (row-major) then the K centers.
    The noise is a pair ``(z, labels)``.
    """

    def __init__(self, n_components, n_features):
        self.K, self.d = n_components, n_features

    def unpack(self, theta):
        split = self.K * self.d * self.d
        return theta[:split].reshape(self.K, self.d, self.d), theta[split:].reshape(self.K, self.d)

    def __call__(self, theta, noise):
        z, labels = noise
        A, c = self.unpack(theta)
        return np.einsum("nij,nj->ni", A[labels], z) + c[labels]

    def vjp(self, theta, noise, G):
        z, labels = noise
        grad_A = np.zeros((self.K, self.d, self.d))
        np.add.at(grad_A, labels, G[:, :, None] * z[:, None, :])
        grad_c = np.zeros((self.K, self.d))
        np.add.at(grad_c, labels, G)
        return np.concatenate([grad_A.ravel(), grad_c.ravel()])

    def draw(self, rng, n_samples):
        """Uniform noise with equal mass: component labels cycle over ``0..K-1``."""
        labels = np.arange(n_samples) % self.K
        return uniform_ball(rng, n_samples, self.d), labels


@fill_doc
class EllipseMKE(ClusterMixin, BaseEstimator):
    """Mixture of uniform ellipsoids fitted by minimum Kantorovich estimation.

    The model (Genevay, Peyre & Cuturi 2018, section 4.1) is a mixture of K
    ellipsoids of equal mass ``1/K`` with uniform density: a sample of the k-th
    component is ``x = A_k z + c_k`` with ``z`` uniform in the unit ball. The
    parameters ``theta = (A_k, c_k)_k`` minimize a loss (by default the
    Sinkhorn divergence) between model samples and the data, with the loss
    gradient with respect to the samples chained to ``theta``.

    Parameters
    ----------
    n_components : int, default=3
        Number K of ellipsoids.
    loss : {"sinkhorn_divergence", "sinkhorn", "mmd", "energy", "wasserstein"}, \
default="sinkhorn_divergence"
        ``"sinkhorn_divergence"``: debiased entropic OT solved to convergence
        (:func:`skwass.ot.sinkhorn_divergence`); ``"sinkhorn"``: Genevay et al.'s
        algorithmic loss ``2 W_L(x, y) - W_L(x, x) - W_L(y, y)`` after
        ``n_sinkhorn_iter`` iterations; ``"mmd"``: squared MMD with a Gaussian
        kernel of bandwidth ``bandwidth``; ``"energy"``: energy distance;
        ``"wasserstein"``: exact ``W_1`` (small problems).
    eps : float, default=0.1
        Entropic regularization of the Sinkhorn losses, in cost units.
    metric : {"sqeuclidean", "euclidean", "cityblock"}, default="sqeuclidean"
        Ground cost of the OT losses (the paper uses ``|x - y|^2``).
    n_sinkhorn_iter : int, default=20
        L, the Sinkhorn iterations of ``loss="sinkhorn"``.
    bandwidth : float, default=1.0
        Bandwidth of the Gaussian kernel of ``loss="mmd"``.
    solver : {"adam", "sgd", "lbfgs"}, default="adam"
        ``"adam"``: minibatch Adam with fresh noise at each step;
        ``"sgd"``: the same minibatches with plain stochastic gradient steps
        ``theta -= learning_rate * grad``, the paper's optimizer (its steps,
        unlike Adam's, shrink with the gradient); ``"lbfgs"``: full-batch
        L-BFGS on one fixed noise sample of ``batch_size`` points (common
        random numbers).
    batch_size : int, default=200
        Model points per step (and data points per minibatch).
    max_iter : int, default=300
        Maximum number of optimizer iterations.
    learning_rate : float, default=0.01
        Adam or SGD step size (SGD's multiplies the gradient, so it depends on
        the scale of the loss: about 1 for the Sinkhorn losses on Iris).
    n_iter_no_change : int, default=10
        Adam and SGD stop when a moving average of the minibatch loss has not improved
        by ``tol`` for this many steps.
    tol : float, default=1e-4
        Adam and SGD stop when a moving average of the loss has not improved by
        ``tol`` for 10 steps; L-BFGS's ``tol``.
    init : {"k-means", "random"}, default="k-means"
        Centers from k-means (or K random data points); ``A_k`` starts as the
        identity (the unit ball), as in the paper.
    device : {"auto", "cpu", "cuda"}, default="auto"
        Where the loss and its gradient are computed: ``"cuda"`` keeps the data
        on the GPU (CuPy, the ``gpu`` extra) and sends each model sample there;
        ``"auto"`` uses the GPU when ``X`` is a CuPy array. The parameters and
        the optimizer stay on the host (they are small). Every loss but
        ``"wasserstein"`` runs on the GPU.
    {n_jobs}
    random_state : int, RandomState instance or None, default=None
        Seeds the initialization, the noise and the minibatches.
    verbose : int, default=0
        Print the loss at each iteration.

    Attributes
    ----------
    centers_ : ndarray of shape (n_components, n_features)
        Centers ``c_k``.
    shapes_ : ndarray of shape (n_components, n_features, n_features)
        Matrices ``A_k``: ellipsoid k is ``{A_k z + c_k : |z| <= 1}``.
    labels_ : ndarray of shape (n_samples,)
        :meth:`predict` on the training data (on the last batch after
        :meth:`partial_fit`).
    loss_ : float
        Final loss (a moving average over minibatches for Adam, SGD and
        :meth:`partial_fit`).
    n_iter_ : int
        Optimizer iterations run (one per :meth:`partial_fit` call).
    {n_features_in_}

    Examples
    --------
    >>> import numpy as np
    >>> from skwass.mixture import EllipseMKE
    >>> rng = np.random.default_rng(0)
    >>> X = np.vstack([rng.normal(size=(50, 2)) * 0.3, rng.normal(size=(50, 2)) * 0.3 + 4])
    >>> est = EllipseMKE(n_components=2, loss="sinkhorn", eps=0.5, max_iter=200,
    ...                  random_state=0).fit(X)
    >>> est.shapes_.shape
    (2, 2, 2)
    >>> est.predict([[0.0, 0.0], [4.0, 4.0]]).tolist() in ([0, 1], [1, 0])
    True
    """

    _parameter_constraints: dict = {
        "n_components": [Interval(numbers.Integral, 1, None, closed="left")],
        "loss": [StrOptions(set(LOSSES))],
        "eps": [Interval(numbers.Real, 0, None, closed="neither")],
        "metric": [StrOptions(set(GRAD_METRICS))],
        "n_sinkhorn_iter": [Interval(numbers.Integral, 1, None, closed="left")],
        "bandwidth": [Interval(numbers.Real, 0, None, closed="neither")],
        "solver": [StrOptions({"adam", "sgd", "lbfgs"})],
        "batch_size": [Interval(numbers.Integral, 1, None, closed="left")],
        "max_iter": [Interval(numbers.Integral, 1, None, closed="left")],
        "learning_rate": [Interval(numbers.Real, 0, None, closed="neither")],
        "n_iter_no_change": [Interval(numbers.Integral, 1, None, closed="left")],
        "tol": [Interval(numbers.Real, 0, None, closed="left")],
        "init": [StrOptions({"k-means", "random"})],
        "device": [StrOptions(set(DEVICES))],
        "n_jobs": [numbers.Integral, None],
        "random_state": ["random_state"],
        "verbose": ["verbose"],
    }

    def __init__(self, n_components=3, *, loss="sinkhorn_divergence", eps=0.1,
                 metric="sqeuclidean", n_sinkhorn_iter=20, bandwidth=1.0, solver="adam",
                 batch_size=200, max_iter=300, learning_rate=0.01, n_iter_no_change=10,
                 tol=1e-4, init="k-means", device="auto", n_jobs=None, random_state=None,
                 verbose=0):
        self.n_components = n_components
        self.loss = loss
        self.eps = eps
        self.metric = metric
        self.n_sinkhorn_iter = n_sinkhorn_iter
        self.bandwidth = bandwidth
        self.solver = solver
        self.batch_size = batch_size
        self.max_iter = max_iter
        self.learning_rate = learning_rate
        self.n_iter_no_change = n_iter_no_change
        self.tol = tol
        self.init = init
        self.device = device
        self.n_jobs = n_jobs
        self.random_state = random_state
        self.verbose = verbose

    def _loss(self, X):
        """The loss, on the device that ``device`` and the input ``X`` select."""
        return Loss(self.loss, self.eps, self.metric, self.n_sinkhorn_iter, self.bandwidth,
                    device=resolve_device(self.device, X))

    def _initial_centers(self, X, rng):
        if X.shape[0] < self.n_components:
            raise ValueError(
                f"n_samples={X.shape[0]} should be >= n_components={self.n_components}."
            )
        if self.init == "random":
            return X[rng.choice(X.shape[0], self.n_components, replace=False)]
        kmeans = KMeans(self.n_components, n_init=10,
                        random_state=rng.randint(np.iinfo(np.int32).max))
        return kmeans.fit(X).cluster_centers_

    @_fit_context(prefer_skip_nested_validation=True)
    @_with_thread_limits
    def fit(self, X, y=None):
        """Fit the ellipsoids to ``X``.

        {fit_parameters}
        """
        loss = self._loss(X)
        X = validate_data(self, host_copy(X), dtype=np.float64)
        rng = check_random_state(self.random_state)
        n_features = X.shape[1]
        centers = self._initial_centers(X, rng)
        model = _EllipsoidPushForward(self.n_components, n_features)
        shapes = np.broadcast_to(np.eye(n_features), (self.n_components, n_features, n_features))
        theta0 = np.concatenate([shapes.ravel(), centers.ravel()])
        solver_options = {"solver": self.solver, "max_iter": self.max_iter, "tol": self.tol,
                          "rng": rng, "verbose": self.verbose, "name": "ellipsoid model"}
        if self.solver in OPTIMIZERS:
            result = minimize_loss(model, theta0, X, loss, draw_noise=model.draw,
                                   learning_rate=self.learning_rate,
                                   n_iter_no_change=self.n_iter_no_change,
                                   batch_size=self.batch_size, **solver_options)
        else:
            noise = model.draw(rng, self.batch_size)
            result = minimize_loss(model, theta0, X, loss, noise_sets=[noise],
                                   **solver_options)
        self.shapes_, self.centers_ = (arr.copy() for arr in model.unpack(result.theta))
        self.loss_ = result.loss
        self.n_iter_ = result.n_iter
        self.labels_ = self.predict(X)
        self._rng, self._adam_state = rng, None
        return self

    @_fit_context(prefer_skip_nested_validation=True)
    @_with_thread_limits
    def partial_fit(self, X, y=None):
        """Do one minibatch step on the batch ``X`` (SGD for ``solver="sgd"``, else Adam).

        The step draws ``batch_size`` fresh model points and follows the loss
        gradient between them and all of ``X`` (Genevay et al.'s stochastic
        gradient step), so a stream of batches read one
        at a time fits data that do not fit in memory. The first call
        initializes the centers from that batch (``init``); a call after
        :meth:`fit` continues from the fitted ellipsoids (with fresh Adam moments).

        {partial_fit_parameters}
        """
        first_call = not hasattr(self, "centers_")
        loss = self._loss(X)
        X = validate_data(self, host_copy(X), dtype=np.float64, reset=first_call)
        n_features = X.shape[1]
        model = _EllipsoidPushForward(self.n_components, n_features)
        if first_call:
            self._rng = check_random_state(self.random_state)
            centers = self._initial_centers(X, self._rng)
            self.shapes_ = np.array(
                np.broadcast_to(np.eye(n_features), (self.n_components, n_features, n_features))
            )
            self.centers_ = centers
            self.n_iter_ = 0
        if getattr(self, "_adam_state", None) is None:
            self._adam_state = MinibatchState(
                np.concatenate([self.shapes_.ravel(), self.centers_.ravel()]),
                "sgd" if self.solver == "sgd" else "adam",
            )
        noise = model.draw(self._rng, self.batch_size)
        value = minibatch_step(self._adam_state, model, noise, X, loss, None,
                               self.learning_rate, "ellipsoid model")
        if self.verbose:
            print(f"Iteration {self.n_iter_ + 1}, loss = {value:.6g}")
        self.shapes_, self.centers_ = (arr.copy() for arr in model.unpack(self._adam_state.theta))
        self.loss_ = float(self._adam_state.average)
        self.n_iter_ += 1
        self.labels_ = self.predict(X)
        return self

    def _ellipsoid_norms(self, X):
        """``|A_k^+ (x - c_k)|`` for every point and ellipsoid, shape (n, K)."""
        inverses = np.linalg.pinv(self.shapes_)
        diff = X[:, None, :] - self.centers_[None, :, :]
        return np.linalg.norm(np.einsum("kij,nkj->nki", inverses, diff), axis=2)

    def contains(self, X):
        """Membership matrix: which ellipsoids contain each point.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)

        Returns
        -------
        inside : ndarray of bool, shape (n_samples, n_components)
            ``inside[i, k]`` is True when ``X[i]`` lies in ellipsoid ``k``.
        """
        check_is_fitted(self)
        X = validate_data(self, host_copy(X), dtype=np.float64, reset=False)
        return self._ellipsoid_norms(X) <= 1.0

    def predict(self, X):
        """Index of the ellipsoid each point falls in.

        A point in several ellipsoids, or in none, goes to the one whose own norm
        ``|A_k^{-1} (x - c_k)|`` is smallest.

        {predict_parameters}
        """
        check_is_fitted(self)
        X = validate_data(self, host_copy(X), dtype=np.float64, reset=False)
        return np.argmin(self._ellipsoid_norms(X), axis=1)

    def ellipsoid_class_table(self, X, y):
        """Counts of the points of each class inside each ellipsoid (Table 1).

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
        y : array-like of shape (n_samples,)
            Class labels.

        Returns
        -------
        table : ndarray of int, shape (n_components, n_classes)
            ``table[i, j]``: points of class ``np.unique(y)[j]`` inside ellipsoid
            ``i``. A point inside several ellipsoids counts in each.
        """
        inside = self.contains(X)
        y = np.asarray(y)
        if y.shape != (inside.shape[0],):
            raise ValueError(f"y must have shape ({inside.shape[0]},), got {y.shape}.")
        classes = np.unique(y)
        return np.stack([inside[y == c].sum(axis=0) for c in classes], axis=1)

    def sample(self, n_samples=1, random_state=None):
        """Draw points from the fitted mixture of uniform ellipsoids.

        Parameters
        ----------
        n_samples : int, default=1
        random_state : int, RandomState instance or None, default=None

        Returns
        -------
        X : ndarray of shape (n_samples, n_features)
        labels : ndarray of shape (n_samples,)
            Component of each point (cycling over the components).
        """
        check_is_fitted(self)
        rng = check_random_state(random_state)
        model = _EllipsoidPushForward(self.n_components, self.n_features_in_)
        z, labels = model.draw(rng, n_samples)
        X = np.einsum("nij,nj->ni", self.shapes_[labels], z) + self.centers_[labels]
        return X, labels

    @_with_thread_limits
    def score(self, X, y=None):
        """Minus the loss between a model sample and ``X`` (higher is better).

        The model sample has ``max(len(X), batch_size)`` points drawn with
        ``random_state``.

        {score_parameters}
        """
        check_is_fitted(self)
        loss = self._loss(X)
        X = validate_data(self, host_copy(X), dtype=np.float64, reset=False)
        sample, _ = self.sample(max(X.shape[0], self.batch_size), self.random_state)
        return -loss(sample, X)
