"""The CUDA kernel sources compile, with no GPU needed.

tests/test_gpu.py runs the kernels, but only where a GPU is. NVRTC (the CUDA
runtime compiler that CuPy uses) needs no device, so wherever CuPy and NVRTC
are installed these tests compile every variant the backend can ask for (both
dtypes; the point kernels for several dimensions and every metric) for Hopper
(``compute_90``), and fail on any compiler error or warning. Skipped without
CuPy or NVRTC, as in the test run of README.
"""

import itertools

import numpy as np
import pytest

from skwass._kernels import _cuda

pytest.importorskip("cupy")
try:
    from cupy.cuda import nvrtc

    nvrtc.getVersion()
except Exception as exc:  # pragma: no cover - CuPy without the NVRTC library
    pytest.skip(f"NVRTC is not available: {exc}", allow_module_level=True)

ARCH = "-arch=compute_90"


def compile_source(code, name):
    """PTX of ``code``; fails with NVRTC's log on an error or a warning."""
    program = nvrtc.createProgram(code, name, [], [])
    try:
        nvrtc.compileProgram(program, [ARCH, "-std=c++17"])
    except nvrtc.NVRTCError:
        pytest.fail(f"{name} does not compile:\n{nvrtc.getProgramLog(program)}")
    log = nvrtc.getProgramLog(program).strip("\x00").strip()
    assert not log, f"{name} compiles with messages:\n{log}"
    return nvrtc.getPTX(program)


def entry_points(ptx):
    text = ptx.decode() if isinstance(ptx, bytes) else ptx
    return {line.split("(")[0].split()[-1] for line in text.splitlines()
            if line.startswith(".visible .entry")}


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_row_kernels_compile(dtype):
    code = (_cuda._COMMON + _cuda._ROW_KERNELS).replace("__DTYPE__",
                                                         _cuda._CTYPES[np.dtype(dtype)])
    assert entry_points(compile_source(code, "rows.cu")) == {"lse_rows", "plan_rows"}


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_point_kernels_compile(dtype):
    for dim, metric in itertools.product((1, 3, 33, 64), _cuda.METRIC_CODES.values()):
        code = (_cuda._COMMON + _cuda._POINT_KERNELS).replace(
            "__DTYPE__", _cuda._CTYPES[np.dtype(dtype)])
        code = code.replace("__DIM__", str(dim)).replace("__METRIC__", str(metric))
        ptx = compile_source(code, f"points_{dim}_{metric}.cu")
        assert entry_points(ptx) == {"lse_points", "plan_points", "pairwise"}
