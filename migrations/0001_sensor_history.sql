-- Sensor history and stored scores (DESIGN §4).

-- One row per sensor. `feature_names` fixes the order of every stored `events.features` array, so
-- history stays readable when a model with other features is deployed.
CREATE TABLE sensors (
    sensor_id     text PRIMARY KEY,
    feature_names text[] NOT NULL,
    created_at    timestamptz NOT NULL DEFAULT now()
);

-- Raw events; ingest is idempotent on (sensor_id, ts). The primary key's index serves the window
-- range scans (sensor_id = $1 AND ts BETWEEN …) and the latest-event lookup.
CREATE TABLE events (
    sensor_id text NOT NULL REFERENCES sensors (sensor_id) ON DELETE CASCADE,
    ts        timestamptz NOT NULL,
    features  real[] NOT NULL,
    PRIMARY KEY (sensor_id, ts)
);

-- Known outcomes: did the sensor raise an alert within the window ending at `window_end`.
CREATE TABLE labels (
    sensor_id  text NOT NULL REFERENCES sensors (sensor_id) ON DELETE CASCADE,
    window_end timestamptz NOT NULL,
    alert      boolean NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (sensor_id, window_end)
);

-- Every score served by GET /sensors/{id}/anomaly, with the model that produced it.
CREATE TABLE scores (
    id                  bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    sensor_id           text NOT NULL REFERENCES sensors (sensor_id) ON DELETE CASCADE,
    model_id            text NOT NULL,
    model_version       text NOT NULL,
    scored_at           timestamptz NOT NULL DEFAULT now(),
    window_start        timestamptz NOT NULL,
    window_end          timestamptz NOT NULL,
    steps               integer NOT NULL,
    events_used         integer NOT NULL,
    score               real NOT NULL,
    threshold           real NOT NULL,
    is_anomaly          boolean NOT NULL,
    latent_error        real NOT NULL,
    sequence_error      real NOT NULL,
    alert_probability   real,
    feature_attribution jsonb NOT NULL
);

-- Score history, newest first.
CREATE INDEX scores_sensor_recent ON scores (sensor_id, scored_at DESC, id DESC);
-- Which scores did a given model produce (re-scoring after a deploy, audits).
CREATE INDEX scores_model ON scores (model_id);
