#!/usr/bin/env python3
"""Writes the reference tensors that tests/{rec,vision,text}/reference_test.cpp check against.

Each deepcart network is written again here, independently, in plain PyTorch (functional ops,
hand-written GRU/LSTM cells and attention), following what the C++ does: layer order, norms,
pooling, padding, masks and initial states. Every case has fixed random weights, stored under
the names the C++ module reports from named_parameters() and named_buffers(), its inputs, its
outputs, and the gradient of every parameter for the loss sum_k sum(output_k * probe_k), where
the probes are fixed random tensors.

The weights, inputs and probes are float32; the network runs in float64 here, so the stored
outputs and gradients (rounded to float32) are the exact answer up to float32 rounding, and the
C++ side's float32 error is all that the tests' 1e-5 tolerance has to absorb.

Tensor names in a file: parameters and buffers by their own names; everything else under a
prefix with a '/', which no module name contains: input/, output/, probe/, grad/ (gradients
of the loss over the probed outputs), grad_real/ (SASRec's encode_real path), after/ (buffers
after a training-mode forward).

Run once, from the repository root, and commit the files it writes:
    .venv/bin/python3 tests/reference/make_reference.py
"""

import json
import math
import pathlib

import numpy as np
import torch
import torch.nn.functional as F

OUT = pathlib.Path(__file__).resolve().parent
F64 = torch.float64

# ---------------------------------------------------------------------------------------------
# safetensors, by hand: 8-byte little-endian header length, JSON header, raw little-endian data.

_DTYPES = {torch.float32: ("F32", "<f4"), torch.int64: ("I64", "<i8")}


def write_safetensors(path, tensors):
    header, blobs, offset = {}, [], 0
    for name in sorted(tensors):
        t = tensors[name].detach().cpu().contiguous()
        code, np_dtype = _DTYPES[t.dtype]
        data = t.numpy().astype(np_dtype).tobytes()
        header[name] = {"dtype": code, "shape": list(t.shape),
                        "data_offsets": [offset, offset + len(data)]}
        blobs.append(data)
        offset += len(data)
    text = json.dumps(header, separators=(",", ":")).encode()
    text += b" " * (-len(text) % 8)  # the data starts 8-byte aligned
    with open(path, "wb") as f:
        f.write(len(text).to_bytes(8, "little"))
        f.write(text)
        for data in blobs:
            f.write(data)
    return offset + len(text) + 8


# ---------------------------------------------------------------------------------------------
# A case: its parameters (float32 stored, float64 leaves for the computation), buffers, inputs,
# outputs and gradients.


class Case:
    def __init__(self, name, seed):
        self.name = name
        torch.manual_seed(seed)
        self.stored = {}  # name -> float32/int64 tensor for the file
        self.leaves = {}  # parameter name -> float64 leaf
        self.probes = {}

    # Parameters. Linear-like weights are scaled by 1/sqrt(fan_in) so activations stay O(1).
    def param(self, name, shape, kind="weight"):
        if kind == "weight":
            fan_in = int(np.prod(shape[1:])) if len(shape) > 1 else 1
            t = torch.randn(shape) / math.sqrt(fan_in)
        elif kind == "bias":
            t = 0.2 * torch.randn(shape)
        elif kind == "scale":  # norm weights
            t = 1.0 + 0.2 * torch.randn(shape)
        elif kind == "embedding":
            t = 0.5 * torch.randn(shape)
        else:
            raise ValueError(kind)
        return self.param_value(name, t)

    def param_value(self, name, t):
        t = t.to(torch.float32)
        self.stored[name] = t
        leaf = t.to(F64).requires_grad_()
        self.leaves[name] = leaf
        return leaf

    def linear(self, prefix, n_in, n_out, bias=True):
        w = self.param(prefix + ".weight", (n_out, n_in))
        b = self.param(prefix + ".bias", (n_out,), "bias") if bias else None
        return lambda x: F.linear(x, w, b)

    def layer_norm(self, prefix, dim, eps):
        w = self.param(prefix + ".weight", (dim,), "scale")
        b = self.param(prefix + ".bias", (dim,), "bias")
        return lambda x: F.layer_norm(x, (dim,), w, b, eps)

    def buffer(self, name, t):
        self.stored[name] = t
        return t.to(F64) if t.is_floating_point() else t.clone()

    def input(self, name, t):
        self.stored["input/" + name] = t
        return t.to(F64) if t.is_floating_point() else t

    def output(self, name, t):
        self.stored["output/" + name] = t.detach().to(torch.float32)

    def after(self, name, t):
        self.stored["after/" + name] = t.detach().to(
            torch.float32 if t.is_floating_point() else t.dtype)

    # Stores the outputs and the gradient of sum_k sum(output_k * probe_k) under `tag`/.
    def backward(self, outputs, tag="grad"):
        loss = 0.0
        for name, out in outputs.items():
            probe = torch.randn(out.shape)
            self.stored["probe/" + name] = probe
            self.output(name, out)
            loss = loss + (out * probe.to(F64)).sum()
        names = sorted(self.leaves)
        grads = torch.autograd.grad(loss, [self.leaves[n] for n in names], retain_graph=True,
                                    allow_unused=True)
        for n, g in zip(names, grads):
            # A parameter that the outputs do not use has no gradient: LibTorch leaves it
            # undefined; it is stored as zeros.
            g = torch.zeros_like(self.leaves[n]) if g is None else g
            self.stored[f"{tag}/{n}"] = g.to(torch.float32)

    def write(self):
        size = write_safetensors(OUT / f"{self.name}.safetensors", self.stored)
        print(f"{self.name}.safetensors: {len(self.stored)} tensors, {size} bytes")


def embed(ids, weight, padding_idx=None):
    # padding_idx: the padding row's gradient is zero, as in an Embedding made with padding_idx.
    return F.embedding(ids, weight, padding_idx=padding_idx)


# ---------------------------------------------------------------------------------------------
# rec: pair models (score users against B x C items, and against every item)

USERS, ITEMS = 5, 7


def pair_inputs(case):
    users = case.input("users", torch.tensor([0, 3, 4], dtype=torch.int64))
    items = case.input("items", torch.randint(0, ITEMS, (3, 4), dtype=torch.int64))
    return users, items


def tower(case, prefix, user_in, item_in, layers):
    # rec/tower.cpp: the first layer split in a user half (no bias) and an item half, ReLU,
    # then Dense+ReLU layers.
    first_user = case.linear(prefix + ".first_user", user_in, layers[0], bias=False)
    first_item = case.linear(prefix + ".first_item", item_in, layers[0])
    hidden = [case.linear(f"{prefix}.hidden.{i}", layers[i], layers[i + 1])
              for i in range(len(layers) - 1)]

    def run(u, i):  # u (B, Du), i (B, C, Di) or (I, Di) broadcast as (1, I, Di)
        h = torch.relu(first_user(u).unsqueeze(1) + first_item(i))
        for layer in hidden:
            h = torch.relu(layer(h))
        return h

    return run


def mlp_parts(case, prefix, dim, features, layers):
    user_emb = case.param(prefix + "user_emb.weight", (USERS, dim), "embedding")
    item_emb = case.param(prefix + "item_emb.weight", (ITEMS, dim), "embedding")
    run_tower = tower(case, prefix + "tower", dim, dim + features, layers)
    out = case.linear(prefix + "out", layers[-1], 1)
    feats = case.buffer(prefix + "item_features", torch.randn(ITEMS, features))
    return user_emb, item_emb, run_tower, out, feats


def rec_mlp(name, seed, features, layers):
    case = Case(name, seed)
    dim = 8
    user_emb, item_emb, run_tower, out, feats = mlp_parts(case, "", dim, features, layers)
    users, items = pair_inputs(case)

    def item_inputs(idx):  # rec/mlp.cpp: the item embedding, then the item's features
        e = embed(idx, item_emb)
        return torch.cat([e, feats[idx]], -1) if features else e

    u = embed(users, user_emb)
    score = out(run_tower(u, item_inputs(items))).squeeze(-1)  # (B, C)
    all_items = torch.arange(ITEMS)
    score_all = out(run_tower(u, item_inputs(all_items).unsqueeze(0))).squeeze(-1)  # (B, I)
    case.backward({"score": score, "score_all": score_all})
    case.write()


def rec_gmf():
    case = Case("gmf", 11)
    dim = 8
    user_emb = case.param("user_emb.weight", (USERS, dim), "embedding")
    item_emb = case.param("item_emb.weight", (ITEMS, dim), "embedding")
    out = case.linear("out", dim, 1)
    users, items = pair_inputs(case)
    u = embed(users, user_emb).unsqueeze(1)
    score = out(u * embed(items, item_emb)).squeeze(-1)
    score_all = out(u * item_emb.unsqueeze(0)).squeeze(-1)
    case.backward({"score": score, "score_all": score_all})
    case.write()


def rec_neumf():
    case = Case("neumf", 12)
    gmf_dim, mlp_dim, layers = 6, 8, [12, 8, 4]
    g_user = case.param("gmf.user_emb.weight", (USERS, gmf_dim), "embedding")
    g_item = case.param("gmf.item_emb.weight", (ITEMS, gmf_dim), "embedding")
    case.linear("gmf.out", gmf_dim, 1)  # GMF's own output layer: NeuMF does not use it
    m_user, m_item, run_tower, _, _ = mlp_parts(case, "mlp.", mlp_dim, 0, layers)  # nor mlp.out
    out = case.linear("out", gmf_dim + layers[-1], 1)
    users, items = pair_inputs(case)

    def score_of(gu, gi, mu, mi):
        return out(torch.cat([gu * gi, run_tower(mu, mi)], -1)).squeeze(-1)

    score = score_of(embed(users, g_user).unsqueeze(1), embed(items, g_item),
                     embed(users, m_user), embed(items, m_item))
    score_all = score_of(embed(users, g_user).unsqueeze(1), g_item.unsqueeze(0),
                         embed(users, m_user), m_item.unsqueeze(0))
    case.backward({"score": score, "score_all": score_all})
    case.write()


# ---------------------------------------------------------------------------------------------
# rec: sequence models. History (B, L), item id + 1, 0 = padding, left-padded.

SEQ_ITEMS, SEQ_LEN, SEQ_MAX_LEN = 9, 6, 8


def seq_history(case):
    lengths = [6, 3, 1, 4]
    rows = []
    for n in lengths:
        ids = torch.randint(1, SEQ_ITEMS + 1, (n,))
        rows.append(torch.cat([torch.zeros(SEQ_LEN - n, dtype=torch.int64), ids]))
    return case.input("history", torch.stack(rows))


def seq_item_embedding(case, dim):
    w = torch.randn(SEQ_ITEMS + 1, dim) / math.sqrt(dim)
    w[0] = 0.0  # the padding row, as seq_item_embedding() makes it
    return case.param_value("item_emb.weight", w)


def attention(q, k, v, heads, bias):
    # q, k, v (B, L, D), bias broadcast to (B, H, L, L) -> (B, L, D) and weights (B, H, L, L)
    b, l, d = q.shape
    split = lambda t: t.reshape(b, l, heads, d // heads).transpose(1, 2)  # noqa: E731
    scores = split(q) @ split(k).transpose(-2, -1) / math.sqrt(d // heads) + bias
    weights = torch.softmax(scores, -1)
    return (weights @ split(v)).transpose(1, 2).reshape(b, l, d), weights


def rec_sasrec():
    case = Case("sasrec", 13)
    dim, heads, blocks, eps = 8, 2, 2, 1e-8
    item_emb = seq_item_embedding(case, dim)
    pos_emb = case.param("pos_emb.weight", (SEQ_MAX_LEN, dim), "embedding")
    layers = []
    for i in range(blocks):
        p = f"blocks.{i}."
        layers.append({
            "norm1": case.layer_norm(p + "norm1", dim, eps),
            "norm2": case.layer_norm(p + "norm2", dim, eps),
            "in_w": case.param(p + "attention.in_proj_weight", (3 * dim, dim)),
            "in_b": case.param(p + "attention.in_proj_bias", (3 * dim,), "bias"),
            "out_proj": case.linear(p + "attention.out_proj", dim, dim),
            "ff1": case.linear(p + "ff1", dim, dim),
            "ff2": case.linear(p + "ff2", dim, dim),
        })
    final_norm = case.layer_norm("final_norm", dim, eps)
    history = seq_history(case)

    # rec/sasrec.cpp encode(): scaled item embedding plus the positions counted so that the last
    # column is max_len - 1; padding zeroed before the first block and after every block; a
    # causal mask only (no key padding mask: real positions also attend to the padding before
    # them); pre-LN blocks; the final norm over every position, padding included.
    keep = (history > 0).unsqueeze(-1).to(F64)
    positions = torch.arange(SEQ_MAX_LEN - SEQ_LEN, SEQ_MAX_LEN)
    x = embed(history, item_emb, 0) * math.sqrt(dim) + embed(positions, pos_emb).unsqueeze(0)
    x = x * keep
    causal = torch.full((SEQ_LEN, SEQ_LEN), -math.inf, dtype=F64).triu(1)
    for layer in layers:
        h = layer["norm1"](x)
        q, k, v = F.linear(h, layer["in_w"], layer["in_b"]).chunk(3, -1)
        a, weights = attention(q, k, v, heads, causal)
        y = x + layer["out_proj"](a)
        x = y + layer["ff2"](torch.relu(layer["ff1"](layer["norm2"](y))))
        x = x * keep
    encoded = final_norm(x)  # (B, L, D)
    # The last block's attention of the last position, averaged over heads (the "reasons").
    case.output("last_attention", weights.mean(1)[:, -1, :])
    case.backward({"encode": encoded})
    # encode_real(), the training path: the rows of encode() at the real positions, row-major.
    case.backward({"encode_real": encoded[history > 0]}, tag="grad_real")
    case.write()


def gru_cell(x, h, w_ih, w_hh, b_ih, b_hh):
    # Gates in PyTorch's order: reset, update, new.
    ir, iz, inew = F.linear(x, w_ih, b_ih).chunk(3, -1)
    hr, hz, hnew = F.linear(h, w_hh, b_hh).chunk(3, -1)
    r, z = torch.sigmoid(ir + hr), torch.sigmoid(iz + hz)
    n = torch.tanh(inew + r * hnew)
    return (1 - z) * n + z * h


def lstm_cell(x, state, w_ih, w_hh, b_ih, b_hh):
    # Gates in PyTorch's order: input, forget, cell, output.
    h, c = state
    i, f, g, o = (F.linear(x, w_ih, b_ih) + F.linear(h, w_hh, b_hh)).chunk(4, -1)
    c = torch.sigmoid(f) * c + torch.sigmoid(i) * torch.tanh(g)
    return torch.sigmoid(o) * torch.tanh(c), c


def rnn_weights(case, prefix, suffix, n_in, hidden, gates):
    return (case.param(f"{prefix}.weight_ih{suffix}", (gates * hidden, n_in)),
            case.param(f"{prefix}.weight_hh{suffix}", (gates * hidden, hidden)),
            case.param(f"{prefix}.bias_ih{suffix}", (gates * hidden,), "bias"),
            case.param(f"{prefix}.bias_hh{suffix}", (gates * hidden,), "bias"))


def rec_gru4rec():
    case = Case("gru4rec", 14)
    dim, layers = 8, 2
    item_emb = seq_item_embedding(case, dim)
    weights = [rnn_weights(case, "gru", f"_l{l}", dim, dim, 3) for l in range(layers)]
    proj = case.linear("proj", dim, dim)
    history = seq_history(case)
    # rec/gru4rec.cpp: the GRU runs over every position, padding included (its embedding row is
    # zero, but the biases still move the state), from a zero state.
    x = embed(history, item_emb, 0)  # (B, L, D)
    for w in weights:
        h = torch.zeros(x.shape[0], dim, dtype=F64)
        states = []
        for t in range(x.shape[1]):
            h = gru_cell(x[:, t], h, *w)
            states.append(h)
        x = torch.stack(states, 1)
    case.backward({"encode": proj(x)})
    case.write()


# ---------------------------------------------------------------------------------------------
# vision: VisionNet (backbone, class head, attribute head). BatchNorm: eval outputs from the
# stored running statistics first, then a training-mode forward (batch statistics) for the
# outputs, the gradients and the updated running statistics.


class BatchNorm:
    def __init__(self, case, prefix, channels):
        self.prefix = prefix
        self.weight = case.param(prefix + ".weight", (channels,), "scale")
        self.bias = case.param(prefix + ".bias", (channels,), "bias")
        self.mean = case.buffer(prefix + ".running_mean", 0.2 * torch.randn(channels))
        self.var = case.buffer(prefix + ".running_var", 0.5 + torch.rand(channels))
        self.count = case.buffer(prefix + ".num_batches_tracked", torch.tensor(3))

    def __call__(self, x, training):
        if training:
            self.count += 1
        return F.batch_norm(x, self.mean, self.var, self.weight, self.bias, training=training,
                            momentum=0.1, eps=1e-5)

    def store_after(self, case):
        case.after(self.prefix + ".running_mean", self.mean)
        case.after(self.prefix + ".running_var", self.var)
        case.after(self.prefix + ".num_batches_tracked", self.count)


def vision_case(case, images, backbone, norms, embedding, attributes, classes):
    classifier = case.linear("classifier", embedding, classes)
    attribute_head = case.linear("attributes", embedding, attributes) if attributes else None
    for training in (False, True):
        e = backbone(images, training)
        outputs = {"logits": classifier(e)}
        if attribute_head:
            outputs["attribute_logits"] = attribute_head(e)
        if not training:
            for name, t in outputs.items():
                case.output("eval_" + name, t)
    case.backward(outputs)
    for norm in norms:
        norm.store_after(case)
    case.write()


def vision_cnn():
    case = Case("cnn", 21)
    batch, channels, size, width, hidden = 3, 2, 8, 3, 10
    conv1 = case.param("backbone.conv1.weight", (width, channels, 3, 3))
    bn1 = BatchNorm(case, "backbone.bn1", width)
    conv2 = case.param("backbone.conv2.weight", (2 * width, width, 3, 3))
    bn2 = BatchNorm(case, "backbone.bn2", 2 * width)
    fc = case.linear("backbone.fc", 2 * width * (size // 4) ** 2, hidden)
    images = case.input("images", torch.randn(batch, channels, size, size))

    def backbone(x, training):  # vision/cnn.cpp: conv - BN - ReLU - max-pool 2, twice; dense ReLU
        h = F.max_pool2d(torch.relu(bn1(F.conv2d(x, conv1, padding=1), training)), 2)
        h = F.max_pool2d(torch.relu(bn2(F.conv2d(h, conv2, padding=1), training)), 2)
        return torch.relu(fc(h.flatten(1)))

    vision_case(case, images, backbone, [bn1, bn2], hidden, attributes=3, classes=5)


def vision_resnet(name, seed, batch, channels, size, width, depth, classes, attributes):
    case = Case(name, seed)
    large = size >= 64
    stem = case.param("backbone.stem.weight", (width, channels, 3, 3))
    stem_bn = BatchNorm(case, "backbone.stem_bn", width)
    norms = [stem_bn]
    blocks = []
    n_in = width
    for s in range(4 if large else 3):
        n_out = width << s
        for b in range(depth):
            p = f"backbone.block{s}_{b}."
            block = {"stride": 2 if s > 0 and b == 0 else 1,
                     "conv1": case.param(p + "conv1.weight", (n_out, n_in, 3, 3)),
                     "bn1": BatchNorm(case, p + "bn1", n_out),
                     "conv2": case.param(p + "conv2.weight", (n_out, n_out, 3, 3)),
                     "bn2": BatchNorm(case, p + "bn2", n_out)}
            norms += [block["bn1"], block["bn2"]]
            if block["stride"] != 1 or n_in != n_out:
                block["shortcut"] = case.param(p + "shortcut.weight", (n_out, n_in, 1, 1))
                block["shortcut_bn"] = BatchNorm(case, p + "shortcut_bn", n_out)
                norms.append(block["shortcut_bn"])
            blocks.append(block)
            n_in = n_out
    images = case.input("images", torch.randn(batch, channels, size, size))

    def backbone(x, training):  # vision/resnet.cpp: basic blocks, ReLU after the sum
        h = torch.relu(stem_bn(F.conv2d(x, stem, stride=2 if large else 1, padding=1), training))
        if large:
            h = F.max_pool2d(h, 3, 2, 1)
        for blk in blocks:
            y = torch.relu(blk["bn1"](F.conv2d(h, blk["conv1"], stride=blk["stride"], padding=1),
                                      training))
            y = blk["bn2"](F.conv2d(y, blk["conv2"], padding=1), training)
            skip = h
            if "shortcut" in blk:
                skip = blk["shortcut_bn"](F.conv2d(h, blk["shortcut"], stride=blk["stride"]),
                                          training)
            h = torch.relu(y + skip)
        return h.mean((2, 3))

    vision_case(case, images, backbone, norms, n_in, attributes, classes)


# ---------------------------------------------------------------------------------------------
# text: TextNet (embedding with padding row 0, encoder, linear head). Texts are left-aligned,
# 0 = padding; one of them is empty.

VOCAB, CLASSES, TEXT_DIM = 12, 3, 8


def text_ids(case):
    lengths = [6, 4, 1, 0]
    rows = [torch.cat([torch.randint(1, VOCAB, (n,)), torch.zeros(6 - n, dtype=torch.int64)])
            for n in lengths]
    return case.input("ids", torch.stack(rows)), lengths


def text_embedding(case, ids):
    w = 0.5 * torch.randn(VOCAB, TEXT_DIM)
    w[0] = 0.0  # the padding row, as TextNet initialises it
    return embed(ids, case.param_value("embedding.weight", w), 0)  # (B, L, D)


def pool(x, n, pooling):  # text/net.cpp masked_pool over a text's n real positions; empty -> 0
    if n == 0:
        return torch.zeros(x.shape[-1], dtype=F64)
    return x[:n].max(0).values if pooling == "max" else x[:n].mean(0)


def text_bow():
    case = Case("bow", 31)
    buckets, ngrams = 11, 3
    ids, lengths = text_ids(case)
    embedded = text_embedding(case, ids)
    table = case.param("encoder.bigrams.weight", (buckets, TEXT_DIM), "embedding")
    head = case.linear("head", TEXT_DIM, CLASSES)
    # text/bow.cpp: the mean over the tokens and every n-gram (n = 2..ngrams) of real tokens,
    # an n-gram hashed as sum_i id_i * m_i (+ 31 for n > 2) modulo the buckets.
    multipliers = [1000003, 7919, 104729]
    features = []
    for b, (row, n) in enumerate(zip(ids.tolist(), lengths)):
        vectors = [embedded[b, t] for t in range(n)]
        for size in range(2, ngrams + 1):
            for start in range(n - size + 1):
                h = sum(row[start + i] * multipliers[i] for i in range(size))
                vectors.append(table[(h if size == 2 else h + 31) % buckets])
        features.append(torch.stack(vectors).mean(0) if vectors else
                        torch.zeros(TEXT_DIM, dtype=F64))
    case.backward({"logits": head(torch.stack(features))})
    case.write()


def text_rnn(arch, seed, pooling):
    case = Case(arch, seed)
    hidden, layers = 6, 2
    gates, cell = (3, gru_cell) if arch == "gru" else (4, lstm_cell)
    ids, lengths = text_ids(case)
    embedded = text_embedding(case, ids)
    weights = {}
    for l in range(layers):
        for suffix in (f"_l{l}", f"_l{l}_reverse"):
            n_in = TEXT_DIM if l == 0 else 2 * hidden
            weights[suffix] = rnn_weights(case, "encoder." + arch, suffix, n_in, hidden, gates)
    head = case.linear("head", 2 * hidden, CLASSES)
    # text/rnn.cpp: a bidirectional stack over each text's real tokens (the backward direction
    # starts at its last real token), zero initial states, pooled over the real tokens.
    features = []
    for b, n in enumerate(lengths):
        x = embedded[b, :n]  # (n, D)
        for l in range(layers):
            directions = []
            for suffix, order in ((f"_l{l}", range(n)), (f"_l{l}_reverse", range(n - 1, -1, -1))):
                zero = torch.zeros(hidden, dtype=F64)
                state = zero if arch == "gru" else (zero, zero)
                out = [None] * n
                for t in order:
                    state = cell(x[t], state, *weights[suffix])
                    out[t] = state if arch == "gru" else state[0]
                directions.append(torch.stack(out) if n else torch.zeros(0, hidden, dtype=F64))
            x = torch.cat(directions, -1)  # (n, 2H)
        features.append(pool(x, n, pooling))
    case.backward({"logits": head(torch.stack(features))})
    case.write()


def text_transformer(pooling):
    case = Case("transformer", 34)
    heads, layers, max_length, eps = 2, 2, 8, 1e-5
    ids, lengths = text_ids(case)
    embedded = text_embedding(case, ids)
    positions = case.param("encoder.positions.weight", (max_length, TEXT_DIM), "embedding")
    blocks = []
    for i in range(layers):
        p = f"encoder.block{i}."
        blocks.append({
            "norm1": case.layer_norm(p + "norm1", TEXT_DIM, eps),
            "qkv": case.linear(p + "qkv", TEXT_DIM, 3 * TEXT_DIM),
            "proj": case.linear(p + "proj", TEXT_DIM, TEXT_DIM),
            "norm2": case.layer_norm(p + "norm2", TEXT_DIM, eps),
            "ff1": case.linear(p + "ff1", TEXT_DIM, 4 * TEXT_DIM),
            "ff2": case.linear(p + "ff2", 4 * TEXT_DIM, TEXT_DIM),
        })
    final_norm = case.layer_norm("encoder.final_norm", TEXT_DIM, eps)
    head = case.linear("head", TEXT_DIM, CLASSES)
    # text/transformer.cpp: learned positions, pre-LN blocks with exact GELU, padding keys
    # masked (an empty text keeps its first key), the final norm, pooled over the real tokens.
    length = ids.shape[1]
    x = embedded + positions[:length].unsqueeze(0)
    usable = ids != 0
    usable[:, 0] = True
    bias = torch.zeros(usable.shape, dtype=F64).masked_fill(~usable, -math.inf)[:, None, None, :]
    for blk in blocks:
        q, k, v = blk["qkv"](blk["norm1"](x)).chunk(3, -1)
        x = x + blk["proj"](attention(q, k, v, heads, bias)[0])
        x = x + blk["ff2"](F.gelu(blk["ff1"](blk["norm2"](x))))
    x = final_norm(x)
    features = torch.stack([pool(x[b], n, pooling) for b, n in enumerate(lengths)])
    case.backward({"logits": head(features)})
    case.write()


def main():
    rec_mlp("mlp", 10, features=2, layers=[16, 8])
    rec_mlp("ncf_mlp", 15, features=0, layers=[12, 8, 4])
    rec_gmf()
    rec_neumf()
    rec_sasrec()
    rec_gru4rec()
    vision_cnn()
    vision_resnet("resnet", 22, batch=3, channels=2, size=8, width=2, depth=2, classes=4,
                  attributes=2)
    vision_resnet("resnet_large", 23, batch=2, channels=1, size=64, width=2, depth=1,
                  classes=3, attributes=0)
    text_bow()
    text_rnn("gru", 32, "max")
    text_rnn("lstm", 33, "mean")
    text_transformer("max")


if __name__ == "__main__":
    main()
