#!/usr/bin/env python3
"""Writes the seed corpora of the ModelFile and CSV fuzz targets (tests/fuzz/corpus/).

The model-file seeds are files WITHOUT their trailing SHA-256: the fuzz target appends the right
one. Each seed is one of the crafted attacks the loader must refuse by name (or a valid file),
so the fuzzer starts from the interesting places. Run it again after changing the format.
"""
import json
import os
import struct
import sys

HERE = os.path.dirname(os.path.abspath(__file__))


def model(header, data=b"", version=1, payload=None):
    text = json.dumps(header, separators=(",", ":")).encode()
    body = struct.pack("<Q", len(text)) + text + data
    size = len(body) if payload is None else payload
    return b"DEEPCART" + struct.pack("<IQ", version, size) + body


def header(tensors=(), blobs=(), **extra):
    h = {"task": "rec", "arch": "sasrec", "checkpoint": False, "hparams": {"dim": 2}, "meta": {"items": ["a", "b"]},
         "metrics": {}, "state": {}, "tensors": list(tensors), "blobs": list(blobs)}
    h.update(extra)
    return h


def tensor(name, shape, offset, nbytes, dtype="float32"):
    return {"name": name, "dtype": dtype, "shape": shape, "offset": offset, "bytes": nbytes}


def model_seeds():
    data = bytes(range(24)) + b"blob!"
    ok = header([tensor("model/w", [2, 3], 0, 24)], [{"name": "tokenizer", "offset": 24, "bytes": 5}])
    return {
        "valid": model(ok, data),
        "offset-near-2-64": model(header([tensor("w", [2, 3], 2**64 - 8, 24)]), data),
        "blob-2-62-bytes": model(header(blobs=[{"name": "b", "offset": 0, "bytes": 2**62}]), data),
        "shape-overflow": model(header([tensor("w", [2**40, 2**40], 0, 0)]), data),
        "shape-negative": model(header([tensor("w", [-1, 3], 0, 24)]), data),
        "shape-float": model(header([tensor("w", [1e6, 3], 0, 24)]), data),
        "bytes-disagree": model(header([tensor("w", [2, 3], 0, 20)]), data),
        "dtype-unknown": model(header([tensor("w", [2, 3], 0, 24, "complex64")]), data),
        "duplicate-tensor": model(header([tensor("w", [1], 0, 4), tensor("w", [1], 4, 4)]), data),
        "header-size-past-payload": b"DEEPCART" + struct.pack("<IQQ", 1, 40, 2**63) + b"{}" * 16,
        "deep-header": b"DEEPCART" + struct.pack("<IQQ", 1, 8 + 200, 200) + b"[" * 100 + b"]" * 100,
        "header-not-object": model([1, 2, 3]),
        "task-not-string": model(header(task=7)),
        "version-2": model(ok, data, version=2),
        "payload-size-wrong": model(ok, data, payload=3),
        "payload-size-huge": model(ok, data, payload=2**64 - 1),
        "empty": b"",
        "magic-only": b"DEEPCART",
        "dim-1e6": model(header(hparams={"dim": 1000000, "items": 2})),
    }


def csv_seeds():
    return {
        "events.csv": b"user_id,item_id,event,timestamp,price\nu1,i1,view,1700000000,9.5\nu1,i2,purchase,1700000100,\nu2,i1,purchase,1700000200,3\n",
        "quoted.csv": b'a,b,c,d\n1,"two\nlines",x,"say ""hi"""\n2,2.5,y,\n',
        "bom-crlf.csv": b"\xef\xbb\xbfa,b,c,d\r\n1,2,3,4\r\n",
        "timestamp-1e26.csv": b"user_id,item_id,event,timestamp\nu1,i1,purchase,1e26\n",
        "nul-in-id.csv": b"a,b,c,d\n1,2,u\x001,4\n",
        "cr-in-id.csv": b"a,b,c,d\n1,2,u1\r,4\n",
        "duplicate-header.csv": b"a,b,a,d\n1,2,3,4\n",
        "empty-header.csv": b",a,b,c\n0,1,2,3\n",
        "unterminated.csv": b'a,b,c,d\n1,"open,3,4\n',
        "bad-utf8.csv": b"a,b,c,d\n1,2,\xff\xfe,4\n",
        "ragged.csv": b"a,b,c,d\n1,2\n1,2,3,4,5\n",
        "numbers.csv": b"a,b,c,d\n+3,-1e300,x,nan\n3.0,inf,y,1e-400\n9223372036854775808,0x10,z,\n",
        "tsv-like.csv": b"a\tb\tc\td\n1\t2\t3\t4\n",
    }


def write(folder, seeds):
    os.makedirs(folder, exist_ok=True)
    for name, data in seeds.items():
        with open(os.path.join(folder, name), "wb") as f:
            f.write(data)


if __name__ == "__main__":
    write(os.path.join(HERE, "corpus", "model_file"), model_seeds())
    write(os.path.join(HERE, "corpus", "csv"), csv_seeds())
    print("wrote", len(model_seeds()), "model-file seeds and", len(csv_seeds()), "CSV seeds", file=sys.stderr)
