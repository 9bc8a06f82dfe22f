"""Trains demo-scorer: a logistic regression over age, income and visits, standard library only.

    python3 train.py --data <folder of CSV files> --out <folder>

The same command runs in the build (`npm run package`, on models/demo-scorer/data/) and in a
biome's train workflow, where SageMaker's script mode runs it in the scikit-learn container with
the data channel and the model folder in SM_CHANNEL_TRAIN and SM_MODEL_DIR (the defaults below).

It reads every *.csv of the data folder (a header with age, income, visits, label; label 0 or 1),
holds out a quarter of the rows (a seeded shuffle: the same split for the same data), fits on the
rest by Newton's method on standardized features (a few iterations, exact), folds the
standardization back into the coefficients, and writes into --out:
- model.json: name, features, coefficients, intercept, threshold (what code/inference.py reads);
- metrics.json: accuracy, auc and log_loss on the held-out quarter, which quality.json bounds.
Numbers are written to 6 significant digits (metrics to 4 decimals), so the same data gives the
same bytes on every machine. Bad data exits with status 2 and a message that names the file, the
line and what to fix.
"""
import argparse
import csv
import glob
import json
import math
import os
import random
import sys

NAME = "demo-scorer"
FEATURES = ["age", "income", "visits"]
LABEL = "label"
SEED = 20261202
HELD_OUT = 0.25
THRESHOLD = 0.5
ITERATIONS = 50
RIDGE = 1e-6
MIN_ROWS = 40


def fail(message):
    print(f"{NAME} train.py: {message}", file=sys.stderr)
    sys.exit(2)


def load(folder):
    files = sorted(glob.glob(os.path.join(folder, "*.csv")))
    if not files:
        fail(f"no *.csv file in {folder}; give CSV files with the header {','.join(FEATURES + [LABEL])}")
    rows = []
    for path in files:
        with open(path, newline="", encoding="utf-8") as f:
            reader = csv.DictReader(f)
            missing = [c for c in FEATURES + [LABEL] if c not in (reader.fieldnames or [])]
            if missing:
                fail(f"{os.path.basename(path)}: the header lacks {', '.join(missing)} (it needs {','.join(FEATURES + [LABEL])})")
            for line, record in enumerate(reader, start=2):
                try:
                    x = [float(record[c]) for c in FEATURES]
                    y = float(record[LABEL])
                except (TypeError, ValueError):
                    fail(f"{os.path.basename(path)} line {line}: every feature and the label must be a number")
                if not all(math.isfinite(v) for v in x) or y not in (0.0, 1.0):
                    fail(f"{os.path.basename(path)} line {line}: features must be finite and the label 0 or 1")
                rows.append((x, int(y)))
    if len(rows) < MIN_ROWS:
        fail(f"{len(rows)} rows in {folder}; give at least {MIN_ROWS}")
    if len({y for _, y in rows}) < 2:
        fail(f"every row of {folder} has the same label; give rows of both classes")
    return rows


def sigmoid(z):
    if z >= 0:
        return 1.0 / (1.0 + math.exp(-z))
    e = math.exp(z)
    return e / (1.0 + e)


def solve(a, b):
    """Gaussian elimination with partial pivoting (a is small and symmetric positive definite)."""
    n = len(b)
    m = [row[:] + [b[i]] for i, row in enumerate(a)]
    for col in range(n):
        pivot = max(range(col, n), key=lambda r: abs(m[r][col]))
        m[col], m[pivot] = m[pivot], m[col]
        for r in range(col + 1, n):
            f = m[r][col] / m[col][col]
            for c in range(col, n + 1):
                m[r][c] -= f * m[col][c]
    x = [0.0] * n
    for r in range(n - 1, -1, -1):
        x[r] = (m[r][n] - sum(m[r][c] * x[c] for c in range(r + 1, n))) / m[r][r]
    return x


def fit(rows):
    """Weights [bias, w...] of a logistic regression on standardized features, and the scaling."""
    k = len(FEATURES)
    mean = [sum(x[j] for x, _ in rows) / len(rows) for j in range(k)]
    scale = [math.sqrt(sum((x[j] - mean[j]) ** 2 for x, _ in rows) / len(rows)) or 1.0 for j in range(k)]
    data = [([1.0] + [(x[j] - mean[j]) / scale[j] for j in range(k)], y) for x, y in rows]
    w = [0.0] * (k + 1)
    for _ in range(ITERATIONS):
        grad = [RIDGE * wi for wi in w]
        hess = [[RIDGE if i == j else 0.0 for j in range(k + 1)] for i in range(k + 1)]
        for z, y in data:
            p = sigmoid(sum(wi * zi for wi, zi in zip(w, z)))
            for i in range(k + 1):
                grad[i] += (p - y) * z[i]
                for j in range(k + 1):
                    hess[i][j] += p * (1 - p) * z[i] * z[j]
        step = solve(hess, grad)
        w = [wi - si for wi, si in zip(w, step)]
        if max(abs(s) for s in step) < 1e-10:
            break
    return w, mean, scale


def sig6(v):
    return float(f"{v:.6g}")


def model_of(w, mean, scale):
    coefficients = [w[j + 1] / scale[j] for j in range(len(FEATURES))]
    intercept = w[0] - sum(c * m for c, m in zip(coefficients, mean))
    return {
        "name": NAME,
        "kind": "logistic-regression",
        "features": FEATURES,
        "coefficients": [sig6(c) for c in coefficients],
        "intercept": sig6(intercept),
        "threshold": THRESHOLD,
    }


def score(model, x):
    return sigmoid(model["intercept"] + sum(c * v for c, v in zip(model["coefficients"], x)))


def auc(scored):
    """Probability that a random positive scores above a random negative (ties count half)."""
    ranked = sorted(scored, key=lambda s: s[0])
    positives = sum(y for _, y in ranked)
    negatives = len(ranked) - positives
    if positives == 0 or negatives == 0:
        return float("nan")
    rank_sum, i = 0.0, 0
    while i < len(ranked):
        j = i
        while j < len(ranked) and ranked[j][0] == ranked[i][0]:
            j += 1
        rank_sum += sum(y for _, y in ranked[i:j]) * (i + j + 1) / 2
        i = j
    return (rank_sum - positives * (positives + 1) / 2) / (positives * negatives)


def metrics_of(model, rows):
    scored = [(score(model, x), y) for x, y in rows]
    eps = 1e-12
    return {
        "accuracy": round(sum(int(p >= THRESHOLD) == y for p, y in scored) / len(scored), 4),
        "auc": round(auc(scored), 4),
        "log_loss": round(
            -sum(y * math.log(max(p, eps)) + (1 - y) * math.log(max(1 - p, eps)) for p, y in scored) / len(scored), 4
        ),
        "held_out_rows": len(scored),
    }


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", default=os.environ.get("SM_CHANNEL_TRAIN"))
    parser.add_argument("--out", default=os.environ.get("SM_MODEL_DIR"))
    args, _unknown = parser.parse_known_args()  # SageMaker may pass hyperparameters of its own
    if not args.data or not args.out:
        fail("give --data <folder of CSV files> and --out <folder> (or SM_CHANNEL_TRAIN and SM_MODEL_DIR)")
    rows = load(args.data)
    order = list(range(len(rows)))
    random.Random(SEED).shuffle(order)
    cut = int(len(rows) * HELD_OUT)
    held_out = [rows[i] for i in order[:cut]]
    train = [rows[i] for i in order[cut:]]
    model = model_of(*fit(train))
    os.makedirs(args.out, exist_ok=True)
    with open(os.path.join(args.out, "model.json"), "w", encoding="utf-8") as f:
        json.dump(model, f, indent=2)
        f.write("\n")
    with open(os.path.join(args.out, "metrics.json"), "w", encoding="utf-8") as f:
        json.dump(metrics_of(model, held_out), f, indent=2, sort_keys=True)
        f.write("\n")


if __name__ == "__main__":
    main()
