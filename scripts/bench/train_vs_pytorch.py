"""PyTorch twin of telltale's stage-1 training, for scripts/bench/train_vs_pytorch.sh.

Same architecture (crates/onnx/src/weights.rs): an LSTM encoder (C -> H, `layers` layers) whose
context is the hidden state at each window's last step, and a sequence decoder LSTM (H -> H) fed the
context at every step and started from it, then Linear(H, C), reconstructing the window in reverse
order; masked MSE; Adam with gradient-norm clipping. Same data shape as the Rust example
(`train_speed`): random-phase sinusoids with noise, all windows full length. Prints one JSON line
per epoch and `median_epoch_seconds=X` last.
"""

import argparse
import json
import math
import statistics
import time

import torch
from torch import nn


class Autoencoder(nn.Module):
    def __init__(self, channels: int, hidden: int, layers: int):
        super().__init__()
        self.encoder = nn.LSTM(channels, hidden, num_layers=layers, batch_first=True)
        self.decoder = nn.LSTM(hidden, hidden, batch_first=True)
        self.output = nn.Linear(hidden, channels)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out, _ = self.encoder(x)
        context = out[:, -1, :]  # every window is full length here
        steps = x.shape[1]
        dec_in = context.unsqueeze(1).expand(-1, steps, -1)
        h0 = context.unsqueeze(0).contiguous()
        dec_out, _ = self.decoder(dec_in, (h0, torch.zeros_like(h0)))
        return self.output(dec_out)


def windows(count: int, steps: int, channels: int, seed: int) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    phase = torch.rand(count, 1, 1, generator=g) * 2 * math.pi
    t = torch.arange(steps, dtype=torch.float32).view(1, steps, 1)
    c = torch.arange(1, channels + 1, dtype=torch.float32).view(1, 1, channels)
    base = torch.sin(t * 0.1 * c + phase)
    return base + (torch.rand(count, steps, channels, generator=g) * 0.2 - 0.1)


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--windows", type=int, default=1600)
    p.add_argument("--steps", type=int, default=240)
    p.add_argument("--channels", type=int, default=4)
    p.add_argument("--hidden", type=int, default=64)
    p.add_argument("--layers", type=int, default=1)
    p.add_argument("--batch-size", type=int, default=64)
    p.add_argument("--epochs", type=int, default=3)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--lr", type=float, default=1e-3)
    args = p.parse_args()

    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    data = windows(args.windows, args.steps, args.channels, 7)
    target = torch.flip(data, dims=[1])  # reverse order (all windows are full length)
    mask = torch.ones_like(data)
    model = Autoencoder(args.channels, args.hidden, args.layers)
    optim = torch.optim.Adam(model.parameters(), lr=args.lr)
    seconds = []
    for epoch in range(1, args.epochs + 1):
        started = time.perf_counter()
        order = torch.randperm(args.windows)
        total, count = 0.0, 0
        for i in range(0, args.windows, args.batch_size):
            idx = order[i : i + args.batch_size]
            x, y, m = data[idx], target[idx], mask[idx]
            recon = model(x)
            loss = (((recon - y) * m) ** 2).sum() / m.sum()
            optim.zero_grad()
            loss.backward()
            nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            optim.step()
            total += loss.item() * len(idx)
            count += len(idx)
        seconds.append(time.perf_counter() - started)
        print(json.dumps({"epoch": epoch, "seconds": round(seconds[-1], 3), "loss": total / count}))
    print(f"median_epoch_seconds={statistics.median(seconds):.3f}")


if __name__ == "__main__":
    main()
