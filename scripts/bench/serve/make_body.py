"""Write a /score request body for scripts/bench/serve.sh: one sensor's 10-day window.

With --events CSV (the seed's format, e.g. `telltale-trainer synth` output) the first sensor's rows
are used; otherwise events are generated: irregular times over the model's window length, about
`--events-per-day` a day, smooth values with noise. Features are sent by name.
"""

import argparse
import csv
import json
import math
import os
import random
from datetime import datetime, timedelta, timezone


def from_csv(path: str, features: list[str]) -> list[dict]:
    with open(path, newline="") as f:
        rows = csv.DictReader(f)
        first, events = None, []
        for row in rows:
            sensor = row["sensor_id"]
            if first is None:
                first = sensor
            if sensor != first:
                break
            events.append(
                {
                    "timestamp": row["timestamp"],
                    "features": {name: float(row[name]) for name in features},
                }
            )
    events.sort(key=lambda e: e["timestamp"])
    unique = {e["timestamp"]: e for e in events}
    return list(unique.values())


def generated(length_secs: int, features: list[str], per_day: float, seed: int) -> list[dict]:
    rng = random.Random(seed)
    end = datetime(2020, 12, 30, 0, 0, tzinfo=timezone.utc)
    start = end - timedelta(seconds=length_secs)
    n = max(2, int(per_day * length_secs / 86400))
    offsets = sorted({rng.uniform(0, length_secs) for _ in range(n)})
    events = []
    for i, off in enumerate(offsets):
        ts = start + timedelta(seconds=off)
        values = {
            name: round(math.sin(off / 43200 + j) * 0.5 + rng.gauss(0, 0.05) + 0.1 * j, 4)
            for j, name in enumerate(features)
        }
        events.append({"timestamp": ts.strftime("%Y-%m-%d %H:%M:%S.%f")[:-3], "features": values})
    return events


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--model", required=True)
    p.add_argument("--out", required=True)
    p.add_argument("--events")
    p.add_argument("--events-per-day", type=float, default=30.0)
    p.add_argument("--seed", type=int, default=1)
    a = p.parse_args()
    with open(os.path.join(a.model, "manifest.json")) as f:
        manifest = json.load(f)
    features = manifest["feature_names"]
    if a.events:
        events = from_csv(a.events, features)
    else:
        events = generated(manifest["window"]["length_secs"], features, a.events_per_day, a.seed)
    with open(a.out, "w") as f:
        json.dump({"sensor_id": "bench-1", "events": events}, f)
    print(len(events))


if __name__ == "__main__":
    main()
