"""Where an estimator trains (its ``device`` parameter): the host (NumPy) or a CUDA GPU (CuPy).

Estimators with a ``device`` parameter resolve it here once per fit. On a GPU
they keep their training state in CuPy arrays and call :mod:`skwass.ot` with
them, which dispatches to the CuPy backend; the fitted attributes are NumPy
arrays again when ``fit`` returns, so a fitted model predicts, pickles and
scores on any machine. Random numbers are drawn on the host from the
estimator's ``random_state`` and copied over, so a GPU fit follows the same
random stream as a CPU fit.

CuPy is imported only when ``device="cuda"`` is asked for, or when ``"auto"``
meets a CuPy array.
"""

from dataclasses import dataclass
from types import ModuleType

import numpy as np
from scipy.special import expit as _scipy_expit

from skwass._backend import _array_module, get_backend

DEVICES = ("auto", "cpu", "cuda")


@dataclass(frozen=True)
class Device:
    """An array namespace and the few operations the estimators need beyond it.

    Attributes
    ----------
    name : str
        ``"cpu"`` or ``"cuda"``.
    xp : module
        ``numpy`` or ``cupy``.
    """

    name: str
    xp: ModuleType

    @property
    def on_host(self):
        """True for the host (the ``"cpu"`` device)."""
        return self.name == "cpu"

    def asarray(self, x, dtype=np.float64):
        """``x`` on this device (no copy when it is there already with ``dtype``)."""
        return self.xp.asarray(x, dtype=dtype)

    def to_host(self, x):
        """A NumPy array of ``x`` (``x`` itself when it is one)."""
        return x if isinstance(x, np.ndarray) else self.xp.asnumpy(x)


CPU = Device("cpu", np)


def _cuda_device():
    try:
        import cupy
    except ImportError as exc:
        raise ImportError(
            "device='cuda' needs CuPy: install the gpu extra, pip install 'skwass[gpu]'."
        ) from exc
    return Device("cuda", cupy)


# Constructors of the non-host devices; tests put a NumPy stand-in here.
_DEVICE_FACTORIES = {"cuda": _cuda_device}


def namespace(x):
    """``numpy`` for NumPy arrays, else the module of ``x``'s library (``cupy``)."""
    return get_backend(x).xp


def expit(x):
    """The logistic function of the float array ``x``, in place, on its device."""
    if isinstance(x, np.ndarray):
        return _scipy_expit(x, out=x)
    from cupyx.scipy.special import expit as _cupy_expit

    return _cupy_expit(x, out=x)


def uniform_like(rng, x):
    """Uniform draws of ``x``'s shape from the host ``rng``, on ``x``'s device."""
    u = rng.uniform(size=x.shape)
    return u if isinstance(x, np.ndarray) else namespace(x).asarray(u)


def is_device_array(X):
    """True for a CuPy array (anything the ``cuda`` device holds)."""
    return _array_module(X) == "cupy"


def host_copy(X):
    """``X`` with CuPy arrays copied to NumPy, for scikit-learn's input validation.

    Examples
    --------
    >>> import numpy as np
    >>> from skwass._backend._device import host_copy
    >>> host_copy([1.0, 2.0])
    [1.0, 2.0]
    """
    return X.get() if is_device_array(X) else X


def resolve_device(device, X=None):
    """The :class:`Device` for an estimator's ``device`` parameter.

    Parameters
    ----------
    device : {"auto", "cpu", "cuda"}
        ``"auto"`` trains where ``X`` lives: on the GPU for a CuPy array, else
        on the host.
    X : array-like or None
        The training data as passed to ``fit``.

    Examples
    --------
    >>> from skwass._backend._device import resolve_device
    >>> resolve_device("auto", [[0.0, 1.0]]).name
    'cpu'
    """
    if device == "auto":
        device = "cuda" if is_device_array(X) else "cpu"
    if device == "cpu":
        return CPU
    if device not in _DEVICE_FACTORIES:
        raise ValueError(f"device must be one of {DEVICES}, got {device!r}.")
    return _DEVICE_FACTORIES[device]()
