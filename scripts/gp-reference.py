#!/usr/bin/python3
"""Writes scikit-learn reference GP results into tests/data/gp/ for the C++ tests.

Run with Debian's python3 (python3-sklearn from apt):  /usr/bin/python3 scripts/gp-reference.py
The data sets are drawn from a fixed seed, so re-running reproduces the files (up to the
scikit-learn version, which is recorded in each JSON).

For every data set NAME it writes
  NAME.train.csv   channel columns c0[,c1] and the target y (raw units)
  NAME.query.csv   channel columns to predict at
  NAME.json        bounds; at fixed hyper-parameters: theta, log marginal likelihood and its
                   gradient, predictive mean and std; after fitting (docs/method.md §3 bounds, 4
                   restarts): theta, log marginal likelihood, mean and std.
Inputs are scaled to [0, 1] by the bounds before scikit-learn sees them, as our GP does.
"""
import json
import os
import sys

import numpy as np
import sklearn
from sklearn.gaussian_process import GaussianProcessRegressor
from sklearn.gaussian_process.kernels import ConstantKernel, Matern, WhiteKernel

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "..", "tests", "data", "gp")


def kernel(dims, signal=1.0, length=1.0, noise=1e-2, fixed=False):
    bounds = "fixed" if fixed else None
    return (ConstantKernel(signal, bounds or (1e-3, 1e3))
            * Matern(length_scale=[length] * dims if np.isscalar(length) else list(length),
                     length_scale_bounds=bounds or (1e-2, 1e2), nu=2.5)
            + WhiteKernel(noise, bounds or (1e-6, 1.0)))


def energy_like(x):
    """A smooth-with-kinks cost surface, joules-per-iteration-like magnitudes."""
    c0 = x[:, 0]
    c1 = x[:, 1] if x.shape[1] > 1 else np.full_like(c0, 16.0)
    return 0.05 + 0.0009 * c0 * c1 + 0.02 * np.sin(c0 / 5.0) + 0.01 * np.floor(c1 / 16.0)


def make(name, rng, dims, n, noise, bounds, duplicates=0, n_query=60):
    x = np.column_stack([rng.integers(lo, hi + 1, size=n) for lo, hi in bounds]).astype(float)
    if duplicates:
        x[-duplicates:] = x[:duplicates]
    y = energy_like(x)
    if noise:
        y = y * (1.0 + noise * rng.standard_normal(n))
    q = np.column_stack([rng.uniform(lo, hi, size=n_query) for lo, hi in bounds])
    lo = np.array([b[0] for b in bounds], dtype=float)
    hi = np.array([b[1] for b in bounds], dtype=float)
    xs, qs = (x - lo) / (hi - lo), (q - lo) / (hi - lo)

    fixed_theta = dict(signal=1.7, length=[0.3, 0.6][:dims], noise=0.02)
    gp_fixed = GaussianProcessRegressor(kernel(dims, fixed_theta["signal"], fixed_theta["length"],
                                               fixed_theta["noise"], fixed=True),
                                        normalize_y=True, optimizer=None).fit(xs, y)
    theta = np.log([fixed_theta["signal"], *fixed_theta["length"], fixed_theta["noise"]])
    # the gradient is only defined w.r.t. free hyper-parameters: evaluate it on a free copy
    free = GaussianProcessRegressor(kernel(dims, fixed_theta["signal"], fixed_theta["length"], fixed_theta["noise"]),
                                    normalize_y=True, optimizer=None).fit(xs, y)
    lml, grad = free.log_marginal_likelihood(theta, eval_gradient=True)
    mean_f, std_f = gp_fixed.predict(qs, return_std=True)

    gp = GaussianProcessRegressor(kernel(dims), normalize_y=True, n_restarts_optimizer=4,
                                  random_state=0).fit(xs, y)
    mean, std = gp.predict(qs, return_std=True)

    header = ",".join(f"c{d}" for d in range(dims))
    np.savetxt(os.path.join(OUT, f"{name}.train.csv"), np.column_stack([x, y]), delimiter=",",
               header=header + ",y", comments="", fmt="%.17g")
    np.savetxt(os.path.join(OUT, f"{name}.query.csv"), q, delimiter=",", header=header, comments="", fmt="%.17g")
    ref = {
        "generator": "scripts/gp-reference.py",
        "sklearn": sklearn.__version__,
        "bounds": bounds,
        "fixed": {"theta": theta.tolist(), "log_marginal_likelihood": float(lml),
                  "gradient": grad.tolist(), "mean": mean_f.tolist(), "std": std_f.tolist()},
        "fitted": {"theta": gp.kernel_.theta.tolist(),
                   "log_marginal_likelihood": float(gp.log_marginal_likelihood_value_),
                   "mean": mean.tolist(), "std": std.tolist(), "restarts": 4},
    }
    with open(os.path.join(OUT, f"{name}.json"), "w") as f:
        json.dump(ref, f, indent=1)
    print(f"{name}: n={n} dims={dims} fitted lml={gp.log_marginal_likelihood_value_:.6f} kernel={gp.kernel_}")


def main():
    os.makedirs(OUT, exist_ok=True)
    rng = np.random.default_rng(20261122)
    make("1d_clean_5", rng, 1, 5, 0.0, [(1, 64)])
    make("1d_noisy_40", rng, 1, 40, 0.03, [(1, 64)])
    make("1d_duplicates_12", rng, 1, 12, 0.02, [(1, 32)], duplicates=4)
    make("2d_clean_30", rng, 2, 30, 0.0, [(1, 32), (1, 64)])
    make("2d_noisy_100", rng, 2, 100, 0.03, [(1, 32), (1, 64)])
    make("2d_noisy_200", rng, 2, 200, 0.03, [(1, 64), (1, 64)])
    return 0


if __name__ == "__main__":
    sys.exit(main())
