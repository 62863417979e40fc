# syntax=docker/dockerfile:1
# telltale-server: the HTTP scoring API. Build from the repository root:
#   docker build -f docker/server.Dockerfile -t telltale-server .
# ONNX Runtime comes from the PyPI wheel at build time; nothing is downloaded at run time.

FROM rust:1.95-bookworm AS build
WORKDIR /src
COPY . .
RUN cargo build --locked --release -p telltale-server \
 && cp target/release/telltale-server /telltale-server

FROM python:3.11-slim-bookworm AS onnxruntime
RUN pip install --no-cache-dir onnxruntime==1.31.1 \
 && cp /usr/local/lib/python3.11/site-packages/onnxruntime/capi/libonnxruntime.so.1.31.1 /libonnxruntime.so.1.31.1

FROM debian:bookworm-slim
# Debian security updates move package versions; the base image tag is the pin.
# hadolint ignore=DL3008
RUN apt-get update \
 && apt-get install -y --no-install-recommends ca-certificates curl \
 && rm -rf /var/lib/apt/lists/* \
 && useradd --system --uid 10001 --home /nonexistent telltale
COPY --from=onnxruntime /libonnxruntime.so.1.31.1 /opt/onnxruntime/libonnxruntime.so.1.31.1
COPY --from=build /telltale-server /usr/local/bin/telltale-server
ENV ORT_DYLIB_PATH=/opt/onnxruntime/libonnxruntime.so.1.31.1 \
    TELLTALE_BIND=0.0.0.0:8080 \
    TELLTALE_MODEL=/models/current \
    RUST_LOG=info
USER 10001
EXPOSE 8080
HEALTHCHECK --interval=10s --timeout=3s --retries=3 CMD ["curl", "-fsS", "http://127.0.0.1:8080/health"]
ENTRYPOINT ["telltale-server"]
