#!/usr/bin/env python3
"""The PyTorch peer of backend::cpu_bf16: the CPU training step of ../shared/peers/torch_cpu_step.py
(teacher GELU MLP, ReLU student, L1 on the activations, AdamW + cosine, decoder columns capped at norm 1),
with the forward pass under torch.autocast("cpu", dtype=torch.bfloat16): the linear layers run with bf16
operands (oneDNN's bf16 matmul, fp32 accumulation), the parameters and the optimizer stay fp32, as
PyTorch users train in bf16 on a CPU. Prints tokens_per_s on its last line, like the shared peer.
"""
import argparse
import os
import statistics
import time


def parse_args():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--d", type=int, default=64, help="d_model")
    p.add_argument("--m", type=int, default=256, help="teacher hidden width (d_mlp)")
    p.add_argument("--h", type=int, default=1024, help="student hidden width")
    p.add_argument("--batch", type=int, default=1024, help="tokens per step")
    p.add_argument("--steps", type=int, default=20, help="timed steps (after 3 warm-up)")
    p.add_argument("--threads", type=int, default=2, help="torch intra-op (OpenMP) threads, used by oneDNN")
    p.add_argument("--blas-threads", type=int, default=None, help="OpenBLAS threads (fp32 products outside autocast)")
    p.add_argument("--lambda", dest="lam", type=float, default=1e-3, help="L1 coefficient")
    p.add_argument("--lr", type=float, default=1e-3)
    p.add_argument("--weight-decay", type=float, default=1e-2)
    p.add_argument("--precompute-teacher", action="store_true", help="teacher outputs computed before timing")
    p.add_argument("--seed", type=int, default=0)
    return p.parse_args()


args = parse_args()
os.environ["OMP_NUM_THREADS"] = str(args.threads)
os.environ["OPENBLAS_NUM_THREADS"] = str(args.blas_threads or args.threads)

import torch  # noqa: E402
from torch import nn  # noqa: E402

WARMUP = 3


class MLP(nn.Module):
    def __init__(self, d, hidden, act):
        super().__init__()
        self.enc = nn.Linear(d, hidden)
        self.dec = nn.Linear(hidden, d)
        self.act = act

    def forward(self, x):
        a = self.act(self.enc(x))
        return self.dec(a), a


@torch.no_grad()
def clamp_decoder_norms(dec):
    norms = dec.weight.norm(dim=0, keepdim=True)
    dec.weight.div_(norms.clamp(min=1.0))


def main():
    torch.manual_seed(args.seed)
    torch.set_num_threads(args.threads)
    d, total = args.d, WARMUP + args.steps
    teacher = MLP(d, args.m, nn.GELU()).requires_grad_(False)
    student = MLP(d, args.h, nn.ReLU())
    clamp_decoder_norms(student.dec)
    opt = torch.optim.AdamW(student.parameters(), lr=args.lr, weight_decay=args.weight_decay)
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=total)
    xs = [torch.randn(args.batch, d) for _ in range(min(total, 8))]
    ys = None
    if args.precompute_teacher:
        with torch.no_grad(), torch.autocast("cpu", dtype=torch.bfloat16):
            ys = [teacher(x)[0].float() for x in xs]

    times = []
    for step in range(total):
        x = xs[step % len(xs)]
        t0 = time.perf_counter()
        with torch.autocast("cpu", dtype=torch.bfloat16):
            if ys is not None:
                y = ys[step % len(xs)]
            else:
                with torch.no_grad():
                    y = teacher(x)[0].float()
            yhat, a = student(x)
            loss = (yhat.float() - y).pow(2).sum(dim=1).mean() + args.lam * a.float().sum(dim=1).mean()
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        sched.step()
        clamp_decoder_norms(student.dec)
        times.append(time.perf_counter() - t0)

    timed = times[WARMUP:]
    med = statistics.median(timed)
    l0 = (a > 0).sum(dim=1).float().mean().item()
    print(f"torch {torch.__version__} bf16 autocast threads={torch.get_num_threads()} d={d} m={args.m} h={args.h} "
          f"batch={args.batch} steps={args.steps} precompute_teacher={args.precompute_teacher} "
         )
    print(f"step_ms median={med * 1e3:.3f} min={min(timed) * 1e3:.3f} max={max(timed) * 1e3:.3f} "
          f"loss={loss.item():.4g} L0={l0:.1f}")
    print(f"tokens_per_s={args.batch / med:.1f}")


if __name__ == "__main__":
    main()
