"""Reference numbers for telltale-core's metrics, from scikit-learn and numpy.

Run with the project venv (`pip install scikit-learn` into it):

    .venv/bin/python scripts/sklearn_reference.py

and copy the printed constants into crates/core/tests/metrics_sklearn.rs. The example is fixed (no
randomness): 40 scores with ties (including ties across the two classes), all multiples of 1/16 so
they are exact in 32-bit floats too.
"""

import numpy as np
from sklearn.metrics import (
    average_precision_score,
    f1_score,
    precision_recall_curve,
    precision_score,
    recall_score,
    roc_auc_score,
    roc_curve,
)

# Score numerators (score = n / 16) and labels; keep in sync with the Rust test.
NUMERATORS = [
    3, 7, 7, 12, 1, 0, 9, 15, 7, 4,
    11, 2, 5, 5, 13, 8, 6, 7, 3, 10,
    14, 9, 1, 6, 12, 5, 2, 16, 8, 4,
    9, 11, 0, 3, 13, 6, 10, 2, 12, 7,
]
LABELS = [
    0, 1, 0, 1, 0, 0, 0, 1, 0, 0,
    1, 0, 0, 1, 0, 0, 0, 1, 0, 0,
    1, 1, 0, 0, 0, 0, 0, 1, 1, 0,
    0, 1, 0, 0, 1, 0, 0, 0, 1, 0,
]

scores = np.array(NUMERATORS, dtype=np.float64) / 16.0
labels = np.array(LABELS, dtype=bool)
assert len(scores) == len(labels) == 40


def recall_at_far(far):
    fpr, tpr, _ = roc_curve(labels, scores, drop_intermediate=False)
    return tpr[fpr <= far].max()


def show(name, value):
    print(f"const {name}: f64 = {float(value)!r};")


show("AVERAGE_PRECISION", average_precision_score(labels, scores))
show("ROC_AUC", roc_auc_score(labels, scores))
for far in (0.0, 0.05, 0.1, 0.25):
    show(f"RECALL_AT_FAR_{int(far * 100):02}", recall_at_far(far))

threshold = 9 / 16
predicted = scores >= threshold
show("PRECISION_AT_9", precision_score(labels, predicted))
show("RECALL_AT_9", recall_score(labels, predicted))
show("F1_AT_9", f1_score(labels, predicted))

precision, recall, thresholds = precision_recall_curve(labels, scores)
with np.errstate(invalid="ignore", divide="ignore"):
    f1 = np.where(precision + recall > 0, 2 * precision * recall / (precision + recall), 0.0)
# Among equal F1 values the highest threshold wins (thresholds are ascending here).
top = f1[:-1].max()
best = int(np.flatnonzero(f1[:-1] == top)[-1])
show("BEST_F1", f1[best])
show("BEST_F1_THRESHOLD", thresholds[best])
print(f"const PR_POINTS: usize = {len(thresholds)};")
# Highest three thresholds: (recall, precision, threshold), thresholds descending.
for i in range(1, 4):
    j = len(thresholds) - i
    r, p, t = float(recall[j]), float(precision[j]), float(thresholds[j])
    print(f"// pr point {i - 1}: ({r!r}, {p!r}, {t!r})")

qs = [0.0, 0.01, 0.03, 0.25, 0.37, 0.5, 0.9, 0.99, 1.0]
print(f"const QUANTILES: [(f64, f64); {len(qs)}] = [")
for q, v in zip(qs, np.quantile(scores, qs)):
    print(f"    ({q!r}, {float(v)!r}),")
print("];")
