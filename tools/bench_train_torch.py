#!/usr/bin/env python3
"""PyTorch yardstick for `npm run bench:train`: the same pretraining step as tools/bench-train.ts, on the CPU.

Run by the bench with the bench:setup venv's interpreter (.venv-bench: PyTorch 2.x from PyPI) when it exists, else
Debian's /usr/bin/python3 with python3-torch. `--info` prints the version, BLAS and ISA; `--serve` builds the model,
runs the warm-up, prints {"ready": ...} and then answers one JSON line per {"seconds": S} request on stdin with the
round's step times (the bench interleaves this process with the TF.js workers); without `--serve` it runs one round.
The step mirrors libs/engine's trainStep for UniGrad (gradient form, momentum target):
  EMA update of the target (parameters only) -> target forward of both views in train mode, without grad ->
  online forward of both views -> F := rho F + (1 - rho) (T1'T1 + T2'T2)/(2n) (F := T on the first step) ->
  surrogate 0.5 (mean <G1, z1> + mean <G2, z2>), G1 = -t2 + lambda sg(z1) F, G2 = -t1 + lambda sg(z2) F ->
  backward -> one read-back of (loss, positive similarity, embedding std), as trainStep does, before the update ->
  SGD(momentum 0.9, weight decay 1e-4), skipped when the loss is not finite.
Architectures match libs/models layer for layer: conv3x3 without bias + BN (+ 2x2 max-pool between convnet stages,
before the ReLU, as libs/models/src/convnet.ts) + ReLU, ResNet-18/50 (torchvision v1.5, CIFAR stem, zero-init
residual), global average pooling, projector Linear(no bias)-BN1d-ReLU x2 + Linear(bias).
"""
import argparse
import json
import math
import sys
import time

import torch
import torch.nn as nn
import torch.nn.functional as F


def convnet(widths, in_ch):
    layers = []
    c = in_ch
    for i, w in enumerate(widths):
        layers += [nn.Conv2d(c, w, 3, 1, 1, bias=False), nn.BatchNorm2d(w)]
        if i < len(widths) - 1:
            layers.append(nn.MaxPool2d(2, 2))  # before the ReLU, as libs/models (same values, a quarter of the ReLU work)
        layers.append(nn.ReLU(inplace=True))
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


def info():
    cfg = torch.__config__.show()
    blas = next((p.split("=", 1)[1] for p in cfg.replace(",", " ").split() if p.startswith("BLAS_INFO=")), "unknown")
    try:
        isa = torch.backends.cpu.get_cpu_capability()
    except AttributeError:  # torch < 2.0 (Debian's 1.13): the build summary names it
        isa = next((line.split(":", 1)[1].strip() for line in cfg.splitlines() if "CPU capability usage" in line), "unknown")
    return {"torch": torch.__version__, "blas": blas, "isa": isa, "mkldnn": torch.backends.mkldnn.is_available(), "python": sys.executable}


def make_step(spec, channels_last):
    online = build(spec).train()
    target = build(spec).train()
    target.load_state_dict(online.state_dict())
    for p in target.parameters():
        p.requires_grad_(False)
    if channels_last:
        online = online.to(memory_format=torch.channels_last)
        target = target.to(memory_format=torch.channels_last)
    opt = torch.optim.SGD(online.parameters(), lr=spec["lr"], momentum=0.9, weight_decay=1e-4)
    n, c, s = spec["batch"], spec["channels"], spec["size"]
    g = torch.Generator().manual_seed(1)
    v1 = torch.randn(n, c, s, s, generator=g)
    v2 = torch.randn(n, c, s, s, generator=g)
    if channels_last:
        v1 = v1.contiguous(memory_format=torch.channels_last)
        v2 = v2.contiguous(memory_format=torch.channels_last)
    lam, rho, m = spec["lambda"], spec["rho"], spec["ema"]
    state = {"F": None}
    target_params = list(target.parameters())
    online_params = list(online.parameters())

    def step():
        with torch.no_grad():
            torch._foreach_mul_(target_params, m)
            torch._foreach_add_(target_params, online_params, alpha=1 - m)
            t1 = F.normalize(target(v1), dim=1)
            t2 = F.normalize(target(v2), dim=1)
            corr = (t1.t() @ t1 + t2.t() @ t2) / (2 * n)
            new_F = corr if state["F"] is None else rho * state["F"] + (1 - rho) * corr
        p1 = online(v1)
        p2 = online(v2)
        z1 = F.normalize(p1, dim=1)
        z2 = F.normalize(p2, dim=1)
        with torch.no_grad():
            s1, s2 = z1.detach(), z2.detach()
            g1 = -t2 + lam * (s1 @ new_F)
            g2 = -t1 + lam * (s2 @ new_F)
            pos_sim = 0.5 * ((s1 * t2).sum(1).mean() + (s2 * t1).sum(1).mean())
            emb_std = s1.var(0, unbiased=False).sqrt().mean()
        loss = ((g1 * z1).sum() + (g2 * z2).sum()) / (2 * n)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        # One read-back per step, before the update (libs/engine/src/step.ts reads loss, pos_sim, embedding std).
        value, _, _ = torch.stack([loss.detach(), pos_sim, emb_std]).tolist()
        if math.isfinite(value):
            opt.step()
            state["F"] = new_F
        return value

    return step


def timed_round(step, seconds, min_steps):
    times = []
    total = 0.0
    loss = float("nan")
    cpu0 = time.process_time()
    while total < seconds or len(times) < min_steps:
        t0 = time.perf_counter()
        loss = step()
        dt = time.perf_counter() - t0
        times.append(dt * 1000)
        total += dt
    return {"steps": len(times), "seconds": total, "step_ms": times, "cpu_s": time.process_time() - cpu0, "loss": loss}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--info", action="store_true", help="print version, BLAS and ISA as JSON and exit")
    ap.add_argument("--spec", help="JSON: trunk, widths, channels, size, projector_hidden, projector_out, batch, lambda, rho, lr, ema")
    ap.add_argument("--serve", action="store_true", help="after warm-up, answer {\"seconds\": S} lines on stdin with one timed round each")
    ap.add_argument("--seconds", type=float, default=10.0, help="timed seconds of the single round (without --serve)")
    ap.add_argument("--min-steps", type=int, default=3)
    ap.add_argument("--warmup", type=int, default=2)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--channels-last", action="store_true", help="NHWC memory format (as TF.js) for weights and inputs")
    a = ap.parse_args()
    if a.info:
        print(json.dumps(info()), flush=True)
        return
    spec = json.loads(a.spec)
    torch.set_num_threads(a.threads)
    torch.manual_seed(0)
    step = make_step(spec, a.channels_last)
    t0 = time.perf_counter()
    for _ in range(a.warmup):
        step()
    ready = {"ready": True, "warmup_s": time.perf_counter() - t0, "threads": torch.get_num_threads(), "channels_last": a.channels_last, **info()}
    if not a.serve:
        print(json.dumps({**ready, **timed_round(step, a.seconds, a.min_steps)}), flush=True)
        return
    print(json.dumps(ready), flush=True)
    for line in sys.stdin:
        line = line.strip()
        if not line:
            continue
        req = json.loads(line)
        if req.get("cmd") == "exit":
            break
        print(json.dumps(timed_round(step, float(req["seconds"]), int(req.get("min_steps", a.min_steps)))), flush=True)


if __name__ == "__main__":
    try:
        main()
    except Exception as e:  # one line the bench can show
        print(json.dumps({"error": f"{type(e).__name__}: {e}"}), flush=True)
        sys.exit(1)
