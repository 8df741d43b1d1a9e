"""RBMImputer against scikit-learn's imputers on incomplete binary digits, side by side.

    python benchmarks/bench_impute.py            # 8x8 digits, 10% of every row missing
    python benchmarks/bench_impute.py --quick    # fewer RBM epochs: a smoke run

The data are scikit-learn's 1,797 8 x 8 digits binarized as
:func:`skwass.datasets.load_mnist_small` does (``source="digits"``), with 10% of
the pixels of every row missing at random, split in halves; no row is complete,
so every imputer fits on incomplete data. For each imputer the script prints

- the expected Hamming error on the imputed pixels of the test half, per row
  (:func:`skwass.metrics.expected_hamming_error` with the imputed values read
  as probabilities, clipped to [0, 1]; a 0/1 imputation scores its Hamming
  distance);
- the accuracy of a logistic regression fitted on the imputed training half,
  with the same classifier fitted on the complete data as the reference;
- the imputer's fit time.
"""

import argparse
import os
import time
import warnings

import numpy as np
from sklearn.experimental import enable_iterative_imputer  # noqa: F401
from sklearn.impute import IterativeImputer, KNNImputer, SimpleImputer
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import train_test_split
from sklearn.neural_network import BernoulliRBM

from skwass.datasets import load_mnist_small
from skwass.impute import RBMImputer
from skwass.metrics import expected_hamming_error
from skwass.neural_network import WassersteinRBM


def digits_with_gaps(fraction, seed):
    """Binarized 8x8 digits with ``fraction`` of every row's pixels missing, split in halves."""
    X, y = load_mnist_small(digit=None, source="digits", return_X_y=True)
    rng = np.random.default_rng(seed)
    X_missing = X.copy()
    for row in X_missing:
        row[rng.choice(X.shape[1], round(fraction * X.shape[1]), replace=False)] = np.nan
    return train_test_split(X, X_missing, y, test_size=0.5, random_state=seed)


def classifier():
    return LogisticRegression(C=0.1, solver="newton-cg")


def imputers(epochs):
    rbm = BernoulliRBM(n_components=64, learning_rate=0.1, n_iter=epochs, random_state=0)
    wrbm = WassersteinRBM(n_components=64, learning_rate=0.05, n_pretrain_iter=10 * epochs,
                          n_iter=5 * epochs, lam=1.0, random_state=0)
    return {
        "SimpleImputer(mean)": SimpleImputer(),
        "SimpleImputer(most_frequent)": SimpleImputer(strategy="most_frequent"),
        "KNNImputer": KNNImputer(),
        "IterativeImputer": IterativeImputer(min_value=0, max_value=1, random_state=0),
        "RBMImputer(BernoulliRBM, mode)": RBMImputer(rbm, random_state=0),
        "RBMImputer(BernoulliRBM, mean)": RBMImputer(rbm, strategy="mean", random_state=0),
        "RBMImputer(WassersteinRBM, mode)": RBMImputer(wrbm, random_state=0),
        "RBMImputer(WassersteinRBM, mean)": RBMImputer(wrbm, strategy="mean",
                                                       random_state=0),
    }


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--missing", type=float, default=0.1, help="fraction missing per row")
    parser.add_argument("--epochs", type=int, default=30, help="BernoulliRBM epochs "
                        "(the full-batch WassersteinRBM gets 10x pretraining, 5x fine-tuning)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--quick", action="store_true", help="--epochs 5")
    args = parser.parse_args()
    if args.quick:
        args.epochs = 5
    X_train, X_test, gaps_train, gaps_test, y_train, y_test = digits_with_gaps(
        args.missing, args.seed
    )
    holes = np.isnan(gaps_test)
    print(f"8x8 digits, {X_train.shape[0]} train / {X_test.shape[0]} test rows, "
          f"{holes.sum(axis=1).mean():.1f} missing pixels per row; "
          f"cpus={os.cpu_count()}, load={os.getloadavg()[0]:.2f}")
    complete = classifier().fit(X_train, y_train).score(X_test, y_test)
    print(f"accuracy on complete data: {complete:.3f}\n")
    print(f"{'imputer':34s} {'E[Hamming]/row':>14s} {'accuracy':>9s} {'fit [s]':>8s}")
    warnings.simplefilter("ignore")
    for name, imputer in imputers(args.epochs).items():
        start = time.perf_counter()
        imputer.fit(gaps_train)
        elapsed = time.perf_counter() - start
        filled = np.clip(imputer.transform(gaps_test), 0, 1)
        # Both arrays as one row: the error summed over all imputed pixels, then per test row.
        error = expected_hamming_error(X_test[holes][None], filled[holes][None])
        accuracy = classifier().fit(imputer.transform(gaps_train), y_train).score(filled, y_test)
        print(f"{name:34s} {error / X_test.shape[0]:>14.3f} {accuracy:>9.3f} {elapsed:>8.2f}")


if __name__ == "__main__":
    main()
