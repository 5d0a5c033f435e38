#!/usr/bin/env python3
"""One table from bench_gpu_step's JSON and the PyTorch peer's log (torch_gpu_step.py), with ratios.

Our rows are step[_l0_64|_graph]/<backend>/<config>/<teacher>; the peer prints
'<config> d=.. mode=<fp32|tf32|bf16> teacher=<cached|live> ... tokens_per_s=N'. Each of our rows is
compared with the peer at the same config and teacher mode, at the precision of our backend; the
sparse (L0 64) and graph rows are also compared with the peer's bf16, the issue's yardstick.
usage: gpu_table.py bench.json peer.log
"""
import json, re, sys

PRECISION = {"cuda": "fp32", "cuda_tf32": "tf32", "cuda_bf16": "bf16", "cpu": "fp32"}

def peer_rates(path):
    rates, ceilings = {}, []
    try:
        lines = open(path).read().splitlines()
    except OSError:
        return rates, ceilings
    for line in lines:
        if line.startswith("matmul_ceiling"):
            ceilings.append(line)
        m = re.match(r"(\S+) .*mode=(\S+) teacher=(\S+) .*tokens_per_s=([\d,]+)", line)
        if m:
            rates[(m.group(1), m.group(2), m.group(3))] = float(m.group(4).replace(",", ""))
    return rates, ceilings

def main():
    bench, peer_log = sys.argv[1], sys.argv[2]
    peers, ceilings = peer_rates(peer_log)
    try:
        rows = json.load(open(bench))["benchmarks"]
    except (OSError, ValueError, KeyError):
        rows = []
    for c in ceilings:
        print("peer " + c)
    print()
    print("| ours | L0 | ms/step | ours tok/s | PyTorch same precision | ratio | PyTorch bf16 | ratio vs bf16 |")
    print("|---|---|---|---|---|---|---|---|")
    for r in rows:
        if r.get("run_type") == "aggregate" or "tokens/s" not in r:
            continue
        kind, backend, config, teacher = r["name"].split("/")[:4]
        ours = r["tokens/s"]
        same = peers.get((config, PRECISION.get(backend, "fp32"), teacher))
        bf16 = peers.get((config, "bf16", teacher))
        fmt = lambda v: f"{v:,.0f}" if v else "–"
        ratio = lambda p: f"{ours / p:.2f}×" if p else "–"
        print(f"| {r['name']} | {r.get('L0', 0):.1f} | {r['real_time']:.3f} | {fmt(ours)} | {fmt(same)} | {ratio(same)} | "
              f"{fmt(bf16)} | {ratio(bf16)} |")

if __name__ == "__main__":
    main()
