"""PyTorch sentence-transformers throughput on the same texts as `cargo run --example embed`:
fp32, then with bf16 autocast (the fair comparison for Docent's bf16 path on AMX CPUs).

Run inside a throwaway virtualenv (bench/run.sh makes one): python torch_embed.py TEXTS.jsonl MODEL_DIR
"""
import json
import sys
import time

import torch
from sentence_transformers import SentenceTransformer

texts = [json.loads(line) for line in open(sys.argv[1]) if line.strip()]
torch.set_num_threads(int(sys.argv[3]) if len(sys.argv) > 3 else 2)
model = SentenceTransformer(sys.argv[2], device="cpu")


def run(label):
    model.encode(texts[:32], batch_size=16)
    start = time.perf_counter()
    model.encode(texts, batch_size=16, normalize_embeddings=True)
    seconds = time.perf_counter() - start
    print(f"pytorch {label}: {len(texts)} chunks, threads {torch.get_num_threads()}: {len(texts) / seconds:.1f} chunks/s")


run("fp32")
with torch.autocast("cpu", dtype=torch.bfloat16):
    run("bf16 autocast")
