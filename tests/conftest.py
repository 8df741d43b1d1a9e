import dataclasses

import numpy as np
import pytest

from skwass.ot import _device
from skwass.ot._sinkhorn import SinkhornResult


@pytest.fixture
def rng():
    return np.random.default_rng(0)


class DeviceArray(np.ndarray):
    """Marks arrays that :func:`fake_device` sends to the reference backend."""


def _on_device(out):
    """Mark the arrays of a device-path output, as CuPy returns CuPy arrays."""
    if isinstance(out, np.ndarray):
        return out.view(DeviceArray)
    if isinstance(out, tuple):
        return tuple(_on_device(x) for x in out)
    if isinstance(out, SinkhornResult):
        arrays = {field.name: _on_device(getattr(out, field.name))
                  for field in dataclasses.fields(out)
                  if isinstance(getattr(out, field.name), np.ndarray)}
        return dataclasses.replace(out, **arrays)
    return out


@pytest.fixture
def fake_device(monkeypatch):
    """The reference backend (NumPy) posing as a GPU backend.

    Returns ``(to_device, calls)``: ``to_device(x)`` marks a NumPy array so
    that the public functions of ``skwass.ot`` send it to
    :mod:`skwass._backend._reference` (the CuPy backend's algorithm written
    with NumPy), and ``calls`` lists ``(function, backend name)`` of each call
    that took the device path.
    """
    import skwass._backend as backend_module

    array_module = backend_module._array_module
    monkeypatch.setitem(backend_module._REGISTRY, "reference", "skwass._backend._reference")
    monkeypatch.setattr(
        backend_module, "_array_module",
        lambda arr: "reference" if isinstance(arr, DeviceArray) else array_module(arr),
    )
    calls = []
    for name in ("sinkhorn", "sinkhorn_points", "cost_matrix", "sinkhorn_divergence", "mmd"):
        original = getattr(_device, name)

        def spy(backend, *args, _original=original, _name=name, **kwargs):
            calls.append((_name, backend.name))
            return _on_device(_original(backend, *args, **kwargs))

        monkeypatch.setattr(_device, name, spy)
    return lambda x: np.asarray(x).view(DeviceArray), calls
