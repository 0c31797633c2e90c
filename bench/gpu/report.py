#!/usr/bin/env python3
"""Results table for bench/gpu/run.sh: reads OUT/steps.tsv (name, status, seconds, note) and each
step's stdout in OUT/raw/NAME.out (deepcart --json or a peer's JSON line), writes OUT/results.md
(one markdown table, then the steps) and OUT/results.json (every step's status and parsed JSON),
and prints the markdown. Standard library only.
Usage: report.py OUT"""
import json, math, os, sys

out = sys.argv[1]
steps = {}
order = []
with open(os.path.join(out, "steps.tsv")) as f:
    for line in f:
        parts = line.rstrip("\n").split("\t")
        if len(parts) >= 3:
            steps[parts[0]] = {"status": parts[1], "seconds": float(parts[2]), "note": parts[3] if len(parts) > 3 else ""}
            order.append(parts[0])


def load(name):
    """The step's JSON (the last line that parses), or None."""
    path = os.path.join(out, "raw", name + ".out")
    if not os.path.exists(path):
        return None
    text = open(path, errors="replace").read().strip()
    try:
        return json.loads(text)
    except ValueError:
        for line in reversed(text.splitlines()):
            try:
                return json.loads(line)
            except ValueError:
                pass
    return None


raw = {name: load(name) for name in order}


def get(name, *path):
    v = raw.get(name)
    try:
        for p in path:
            v = v[p]
        return v
    except (KeyError, IndexError, TypeError):
        return None


def cell(name, value, fmt):
    if value is not None and not (isinstance(value, float) and math.isnan(value)):
        return fmt.format(value)
    st = steps.get(name)
    return st["status"] if st and st["status"] != "ok" else ("not run" if not st else "n/a")


def ratio(a, b):
    try:
        return f"{a / b:.2f}x"
    except (TypeError, ZeroDivisionError):
        return "-"


def to_best(name):
    """deepcart: seconds of its epochs (training and validation) up to the best one."""
    h, best = get(name, "metrics", "history"), get(name, "metrics", "best_epoch")
    if not h or not best:
        return None
    return sum(e.get("seconds", 0.0) for e in h[:best])


rows = []


def row(task, measure, ours_name, ours, peer_name, peer, fmt, with_ratio=False):
    rows.append(f"| {task} | {measure} | {cell(ours_name, ours, fmt)} | "
                + (f"{cell(peer_name, peer, fmt)}" if peer_name else "-")
                + f" | {ratio(ours, peer) if with_ratio else '-'} |")


for prec in ("fp32", "bf16"):
    d, p = f"sasrec-{prec}", f"peer-sasrec-{prec}"
    if d not in steps and p not in steps:
        continue
    t = f"SASRec, Amazon Beauty, batch 128, {prec}"
    row(t, "training samples/s", d, get(d, "metrics", "train_examples_per_second"), p, get(p, "samples_per_second"), "{:.0f}", True)
    row(t, "seconds to best validation epoch (incl. validation)", d, to_best(d), p, get(p, "seconds_to_best"), "{:.1f}")
    ours_ep = get(d, "metrics", "best_epoch"), get(d, "metrics", "epochs_run")
    peer_ep = get(p, "best_epoch"), get(p, "epochs_run")
    row(t, "best epoch / epochs run (patience 2)", d, f"{ours_ep[0]} / {ours_ep[1]}" if ours_ep[0] else None,
        p, f"{peer_ep[0]} / {peer_ep[1]}" if peer_ep[0] else None, "{}")
    row(t, "test HR@10 (all items, seen excluded)", d, get(d, "metrics", "test", "hr@10"), p, get(p, "hr@10"), "{:.4f}")
    row(t, "test NDCG@10", d, get(d, "metrics", "test", "ndcg@10"), p, get(p, "ndcg@10"), "{:.4f}")

if "neumf" in steps or "peer-neumf" in steps:
    row("NeuMF, ML-100K, 256 x (1+4), 5 epochs", "training samples/s", "neumf",
        get("neumf", "metrics", "train_examples_per_second"), "peer-neumf", get("peer-neumf", "samples_per_second"), "{:.0f}", True)

for model in ("cnn", "resnet"):
    for prec in ("fp32", "bf16"):
        d, p = f"{model}-{prec}", f"peer-{model}-{prec}"
        if d not in steps and p not in steps:
            continue
        t = f"{model}, Fashion-MNIST, batch 128, {prec}"
        row(t, "training images/s", d, get(d, "metrics", "train_examples_per_second"), p, get(p, "train_images_per_second"), "{:.0f}", True)
        row(t, "inference images/s (10,000 test)", d, get(d, "metrics", "test", "images_per_second"), p,
            get(p, "inference_images_per_second"), "{:.0f}", True)
        row(t, "test accuracy", d, get(d, "metrics", "test", "accuracy"), p, get(p, "test_accuracy"), "{:.4f}")
        secs = get(d, "metrics", "train_seconds")
        psecs = get(p, "train_seconds")
        row(t, "training minutes (deepcart incl. validation)", d, secs / 60 if secs else None, p,
            psecs / 60 if psecs else None, "{:.2f}")

for model in ("gru", "transformer"):
    d, p = f"text-{model}", f"peer-text-{model}"
    if d not in steps and p not in steps:
        continue
    t = f"{model}, clothing reviews, batch 64, 1 epoch"
    row(t, "training texts/s", d, get(d, "metrics", "train_examples_per_second"), p, get(p, "train_texts_per_second"), "{:.0f}", True)
    row(t, "inference texts/s", d, get(d, "metrics", "test", "texts_per_second"), p, get(p, "inference_texts_per_second"), "{:.0f}", True)
    row(t, "test accuracy (deepcart)", d, get(d, "metrics", "test", "accuracy"), None, None, "{:.4f}")

if "serve" in steps:
    routes = get("serve", "routes") or {}
    if not routes:
        row("deepcart serve --device cuda", "all routes", "serve", None, None, None, "{}")
    for route, r in routes.items():
        t = f"serve {route}"
        row(t, f"requests/s ({r.get('client', '')})", "serve", r.get("requests_per_second"), None, None, "{:.0f}")
        row(t, "p50 / p99 latency ms", "serve", f"{r.get('p50_ms', float('nan')):.2f} / {r.get('p99_ms', float('nan')):.2f}",
            None, None, "{}")
        row(t, "non-2xx / errors", "serve", f"{r.get('non_2xx')} / {r.get('errors')}", None, None, "{}")

md = ["| task | measure | deepcart (C++) | PyTorch-Python | ratio (deepcart / peer) |", "|---|---|---|---|---|"] + rows
md += ["", "| step | status | seconds | note |", "|---|---|---|---|"]
for name in order:
    s = steps[name]
    md.append(f"| {name} | {s['status']} | {s['seconds']:.0f} | {s['note'].replace('|', '/')} |")
text = "\n".join(md) + "\n"
open(os.path.join(out, "results.md"), "w").write(text)
with open(os.path.join(out, "results.json"), "w") as f:
    json.dump({"steps": {n: steps[n] for n in order}, "results": raw}, f, indent=1)
print(text)
