#!/usr/bin/env bash
# Every GPU check of the project in one run, for a machine with an NVIDIA GPU and CuPy:
# the CUDA kernels compiled by NVRTC, tests/test_gpu.py (CuPy against the CPU path,
# estimators included), the CPU tests of the GPU algorithm, then the GPU benchmark.
#
#     bash benchmarks/run_gpu_checks.sh            # logs in ./gpu-checks, or in $OUT
#
# Packages missing there (POT, say) can come as wheels in ./.whl: they are installed
# into /tmp/site first, without the network. skwass itself runs from this checkout.
# BENCH_ARGS overrides the benchmark's arguments (default: POT capped at 20,000
# iterations, so that its slow log-domain method fits the time); BENCH_TIMEOUT
# (seconds, default 420) bounds the benchmark, so that the logs come back even if it
# runs long.
set -uo pipefail
cd "$(dirname "$0")/.."
out=${OUT:-gpu-checks}
mkdir -p "$out"
if compgen -G ".whl/*.whl" > /dev/null; then
    python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade \
        --target /tmp/site .whl/*.whl || exit 1
    export PYTHONPATH=/tmp/site
fi
export PYTHONPATH=$PWD${PYTHONPATH:+:$PYTHONPATH} PYTHONUNBUFFERED=1
export NUMBA_CACHE_DIR=/tmp/numba-cache
{
    nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv
    python3 -c "import cupy, numpy, numba, ot; print('cupy', cupy.__version__, 'numpy',
numpy.__version__, 'numba', numba.__version__, 'POT', ot.__version__)"
} 2>&1 | tee "$out/versions.log"
python3 -m pytest -q -p no:cacheprovider -rs tests/test_cuda_sources.py tests/test_gpu.py \
    tests/test_backend.py tests/test_device.py 2>&1 | tee "$out/tests.log"
tests_rc=${PIPESTATUS[0]}
# shellcheck disable=SC2086  # BENCH_ARGS is a list of arguments
timeout "${BENCH_TIMEOUT:-420}" python3 benchmarks/bench_gpu.py ${BENCH_ARGS:---pot-max-iter 20000} 2>&1 \
    | tee "$out/bench_gpu.log"
bench_rc=${PIPESTATUS[0]}
echo "tests exit $tests_rc, benchmark exit $bench_rc" | tee -a "$out/tests.log"
exit $(( tests_rc || bench_rc ))
