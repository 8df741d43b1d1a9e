"""Accuracy of the multiscale example's fit against data size, model sample and tolerance.

``examples/mke/plot_multiscale_fit.py`` at full size gave a parameter error of
0.018 on all 100,000 points (10,000 model points) and 0.014 on a subsample of
3,000: no better with 33 times the data. This script fits the example's affine
model (same settings, smaller sizes) over several seeds of the data and of the
model's noise and prints, per setting, the errors, the fitted parallelogram's
size against the true one (``sqrt(det L / det L_true)``), the final loss, the
L-BFGS iterations and its stopping message, so that the causes can be told
apart:

* the model sample's own noise (the noise is drawn once per fit);
* L-BFGS stopping early: SciPy's ``ftol`` is relative to ``max(|f|, 1)``, and
  the loss here is about 2e-4;
* a bias that depends on the sizes of the two samples.

Usage: ``python benchmarks/mke_multiscale_ablation.py [n_data n_model tol ...]``
(default: 20000 2000 1e-6, 20000 2000 1e-12, 20000 500 1e-6), three seeds each.
"""

import pathlib
import sys
import warnings

import numpy as np

from skwass.mke import MinimumKantorovichEstimator
from skwass.mke._engine import minimize_loss

EXAMPLE = pathlib.Path(__file__).parents[1] / "examples" / "mke" / "plot_multiscale_fit.py"


def example_model():
    """``affine``, ``affine_jacobian``, ``uniform_square`` and ``TRUE`` of the example,
    read from its source without running the fits."""
    source = EXAMPLE.read_text()
    head = source[:source.index("# The data's seed differs")]
    namespace = {"__name__": "example"}
    exec(compile(head, str(EXAMPLE), "exec"), namespace)
    return namespace


def fit(m, data, n_model, tol, seed):
    messages = []
    original = minimize_loss.__globals__["minimize"]

    def recording(*args, **kwargs):
        res = original(*args, **kwargs)
        messages.append(str(res.message))
        return res

    minimize_loss.__globals__["minimize"] = recording
    try:
        est = MinimumKantorovichEstimator(
            m["affine"], theta0=[0.0, 0.0, 1.0, 0.0, 1.0], jac=m["affine_jacobian"],
            bounds=[(None, None), (None, None), (1e-3, None), (None, None), (1e-3, None)],
            loss="sinkhorn_divergence", eps=0.0025, metric="sqeuclidean",
            noise=m["uniform_square"], n_samples_simulated=n_model, max_iter=100, tol=tol,
            random_state=seed,
        )
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            est.fit(data)
    finally:
        minimize_loss.__globals__["minimize"] = original
    return est, messages[-1]


def main(settings):
    m = example_model()
    print(f"{'n data':>7s} {'model':>6s} {'tol':>6s} {'seed':>4s} {'|error|':>8s} {'scale':>6s} "
          f"{'loss':>10s} {'iter':>4s}  L-BFGS message", flush=True)
    for n_data, n_model, tol in settings:
        errors = []
        for seed in range(3):
            rng = np.random.RandomState(100 + seed)
            data = m["affine"](m["TRUE"], m["uniform_square"](rng, n_data))
            est, message = fit(m, data, n_model, tol, seed)
            errors.append(np.linalg.norm(est.theta_ - m["TRUE"]))
            # The fitted parallelogram's size against the true one's: sqrt of det L ratio.
            scale = np.sqrt(est.theta_[2] * est.theta_[4] / (m["TRUE"][2] * m["TRUE"][4]))
            print(f"{n_data:>7d} {n_model:>6d} {tol:>6.0e} {seed:>4d} {errors[-1]:8.4f} "
                  f"{scale:6.3f} {est.loss_:10.3e} {est.n_iter_:>4d}  {message}", flush=True)
        print(f"{'':>7s} {'':>6s} {'':>6s} {'rms':>4s} {np.sqrt(np.mean(np.square(errors))):8.4f}",
              flush=True)


if __name__ == "__main__":
    args = sys.argv[1:]
    if args:
        settings = [(int(args[i]), int(args[i + 1]), float(args[i + 2]))
                    for i in range(0, len(args), 3)]
    else:
        settings = [(20_000, 2_000, 1e-6), (20_000, 2_000, 1e-12), (20_000, 500, 1e-6)]
    main(settings)
