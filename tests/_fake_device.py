"""Marked NumPy arrays that pose as GPU arrays (see the ``fake_device`` fixture)."""

import numpy as np


class DeviceArray(np.ndarray):
    """Marks arrays that :func:`fake_device` sends to the reference backend."""


def on_device(out):
    """Mark the arrays of a backend operation's output, as CuPy returns CuPy arrays."""
    if isinstance(out, np.ndarray):
        return out.view(DeviceArray)
    if isinstance(out, tuple):
        return tuple(on_device(x) for x in out)
    return out
