"""Writes customers.csv, demo-scorer's synthetic training set (run once; the CSV is committed).

    python3 models/demo-scorer/data/generate.py > models/demo-scorer/data/customers.csv

800 customers with an age (18-80), a yearly income (8,000-160,000) and a number of visits in the
last month (0-12), and whether they converted (label 1). The label is drawn from a known logistic
model plus noise, so a logistic regression can learn it but not perfectly. Fixed seed: the same
file every time. Not part of the model archive (only code/inference.py and train.py are).
"""
import csv
import math
import random
import sys

SEED = 7
ROWS = 800


def main():
    rng = random.Random(SEED)
    out = csv.writer(sys.stdout, lineterminator="\n")
    out.writerow(["age", "income", "visits", "label"])
    for _ in range(ROWS):
        age = rng.randint(18, 80)
        income = int(round(min(160000, max(8000, rng.lognormvariate(10.6, 0.55))), -2))
        visits = min(12, int(rng.expovariate(0.45)))
        z = -6.2 + 0.045 * age + 0.000028 * income + 0.55 * visits + rng.gauss(0, 0.6)
        label = 1 if rng.random() < 1 / (1 + math.exp(-z)) else 0
        out.writerow([age, income, visits, label])


if __name__ == "__main__":
    main()
