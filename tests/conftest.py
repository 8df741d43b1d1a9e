import numpy as np
import pytest
from _fake_device import DeviceArray, on_device

from skwass.ot import _device


@pytest.fixture
def rng():
    return np.random.default_rng(0)


# The device functions of skwass.ot whose calls the fake device records, and which
# of their outputs are device arrays (None: all of them; check_point_pair and
# check_mmd_weights give their first two on the device, the rest on the host).
_SPIED = {"sinkhorn": None, "sinkhorn_points": None, "cost_matrix": None,
          "check_points": None, "check_mmd_weights": slice(0, 2),
          "divergence_solvers": None, "check_point_pair": slice(0, 2),
          "solve_symmetric_points": None, "plan_cost_gradient": None}


@pytest.fixture
def fake_device(monkeypatch):
    """The reference backend (NumPy) posing as a GPU backend.

    Returns ``(to_device, calls)``: ``to_device(x)`` marks a NumPy array so
    that the public functions of ``skwass.ot`` send it to
    :mod:`skwass._backend._reference` (the CuPy backend's algorithm written
    with NumPy). Their array outputs come back marked too, as CuPy returns
    CuPy arrays. ``calls`` lists ``(function, backend name)`` of each call that
    took the device path.
    """
    import skwass._backend as backend_module

    array_module = backend_module._array_module
    monkeypatch.setitem(backend_module._REGISTRY, "reference", "skwass._backend._reference")
    monkeypatch.setattr(
        backend_module, "_array_module",
        lambda arr: "reference" if isinstance(arr, DeviceArray) else array_module(arr),
    )
    calls = []
    for name, on_device_part in _SPIED.items():
        original = getattr(_device, name)

        def spy(backend, *args, _original=original, _name=name, _part=on_device_part,
                **kwargs):
            calls.append((_name, backend.name))
            out = _original(backend, *args, **kwargs)
            if _part is None:
                return on_device(out)
            marked = list(out)
            marked[_part] = on_device(tuple(marked[_part]))
            return tuple(marked)

        monkeypatch.setattr(_device, name, spy)
    return lambda x: np.asarray(x).view(DeviceArray), calls
