"""
=====================================================================
Training a Wasserstein RBM on a memory-mapped array larger than RAM
=====================================================================

Data that do not fit in memory are kept on disk in a ``.npy`` file and read
one chunk at a time; each chunk is cut into minibatches that go through
:meth:`~skwass.neural_network.WassersteinRBM.partial_fit`, one gradient update
each (a minibatch Sinkhorn loss, as Genevay et al. train). Only one chunk, the
model and its persistent chains are ever in memory.

The data set is made of noisy binarized copies of scikit-learn's 8 x 8
handwritten digits (each pixel of a copy flipped with probability 5 %),
written to a memory-mapped file with :func:`numpy.lib.format.open_memmap`.
The file is larger than the RAM budget ``RAM_BUDGET``; the growth of the
process's peak resident memory (``resource.getrusage``) is measured while
the file is written and streamed, and compared with the budget.

Pages read through a memory map count in the resident set as long as the map
is open, so the map is reopened for each chunk and closed (``del``) once the
chunk is copied: the pages then leave the process. The same loop streams the
blocks of a ``dask.array`` (``for block in array.blocks``) or of an HDF5 or
Zarr array.

Set ``SKWASS_EXAMPLES_FAST=1`` for a quick run on a smaller file.
"""

import os
import sys
import tempfile
import time
import warnings

import matplotlib.pyplot as plt
import numpy as np
from sklearn.datasets import load_digits
from sklearn.exceptions import ConvergenceWarning

from skwass.neural_network import WassersteinRBM
from skwass.plotting import save_figures

FAST = os.environ.get("SKWASS_EXAMPLES_FAST") == "1"
N_ROWS = 40_000 if FAST else 100_000
CHUNK_ROWS = 5_000  # rows read from disk at a time (2.6 MB of float64)
BATCH_SIZE = 50  # rows per partial_fit update
RAM_BUDGET = 16 * 2**20  # bytes the streaming may add to the resident memory
warnings.simplefilter("ignore", ConvergenceWarning)


def peak_rss():
    """Peak resident memory of this process so far, in bytes (None if unknown)."""
    try:
        import resource
    except ImportError:  # Windows
        return None
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak if sys.platform == "darwin" else peak * 1024  # KiB on Linux


digits = load_digits()
images = (digits.data >= 8).astype(np.float64)
rng = np.random.default_rng(0)
held_out = rng.permutation(len(images))[:300]
train_images = np.delete(images, held_out, axis=0)
X_test = images[held_out]

# Compile the kernels before measuring (the JIT's memory is not the stream's).
WassersteinRBM(n_components=4, n_pretrain_iter=1, random_state=0).partial_fit(
    X_test[:20]).partial_fit(X_test[:20]).score(X_test[:20])
rss_start = peak_rss()

# %%
# Write the data set, one chunk at a time
# ---------------------------------------
folder = tempfile.mkdtemp()
path = os.path.join(folder, "digits_stream.npy")
n_features = images.shape[1]
disk = np.lib.format.open_memmap(path, mode="w+", dtype=np.float64,
                                 shape=(N_ROWS, n_features))  # header + sparse file
del disk
for start in range(0, N_ROWS, CHUNK_ROWS):
    stop = min(start + CHUNK_ROWS, N_ROWS)
    clean = train_images[rng.integers(0, len(train_images), stop - start)]
    flips = rng.random(clean.shape) < 0.05
    disk = np.load(path, mmap_mode="r+")
    disk[start:stop] = np.abs(clean - flips)
    disk.flush()
    del disk
size = os.path.getsize(path)
rss_written = peak_rss()
print(f"{path}: {N_ROWS} x {n_features} float64, {size / 2**20:.1f} MiB on disk; "
      f"RAM budget {RAM_BUDGET / 2**20:.0f} MiB")

# %%
# Stream it through partial_fit
# -----------------------------
# ``n_pretrain_iter`` counts updates in ``partial_fit``: the first half of the
# single pass pretrains on the KL objective, the second half fine-tunes on the
# full Wasserstein objective. The persistent chains are created from the
# first minibatch (``n_chains`` defaults to its size).
n_updates = N_ROWS // BATCH_SIZE
rbm = WassersteinRBM(n_components=32, eps=0.1, lam=0.1, learning_rate=0.1,
                     n_pretrain_iter=n_updates // 2, n_chains=200, random_state=0)
rss_after_chunk, test_w, test_pll = [], [], []
start_time = time.perf_counter()
for start in range(0, N_ROWS, CHUNK_ROWS):
    disk = np.load(path, mmap_mode="r")
    chunk = np.array(disk[start:start + CHUNK_ROWS])  # the only rows in memory
    del disk
    for batch in range(0, chunk.shape[0], BATCH_SIZE):
        rbm.partial_fit(chunk[batch:batch + BATCH_SIZE])
    del chunk
    rss_after_chunk.append(peak_rss())
    test_w.append(-rbm.score(X_test))
    test_pll.append(rbm.score_samples(X_test).mean())
elapsed = time.perf_counter() - start_time
os.remove(path)
os.rmdir(folder)

print(f"{rbm.n_steps_} updates in {elapsed:.1f} s; held-out W_0.1 after each chunk: "
      + ", ".join(f"{w:.3f}" for w in test_w))
print("held-out pseudo-log-likelihood after each chunk: "
      + ", ".join(f"{v:.2f}" for v in test_pll))
if rss_start is not None:
    growth = rss_after_chunk[-1] - rss_start
    print(f"peak resident memory grew by {(rss_written - rss_start) / 2**20:.1f} MiB while "
          f"writing, {growth / 2**20:.1f} MiB in all after streaming {size / 2**20:.1f} MiB "
          f"(budget {RAM_BUDGET / 2**20:.0f} MiB): "
          f"{'within' if growth <= RAM_BUDGET else 'OVER'} budget")

# %%
# The training curve and the memory used
# --------------------------------------
fig, axes = plt.subplots(1, 3, figsize=(13, 3.6))
axes[0].plot(rbm.wasserstein_curve_, lw=0.8)
axes[0].set(xlabel="fine-tuning update", ylabel="minibatch W_eps",
            title="Wasserstein loss per partial_fit")
rows_read = np.minimum(np.arange(1, len(test_w) + 1) * CHUNK_ROWS, N_ROWS)
axes[1].plot(rows_read, test_pll, marker="o")
axes[1].set(xlabel="rows streamed", ylabel="mean score_samples(X_test)",
            title="held-out pseudo-log-likelihood")
if rss_start is not None:
    axes[2].plot(rows_read, (np.array(rss_after_chunk) - rss_start) / 2**20, marker="o",
                 label="peak RSS growth")
axes[2].plot(rows_read, rows_read * n_features * 8 / 2**20, ls=":",
             label="rows read so far")
axes[2].axhline(RAM_BUDGET / 2**20, color="k", ls="--", label="RAM budget")
axes[2].set(xlabel="rows streamed", ylabel="MiB", title="memory")
axes[2].legend()
fig.tight_layout()

fig, axes = plt.subplots(2, 8, figsize=(8, 2.4))
samples = rbm.sample(8, n_gibbs=200, random_state=0)
for ax, image in zip(axes.ravel(), np.vstack([X_test[:8], samples]), strict=True):
    ax.imshow(image.reshape(8, 8), cmap="gray_r")
    ax.set_axis_off()
axes[0, 0].set_title("held-out digits", loc="left", fontsize=9)
axes[1, 0].set_title("model samples", loc="left", fontsize=9)
fig.tight_layout()
save_figures("memmap_streaming")  # also on disk, in $SKWASS_FIGURE_DIR or ./skwass-figures
plt.show()
