"""Sharpness of the samples of a binary generative model (Montavon et al. 2016, Figure 3)."""

from numbers import Integral

import numpy as np
from scipy.ndimage import convolve
from scipy.special import expit
from sklearn.utils._param_validation import HasMethods, validate_params
from sklearn.utils.validation import check_array

from skwass.impute._rbm import _check_binary_row, _rbm_parameters

# Rows of samples per block of the (rows, features, hidden) log-odds tensor.
_BLOCK_ROWS = 16


@validate_params(
    {"estimator": [HasMethods(["fit"])], "X": ["array-like"]},
    prefer_skip_nested_validation=True,
)
def conditional_variance(estimator, X):
    """Mean per-pixel variance ``p (1 - p)`` of an RBM's single-site conditionals.

    For each row ``x`` and feature ``i``, ``p = P(x_i = 1 | x_-i)`` is the
    model's conditional of that entry given all the others, ``sigmoid(F(x with
    x_i = 0) - F(x with x_i = 1))``. Its variance ``p (1 - p)`` is the variance
    term of the expected Hamming error (Figure 7 of Montavon et al. 2016) when
    the entry is completed from the rest. Evaluated on the model's own samples
    (its PCD chains, or :meth:`~skwass.neural_network.WassersteinRBM.sample`),
    it measures speckle: 0 for a model whose samples are certain pixel by pixel,
    0.25 for coin flips.

    Parameters
    ----------
    estimator : fitted WassersteinRBM or sklearn BernoulliRBM
    X : array-like of shape (n_samples, n_features)
        Binary states, typically samples of the model.

    Returns
    -------
    variance : float
        ``p (1 - p)`` averaged over rows and features; multiply by
        ``n_features`` for the per-row sum.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn.neural_network import BernoulliRBM
    >>> from skwass.metrics import conditional_variance
    >>> rbm = BernoulliRBM(n_components=2, random_state=0).fit(np.eye(3))
    >>> rbm.components_[:] = 0.0
    >>> rbm.intercept_visible_[:] = 0.0  # every pixel a fair coin
    >>> conditional_variance(rbm, np.eye(3))
    0.25
    """
    W, a, b = _rbm_parameters(estimator)
    X = check_array(X, dtype=np.float64)
    if X.shape[1] != W.shape[1]:
        raise ValueError(f"X has {X.shape[1]} features but the model has {W.shape[1]}.")
    _check_binary_row(X, "X", missing_allowed=False)
    total = 0.0
    for start in range(0, X.shape[0], _BLOCK_ROWS):
        V = X[start:start + _BLOCK_ROWS]
        z = (V @ W.T + b)[:, None, :]  # (rows, 1, hidden)
        # Pre-activations with feature i set to 1 and to 0: (rows, features, hidden).
        z_on = z + ((1 - V)[:, :, None] * W.T[None])
        z_off = z - (V[:, :, None] * W.T[None])
        log_odds = a + (np.logaddexp(0, z_on) - np.logaddexp(0, z_off)).sum(axis=2)
        p = expit(log_odds)
        total += float((p * (1 - p)).sum())
    return total / X.size


@validate_params(
    {"X": ["array-like"], "image_shape": [tuple]},
    prefer_skip_nested_validation=True,
)
def isolated_pixel_fraction(X, image_shape):
    """Fraction of the on-pixels of binary images that have no on-pixel among their 8 neighbors.

    Salt-and-pepper speckle, as in the standard RBM samples of Figure 3 of
    Montavon et al. (2016), is made of such pixels; a clean stroke has none.

    Parameters
    ----------
    X : array-like of shape (n_samples, height * width)
        Binary images, one flattened (row-major) per row.
    image_shape : tuple of int
        ``(height, width)``.

    Returns
    -------
    fraction : float
        Isolated on-pixels over all on-pixels (0 when no pixel is on).

    Examples
    --------
    >>> from skwass.metrics import isolated_pixel_fraction
    >>> image = [[1, 1, 0,
    ...           0, 0, 0,
    ...           0, 0, 1]]
    >>> isolated_pixel_fraction(image, (3, 3))
    0.3333333333333333
    """
    X = check_array(X, dtype=np.float64)
    if (len(image_shape) != 2 or not all(isinstance(s, Integral) and s > 0 for s in image_shape)
            or image_shape[0] * image_shape[1] != X.shape[1]):
        raise ValueError(
            f"image_shape={image_shape} must be two positive integers whose product is the "
            f"number of features, {X.shape[1]}."
        )
    _check_binary_row(X, "X", missing_allowed=False)
    images = X.reshape(-1, *image_shape)
    ring = np.ones((1, 3, 3))
    ring[0, 1, 1] = 0
    neighbors = convolve(images, ring, mode="constant")
    on = images.sum()
    return float(((images == 1) & (neighbors == 0)).sum() / on) if on else 0.0
