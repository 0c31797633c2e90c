#!/usr/bin/env python3
"""deepcart's image networks (src/deepcart/vision/cnn.h, resnet.h) in PyTorch-Python, for
side-by-side speed.

cnn: two blocks of conv 3x3 (no bias) - BatchNorm - ReLU - max-pool 2, dropout 0.25, dense 128 +
ReLU, dropout, dense 10. resnet: a 3x3 stem, three stages of basic residual blocks (W, 2W, 4W
filters, --depth blocks each, the last BatchNorm of each block starting at zero), global average
pooling, dropout, dense 10. Trains on Fashion-MNIST (Debian's gzipped IDX files) with the same
recipe as `deepcart vision train`: random crop after 2-pixel padding, horizontal flip, label
smoothing 0.1, AdamW lr 0.002 weight decay 0.01. Prints one JSON line: training and inference
images/s. --device cuda trains and infers on the GPU (augmentation draws stay on the CPU
generator, so the same shifts and flips); --precision bf16 autocasts; --data-dir (default
$DEEPCART_FASHION_MNIST, else Debian's folder) names the folder of the four .gz files.
"""
import argparse, gzip, json, os, struct, time

import torch
import torch.nn as nn
import torch.nn.functional as F

DIR = "/usr/share/datasets/fashion-mnist"


def read_idx(path):
    with gzip.open(path, "rb") as f:
        data = f.read()
    magic, = struct.unpack(">I", data[:4])
    ndim = magic & 0xFF
    dims = struct.unpack(">" + "I" * ndim, data[4:4 + 4 * ndim])
    return torch.frombuffer(bytearray(data[4 + 4 * ndim:]), dtype=torch.uint8).reshape(dims)


class Cnn(nn.Module):
    def __init__(self, width=32, hidden=128, classes=10, dropout=0.25):
        super().__init__()
        self.conv1 = nn.Conv2d(1, width, 3, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(width)
        self.conv2 = nn.Conv2d(width, 2 * width, 3, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(2 * width)
        self.drop = nn.Dropout(dropout)
        self.fc = nn.Linear(2 * width * 7 * 7, hidden)
        self.out = nn.Linear(hidden, classes)

    def forward(self, x):
        h = F.max_pool2d(F.relu(self.bn1(self.conv1(x))), 2)
        h = F.max_pool2d(F.relu(self.bn2(self.conv2(h))), 2)
        h = F.relu(self.fc(self.drop(h.flatten(1))))
        return self.out(self.drop(h))


class Block(nn.Module):
    def __init__(self, cin, cout, stride):
        super().__init__()
        self.conv1 = nn.Conv2d(cin, cout, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(cout)
        self.conv2 = nn.Conv2d(cout, cout, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(cout)
        nn.init.zeros_(self.bn2.weight)
        self.shortcut = None
        if stride != 1 or cin != cout:
            self.shortcut = nn.Sequential(nn.Conv2d(cin, cout, 1, stride, bias=False), nn.BatchNorm2d(cout))

    def forward(self, x):
        h = F.relu(self.bn1(self.conv1(x)))
        h = self.bn2(self.conv2(h))
        return F.relu(h + (self.shortcut(x) if self.shortcut is not None else x))


class ResNet(nn.Module):
    def __init__(self, width=32, depth=2, classes=10, dropout=0.25):
        super().__init__()
        self.stem = nn.Conv2d(1, width, 3, 1, 1, bias=False)
        self.stem_bn = nn.BatchNorm2d(width)
        blocks, cin = [], width
        for s in range(3):
            for b in range(depth):
                blocks.append(Block(cin, width << s, 2 if s > 0 and b == 0 else 1))
                cin = width << s
        self.blocks = nn.Sequential(*blocks)
        self.drop = nn.Dropout(dropout)
        self.out = nn.Linear(cin, classes)

    def forward(self, x):
        h = self.blocks(F.relu(self.stem_bn(self.stem(x))))
        return self.out(self.drop(h.mean((2, 3))))


def augment(x, gen, pad=2):
    """Random crop after zero padding, grouped by shift, and random horizontal flips."""
    b, _, h, w = x.shape
    padded = F.pad(x, (pad, pad, pad, pad))
    shifts = torch.randint(0, 2 * pad + 1, (b, 2), generator=gen).to(x.device)
    out = torch.empty_like(x)
    for dy in range(2 * pad + 1):
        for dx in range(2 * pad + 1):
            idx = ((shifts[:, 0] == dy) & (shifts[:, 1] == dx)).nonzero().squeeze(1)
            if len(idx):
                out[idx] = padded[idx, :, dy:dy + h, dx:dx + w]
    flip = (torch.rand(b, generator=gen) < 0.5).nonzero().squeeze(1).to(x.device)
    out[flip] = out[flip].flip(3)
    return out


def main():
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--model", choices=["cnn", "resnet"], default="cnn")
    p.add_argument("--width", type=int, default=32)
    p.add_argument("--depth", type=int, default=2)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--epochs", type=int, default=1)
    p.add_argument("--batch-size", type=int, default=128)
    p.add_argument("--eval-batch", type=int, default=512)
    p.add_argument("--seed", type=int, default=42)
    p.add_argument("--data-dir", default=os.environ.get("DEEPCART_FASHION_MNIST", DIR),
                   help="folder of the Fashion-MNIST .gz files")
    p.add_argument("--device", default="cpu", help="cpu, cuda or cuda:N")
    p.add_argument("--precision", choices=["fp32", "bf16"], default="fp32",
                   help="bf16: autocast forward and loss to bfloat16")
    args = p.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    gen = torch.Generator().manual_seed(args.seed)
    device = torch.device(args.device)
    sync = (lambda: torch.cuda.synchronize(device)) if device.type == "cuda" else (lambda: None)
    autocast = lambda: torch.autocast(device.type, dtype=torch.bfloat16, enabled=args.precision == "bf16")

    d = args.data_dir
    train_x = read_idx(f"{d}/train-images-idx3-ubyte.gz").unsqueeze(1)
    train_y = read_idx(f"{d}/train-labels-idx1-ubyte.gz").long()
    test_x = read_idx(f"{d}/t10k-images-idx3-ubyte.gz").unsqueeze(1)
    test_y = read_idx(f"{d}/t10k-labels-idx1-ubyte.gz").long()
    train_x, train_y = train_x[:55000], train_y[:55000]  # deepcart holds 5,000 out
    train_x, train_y, test_x, test_y = (t.to(device) for t in (train_x, train_y, test_x, test_y))
    mean, std = 0.2860, 0.3530

    model = Cnn(width=args.width) if args.model == "cnn" else ResNet(width=args.width, depth=args.depth)
    model = model.to(device)
    opt = torch.optim.AdamW(model.parameters(), lr=0.002, weight_decay=0.01)
    seen, train_seconds, loss = 0, 0.0, torch.tensor(float("nan"))
    for _ in range(args.epochs):
        model.train()
        sync()
        t0 = time.perf_counter()
        perm = torch.randperm(len(train_x), generator=gen)
        for start in range(0, len(perm), args.batch_size):
            idx = perm[start:start + args.batch_size].to(device)
            x = augment(train_x[idx].float().div_(255), gen)
            with autocast():
                loss = F.cross_entropy(model((x - mean) / std).float(), train_y[idx], label_smoothing=0.1)
            opt.zero_grad()
            loss.backward()
            opt.step()
            seen += len(idx)
        sync()
        train_seconds += time.perf_counter() - t0

    model.eval()
    correct = 0
    sync()
    t0 = time.perf_counter()
    with torch.inference_mode(), autocast():
        for start in range(0, len(test_x), args.eval_batch):
            x = (test_x[start:start + args.eval_batch].float().div_(255) - mean) / std
            correct += (model(x).argmax(1) == test_y[start:start + args.eval_batch]).sum().item()
    sync()
    infer_seconds = time.perf_counter() - t0
    print(json.dumps({
        "peer": "pytorch", "model": args.model, "width": args.width, "depth": args.depth, "torch": torch.__version__, "threads": args.threads,
        "device": str(device), "precision": args.precision,
        "batch_size": args.batch_size, "epochs": args.epochs,
        "train_seconds": train_seconds, "train_images_per_second": seen / train_seconds,
        "inference_images_per_second": len(test_x) / infer_seconds,
        "test_accuracy": correct / len(test_x), "final_loss": loss.item()}))


if __name__ == "__main__":
    main()
