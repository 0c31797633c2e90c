#!/usr/bin/env python3
"""Writes tiny_bert/: a small random BERT saved the old way, as pytorch_model.bin, for the C++
reader of .bin weights (text/pretrained.h). The C++ test reads these files and runs no Python.

  tiny_bert/config.json          a BERT config (hidden 32, 2 layers, 4 heads, intermediate 48,
                                 64 positions, layer_norm_eps 1e-7)
  tiny_bert/vocab.txt            a 60-piece WordPiece vocabulary ([PAD] [UNK] [CLS] [SEP] [MASK],
                                 letters, a few words and ## pieces)
  tiny_bert/pytorch_model.bin    torch.save of a BertForSequenceClassification-style state dict:
                                 names under "bert.", LayerNorm parameters under their old names
                                 gamma and beta, and a classifier the encoder must ignore
  tiny_bert/reference.json       {"sentences", "ids", "embeddings"}: the mean-pooled, L2-normalised
                                 last hidden state (transformers' BertModel, eval mode) of each
                                 sentence run alone

Run with the project's venv after `scripts/setup.sh --bench` (transformers 5.24.0, torch 2.11.0):
  .venv/bin/python3 tests/text/encoder_reference/make_tiny_bin.py
"""
import json
import os

import torch
from transformers import BertConfig, BertModel, BertTokenizer

HERE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "tiny_bert")
SENTENCES = ["where is my parcel", "refund my order please", "Unbelievable!", "a"]


def main():
    os.makedirs(HERE, exist_ok=True)
    words = ["where", "is", "my", "parcel", "refund", "order", "please", "un", "##believ",
             "##able", "!", "?", ".", ","]
    letters = [chr(c) for c in range(ord("a"), ord("z") + 1)]
    vocab = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"] + words + letters
    vocab += ["##" + c for c in "aeiou"]
    with open(os.path.join(HERE, "vocab.txt"), "w", encoding="utf-8") as f:
        f.write("".join(v + "\n" for v in vocab))
    config = BertConfig(vocab_size=len(vocab), hidden_size=32, num_hidden_layers=2,
                        num_attention_heads=4, intermediate_size=48, max_position_embeddings=64,
                        layer_norm_eps=1e-7, hidden_act="gelu")
    torch.manual_seed(7)
    model = BertModel(config, add_pooling_layer=False).eval()
    with torch.no_grad():  # larger than the default init, so every part matters
        for p in model.parameters():
            p.normal_(0.0, 0.2)
    config.to_json_file(os.path.join(HERE, "config.json"))
    state = {}
    for name, tensor in model.state_dict().items():
        if "LayerNorm" in name:
            name = name.replace(".weight", ".gamma").replace(".bias", ".beta")
        state["bert." + name] = tensor.clone()
    state["classifier.weight"] = torch.zeros(3, 32)
    state["classifier.bias"] = torch.zeros(3)
    torch.save(state, os.path.join(HERE, "pytorch_model.bin"))

    tokenizer = BertTokenizer(os.path.join(HERE, "vocab.txt"), do_lower_case=True)
    ids, embeddings = [], []
    for s in SENTENCES:
        enc = tokenizer(s, return_tensors="pt")
        with torch.no_grad():
            h = model(**enc).last_hidden_state[0]
        e = torch.nn.functional.normalize(h.mean(0), dim=0)
        ids.append(enc["input_ids"][0].tolist())
        embeddings.append(e.tolist())
    with open(os.path.join(HERE, "reference.json"), "w", encoding="utf-8") as f:
        json.dump({"sentences": SENTENCES, "ids": ids, "embeddings": embeddings}, f)


if __name__ == "__main__":
    main()
