#!/usr/bin/env python3
"""PyTorch (float32, CPU) timing of one TopK transcoder training step, the peer of our
train_step_topk_<k> benchmarks (benchmarks/bench_train_step.cpp).

Teacher MLP:  y    = gelu(x W1 + b1) W2 + b2                   (d -> m -> d)
Student:      pre  = x W_enc + b_enc;  keep the k largest relu(pre) per token (torch.topk);
              yhat = sum over the kept latents of a_j W_dec[j] + b_dec
Loss:         mean_batch ||yhat - y||^2  (no sparsity penalty: k sets L0)
Optimiser:    torch.optim.AdamW + cosine LR schedule; decoder rows clamped to norm <= 1 after each step.

The decoder is applied the way sparsify does on the CPU (F.embedding_bag over the k kept latents with
their activations as per-sample weights), so neither the forward decode nor W_dec's gradient is a
dense [batch, h] x [h, d] product. Inputs are Gaussian. The last line printed is `tokens_per_s=NNN`:
batch size divided by the median step time over --steps timed steps (after 3 warm-up steps).
"""
import argparse
import os
import statistics
import time


def parse_args():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--d", type=int, default=256, help="d_model")
    p.add_argument("--m", type=int, default=1024, help="teacher hidden width (d_mlp)")
    p.add_argument("--h", type=int, default=4096, help="student latents (d_sae)")
    p.add_argument("--k", type=int, default=32, help="latents kept per token")
    p.add_argument("--batch", type=int, default=1024, help="tokens per step")
    p.add_argument("--steps", type=int, default=20, help="timed steps (after 3 warm-up)")
    p.add_argument("--threads", type=int, default=2, help="torch intra-op (OpenMP) threads")
    p.add_argument("--blas-threads", type=int, default=None, help="OpenBLAS threads for the GEMMs (default: --threads)")
    p.add_argument("--lr", type=float, default=1e-3)
    p.add_argument("--weight-decay", type=float, default=1e-2)
    p.add_argument("--seed", type=int, default=0)
    return p.parse_args()


args = parse_args()
# Debian's torch runs float32 GEMMs through the system BLAS, whose thread pool is separate from
# torch's OpenMP pool; both must be set before torch is loaded.
os.environ["OMP_NUM_THREADS"] = str(args.threads)
os.environ["OPENBLAS_NUM_THREADS"] = str(args.blas_threads or args.threads)

import torch  # noqa: E402
import torch.nn.functional as F  # noqa: E402

WARMUP = 3


def main():
    torch.manual_seed(args.seed)
    torch.set_num_threads(args.threads)
    d, h, total = args.d, args.h, WARMUP + args.steps

    t_w1 = torch.randn(d, args.m) / d ** 0.5
    t_b1 = torch.zeros(args.m)
    t_w2 = torch.randn(args.m, d) / args.m ** 0.5
    t_b2 = torch.zeros(d)
    w_enc = (torch.randn(d, h) / d ** 0.5).requires_grad_()
    b_enc = torch.zeros(h, requires_grad=True)
    w_dec = torch.randn(h, d)
    w_dec = (w_dec / w_dec.norm(dim=1, keepdim=True)).requires_grad_()
    b_dec = torch.zeros(d, requires_grad=True)
    params = [w_enc, b_enc, w_dec, b_dec]
    opt = torch.optim.AdamW(params, lr=args.lr, weight_decay=args.weight_decay)
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=total)

    xs = [torch.randn(args.batch, d) for _ in range(min(total, 8))]
    times = []
    for step in range(total):
        x = xs[step % len(xs)]
        t0 = time.perf_counter()
        with torch.no_grad():
            y = F.gelu(x @ t_w1 + t_b1) @ t_w2 + t_b2
        pre = torch.relu(x @ w_enc + b_enc)
        acts, idx = pre.topk(args.k, dim=1, sorted=False)
        yhat = F.embedding_bag(idx, w_dec, per_sample_weights=acts, mode="sum") + b_dec
        loss = (yhat - y).pow(2).sum(dim=1).mean()
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        sched.step()
        with torch.no_grad():
            w_dec.div_(w_dec.norm(dim=1, keepdim=True).clamp(min=1.0))
        times.append(time.perf_counter() - t0)

    timed = times[WARMUP:]
    med = statistics.median(timed)
    l0 = (acts > 0).sum(dim=1).float().mean().item()
    print(f"torch {torch.__version__} threads={torch.get_num_threads()} d={d} m={args.m} h={h} k={args.k} "
          f"batch={args.batch} steps={args.steps}")
    print(f"step_ms median={med * 1e3:.3f} min={min(timed) * 1e3:.3f} max={max(timed) * 1e3:.3f} "
          f"loss={loss.item():.4g} L0={l0:.1f}")
    print(f"tokens_per_s={args.batch / med:.1f}")


if __name__ == "__main__":
    main()
