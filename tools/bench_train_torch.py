#!/usr/bin/env python3
"""PyTorch yardstick for `npm run bench:train`: the same pretraining step as tools/bench-train.ts, on the CPU.

Run by the bench with Debian's interpreter (/usr/bin/python3, python3-torch); prints one JSON line.
The step mirrors apps/pretrain/src/train.ts for UniGrad (gradient form, momentum target):
  EMA update of the target (parameters only) -> target forward of both views in train mode, without grad ->
  online forward of both views -> F := rho F + (1 - rho) (T1'T1 + T2'T2)/(2n) (F := T on the first step) ->
  surrogate 0.5 (mean <G1, z1> + mean <G2, z2>), G1 = -t2 + lambda sg(z1) F, G2 = -t1 + lambda sg(z2) F ->
  backward -> SGD(momentum 0.9, weight decay 1e-4) -> read the loss.
Architectures match libs/models: conv3x3 without bias + BN + ReLU (+ 2x2 max-pool between convnet stages),
ResNet-18/50 (torchvision v1.5, CIFAR stem, zero-init residual), global average pooling, projector
Linear(no bias)-BN1d-ReLU x2 + Linear(bias).
"""
import argparse
import json
import statistics
import sys
import time

import torch
import torch.nn as nn
import torch.nn.functional as F


def convnet(widths, in_ch):
    layers = []
    c = in_ch
    for i, w in enumerate(widths):
        layers += [nn.Conv2d(c, w, 3, 1, 1, bias=False), nn.BatchNorm2d(w), nn.ReLU(inplace=True)]
        if i < len(widths) - 1:
            layers.append(nn.MaxPool2d(2, 2))
        c = w
    layers += [nn.AdaptiveAvgPool2d(1), nn.Flatten()]
    return nn.Sequential(*layers), c


class Basic(nn.Module):
    expansion = 1

    def __init__(self, inp, planes, stride):
        super().__init__()
        self.conv1 = nn.Conv2d(inp, planes, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(planes)
        self.conv2 = nn.Conv2d(planes, planes, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(planes)
        nn.init.zeros_(self.bn2.weight)
        self.down = None
        if stride != 1 or inp != planes:
            self.down = nn.Sequential(nn.Conv2d(inp, planes, 1, stride, bias=False), nn.BatchNorm2d(planes))

    def forward(self, x):
        h = F.relu(self.bn1(self.conv1(x)))
        h = self.bn2(self.conv2(h))
        return F.relu(h + (self.down(x) if self.down is not None else x))


class Bottleneck(nn.Module):
    expansion = 4

    def __init__(self, inp, planes, stride):
        super().__init__()
        out = planes * 4
        self.conv1 = nn.Conv2d(inp, planes, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(planes)
        self.conv2 = nn.Conv2d(planes, planes, 3, stride, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(planes)
        self.conv3 = nn.Conv2d(planes, out, 1, bias=False)
        self.bn3 = nn.BatchNorm2d(out)
        nn.init.zeros_(self.bn3.weight)
        self.down = None
        if stride != 1 or inp != out:
            self.down = nn.Sequential(nn.Conv2d(inp, out, 1, stride, bias=False), nn.BatchNorm2d(out))

    def forward(self, x):
        h = F.relu(self.bn1(self.conv1(x)))
        h = F.relu(self.bn2(self.conv2(h)))
        h = self.bn3(self.conv3(h))
        return F.relu(h + (self.down(x) if self.down is not None else x))


def resnet(depth, widths, in_ch):
    block, counts = (Basic, [2, 2, 2, 2]) if depth == 18 else (Bottleneck, [3, 4, 6, 3])
    layers = [nn.Conv2d(in_ch, widths[0], 3, 1, 1, bias=False), nn.BatchNorm2d(widths[0]), nn.ReLU(inplace=True)]
    inp = widths[0]
    for li, (planes, n) in enumerate(zip(widths, counts)):
        for bi in range(n):
            stride = 2 if (li > 0 and bi == 0) else 1
            layers.append(block(inp, planes, stride))
            inp = planes * block.expansion
    layers += [nn.AdaptiveAvgPool2d(1), nn.Flatten()]
    return nn.Sequential(*layers), inp


def projector(inp, hidden, out):
    return nn.Sequential(
        nn.Linear(inp, hidden, bias=False), nn.BatchNorm1d(hidden), nn.ReLU(inplace=True),
        nn.Linear(hidden, hidden, bias=False), nn.BatchNorm1d(hidden), nn.ReLU(inplace=True),
        nn.Linear(hidden, out),
    )


def build(spec):
    if spec["trunk"] == "convnet":
        trunk, dim = convnet(spec["widths"], spec["channels"])
    else:
        trunk, dim = resnet(18 if spec["trunk"] == "resnet18" else 50, spec["widths"], spec["channels"])
    return nn.Sequential(trunk, projector(dim, spec["projector_hidden"], spec["projector_out"]))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--spec", required=True, help="JSON: trunk, widths, channels, size, projector_hidden, projector_out, batch, lambda, rho, lr, ema")
    ap.add_argument("--steps", type=int, default=5)
    ap.add_argument("--warmup", type=int, default=2)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--channels-last", action="store_true", help="NHWC memory format (as TF.js) for weights and inputs")
    a = ap.parse_args()
    spec = json.loads(a.spec)
    torch.set_num_threads(a.threads)
    torch.manual_seed(0)

    online = build(spec).train()
    target = build(spec).train()
    target.load_state_dict(online.state_dict())
    for p in target.parameters():
        p.requires_grad_(False)
    if a.channels_last:
        online = online.to(memory_format=torch.channels_last)
        target = target.to(memory_format=torch.channels_last)
    opt = torch.optim.SGD(online.parameters(), lr=spec["lr"], momentum=0.9, weight_decay=1e-4)
    n, c, s = spec["batch"], spec["channels"], spec["size"]
    g = torch.Generator().manual_seed(1)
    v1 = torch.randn(n, c, s, s, generator=g)
    v2 = torch.randn(n, c, s, s, generator=g)
    if a.channels_last:
        v1 = v1.contiguous(memory_format=torch.channels_last)
        v2 = v2.contiguous(memory_format=torch.channels_last)
    lam, rho, m = spec["lambda"], spec["rho"], spec["ema"]
    state = {"F": None}

    def step():
        with torch.no_grad():
            for pt, po in zip(target.parameters(), online.parameters()):
                pt.mul_(m).add_(po, alpha=1 - m)
            t1 = F.normalize(target(v1), dim=1)
            t2 = F.normalize(target(v2), dim=1)
            corr = (t1.t() @ t1 + t2.t() @ t2) / (2 * n)
            state["F"] = corr if state["F"] is None else rho * state["F"] + (1 - rho) * corr
        z1 = F.normalize(online(v1), dim=1)
        z2 = F.normalize(online(v2), dim=1)
        with torch.no_grad():
            g1 = -t2 + lam * (z1 @ state["F"])
            g2 = -t1 + lam * (z2 @ state["F"])
        loss = 0.5 * ((g1 * z1).sum(1).mean() + (g2 * z2).sum(1).mean())
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        return loss.item()

    for _ in range(a.warmup):
        step()
    times = []
    for _ in range(a.steps):
        t0 = time.perf_counter()
        loss = step()
        times.append(time.perf_counter() - t0)
    med = statistics.median(times)
    blas = next((part.split("=", 1)[1] for part in torch.__config__.show().replace(",", " ").split() if part.startswith("BLAS_INFO=")), "unknown")
    print(json.dumps({
        "torch": torch.__version__, "threads": torch.get_num_threads(), "step_s_median": med,
        "img_per_s": n / med, "channels_last": a.channels_last, "blas": blas, "steps": a.steps, "warmup": a.warmup, "loss": loss,
    }))


if __name__ == "__main__":
    try:
        main()
    except Exception as e:  # one line the bench can show
        print(json.dumps({"error": f"{type(e).__name__}: {e}"}))
        sys.exit(1)
