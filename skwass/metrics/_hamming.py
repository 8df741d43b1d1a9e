"""Expected Hamming error of a distribution over reconstructions."""

import numpy as np
from sklearn.utils._param_validation import validate_params
from sklearn.utils.validation import check_array, check_consistent_length


@validate_params(
    {"X_true": ["array-like"], "X_proba": ["array-like"], "return_decomposition": ["boolean"]},
    prefer_skip_nested_validation=True,
)
def expected_hamming_error(X_true, X_proba, *, return_decomposition=False):
    """Expected Hamming distance between a reconstruction distribution and the truth.

    For each row, the reconstruction ``x`` is random with marginals
    ``p_i = P(x_i = 1)`` and ``E H(x, x*) = sum_i E (x_i - x*_i)^2`` splits into
    a bias ``sum_i (p_i - x*_i)^2`` and a variance ``sum_i p_i (1 - p_i)``, as in
    Figure 7 of Montavon et al. (2016). Only the marginals matter, so
    ``X_proba`` is what ``RBMImputer(strategy="mean")`` or ``denoise(...,
    strategy="mean")`` return; a deterministic (0/1) reconstruction has no
    variance and its error is the plain Hamming distance.

    Parameters
    ----------
    X_true : array-like of shape (n_samples, n_features)
        The true binary data.
    X_proba : array-like of shape (n_samples, n_features)
        Marginal probabilities that each reconstructed entry is 1.
    return_decomposition : bool, default=False
        Also return the bias and variance terms.

    Returns
    -------
    error : float
        Mean over rows of the expected Hamming distance.
    bias, variance : float
        Only with ``return_decomposition``; ``error = bias + variance``.

    Examples
    --------
    >>> from skwass.metrics import expected_hamming_error
    >>> expected_hamming_error([[1, 0, 1]], [[1.0, 0.5, 0.0]], return_decomposition=True)
    (1.5, 1.25, 0.25)
    """
    X_true = check_array(X_true, dtype=np.float64, input_name="X_true")
    X_proba = check_array(X_proba, dtype=np.float64, input_name="X_proba")
    check_consistent_length(X_true, X_proba)
    if X_true.shape != X_proba.shape:
        raise ValueError(f"X_true has shape {X_true.shape} but X_proba has {X_proba.shape}.")
    if not np.all((X_true == 0) | (X_true == 1)):
        raise ValueError("X_true must be binary (0/1).")
    if X_proba.min() < -1e-9 or X_proba.max() > 1 + 1e-9:
        raise ValueError("X_proba must hold probabilities in [0, 1].")
    X_proba = np.clip(X_proba, 0.0, 1.0)  # rounding of sums of probabilities
    bias = float(((X_proba - X_true) ** 2).sum(axis=1).mean())
    variance = float((X_proba * (1 - X_proba)).sum(axis=1).mean())
    if return_decomposition:
        return bias + variance, bias, variance
    return bias + variance
