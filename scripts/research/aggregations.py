#!/usr/bin/env python3
# Research aid for issue 3: compare score aggregations of a trained model offline.
#   cargo run -p telltale-trainer --example dump_errors -- MODEL eval.csv /tmp/dump
#   .venv/bin/python scripts/research/aggregations.py /tmp/dump eval.truth.csv
# Prints AUC-PR and per-anomaly-kind detections (at the 99th percentile of normal windows) for the
# current peak score, channel-normalised and multi-width variants, a linear one-step predictor
# residual, and their combinations; and the sequence decoder R^2 per channel.
import csv
import sys

import numpy as np
from sklearn.metrics import average_precision_score as ap
pre = sys.argv[1]
meta = list(csv.DictReader(open(pre + '.meta.csv')))
raw = np.fromfile(pre + '.f32', dtype='<f4')
truth = {r['sensor_id']: r for r in csv.DictReader(open(sys.argv[2]))}
W = []; off = 0
for m in meta:
    L, C = int(m['len']), int(m['channels'])
    x = raw[off:off+L*C].reshape(L, C); off += L*C
    r = raw[off:off+L*C].reshape(L, C); off += L*C
    W.append((m['sensor_id'], int(m['label']), x, r))
y = np.array([w[1] for w in W])
F = (W[0][2].shape[1] - 2) // 2
print('windows', len(W), 'pos', y.sum(), 'F', F)
# channel scales from normal windows
D = np.concatenate([w[2] - w[3] for w in W if w[1] == 0])
sd = D.std(0); print('residual std per channel', np.round(sd, 3))
def ma(a, k):
    k = min(k, len(a)); c = np.cumsum(np.vstack([np.zeros((1,) + a.shape[1:]), a]), 0)
    return (c[k:] - c[:-k]) / k
def peak(w, k=24, norm=False, chans=None, sq=False):
    d = w[2] - w[3]
    if norm: d = d / sd
    if chans is not None: d = d[:, chans]
    if sq: return ma(d**2, k).max()
    return (ma(d, k)**2).max()
notempty = [c for c in range(2*F+2) if c != F+1]
kinds = {}
for s, l, *_ in W:
    if l: kinds.setdefault(truth.get(s, {}).get('kind', '?'), []).append(s)
def report(name, sc):
    sc = np.array(sc); a = ap(y, sc)
    thr = np.quantile(sc[y == 0], 0.99)
    det = {k: sum(sc[[i for i, w in enumerate(W) if w[0] in v]] > thr) for k, v in kinds.items()}
    print(f'{name:40s} AP {a:.3f}  ', ' '.join(f'{k[:8]}={det[k]}/{len(kinds[k])}' for k in sorted(kinds)))
report('peak24 (current)', [peak(w, 24, chans=notempty) for w in W])
for k in (6, 12, 24, 48):
    report(f'peak{k} norm', [peak(w, k, True, notempty) for w in W])
    report(f'sqpeak{k} norm', [peak(w, k, True, notempty, sq=True) for w in W])
# robust per-window self-normalised
def selfnorm(w, k=12):
    d = (w[2] - w[3]) / sd; d = d[:, notempty]
    m = ma(d, k); med = np.median(np.abs(d), 0) + 1e-3
    return (np.abs(m) / med).max()
report('selfnorm12', [selfnorm(w) for w in W])
def combo(w):
    d = (w[2] - w[3]) / sd; d = d[:, notempty]
    return max((ma(d, k)**2).max() * np.sqrt(k) for k in (6, 12, 24, 48))
report('multi-width sqrt(k)', [combo(w) for w in W])
print('--- R^2 of the sequence decoder per channel')
X = np.concatenate([w[2] for w in W if w[1] == 0]); 
print(np.round(1 - D.var(0) / X.var(0), 3))
# linear one-step predictor on normal windows
P = np.concatenate([np.hstack([w[2][:-1], np.ones((len(w[2]) - 1, 1))]) for w in W if w[1] == 0])
T = np.concatenate([w[2][1:] for w in W if w[1] == 0])
A, *_ = np.linalg.lstsq(P, T, rcond=None)
E = T - P @ A; esd = E.std(0)
print('AR(1) linear R^2', np.round(1 - E.var(0) / T.var(0), 3))
def ares(w):
    p = np.hstack([w[2][:-1], np.ones((len(w[2]) - 1, 1))]); return (w[2][1:] - p @ A) / esd
for k in (6, 12, 24):
    report(f'AR resid signed peak{k}', [(ma(ares(w)[:, notempty], k)**2).max() for w in W])
    report(f'AR resid sq peak{k}', [ma(ares(w)[:, notempty]**2, k).max() for w in W])
    report(f'AR resid sq+signed{k}', [ma(ares(w)[:, notempty]**2, k).max() + (ma(ares(w)[:, notempty], k)**2).max()*k/4 for w in W])
print('--- combos')
s1 = np.array([peak(w, 24, chans=notempty) for w in W])
s2 = np.array([(ma(ares(w)[:, notempty], 24)**2).max() for w in W])
s3 = np.array([(ma(ares(w)[:, notempty], 12)**2).max() for w in W])
def z(s):
    l = np.log(s + 1e-9); n = l[y == 0]; return (l - np.median(n)) / (np.quantile(n, .99) - np.median(n))
report('max z(peak24, ARpeak24)', np.maximum(z(s1), z(s2)))
report('max z(peak24, ARpeak12)', np.maximum(z(s1), z(s3)))
report('sum z(peak24, ARpeak24)', z(s1) + z(s2))
# per-channel peaks separately for raw
for c in notempty:
    report(f'peak24 chan {c}', [(ma((w[2]-w[3])[:, [c]], 24)**2).max() for w in W])
print('--- cross-feature structure (features 0 and 1)')
# Coupling has a random sign per sensor, so it must be estimated per window: regress feature 1 on
# feature 0 over the whole window, then look for steps where the residual's variance rises.
def wres(w):
    a, b = w[2][:, 0], w[2][:, 1]
    beta = (a @ b) / (a @ a + 1e-9)
    r = b - beta * a
    return r / (r.std() + 1e-6)
if F >= 2:
    for k in (12, 24):
        report(f'window-coupling resid sq peak{k}', [ma(wres(w)[:, None]**2, k).max() for w in W])
    s5 = np.array([ma(wres(w)[:, None]**2, 12).max() for w in W])
    report('max z(peak24, coupling12)', np.maximum(z(s1), z(s5)))
