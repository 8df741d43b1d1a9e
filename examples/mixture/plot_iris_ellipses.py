"""
======================================================
Fitting Iris with uniform ellipsoids (Genevay Table 1)
======================================================

Genevay, Peyre & Cuturi (2018), section 4.1: the Iris data projected to 3-D by
PCA is fitted by K = 3 ellipsoids of uniform density and equal mass, with a
Gaussian-kernel MMD loss and with the Sinkhorn loss for eps in {1, 0.1, 0.001}.
Entry (i, j) of each table counts the points of class j inside ellipsoid i
(50 points per class); our rows are ordered to match the paper's.

**Protocol.** The paper's: plain SGD (``solver="sgd"``) on the debiased
algorithmic loss W_L with L = 20 Sinkhorn iterations, m = 200 model points per
step, the raw cost ``|x - y|^2``, shapes ``A_k = I`` (unit balls) and centers
from k-means. What the paper leaves open, and what we chose:

* the step size and the number of steps ("after convergence"): step 1 and
  1000 steps, after which the eps = 1 and 0.1 tables no longer change (the MMD
  fit still tightens slowly, see below);
* the data minibatch: m = 200 is more than Iris's 150 points, so every step
  uses all of them;
* the loss scale: our W_L has probability weights, the paper's unit marginals
  make it m times larger, which only rescales the SGD step;
* the optimizer: section 4.1 says SGD, Algorithm 1 (written for the
  learned-cost GAN) RMSProp; we follow section 4.1 and ablate Adam, which,
  like RMSProp, normalizes its steps;
* the MMD bandwidth, "manually tuned" but not given: h = 1 (a sweep below).

At eps = 0.001 the unrolled scalings of W_L over/underflow on these costs (the
largest squared distance is ~50 000 eps); skwass then runs the same 20
iterations in the log domain, so the loss is the paper's in every column.

**What the ablations showed.** ``iris_table1_ablations.py``, next to this
file, prints three tables (about 25 minutes on 2 cores). First Theorem 1: as eps
grows the debiased loss tends to ``MMD_{-c}``, which for ``|x - y|^2`` is
``2 |mean(X) - mean(Y)|^2`` and gives the shapes no gradient. The mean
gradient at the starting unit balls (20 minibatches) confirms the limit but
places it far above eps = 1 in these units (mean squared distance 9.0)::

         eps    |g_A|    |g_c|  |g - g_limit|
       0.001   0.2197   0.1518         0.4666
        0.01   0.3076   0.0751         0.4455
         0.1   0.3667   0.1456         0.4292
           1   0.3083   0.3811         0.3999
          10   0.0505   0.4153         0.2958
         100   0.0127   0.3024         0.0640
        1000   0.0100   0.2960         0.0062
       10000   0.0100   0.2960         0.0006
       limit   0.0100   0.2960

(the limit's shape gradient, 0.01, is the minibatch noise of the mean of z).
At eps = 1 the shapes get as much gradient as at eps = 0.1. Then Table 1
under each change (diagonal; the versicolor/virginica confusions; the mean
``|det A_k|^(1/3)`` and the longest semi-axis, both 1 at the start)::

    group         run                                      steps       diag     off radius longest
    paper         MMD                                              36/39/42   13,11
    paper         eps = 1                                          50/50/47   38,36
    paper         eps = 0.1                                        44/38/40     5,8
    paper         eps = 0.001                                      33/37/25    3,12
    protocol      eps = 1, start (unit balls at k-means)       0   47/42/31    12,1   1.00    1.00
    protocol      eps = 1                                     10   44/40/37    7,14   0.79    1.56
    protocol      eps = 1                                     30   41/39/42     4,5   0.71    1.83
    protocol      eps = 1                                    100   35/34/37     2,2   0.64    1.90
    protocol      eps = 1                                    300   36/32/32     0,1   0.62    1.90
    protocol      eps = 1                                   1000   36/31/34     0,1   0.62    1.85
    protocol      eps = 1                                   3000   36/33/34     0,1   0.63    1.95
    protocol      eps = 0.1                                  100   35/32/31     4,1   0.62    1.91
    protocol      eps = 0.1                                 1000   34/30/32     2,1   0.61    1.84
    protocol      eps = 0.001                                100   30/31/34    14,1   0.64    2.24
    protocol      eps = 0.001                               1000   35/32/25   24,33   0.71    2.76
    protocol      MMD h = 1                                  100   45/40/39    6,10   0.83    1.17
    protocol      MMD h = 1                                 1000   39/38/41     5,7   0.74    1.59
    protocol      MMD h = 1                                 3000   38/33/43     3,2   0.69    1.74
    optimizer     eps = 1, Adam lr 0.01                      100   43/40/42     5,3   0.74    1.80
    optimizer     eps = 1, Adam lr 0.01                     1000   37/33/32     0,1   0.62    1.86
    optimizer     MMD h = 1, Adam lr 0.01                   1000   39/32/36     0,1   0.65    1.73
    optimizer     eps = 1, SGD lr 0.1                        100   45/42/41    8,10   0.80    1.58
    optimizer     eps = 1, SGD lr 0.1                       1000   36/35/37     0,1   0.64    1.91
    optimizer     eps = 1, SGD lr 0.1                       3000   37/34/33     0,1   0.62    1.94
    optimizer     eps = 0.001, Adam lr 0.01                 1000   35/35/25     8,1   0.61    1.74
    optimizer     eps = 0.001, SGD lr 0.1                   1000   32/39/26    19,0   0.64    1.74
    cost unit     eps = 1 x mean cost (9.0), lr 1/9.0       1000   36/24/33     0,2   0.65    1.30
    cost unit     eps = 1 x median cost (5.4), lr 1/5.4     1000   29/35/39     5,3   0.65    1.65
    cost unit     eps = 1 x max cost (50.2), lr 1/50.2      1000   46/38/33     3,2   0.95    0.99
    eps           eps = 10 (raw)                            1000     0/3/27     0,0   0.35    1.27
    eps           eps = 100 (raw)                           1000      7/6/1     0,0   0.25    0.42
    init          eps = 1, centers at 3 random points       1000   36/32/33     0,1   0.61    1.97
    MMD bandwidth MMD h = 0.25                              1000   37/35/36     0,1   0.62    1.35
    MMD bandwidth MMD h = 0.5                               1000   41/36/37     1,1   0.66    1.59
    MMD bandwidth MMD h = 2                                 1000   44/30/33     2,1   0.77    1.03
    MMD bandwidth MMD h = 4                                 1000   46/38/32     3,2   0.93    0.99
    data          eps = 1, PCA of standardized features     1000   31/34/38     1,1   0.83    1.99

* **Optimizer and budget.** At eps = 1, SGD with step 1 or 0.1 and Adam all
  reach the same tight table by 1000 steps and keep it to 3000; on the way
  they pass between the starting unit balls and that table, never near the
  paper's. For MMD the optimizer matters: SGD tightens slowly (1000 steps:
  39/38/41 with 5 and 7 confused, near the paper's; 3000 steps: 38/33/43, 3
  and 2), Adam gives 39/32/36, 0 and 1 (our old table). The paper's MMD table
  looks like an SGD run that has not converged yet.
* **Cost unit.** Dividing the cost by its mean, median or maximum is raw eps
  = 9.0, 5.4 or 50 (with the loss, so the SGD step, divided by the same). At
  the maximum the shapes stay at the unit balls, as Theorem 1 predicts; no
  unit gives the paper's loose eps = 1 table.
* **eps.** Raw eps = 10 and 100 (the Theorem-1 regime) give tighter fits, not
  looser: over 1000 steps the terms in 1/eps still act, and they match only
  the mean and covariance of the whole mixture, which the spreading centers
  can do alone; the ellipsoids shrink (radius 0.35 and 0.25). The script's
  third table (per-axis variances of the fitted mixture, the data and the
  centers) shows it::

       eps |mean diff|            model var             data var          centers var
        10       0.035  4.206  0.211  0.057  4.200  0.241  0.078  4.136  0.061  0.006
       100       0.030  4.201  0.204  0.017  4.200  0.241  0.078  4.192  0.183  0.000

* **eps = 0.001** is the unstable setting (L = 20 iterations are far from
  converged there): its SGD fit confuses 24 and 33 versicolor/virginica
  points (19 and 0 with step 0.1, 8 and 1 with Adam), where the paper has 3
  and 12. It is the only loose fit we saw.
* **Initialization.** Ours is the paper's; centers at three random points
  instead of k-means end at the same kind of tight table.
* **MMD bandwidth.** From h = 0.25 to 4 (1000 steps) the confusions stay
  between 0 and 3, except 5 and 7 at h = 1; a wider kernel leaves the shapes
  nearer the unit balls (radius 0.93 at h = 4). No bandwidth gives the
  paper's 13 and 11.
* **Preprocessing.** PCA of standardized features instead of raw ones gives a
  tight table too.

**Conclusion.** The mechanism the paper suggests is real but does not reach
eps = 1 with the raw cost: the loss there still fits the shapes, and under
the stated protocol the eps = 1 fit is as tight as the eps = 0.1 one. Had the
shapes stayed at their unit-ball start, the table would read 47/42/31 with 12
and 1 confused, still far from the paper's 50/50/47 with 38 and 36. No
ablation at eps >= 1 ends looser than that start: a larger eps leaves the
ellipsoids there (small steps) or shrinks them. We do not reproduce the loose
eps = 1 fit, and report it as not following from the protocol as the paper
states it.
"""

import os

import matplotlib.pyplot as plt
import numpy as np

# The protocol, the paper's numbers and the table helpers live beside this
# file, in the ablation script that tests each candidate difference.
from iris_table1_ablations import PAPER, SETTINGS, fit_protocol, iris_pca3, paper_table

from skwass.plotting import save_figures

FAST = os.environ.get("SKWASS_EXAMPLES_FAST") == "1"
MAX_ITER = 60 if FAST else 1000

X3, y = iris_pca3()
models, tables = {}, {}
for name, params in SETTINGS.items():
    models[name] = fit_protocol(X3, MAX_ITER, **params)
    tables[name] = paper_table(models[name], X3, y)

print(f"\nTable 1 after {MAX_ITER} SGD steps: points of class j (columns) inside "
      "ellipsoid i (rows)")
print(f"{'':13s}{'ours':>16s}   {'Genevay et al.':>18s}")
for name in SETTINGS:
    for i in range(3):
        label = name if i == 0 else ""
        ours = " ".join(f"{v:4d}" for v in tables[name][i])
        paper = " ".join(f"{v:4d}" for v in PAPER[name][i])
        print(f"{label:13s}{ours:>16s}   {paper:>18s}")
    print()

# Draw the fitted ellipsoids in 3-D.
u, v = np.meshgrid(np.linspace(0, 2 * np.pi, 24), np.linspace(0, np.pi, 12))
sphere = np.stack([np.cos(u) * np.sin(v), np.sin(u) * np.sin(v), np.cos(v)], axis=-1)
fig = plt.figure(figsize=(14, 4))
colors = ["tab:blue", "tab:orange", "tab:green"]
for idx, (name, est) in enumerate(models.items()):
    ax = fig.add_subplot(1, 4, idx + 1, projection="3d")
    ax.scatter(*X3.T, c=[colors[c] for c in y], s=6)
    for A, c in zip(est.shapes_, est.centers_, strict=True):
        surface = sphere @ A.T + c
        ax.plot_wireframe(*np.moveaxis(surface, -1, 0), color="k", linewidth=0.3)
    ax.set_title(name)
fig.tight_layout()
save_figures("iris_ellipses")  # also on disk, in $SKWASS_FIGURE_DIR or ./skwass-figures
plt.show()
