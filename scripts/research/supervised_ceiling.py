#!/usr/bin/env python3
# Research aid for issue 3: how far a supervised model on multi-scale error features gets.
#   dump_errors on train.csv -> PREFIX_TRAIN, on eval.csv -> PREFIX_EVAL (see aggregations.py)
#   .venv/bin/python scripts/research/supervised_ceiling.py PREFIX_TRAIN PREFIX_EVAL
import numpy as np, csv, sys
from sklearn.metrics import average_precision_score as ap
from sklearn.linear_model import LogisticRegression
from sklearn.ensemble import HistGradientBoostingClassifier
def load(pre):
    meta = list(csv.DictReader(open(pre + '.meta.csv'))); raw = np.fromfile(pre + '.f32', dtype='<f4'); W=[]; off=0
    for m in meta:
        L, C = int(m['len']), int(m['channels'])
        x = raw[off:off+L*C].reshape(L, C); off += L*C; r = raw[off:off+L*C].reshape(L, C); off += L*C
        W.append((m['sensor_id'], int(m['label']), x, r))
    return W
Wt, We = load(sys.argv[1]), load(sys.argv[2])
def ma(a, k):
    k = min(k, len(a)); c = np.cumsum(np.vstack([np.zeros((1,) + a.shape[1:]), a]), 0); return (c[k:] - c[:-k]) / k
C = Wt[0][2].shape[1]; ch = [c for c in range(C) if c != (C-2)//2 + 1]
def feats(w):
    d = (w[2] - w[3])[:, ch]; x = w[2][:, ch]
    f = []
    for k in (6, 24, 72):
        m = ma(d, k); f += list(m.max(0)); f += list(-m.min(0))
        s = ma(d**2, k); f += list(s.max(0))
    dd = np.diff(x, axis=0)
    for k in (12, 24):
        f += list(ma(dd**2, k).max(0))
    # cross-feature correlation in 24h windows (features 0,1)
    if C >= 6:
        a, b = x[:, 0], x[:, 1]; cs = []
        for t in range(0, len(a) - 24, 6):
            u, v = a[t:t+24], b[t:t+24]
            if u.std() > 1e-6 and v.std() > 1e-6: cs.append(np.corrcoef(u, v)[0, 1])
        f += [min(cs) if cs else 0, np.median(cs) if cs else 0]
    return np.array(f)
Xt = np.array([feats(w) for w in Wt]); yt = np.array([w[1] for w in Wt])
Xe = np.array([feats(w) for w in We]); ye = np.array([w[1] for w in We])
print(Xt.shape, yt.sum())
mu, sd = Xt.mean(0), Xt.std(0) + 1e-9
lr = LogisticRegression(C=0.3, class_weight='balanced', max_iter=5000).fit((Xt-mu)/sd, yt)
print('logreg AP', ap(ye, lr.decision_function((Xe-mu)/sd)))
gb = HistGradientBoostingClassifier(max_iter=300, learning_rate=0.05, class_weight='balanced').fit(Xt, yt)
print('gbdt AP', ap(ye, gb.predict_proba(Xe)[:, 1]))
