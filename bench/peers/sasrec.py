#!/usr/bin/env python3
"""SASRec (Kang & McAuley 2018) peer benchmark in PyTorch.

Pre-LayerNorm self-attention blocks trained with a full softmax (cross-entropy
over every item) on next-item prediction. Data: one line per user,
`user item item ...` in time order, item ids from 1 (0 is padding). The last
two items of each user are held out (validation, test). Prints one JSON line
with the training throughput (sequences per second of the training loop only);
--eval adds HR@10 / NDCG@10 of the test item ranked against all items.
--patience N scores the validation item after every epoch (NDCG@10), stops after N
epochs without improvement and keeps the best weights, as `deepcart rec train`
does; --exclude-seen ranks without the user's earlier items, as deepcart does.
--device cuda trains and scores on the GPU; --precision bf16 autocasts.
"""
import argparse
import contextlib
import copy
import json
import math
import time

import torch
import torch.nn as nn
import torch.nn.functional as F

MAX_LEN, DIM, BLOCKS, DROPOUT, EPS = 50, 64, 2, 0.2, 1e-8


def left_pad(seq, length=MAX_LEN):
    """Keep the last `length` ids of seq, left-padded with zeros."""
    seq = seq[-length:]
    return [0] * (length - len(seq)) + seq


def padded_rows(rows):
    """Right-padded (N, longest) tensor of item-id lists (0 = padding)."""
    longest = max(1, max(len(r) for r in rows))
    return torch.tensor([r + [0] * (longest - len(r)) for r in rows])


def load_sequences(path):
    """Return (train inputs, train targets, eval inputs, test items, n_items, validation) as
    tensors; validation is (inputs, items, seen) and test seen items come with eval."""
    seqs = []
    with open(path) as f:
        for line in f:
            ids = [int(t) for t in line.split()[1:]]
            if ids:
                seqs.append(ids)
    n_items = max(max(s) for s in seqs)
    train = [s[:-2] for s in seqs]
    inputs = torch.tensor([left_pad(t[:-1]) for t in train])
    targets = torch.tensor([left_pad(t[1:]) for t in train])
    test = [s for s in seqs if len(s) >= 2]
    eval_inputs = torch.tensor([left_pad(s[:-1]) for s in test])
    test_items = torch.tensor([s[-1] for s in test])
    test_seen = padded_rows([s[:-1] for s in test])
    valid = [s for s in seqs if len(s) >= 3]
    validation = (torch.tensor([left_pad(s[:-2]) for s in valid]), torch.tensor([s[-2] for s in valid]),
                  padded_rows([s[:-2] for s in valid]))
    return inputs, targets, (eval_inputs, test_seen), test_items, n_items, validation


class Block(nn.Module):
    def __init__(self):
        super().__init__()
        self.norm1 = nn.LayerNorm(DIM, eps=EPS)
        self.attn = nn.MultiheadAttention(DIM, 1, dropout=DROPOUT, batch_first=True)
        self.norm2 = nn.LayerNorm(DIM, eps=EPS)
        self.ff = nn.Sequential(nn.Linear(DIM, DIM), nn.ReLU(), nn.Dropout(DROPOUT), nn.Linear(DIM, DIM))
        self.drop = nn.Dropout(DROPOUT)

    def forward(self, x, causal):
        h = self.norm1(x)
        a, _ = self.attn(h, h, h, attn_mask=causal, need_weights=False)
        x = x + self.drop(a)
        return x + self.drop(self.ff(self.norm2(x)))


class SASRec(nn.Module):
    def __init__(self, n_items):
        super().__init__()
        self.item_emb = nn.Embedding(n_items + 1, DIM, padding_idx=0)
        with torch.no_grad():  # unit-scale rows, as deepcart (N(0, 1) saturates the softmax)
            self.item_emb.weight.normal_(0.0, 1.0 / math.sqrt(DIM))
            self.item_emb.weight[0].zero_()
        self.pos_emb = nn.Embedding(MAX_LEN, DIM)
        self.drop = nn.Dropout(DROPOUT)
        self.blocks = nn.ModuleList(Block() for _ in range(BLOCKS))
        self.final_norm = nn.LayerNorm(DIM, eps=EPS)

    def forward(self, seq):
        """seq (B, L) item ids -> hidden states (B, L, D)."""
        L = seq.size(1)
        keep = (seq > 0).unsqueeze(-1).float()
        x = self.item_emb(seq) * math.sqrt(DIM) + self.pos_emb(torch.arange(L, device=seq.device))
        x = self.drop(x) * keep
        causal = torch.ones(L, L, dtype=torch.bool, device=seq.device).triu(1)  # True = may not attend
        for block in self.blocks:
            x = block(x, causal) * keep
        return self.final_norm(x)

    def logits(self, h):
        return h @ self.item_emb.weight[1:].T  # item i scored at column i - 1


@torch.no_grad()
def evaluate(model, inputs, test_items, k=10, batch=256, seen=None, autocast=contextlib.nullcontext):
    """HR@k and NDCG@k of each target item ranked against all items; with seen (N, S) item
    ids (0 = padding), the user's earlier items are left out of the ranking."""
    model.eval()
    hits, ndcg = 0.0, 0.0
    for start in range(0, len(inputs), batch):
        with autocast():
            scores = model.logits(model(inputs[start:start + batch])[:, -1]).float()  # (B, I)
        items = test_items[start:start + batch]
        target = scores.gather(1, (items - 1).unsqueeze(1))
        if seen is not None:
            # Column 0 stands for the padding id; earlier items score -inf, the target itself stays.
            full = F.pad(scores, (1, 0), value=float("-inf"))
            hist = seen[start:start + batch]
            hist = hist.masked_fill(hist == items.unsqueeze(1), 0)
            scores = full.scatter(1, hist, float("-inf"))
        rank = (scores > target).sum(1).float()
        top = rank < k
        hits += top.sum().item()
        ndcg += (top.float() / torch.log2(rank + 2)).sum().item()
    return hits / len(inputs), ndcg / len(inputs)


def main():
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--data", required=True)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--epochs", type=int, default=1)
    p.add_argument("--batch-size", type=int, default=128)
    p.add_argument("--seed", type=int, default=42)
    p.add_argument("--lr", type=float, default=1e-3)
    p.add_argument("--eval", action="store_true", help="report HR@10 / NDCG@10 on the test items")
    p.add_argument("--patience", type=int, default=0,
                   help="score validation NDCG@10 every epoch and stop after this many epochs "
                        "without improvement, keeping the best weights (0 = no validation)")
    p.add_argument("--exclude-seen", action="store_true",
                   help="rank without the user's earlier items (as deepcart does)")
    p.add_argument("--device", default="cpu", help="cpu, cuda or cuda:N")
    p.add_argument("--precision", choices=["fp32", "bf16"], default="fp32",
                   help="bf16: autocast forward and loss to bfloat16")
    args = p.parse_args()

    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    device = torch.device(args.device)
    sync = (lambda: torch.cuda.synchronize(device)) if device.type == "cuda" else (lambda: None)
    autocast = lambda: torch.autocast(device.type, dtype=torch.bfloat16, enabled=args.precision == "bf16")
    inputs, targets, (eval_inputs, test_seen), test_items, n_items, validation = load_sequences(args.data)
    inputs, targets = inputs.to(device), targets.to(device)
    model = SASRec(n_items).to(device)
    opt = torch.optim.Adam(model.parameters(), lr=args.lr, betas=(0.9, 0.98))
    gen = torch.Generator().manual_seed(args.seed)
    B = args.batch_size
    if args.patience > 0:
        valid_inputs, valid_items, valid_seen = (t.to(device) for t in validation)

    samples, loss_val, train_seconds = 0, float("nan"), 0.0
    elapsed, best, best_epoch, best_state, bad, epochs_run, seconds_to_best = 0.0, None, 0, None, 0, 0, 0.0
    for epoch in range(args.epochs):
        model.train()
        sync()
        t0 = time.perf_counter()
        perm = torch.randperm(len(inputs), generator=gen)
        for start in range(0, len(perm), B):
            idx = perm[start:start + B].to(device)
            seq, tgt = inputs[idx], targets[idx]
            # Score only the real (non-padding) positions, as deepcart does: the mean runs
            # over real targets either way, at a fraction of the (B, L, I) work.
            with autocast():
                h = model(seq).reshape(-1, DIM)
                real = (tgt > 0).reshape(-1).nonzero().squeeze(1)
                logits = model.logits(h.index_select(0, real))  # (N, I)
                loss = F.cross_entropy(logits, tgt.reshape(-1).index_select(0, real) - 1)
            opt.zero_grad()
            loss.backward()
            opt.step()
            samples += len(idx)
        loss_val = loss.item()
        sync()
        epoch_train = time.perf_counter() - t0
        train_seconds += epoch_train
        epochs_run = epoch + 1
        if args.patience <= 0:
            continue
        hr, ndcg = evaluate(model, valid_inputs, valid_items, seen=valid_seen if args.exclude_seen else None,
                            autocast=autocast)
        sync()
        elapsed += time.perf_counter() - t0  # training and validation, as deepcart's epoch seconds
        if best is None or ndcg > best[1]:
            best, best_epoch, bad, seconds_to_best = (hr, ndcg), epoch + 1, 0, elapsed
            best_state = copy.deepcopy(model.state_dict())
        else:
            bad += 1
            if bad >= args.patience:
                break
    if best_state is not None:
        model.load_state_dict(best_state)

    result = {
        "peer": "pytorch", "model": "sasrec", "torch": torch.__version__,
        "threads": args.threads, "batch_size": B, "epochs": args.epochs,
        "device": str(device), "precision": args.precision,
        "samples": samples, "train_seconds": train_seconds,
        "samples_per_second": samples / train_seconds if train_seconds > 0 else 0.0,
        "final_loss": loss_val,
    }
    if args.patience > 0:
        result.update({"epochs_run": epochs_run, "best_epoch": best_epoch, "seconds_to_best": seconds_to_best,
                       "seconds_with_validation": elapsed, "valid_hr@10": best[0], "valid_ndcg@10": best[1]})
    if args.eval:
        seen = test_seen.to(device) if args.exclude_seen else None
        result["hr@10"], result["ndcg@10"] = evaluate(model, eval_inputs.to(device), test_items.to(device),
                                                      seen=seen, autocast=autocast)
    print(json.dumps(result))


if __name__ == "__main__":
    main()
