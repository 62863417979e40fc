#!/usr/bin/env python3
# Research aid for issue 3: variants of the `peak_no_decoder` scan and of its attribution, tried
# offline on dumps of a trained model (the numbers in the issue note come from this script).
#   cargo run -p telltale-trainer --example dump_errors -- MODEL train.csv /tmp/t   (the model's own
#   training file: channel statistics of normal windows come from it)
#   cargo run -p telltale-trainer --example dump_errors -- MODEL eval.csv /tmp/e
#   .venv/bin/python scripts/research/scan_variants.py /tmp/t train.truth.csv /tmp/e eval.truth.csv
# Needs numpy and scikit-learn. Two features with step std channels (the `synth` default) assumed.
# Prints AUC-PR and detections per anomaly kind at the 99th percentile of normal windows for:
#   plain       the shipped scan (24-step moving average of each channel and coupling residual)
#   norm qXX    each channel's moving average divided by a quantile of its per-window maximum
#   glr         a shift test on AR(1)-whitened channels, every start, widths 4..48
#   trimXX      coupling slope refitted without the XX % largest residuals
# and the top-feature accuracy of four attributions (mean squared error, the peak scan's
# per-feature parts with and without the reconstruction, without the coupling channels).
import csv
import sys

import numpy as np
from sklearn.metrics import average_precision_score as ap

F = 2
EMPTY = F + 1


def load(pre, truth_file):
    meta = list(csv.DictReader(open(pre + '.meta.csv')))
    raw = np.fromfile(pre + '.f32', dtype='<f4')
    truth = {r['sensor_id']: r for r in csv.DictReader(open(truth_file))}
    out, off = [], 0
    for m in meta:
        n = int(m['len']) * int(m['channels'])
        shape = (int(m['len']), int(m['channels']))
        x = raw[off:off + n].reshape(shape).astype(np.float64)
        r = raw[off + n:off + 2 * n].reshape(shape).astype(np.float64)
        off += 2 * n
        out.append((m['sensor_id'], int(m['label']), x, r, truth.get(m['sensor_id'], {})))
    return out


def coupling(d, trim=0.0, refits=0):
    out = []
    for k in range(F):
        a, b = d[:, 1 - k], d[:, k]
        keep = np.ones(len(a), bool)
        for _ in range(refits + 1):
            beta = (a[keep] @ b[keep]) / (a[keep] @ a[keep] + 1e-6 * keep.sum())
            r = b - beta * a
            if trim:
                keep = np.abs(r) <= np.quantile(np.abs(r), 1 - trim)
        s = 1.4826 * np.median(np.abs(r))
        out.append(((r / s) ** 2 - 1) / 2 if s > 0 else np.zeros_like(r))
    return np.stack(out, 1)


def moving(a, k=24):
    k = min(k, len(a))
    c = np.cumsum(np.vstack([np.zeros((1, a.shape[1])), a]), 0)
    return (c[k:] - c[:-k]) / k


def channels(x, **kw):
    keep = [c for c in range(x.shape[1]) if c != EMPTY]
    return np.hstack([x[:, keep], coupling(x[:, :F], **kw)])


def plain(w, **kw):
    return (moving(channels(w[2], **kw)) ** 2).max()


def glr(w, phi, sig, widths=range(4, 49, 2)):
    x = channels(w[2])
    n = len(x)
    e = np.vstack([np.zeros((1, x.shape[1])), x[1:] - phi * x[:-1]]) / sig
    prefix = np.vstack([np.zeros((1, x.shape[1])), np.cumsum(e, 0)])
    best = 0.0
    for width in widths:
        if width + 1 > n:
            break
        a = np.arange(1, n - width + 1)
        middle = prefix[a + width] - prefix[a + 1]
        inside = ((a + width) <= n - 1)[:, None]
        after = np.where(inside, e[np.minimum(a + width, n - 1)], 0.0)
        num = e[a] + (1 - phi) * middle - phi * after
        den = 1 + (width - 1) * (1 - phi) ** 2 + np.where(inside, phi ** 2, 0.0)
        best = max(best, (num ** 2 / den).max())
    return best


def report(name, windows, scores):
    y = np.array([w[1] for w in windows])
    s = np.array(scores)
    thr = np.quantile(s[y == 0], 0.99)
    kinds = {}
    for w, v in zip(windows, s):
        if w[1]:
            kinds.setdefault(w[4].get('kind', '?'), []).append(v > thr)
    detail = ' '.join(f'{k[:8]}={sum(v)}/{len(v)}' for k, v in sorted(kinds.items()))
    print(f'{name:12s} AUC-PR {ap(y, s):.3f}  {detail}')


def parts(w, reconstruction=False, with_coupling=True):
    x = w[2] - (w[3] if reconstruction else 0)
    m = moving(x) ** 2
    c = moving(coupling(x[:, :F])) ** 2
    return [max(m[:, [k, F + 2 + k]].max(), c[:, k].max() if with_coupling else 0)
            for k in range(F)]


def mse(w):
    d = w[2] - w[3]
    return [(d[:, k] ** 2).mean() + (d[:, F + 2 + k] ** 2).mean() for k in range(F)]


def main():
    train = [w for w in load(sys.argv[1], sys.argv[2]) if w[1] == 0]
    windows = load(sys.argv[3], sys.argv[4])
    maxima = np.array([np.abs(moving(channels(w[2]))).max(0) for w in train])
    steps = [channels(w[2]) for w in train]
    before = np.concatenate([c[:-1] for c in steps])
    after = np.concatenate([c[1:] for c in steps])
    phi = (before * after).sum(0) / (before * before).sum(0)
    sig = (after - phi * before).std(0)
    print('AR(1) coefficient per channel', np.round(phi, 3))
    report('plain', windows, [plain(w) for w in windows])
    for q in (0.5, 0.9, 0.99):
        scale = np.quantile(maxima, q, 0)
        report(f'norm q{int(q * 100)}', windows,
               [((moving(channels(w[2])) / scale) ** 2).max() for w in windows])
    report('glr', windows, [glr(w, phi, sig) for w in windows])
    for trim, refits in ((0.1, 1), (0.2, 1), (0.3, 2)):
        report(f'trim{int(trim * 100)}', windows,
               [plain(w, trim=trim, refits=refits) for w in windows])
    print('top-feature accuracy on anomalous windows with known features:')
    for name, f in (('mse', mse), ('peak parts, reconstruction', lambda w: parts(w, True)),
                    ('peak parts, no decoder', parts),
                    ('peak parts, no coupling', lambda w: parts(w, False, False))):
        hits = []
        for w in windows:
            affected = [int(n.split('_')[1]) - 1 for n in w[4].get('features', '').split(';') if n]
            if w[1] and affected:
                hits.append(int(np.argmax(f(w))) in affected)
        print(f'  {name:28s} {np.mean(hits):.3f} of {len(hits)}')


if __name__ == '__main__':
    main()
