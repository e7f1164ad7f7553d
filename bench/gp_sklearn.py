#!/usr/bin/python3
"""scikit-learn's side of bench/gp: fit + predict on the same files, same kernel and bounds.

usage: gp_sklearn.py TRAIN.csv QUERY.csv LO:HI,LO:HI RESTARTS REPEATS OUT_PREDICTIONS.csv
Prints one JSON line: best-of-REPEATS seconds for fit + predict, and the fitted log marginal
likelihood. Run by bench_gp; Debian's /usr/bin/python3 with python3-sklearn.
"""
import json
import sys
import time

import numpy as np
from sklearn.gaussian_process import GaussianProcessRegressor
from sklearn.gaussian_process.kernels import ConstantKernel, Matern, WhiteKernel


def main():
    train_csv, query_csv, bounds_arg, restarts, repeats, out_csv = sys.argv[1:7]
    train = np.loadtxt(train_csv, delimiter=",", skiprows=1)
    query = np.loadtxt(query_csv, delimiter=",", skiprows=1)
    bounds = np.array([[float(v) for v in b.split(":")] for b in bounds_arg.split(",")])
    lo, hi = bounds[:, 0], bounds[:, 1]
    x, y = (train[:, :-1] - lo) / (hi - lo), train[:, -1]
    q = (query - lo) / (hi - lo)
    dims = x.shape[1]
    best = float("inf")
    for _ in range(int(repeats)):
        kernel = (ConstantKernel(1.0, (1e-3, 1e3)) * Matern([1.0] * dims, (1e-2, 1e2), nu=2.5)
                  + WhiteKernel(1e-2, (1e-6, 1.0)))
        start = time.perf_counter()
        gp = GaussianProcessRegressor(kernel, normalize_y=True, n_restarts_optimizer=int(restarts),
                                      random_state=0).fit(x, y)
        mean, std = gp.predict(q, return_std=True)
        best = min(best, time.perf_counter() - start)
    np.savetxt(out_csv, np.column_stack([mean, std]), delimiter=",", header="mean,std", comments="", fmt="%.17g")
    print(json.dumps({"seconds": best, "log_marginal_likelihood": float(gp.log_marginal_likelihood_value_)}))


if __name__ == "__main__":
    main()
