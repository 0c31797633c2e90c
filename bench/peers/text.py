#!/usr/bin/env python3
"""deepcart's text networks (src/deepcart/text/rnn.h, transformer.h) in PyTorch-Python, for
side-by-side speed on identical data.

Input: the fastText-format files that `deepcart text train --export-split DIR` writes (one text
per line, "__label__L tok tok ..."), so both programs see the same texts, tokens and labels.
gru: embedding, bidirectional GRU over packed sequences, max pooling over real tokens, dropout,
linear. transformer: embedding plus learned positions, pre-LayerNorm blocks (4x feed-forward,
GELU), masked max pooling, final LayerNorm, linear. AdamW, batch in random order padded to its
longest text; inference sorted by length in batches of 256, as deepcart does. Prints one JSON
line: training texts/s (one epoch) and inference texts/s on the test file. --device cuda runs
on the GPU (batches padded on the CPU, then moved); --precision bf16 autocasts.
"""
import argparse, collections, json, math, time

import torch
import torch.nn as nn
import torch.nn.functional as F


def read(path):
    labels, tokens = [], []
    with open(path, encoding="utf-8") as f:
        for line in f:
            parts = line.rstrip("\n").split(" ")
            labels.append(parts[0])
            tokens.append([t for t in parts[1:] if t])
    return labels, tokens


class Block(nn.Module):
    def __init__(self, dim, heads, dropout):
        super().__init__()
        self.heads = heads
        self.norm1, self.norm2 = nn.LayerNorm(dim), nn.LayerNorm(dim)
        self.qkv, self.proj = nn.Linear(dim, 3 * dim), nn.Linear(dim, dim)
        self.ff1, self.ff2 = nn.Linear(dim, 4 * dim), nn.Linear(4 * dim, dim)
        self.drop = nn.Dropout(dropout)

    def forward(self, x, bias):
        b, l, d = x.shape
        q, k, v = self.qkv(self.norm1(x)).view(b, l, 3, self.heads, d // self.heads).permute(2, 0, 3, 1, 4)
        att = self.drop(torch.softmax(q @ k.transpose(-2, -1) / math.sqrt(d // self.heads) + bias, -1))
        h = x + self.drop(self.proj((att @ v).transpose(1, 2).reshape(b, l, d)))
        return h + self.drop(self.ff2(self.drop(F.gelu(self.ff1(self.norm2(h))))))


class Net(nn.Module):
    def __init__(self, arch, vocab, classes, dim, hidden, layers, heads, max_length, dropout):
        super().__init__()
        self.arch = arch
        self.embedding = nn.Embedding(vocab, dim, padding_idx=0)
        if arch == "gru":
            self.rnn = nn.GRU(dim, hidden, layers, batch_first=True, bidirectional=True)
            features = 2 * hidden
        else:
            self.positions = nn.Embedding(max_length, dim)
            self.blocks = nn.ModuleList(Block(dim, heads, dropout) for _ in range(layers))
            self.final = nn.LayerNorm(dim)
            features = dim
        self.drop = nn.Dropout(dropout)
        self.head = nn.Linear(features, classes)

    def forward(self, ids):
        keep = ids != 0
        x = self.embedding(ids)
        if self.arch == "gru":
            lengths = keep.sum(1).clamp(min=1)
            packed = nn.utils.rnn.pack_padded_sequence(self.drop(x), lengths.cpu(), batch_first=True, enforce_sorted=False)
            out, _ = self.rnn(packed)
            h, _ = nn.utils.rnn.pad_packed_sequence(out, batch_first=True, total_length=ids.shape[1])
        else:
            l = ids.shape[1]
            h = self.drop(x + self.positions.weight[:l].unsqueeze(0))
            usable = keep.clone()
            usable[:, 0] = True
            bias = torch.zeros(usable.shape, device=ids.device).masked_fill(~usable, float("-inf")).view(ids.shape[0], 1, 1, l)
            for block in self.blocks:
                h = block(h, bias)
            h = self.final(h)
        pooled = h.masked_fill(~keep.unsqueeze(2), float("-inf")).max(1).values
        pooled = pooled.masked_fill(~keep.any(1, keepdim=True), 0.0)
        return self.head(self.drop(pooled))


def pad(rows):
    longest = max(1, max(len(r) for r in rows))
    out = torch.zeros(len(rows), longest, dtype=torch.long)
    for i, r in enumerate(rows):
        out[i, :len(r)] = torch.tensor(r, dtype=torch.long)
    return out


def main():
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--split", required=True, help="folder written by deepcart text train --export-split")
    p.add_argument("--model", choices=["gru", "transformer"], default="gru")
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--batch-size", type=int, default=64)
    p.add_argument("--dim", type=int, default=64)
    p.add_argument("--hidden", type=int, default=128)
    p.add_argument("--layers", type=int, default=1)
    p.add_argument("--heads", type=int, default=4)
    p.add_argument("--max-length", type=int, default=256)
    p.add_argument("--dropout", type=float, default=0.1)
    p.add_argument("--seed", type=int, default=42)
    p.add_argument("--device", default="cpu", help="cpu, cuda or cuda:N")
    p.add_argument("--precision", choices=["fp32", "bf16"], default="fp32",
                   help="bf16: autocast forward and loss to bfloat16")
    args = p.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    device = torch.device(args.device)
    sync = (lambda: torch.cuda.synchronize(device)) if device.type == "cuda" else (lambda: None)
    autocast = lambda: torch.autocast(device.type, dtype=torch.bfloat16, enabled=args.precision == "bf16")

    train_labels, train_tokens = read(f"{args.split}/train.txt")
    test_labels, test_tokens = read(f"{args.split}/test.txt")
    counts = collections.Counter(t for row in train_tokens for t in row)
    vocab = {t: i + 2 for i, (t, _) in enumerate(counts.most_common())}
    names = sorted(set(train_labels))
    encode = lambda rows: [[vocab.get(t, 1) for t in row[:args.max_length]] for row in rows]
    train_ids, test_ids = encode(train_tokens), encode(test_tokens)
    y = torch.tensor([names.index(l) for l in train_labels]).to(device)

    model = Net(args.model, len(vocab) + 2, len(names), args.dim, args.hidden, args.layers, args.heads,
                args.max_length, args.dropout).to(device)
    opt = torch.optim.AdamW(model.parameters(), lr=0.002, weight_decay=0.01)
    model.train()
    perm = torch.randperm(len(train_ids)).tolist()
    sync()
    t0 = time.perf_counter()
    for start in range(0, len(perm), args.batch_size):
        idx = perm[start:start + args.batch_size]
        with autocast():
            loss = F.cross_entropy(model(pad([train_ids[i] for i in idx]).to(device)).float(), y[idx])
        opt.zero_grad()
        loss.backward()
        opt.step()
    sync()
    train_seconds = time.perf_counter() - t0

    model.eval()
    order = sorted(range(len(test_ids)), key=lambda i: len(test_ids[i]))
    sync()
    t0 = time.perf_counter()
    with torch.inference_mode(), autocast():
        for start in range(0, len(order), 256):
            torch.softmax(model(pad([test_ids[i] for i in order[start:start + 256]]).to(device)), 1)
    sync()
    infer_seconds = time.perf_counter() - t0
    print(json.dumps({"peer": "pytorch", "model": args.model, "torch": torch.__version__, "threads": args.threads,
                      "device": str(device), "precision": args.precision,
                      "batch_size": args.batch_size, "train_texts": len(train_ids), "test_texts": len(test_ids),
                      "train_texts_per_second": len(train_ids) / train_seconds,
                      "inference_texts_per_second": len(test_ids) / infer_seconds}))


if __name__ == "__main__":
    main()
