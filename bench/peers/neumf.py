#!/usr/bin/env python3
"""NeuMF (He et al. 2017) peer benchmark in PyTorch.

Implicit feedback on MovieLens u.data: every rating is a positive. Each batch
holds B positives plus 4 uniform random negatives per positive (5B pairs),
trained with BCE-with-logits and Adam. Prints one JSON line with the training
throughput (positives per second of the training loop only). --device cuda
trains on the GPU (negatives drawn on the CPU as before, then moved); --precision
bf16 autocasts.
"""
import argparse
import json
import time

import torch
import torch.nn as nn
import torch.nn.functional as F

NUM_NEG = 4


def load_interactions(path):
    """Return (users, items) 0-based dense id tensors, ids in first-appearance order."""
    umap, imap, us, its = {}, {}, [], []
    with open(path) as f:
        for line in f:
            parts = line.split()
            if len(parts) < 2:
                continue
            us.append(umap.setdefault(parts[0], len(umap)))
            its.append(imap.setdefault(parts[1], len(imap)))
    return torch.tensor(us), torch.tensor(its), len(umap), len(imap)


class NeuMF(nn.Module):
    def __init__(self, n_users, n_items, gmf_dim=32, mlp_dim=32):
        super().__init__()
        self.gmf_user = nn.Embedding(n_users, gmf_dim)
        self.gmf_item = nn.Embedding(n_items, gmf_dim)
        self.mlp_user = nn.Embedding(n_users, mlp_dim)
        self.mlp_item = nn.Embedding(n_items, mlp_dim)
        for emb in (self.gmf_user, self.gmf_item, self.mlp_user, self.mlp_item):
            nn.init.normal_(emb.weight, std=0.01)
        self.mlp = nn.Sequential(
            nn.Linear(2 * mlp_dim, 32), nn.ReLU(),
            nn.Linear(32, 16), nn.ReLU())
        self.out = nn.Linear(gmf_dim + 16, 1)

    def forward(self, users, items):
        gmf = self.gmf_user(users) * self.gmf_item(items)
        mlp = self.mlp(torch.cat([self.mlp_user(users), self.mlp_item(items)], dim=1))
        return self.out(torch.cat([gmf, mlp], dim=1)).squeeze(1)


def main():
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--data", required=True)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--epochs", type=int, default=1)
    p.add_argument("--batch-size", type=int, default=256)
    p.add_argument("--seed", type=int, default=42)
    p.add_argument("--lr", type=float, default=1e-3)
    p.add_argument("--device", default="cpu", help="cpu, cuda or cuda:N")
    p.add_argument("--precision", choices=["fp32", "bf16"], default="fp32",
                   help="bf16: autocast forward and loss to bfloat16")
    args = p.parse_args()

    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    device = torch.device(args.device)
    sync = (lambda: torch.cuda.synchronize(device)) if device.type == "cuda" else (lambda: None)
    users, items, n_users, n_items = load_interactions(args.data)
    users, items = users.to(device), items.to(device)
    model = NeuMF(n_users, n_items).to(device)
    opt = torch.optim.Adam(model.parameters(), lr=args.lr)
    gen = torch.Generator().manual_seed(args.seed)
    B = args.batch_size

    samples, loss_val, train_seconds = 0, float("nan"), 0.0
    model.train()
    for _ in range(args.epochs):
        sync()
        t0 = time.perf_counter()
        perm = torch.randperm(len(users), generator=gen)
        for start in range(0, len(perm), B):
            idx = perm[start:start + B].to(device)
            n = len(idx)
            pos_u, pos_i = users[idx], items[idx]
            neg_i = torch.randint(n_items, (n * NUM_NEG,), generator=gen).to(device)
            u = torch.cat([pos_u, pos_u.repeat_interleave(NUM_NEG)])
            i = torch.cat([pos_i, neg_i])
            labels = torch.cat([torch.ones(n, device=device), torch.zeros(n * NUM_NEG, device=device)])
            with torch.autocast(device.type, dtype=torch.bfloat16, enabled=args.precision == "bf16"):
                loss = F.binary_cross_entropy_with_logits(model(u, i).float(), labels)
            opt.zero_grad()
            loss.backward()
            opt.step()
            samples += n
        loss_val = loss.item()
        sync()
        train_seconds += time.perf_counter() - t0

    print(json.dumps({
        "peer": "pytorch", "model": "neumf", "torch": torch.__version__,
        "threads": args.threads, "batch_size": B, "epochs": args.epochs,
        "device": str(device), "precision": args.precision,
        "samples": samples, "train_seconds": train_seconds,
        "samples_per_second": samples / train_seconds if train_seconds > 0 else 0.0,
        "final_loss": loss_val,
    }))


if __name__ == "__main__":
    main()
