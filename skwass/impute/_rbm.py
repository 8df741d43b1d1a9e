"""Completion and denoising of binary data with a fitted RBM (Montavon et al. 2016, 4.4)."""

import itertools
from math import comb
from numbers import Integral

import numpy as np
from scipy.special import expit, logsumexp
from sklearn.base import BaseEstimator, TransformerMixin, _fit_context, clone
from sklearn.utils import check_random_state, gen_batches
from sklearn.utils._param_validation import HasMethods, Interval, StrOptions, validate_params
from sklearn.utils.validation import check_is_fitted, validate_data

from skwass.neural_network import WassersteinRBM, binary_states
from skwass.utils._docstrings import fill_doc


def _rbm_parameters(estimator):
    """``(W, a, b)`` of a fitted Bernoulli RBM (skwass or scikit-learn)."""
    try:
        return (estimator.components_, estimator.intercept_visible_,
                estimator.intercept_hidden_)
    except AttributeError:
        raise ValueError(
            f"{type(estimator).__name__} is not a fitted Bernoulli RBM: it needs "
            "components_, intercept_visible_ and intercept_hidden_."
        ) from None


def _log_weights(params, x, columns, values):
    """``-F`` of the rows ``x`` with ``x[columns]`` replaced by each row of ``values``."""
    W, a, b = params
    others = np.ones(x.shape[0], dtype=bool)
    others[columns] = False
    base = W[:, others] @ x[others] + b
    z = values @ W[:, columns].T + base
    return a[others] @ x[others] + values @ a[columns] + np.logaddexp(0, z).sum(axis=1)


def _check_fit_data(X):
    """Refuse features that are never observed."""
    empty = np.flatnonzero(np.isnan(X).all(axis=0))
    if empty.size:
        raise ValueError(
            f"X has features {empty.tolist()[:10]} missing in every row; an RBM cannot "
            "learn them. Drop them first."
        )


def _check_binary_row(x, where, missing_allowed=True):
    if not np.all((x == 0) | (x == 1)):
        rest = " apart from the missing (NaN) entries" if missing_allowed else ""
        raise ValueError(
            f"{where} must be binary (0/1){rest}; binarize it first, for example with "
            "sklearn.preprocessing.Binarizer(threshold=0.5)."
        )


def completion_distribution(estimator, x):
    """Exact distribution of the missing entries of ``x`` given the others.

    ``p(x_missing | x_known)`` is proportional to ``exp(-F(x))`` over the
    ``2**k`` completions of the ``k`` missing (NaN) entries.

    Parameters
    ----------
    estimator : fitted WassersteinRBM or sklearn BernoulliRBM
    x : array-like of shape (n_features,)
        One binary row, NaN where missing (at most 20 NaN).

    Returns
    -------
    columns : ndarray of shape (k,)
        Indices of the missing entries.
    values : ndarray of shape (2**k, k)
        Every completion of those entries.
    proba : ndarray of shape (2**k,)
        Their conditional probabilities.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn.neural_network import BernoulliRBM
    >>> from skwass.impute import completion_distribution
    >>> rbm = BernoulliRBM(n_components=2, random_state=0).fit(np.eye(3))
    >>> columns, values, proba = completion_distribution(rbm, [1.0, np.nan, np.nan])
    >>> columns.tolist(), values.shape, round(float(proba.sum()), 6)
    ([1, 2], (4, 2), 1.0)
    """
    x = np.asarray(x, dtype=np.float64)
    columns = np.flatnonzero(np.isnan(x))
    _check_binary_row(np.delete(x, columns), "x")
    values = binary_states(columns.size)
    log_w = _log_weights(_rbm_parameters(estimator), np.nan_to_num(x), columns, values)
    return columns, values, np.exp(log_w - logsumexp(log_w))


def denoising_distribution(estimator, x, suspect, n_flips):
    """Posterior over the states ``n_flips`` bit flips away from ``x`` on ``suspect``.

    The paper's noise model: exactly ``l = n_flips`` of the ``k`` suspect
    entries were flipped; the candidates are the ``C(k, l)`` states at Hamming
    distance ``l`` from ``x`` on those entries (the others are kept), weighted
    by ``exp(-F)``.

    Parameters
    ----------
    estimator : fitted WassersteinRBM or sklearn BernoulliRBM
    x : array-like of shape (n_features,)
        One noisy binary row.
    suspect : array-like of shape (n_features,) of bool
        Where the flips may be.
    n_flips : int
        Number of flipped bits ``l``.

    Returns
    -------
    columns : ndarray of shape (k,)
        Indices of the suspect entries.
    values : ndarray of shape (C(k, l), k)
        Candidate values of those entries.
    proba : ndarray of shape (C(k, l),)
        Their posterior probabilities.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn.neural_network import BernoulliRBM
    >>> from skwass.impute import denoising_distribution
    >>> rbm = BernoulliRBM(n_components=2, random_state=0).fit(np.eye(4))
    >>> x = np.array([1.0, 0.0, 0.0, 1.0])
    >>> columns, values, proba = denoising_distribution(rbm, x, [1, 1, 1, 0], 2)
    >>> values.shape, np.abs(values - x[columns]).sum(axis=1).tolist()
    ((3, 3), [2.0, 2.0, 2.0])
    """
    x = np.asarray(x, dtype=np.float64)
    _check_binary_row(x, "x", missing_allowed=False)
    columns, values = _denoising_candidates(x, suspect, n_flips)
    log_w = _log_weights(_rbm_parameters(estimator), x, columns, values)
    return columns, values, np.exp(log_w - logsumexp(log_w))


def _denoising_candidates(x, suspect, n_flips):
    """The suspect columns of ``x`` and every value of them ``n_flips`` flips away."""
    columns = np.flatnonzero(np.asarray(suspect, dtype=bool))
    if not 0 <= n_flips <= columns.size:
        raise ValueError(
            f"n_flips={n_flips} flips cannot fit in {columns.size} suspect entries."
        )
    flips = np.zeros((comb(columns.size, n_flips), columns.size))
    for row, chosen in enumerate(itertools.combinations(range(columns.size), n_flips)):
        flips[row, list(chosen)] = 1.0
    return columns, np.abs(x[columns] - flips)


# The summaries of a posterior over candidate rows that _summarize computes.
_STRATEGIES = {"mode", "mean", "sample"}


def _summarize(values, proba, strategy, rng):
    if strategy == "mode":
        return values[np.argmax(proba)]
    if strategy == "mean":
        return proba @ values
    return values[rng.choice(proba.size, p=proba)]


def _clamped_gibbs_step(params, V, missing, rng):
    """One block Gibbs step ``v -> h -> v`` that redraws only the ``missing`` entries.

    Returns the new states and the visible conditionals ``P(v = 1 | h)``.
    """
    W, a, b = params
    h = rng.uniform(size=(V.shape[0], W.shape[0])) < expit(V @ W.T + b)
    p = expit(h @ W + a)
    return np.where(missing, rng.uniform(size=V.shape) < p, V), p


def _gibbs_complete(params, X, missing, strategy, n_gibbs, rng):
    """Clamped block Gibbs sampling of the missing entries of all rows at once."""
    V = np.where(missing, rng.uniform(size=X.shape) < 0.5, np.nan_to_num(X))
    mean = np.zeros_like(V)
    burn_in = n_gibbs // 2
    for step in range(n_gibbs):
        V, p = _clamped_gibbs_step(params, V, missing, rng)
        if step >= burn_in:
            mean += p  # Rao-Blackwellized marginals
    mean /= n_gibbs - burn_in
    if strategy == "sample":
        return V
    if strategy == "mean":
        return np.where(missing, mean, V)
    return np.where(missing, (mean > 0.5).astype(np.float64), V)


def _default_estimator(estimator):
    return WassersteinRBM() if estimator is None else estimator


def _fit_rbm(estimator, X, rng):
    """A fitted clone of ``estimator`` (``None``: ``WassersteinRBM()``) on ``X``, NaN where missing.

    Complete data goes to ``fit``. Otherwise the training runs through
    ``partial_fit`` with the same epochs and batches as ``fit``, and before
    each update the missing entries of the batch are redrawn by one clamped
    Gibbs step from the current model, starting from the previous draw (a
    persistent chain, as PCD is for the model sample). This is stochastic
    EM: for data missing at random the likelihood gradient of the observed
    entries is ``E[grad log p(x_obs, x_mis)]`` under ``p(x_mis | x_obs)``,
    so the positive phase on completed rows drawn from that conditional is
    unbiased where the chain has mixed. Marginalizing the missing entries
    instead has no closed form for an RBM (summing them out couples the
    hidden units). The Wasserstein term compares the model with the
    completed data, the model's own best guess of the full data.
    """
    model = clone(_default_estimator(estimator))
    missing = np.isnan(X)
    if not missing.any():
        return model.fit(X)
    if not hasattr(model, "partial_fit"):
        raise ValueError(
            f"X has missing values and {type(model).__name__} has no partial_fit to train "
            "while they are redrawn; pass an RBM with partial_fit or complete rows."
        )
    n = X.shape[0]
    batch_size = min(getattr(model, "batch_size", None) or n, n)
    n_batches = -(-n // batch_size)
    if hasattr(model, "n_pretrain_iter"):
        # fit counts pretraining in epochs, partial_fit in updates.
        model.set_params(n_pretrain_iter=model.n_pretrain_iter * n_batches)
    n_epochs = getattr(model, "n_pretrain_iter", 0) + model.n_iter
    observed_mean = np.nanmean(X, axis=0)
    V = np.where(missing, rng.uniform(size=X.shape) < np.nan_to_num(observed_mean), X)
    for _ in range(n_epochs):
        order = rng.permutation(n) if n_batches > 1 else np.arange(n)
        for batch in gen_batches(n, batch_size):
            rows = order[batch]
            if hasattr(model, "components_"):
                V[rows], _ = _clamped_gibbs_step(
                    _rbm_parameters(model), V[rows], missing[rows], rng
                )
            model.partial_fit(V[rows])
    return model


class _FitsOnMissing:
    """``fit`` takes NaN entries (see :func:`_fit_rbm`)."""

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.allow_nan = True
        return tags


@fill_doc
class RBMImputer(_FitsOnMissing, TransformerMixin, BaseEstimator):
    """Fill missing binary entries (NaN) from an RBM's conditional distribution.

    ``fit`` trains a clone of ``estimator`` on all rows, redrawing their
    missing entries from the model before each update (stochastic EM, see
    ``Notes``); ``transform``
    replaces the ``k`` NaN of each row using ``p(x | known entries)``: exactly,
    by enumerating the ``2**k`` completions, when ``k <= max_exact``, and by
    clamped Gibbs sampling otherwise.

    Parameters
    ----------
    estimator : estimator or None, default=None
        A Bernoulli RBM (:class:`~skwass.neural_network.WassersteinRBM` or
        :class:`sklearn.neural_network.BernoulliRBM`); ``None`` is
        ``WassersteinRBM()``, the paper's model (400 hidden units, full
        batch). Each of its fine-tuning updates solves an ``n_samples x
        n_samples`` Sinkhorn problem, so it suits a few thousand rows at
        most; for more, pass a lighter model, such as a minibatch
        ``WassersteinRBM(n_components=64, batch_size=256)`` or a
        ``BernoulliRBM`` (``benchmarks/bench_impute.py`` compares them on
        the 8 x 8 digits).
    strategy : {"mode", "mean", "sample"}, default="mode"
        Most probable completion, marginal probabilities ``P(x_i = 1 | known)``
        (the completion minimizing the expected squared error, and what
        :func:`skwass.metrics.expected_hamming_error` takes), or one draw. Under
        Gibbs sampling "mode" is the coordinate-wise rounded mean.
    max_exact : int, default=16
        Largest number of missing entries in a row solved by enumeration.
    n_gibbs : int, default=200
        Gibbs sweeps for rows with more missing entries (the second half is
        averaged).
    random_state : int, RandomState instance or None, default=None
        Seed of the draws (``"sample"`` and Gibbs sampling).

    Attributes
    ----------
    estimator_ : estimator
        The fitted RBM.
    {n_features_in_}

    Notes
    -----
    With missing entries in ``X``, ``fit`` needs ``estimator.partial_fit``
    and runs the epochs and batches of ``estimator.fit`` through it. Before
    each update, the missing entries of the batch are redrawn by one Gibbs
    step clamped on the observed entries, continuing a persistent chain. For
    entries missing at random, the gradient of the likelihood of the
    observed entries is the expected complete-data gradient under the model's
    conditional of the missing ones, which these draws estimate (stochastic
    EM). Marginalizing them in the positive phase instead has no closed form
    for an RBM.

    Examples
    --------
    >>> import numpy as np
    >>> from skwass.impute import RBMImputer
    >>> from skwass.neural_network import WassersteinRBM
    >>> X = np.tile([[1.0, 1.0, 0.0, 0.0], [0.0, 0.0, 1.0, 1.0]], (20, 1))
    >>> rbm = WassersteinRBM(n_components=2, lam=np.inf, learning_rate=0.5,
    ...                      n_pretrain_iter=300, n_iter=0, random_state=0)
    >>> imputer = RBMImputer(rbm).fit(X)
    >>> imputer.transform([[1.0, np.nan, 0.0, np.nan], [np.nan, 0.0, 1.0, 1.0]])
    array([[1., 1., 0., 0.],
           [0., 0., 1., 1.]])
    """

    _parameter_constraints: dict = {
        "estimator": [HasMethods(["fit"]), None],
        "strategy": [StrOptions(_STRATEGIES)],
        "max_exact": [Interval(Integral, 0, 20, closed="both")],
        "n_gibbs": [Interval(Integral, 1, None, closed="left")],
        "random_state": ["random_state"],
    }

    def __init__(self, estimator=None, *, strategy="mode", max_exact=16, n_gibbs=200,
                 random_state=None):
        self.estimator = estimator
        self.strategy = strategy
        self.max_exact = max_exact
        self.n_gibbs = n_gibbs
        self.random_state = random_state

    @_fit_context(prefer_skip_nested_validation=False)
    def fit(self, X, y=None):
        """Fit the RBM on ``X``, redrawing its missing entries during training.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Binary data, NaN where missing.
        y : None
            Ignored.

        Returns
        -------
        self : RBMImputer
        """
        X = validate_data(self, X, dtype=np.float64, ensure_all_finite="allow-nan")
        _check_fit_data(X)
        self.estimator_ = _fit_rbm(self.estimator, X, check_random_state(self.random_state))
        return self

    def transform(self, X):
        """Fill the NaN entries of ``X``.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Binary data, NaN where missing.

        Returns
        -------
        X_filled : ndarray of shape (n_samples, n_features)
        """
        check_is_fitted(self)
        X = validate_data(self, X, dtype=np.float64, ensure_all_finite="allow-nan",
                          reset=False)
        missing = np.isnan(X)
        _check_binary_row(X[~missing], "X")
        rng = check_random_state(self.random_state)
        params = _rbm_parameters(self.estimator_)
        out = X.copy()
        counts = missing.sum(axis=1)
        for i in np.flatnonzero((counts > 0) & (counts <= self.max_exact)):
            columns, values, proba = completion_distribution(self.estimator_, X[i])
            out[i, columns] = _summarize(values, proba, self.strategy, rng)
        sampled = counts > self.max_exact
        if sampled.any():
            out[sampled] = _gibbs_complete(params, X[sampled], missing[sampled],
                                           self.strategy, self.n_gibbs, rng)
        return out

@validate_params(
    {
        "estimator": [HasMethods(["fit"])],
        "X": ["array-like"],
        "suspect": ["array-like"],
        "n_flips": [Interval(Integral, 0, None, closed="left")],
        "strategy": [StrOptions(_STRATEGIES)],
        "random_state": ["random_state"],
    },
    prefer_skip_nested_validation=True,
)
def denoise(estimator, X, suspect, n_flips, *, strategy="mode", random_state=None):
    """Undo ``n_flips`` bit flips per row among each row's suspect entries.

    For each row, the posterior over the states at Hamming distance exactly
    ``n_flips`` on its suspect entries (:func:`denoising_distribution`) is
    summarized by its mode, its mean or one draw. A per-row mask covers the
    paper's random image patches.

    Parameters
    ----------
    estimator : fitted WassersteinRBM or sklearn BernoulliRBM
    X : array-like of shape (n_samples, n_features)
        Noisy binary data.
    suspect : array-like of bool, shape (n_samples, n_features) or (n_features,)
        Where the flips may be, per row or for all rows.
    n_flips : int
        Flips per row.
    strategy : {"mode", "mean", "sample"}, default="mode"
        As in :class:`RBMImputer`.
    random_state : int, RandomState instance or None, default=None
        Seed of the draws for ``"sample"``.

    Returns
    -------
    X_denoised : ndarray of shape (n_samples, n_features)

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn.neural_network import BernoulliRBM
    >>> from skwass.impute import denoise
    >>> rbm = BernoulliRBM(n_components=2, random_state=0).fit(np.eye(3))
    >>> denoise(rbm, [[1.0, 1.0, 0.0]], [[True, True, False]], 1).shape
    (1, 3)
    """
    X = np.asarray(X, dtype=np.float64)
    if X.ndim != 2:
        raise ValueError(f"X must be 2-D, got shape {X.shape}.")
    suspect = np.broadcast_to(np.asarray(suspect, dtype=bool), X.shape)
    rng = check_random_state(random_state)
    out = X.copy()
    for i in range(X.shape[0]):
        columns, values, proba = denoising_distribution(estimator, X[i], suspect[i], n_flips)
        out[i, columns] = _summarize(values, proba, strategy, rng)
    return out


@fill_doc
class RBMDenoiser(_FitsOnMissing, TransformerMixin, BaseEstimator):
    """Denoise binary data under the paper's noise model: ``n_flips`` flips among ``columns``.

    ``fit`` trains a clone of ``estimator`` on clean data, which may have
    missing (NaN) entries, handled as in :class:`RBMImputer`; ``transform``
    returns the posterior mode (or mean, or a draw) over the states at
    Hamming distance exactly ``n_flips`` from each row on ``columns``.

    Parameters
    ----------
    estimator : estimator or None, default=None
        A Bernoulli RBM; ``None`` is ``WassersteinRBM()`` (see
        :class:`RBMImputer` for its cost and lighter choices).
    columns : array-like of int or None, default=None
        The ``k`` entries where the flips may be; ``None`` is all of them.
    n_flips : int, default=1
        Number of flipped bits ``l`` per row.
    strategy : {"mode", "mean", "sample"}, default="mode"
        Summary of the posterior, as in :class:`RBMImputer`.
    max_states : int, default=100000
        Refuse ``C(k, l)`` larger than this.
    random_state : int, RandomState instance or None, default=None
        Seed of the draws for ``"sample"``.

    Attributes
    ----------
    estimator_ : estimator
        The fitted RBM.
    {n_features_in_}

    Examples
    --------
    >>> import numpy as np
    >>> from skwass.impute import RBMDenoiser
    >>> from skwass.neural_network import WassersteinRBM
    >>> X = np.tile([[1.0, 1.0, 0.0, 0.0], [0.0, 0.0, 1.0, 1.0]], (20, 1))
    >>> rbm = WassersteinRBM(n_components=2, lam=np.inf, learning_rate=0.5,
    ...                      n_pretrain_iter=300, n_iter=0, random_state=0)
    >>> denoiser = RBMDenoiser(rbm, n_flips=1).fit(X)
    >>> denoiser.transform([[1.0, 0.0, 0.0, 0.0]])
    array([[1., 1., 0., 0.]])
    """

    _parameter_constraints: dict = {
        "estimator": [HasMethods(["fit"]), None],
        "columns": ["array-like", None],
        "n_flips": [Interval(Integral, 0, None, closed="left")],
        "strategy": [StrOptions(_STRATEGIES)],
        "max_states": [Interval(Integral, 1, None, closed="left")],
        "random_state": ["random_state"],
    }

    def __init__(self, estimator=None, *, columns=None, n_flips=1, strategy="mode",
                 max_states=100_000, random_state=None):
        self.estimator = estimator
        self.columns = columns
        self.n_flips = n_flips
        self.strategy = strategy
        self.max_states = max_states
        self.random_state = random_state

    def _suspect(self, n_features):
        suspect = np.zeros(n_features, dtype=bool)
        if self.columns is None:
            suspect[:] = True
        else:
            columns = np.asarray(self.columns)
            if columns.ndim != 1 or (
                columns.size and not np.issubdtype(columns.dtype, np.integer)
            ):
                raise ValueError(
                    f"columns must be a 1-D list of integer column indices, got "
                    f"{self.columns!r}."
                )
            outside = columns[(columns < 0) | (columns >= n_features)]
            if outside.size:
                raise ValueError(
                    f"columns holds {outside.tolist()}, outside [0, {n_features}) for data "
                    f"with {n_features} features."
                )
            suspect[columns.astype(int)] = True
        k = int(suspect.sum())
        if self.n_flips > k:
            raise ValueError(f"n_flips={self.n_flips} exceeds the {k} suspect columns.")
        if comb(k, self.n_flips) > self.max_states:
            raise ValueError(
                f"C({k}, {self.n_flips}) = {comb(k, self.n_flips)} candidate states exceed "
                f"max_states={self.max_states}; restrict columns."
            )
        return suspect

    @_fit_context(prefer_skip_nested_validation=False)
    def fit(self, X, y=None):
        """Fit the RBM on clean data.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Clean binary data, NaN where missing.
        y : None
            Ignored.

        Returns
        -------
        self : RBMDenoiser
        """
        X = validate_data(self, X, dtype=np.float64, ensure_all_finite="allow-nan")
        _check_fit_data(X)
        self._suspect(X.shape[1])
        self.estimator_ = _fit_rbm(self.estimator, X, check_random_state(self.random_state))
        return self

    def transform(self, X):
        """Denoise ``X``.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Noisy binary data.

        Returns
        -------
        X_denoised : ndarray of shape (n_samples, n_features)
        """
        check_is_fitted(self)
        X = validate_data(self, X, dtype=np.float64, reset=False)
        return denoise(self.estimator_, X, self._suspect(X.shape[1]), self.n_flips,
                       strategy=self.strategy, random_state=self.random_state)
