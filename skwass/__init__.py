"""skwass: minimum Kantorovich estimation with a scikit-learn API.

The optimal-transport core lives in :mod:`skwass.ot`.
"""

__version__ = "0.1.0.dev0"

from skwass import ot  # noqa: E402

__all__ = ["ot", "__version__"]
