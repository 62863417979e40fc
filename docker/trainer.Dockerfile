# syntax=docker/dockerfile:1
# telltale-trainer: synthesise data, train, export and evaluate models. Build from the repository root:
#   docker build -f docker/trainer.Dockerfile -t telltale-trainer .
# The export step checks every ONNX graph in ONNX Runtime, so the runtime library ships here too.

FROM rust:1.95-bookworm AS build
WORKDIR /src
COPY . .
RUN cargo build --locked --release -p telltale-trainer \
 && cp target/release/telltale-trainer /telltale-trainer

FROM python:3.11-slim-bookworm AS onnxruntime
RUN pip install --no-cache-dir onnxruntime==1.31.1 \
 && cp /usr/local/lib/python3.11/site-packages/onnxruntime/capi/libonnxruntime.so.1.31.1 /libonnxruntime.so.1.31.1

FROM debian:bookworm-slim
RUN useradd --system --uid 10001 --create-home telltale
COPY --from=onnxruntime /libonnxruntime.so.1.31.1 /opt/onnxruntime/libonnxruntime.so.1.31.1
COPY --from=build /telltale-trainer /usr/local/bin/telltale-trainer
ENV ORT_DYLIB_PATH=/opt/onnxruntime/libonnxruntime.so.1.31.1
USER 10001
WORKDIR /work
ENTRYPOINT ["telltale-trainer"]
