"""Python baseline for scripts/bench/serve.sh: FastAPI + uvicorn + onnxruntime serving the same
model directory as telltale-server, with the same preprocessing and scoring (a straight port of
telltale-core's binning/normalisation and telltale-scorer's scoring), one window per ONNX call.

Run: TELLTALE_MODEL=DIR uvicorn baseline:app --app-dir scripts/bench/serve
Env: BASELINE_INTRA_THREADS (ONNX Runtime intra-op threads per session, 0 = its default).
"""

import json
import math
import os
from datetime import datetime, timedelta, timezone
from typing import Optional, Union

import numpy as np
import onnxruntime as ort
from fastapi import FastAPI, HTTPException
from pydantic import BaseModel

MODEL_DIR = os.environ["TELLTALE_MODEL"]
with open(os.path.join(MODEL_DIR, "manifest.json")) as f:
    MANIFEST = json.load(f)

FEATURES = MANIFEST["feature_names"]
N_FEATURES = len(FEATURES)
CHANNELS = N_FEATURES + 2
LENGTH_SECS = MANIFEST["window"]["length_secs"]
STEP_SECS = MANIFEST["window"]["step_secs"]
MAX_STEPS = -(-LENGTH_SECS // STEP_SECS)
MEAN = np.asarray(MANIFEST["normalizer"]["mean"], dtype=np.float32)
STD = np.asarray(MANIFEST["normalizer"]["std"], dtype=np.float32)
LATENT_SCALE = np.maximum(np.asarray(MANIFEST["latent_scale"], dtype=np.float64), 1e-6)
CAL = MANIFEST["calibration"]
QUANTILES = np.asarray(CAL["normal_quantiles"], dtype=np.float64)
THRESHOLD = MANIFEST["threshold"]["score"]
GRAPHS = MANIFEST["graphs"]


def _session(name: Optional[str]):
    if not name:
        return None
    options = ort.SessionOptions()
    threads = int(os.environ.get("BASELINE_INTRA_THREADS", "0"))
    if threads > 0:
        options.intra_op_num_threads = threads
    return ort.InferenceSession(
        os.path.join(MODEL_DIR, name), options, providers=["CPUExecutionProvider"]
    )


ENCODER = _session(GRAPHS["encoder"])
LATENT = _session(GRAPHS["latent_decoder"])
SEQUENCE = _session(GRAPHS.get("sequence_decoder"))
HEAD = _session(GRAPHS.get("head"))


class Event(BaseModel):
    timestamp: str
    features: Union[dict[str, float], list[float]]


class ScoreRequest(BaseModel):
    sensor_id: Optional[str] = None
    events: list[Event]
    end: Optional[str] = None


def parse_ts(text: str) -> datetime:
    ts = datetime.fromisoformat(text.replace("Z", "+00:00"))
    return ts.replace(tzinfo=timezone.utc) if ts.tzinfo is None else ts.astimezone(timezone.utc)


def values(event: Event) -> list[float]:
    if isinstance(event.features, dict):
        try:
            return [event.features[name] for name in FEATURES]
        except KeyError as e:
            raise HTTPException(422, f"missing feature {e}")
    if len(event.features) != N_FEATURES:
        raise HTTPException(422, "wrong number of features")
    return event.features


def bin_events(times: list[datetime], vals: np.ndarray, end: Optional[datetime]):
    """Port of telltale_core::window::bin_events + Normalizer::apply."""
    end = end or times[-1]
    start = end - timedelta(seconds=LENGTH_SECS)
    inside = [i for i, t in enumerate(times) if start <= t <= end]
    if not inside:
        raise HTTPException(422, "no events inside the window")
    # whole seconds since the window start (timedelta.total_seconds truncated like num_seconds)
    secs = np.array([(times[i] - start) // timedelta(seconds=1) for i in inside], dtype=np.int64)
    steps = np.minimum(secs // STEP_SECS, MAX_STEPS - 1)
    first = int(steps[0])
    length = MAX_STEPS - first
    rel = steps - first
    v = vals[inside].astype(np.float64)
    counts = np.bincount(rel, minlength=length)
    sums = np.zeros((length, N_FEATURES))
    np.add.at(sums, rel, v)
    data = np.zeros((length, CHANNELS), dtype=np.float32)
    filled = counts > 0
    data[filled, :N_FEATURES] = (sums[filled] / counts[filled, None]).astype(np.float32)
    # carry the last filled step forward into empty steps
    idx = np.where(filled, np.arange(length), 0)
    np.maximum.accumulate(idx, out=idx)
    data[:, :N_FEATURES] = data[idx, :N_FEATURES]
    data[:, N_FEATURES] = np.log1p(counts).astype(np.float32)
    data[:, N_FEATURES + 1] = (~filled).astype(np.float32)
    data = (data - MEAN) / STD
    window_start = start + timedelta(seconds=first * STEP_SECS)
    return data, window_start, end, len(inside)


def log_z(error: float, stats) -> float:
    return (math.log(max(error, 0.0) + 1e-8) - stats["mean"]) / max(stats["std"], 1e-6)


def calibrate(raw: float) -> float:
    q = QUANTILES
    n = len(q)
    lo = int(np.searchsorted(q, raw, side="left"))
    above = int(np.searchsorted(q, raw, side="right"))
    if above == 0:
        return 0.0
    if lo == n:
        return 1.0
    if n == 1:
        return 0.5
    if above > lo:
        rank = (lo + above - 1) / 2.0
    else:
        a, b = q[lo - 1], q[lo]
        rank = (lo - 1) + (raw - a) / (b - a)
    return float(min(max(rank / (n - 1), 0.0), 1.0))


def score_window(data: np.ndarray) -> dict:
    x = data[None, :, :]
    lengths = np.array([data.shape[0]], dtype=np.int32)
    context = ENCODER.run(["context"], {"x": x, "lengths": lengths})[0]
    recon = LATENT.run(["reconstruction"], {"context": context})[0]
    d = recon[0].astype(np.float64) - context[0].astype(np.float64)
    latent = float(np.mean(d * d / LATENT_SCALE))
    if SEQUENCE is not None:
        seq = SEQUENCE.run(["reconstruction"], {"context": context, "x": x, "lengths": lengths})[0][0]
        sq = (data.astype(np.float64) - seq.astype(np.float64)) ** 2
        sequence = float(sq.mean())
        per_feature = sq[:, :N_FEATURES].mean(axis=0).tolist()
        per_step = sq.mean(axis=1).tolist()
    else:
        sequence, per_feature, per_step = 0.0, [], []
    probability = None
    if HEAD is not None:
        feats = np.concatenate(
            [context[0], [log_z(latent, CAL["latent_log"]), log_z(sequence, CAL["sequence_log"])]]
        ).astype(np.float32)[None, :]
        probability = float(HEAD.run(["probability"], {"features": feats})[0][0])
    kind = CAL["default_scorer"]
    if kind == "latent":
        raw = latent
    elif kind == "sequence":
        raw = sequence
    elif kind == "combined":
        raw = (log_z(latent, CAL["latent_log"]) + log_z(sequence, CAL["sequence_log"])) / 2
    else:
        raw = probability
    score = calibrate(raw)
    total = sum(per_feature)
    attribution = sorted(
        (
            {"feature": n, "error": e, "share": e / total if total > 0 else 0.0}
            for n, e in zip(FEATURES, per_feature)
        ),
        key=lambda a: -a["error"],
    )
    return {
        "score": score,
        "threshold": THRESHOLD,
        "is_anomaly": score >= THRESHOLD,
        "latent_error": latent,
        "sequence_error": sequence,
        "alert_probability": probability,
        "feature_attribution": attribution,
        "step_errors": per_step,
    }


app = FastAPI()


@app.post("/score")
def score(request: ScoreRequest):
    if not request.events:
        raise HTTPException(422, "no events")
    times = [parse_ts(e.timestamp) for e in request.events]
    vals = np.asarray([values(e) for e in request.events], dtype=np.float32)
    if not np.all(np.isfinite(vals)):
        raise HTTPException(422, "non-finite value")
    if any(b <= a for a, b in zip(times, times[1:])):
        raise HTTPException(422, "events must be sorted with unique timestamps")
    end = parse_ts(request.end) if request.end else None
    data, start, end, used = bin_events(times, vals, end)
    out = score_window(data)
    out["sensor_id"] = request.sensor_id
    out["window"] = {
        "start": start.isoformat(),
        "end": end.isoformat(),
        "steps": int(data.shape[0]),
        "events_used": used,
    }
    out["model"] = {"id": MANIFEST["model_id"], "version": os.path.basename(MODEL_DIR.rstrip("/"))}
    return out
