import numpy as np
import pytest
from _fake_device import DeviceArray, on_device

from skwass._backend import _reference


@pytest.fixture
def rng():
    return np.random.default_rng(0)


# The operations of the backend interface (see skwass._backend).
OPERATIONS = ("sinkhorn_stack", "sinkhorn_points", "sinkhorn_symmetric",
              "sinkhorn_symmetric_points", "ctransform_rows", "plan_statistics",
              "plan_statistics_points", "plan_matrix", "cost_gradient",
              "plan_cost_gradient_points", "pairwise_cost", "hamming")


@pytest.fixture
def fake_device(monkeypatch):
    """The reference backend (NumPy) posing as a GPU backend.

    Returns ``(to_device, calls)``: ``to_device(x)`` marks a NumPy array so
    that the public functions of ``skwass.ot`` send it to
    :mod:`skwass._backend._reference` (the CuPy backend's primitives written
    with NumPy, under the same array-namespace solver and the same front-end
    code as CuPy). Their array outputs come back marked too, as CuPy returns
    CuPy arrays. ``calls`` lists ``(operation, backend name)`` of each
    backend operation that the device path ran.
    """
    import skwass._backend as backend_module

    array_module = backend_module._array_module
    monkeypatch.setitem(backend_module._REGISTRY, "reference", "skwass._backend._reference")
    monkeypatch.setattr(
        backend_module, "_array_module",
        lambda arr: "reference" if isinstance(arr, DeviceArray) else array_module(arr),
    )
    calls = []
    for name in OPERATIONS:
        original = getattr(_reference, name)

        def spy(*args, _original=original, _name=name, **kwargs):
            calls.append((_name, _reference.name))
            return on_device(_original(*args, **kwargs))

        monkeypatch.setattr(_reference, name, spy)
    return lambda x: np.asarray(x).view(DeviceArray), calls
