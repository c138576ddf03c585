"""Generate large canonical request files for the benchmarks (kept out of git).

Deterministic per seed. Prompt and response lengths follow log-normal distributions with medians
near what chat / coding traffic shows (prompt ~600 chars, response ~1,200 chars), so 1M records come
to about 2 GB of JSONL. Not the planted-farm generator (`farmhound sample`): this one only needs
realistic sizes and field variety, fast.
"""

from __future__ import annotations

import random
import sys
from pathlib import Path

import orjson

WORDS = (
    "the a function returns list value error python async await database query index "
    "reasoning step because therefore compute result model train data loss gradient "
    "explain why how what write code test class method variable loop recursion graph "
    "node edge weight shortest path dynamic programming memo cache request response "
    "token stream parse json schema field type integer string boolean null array object"
).split()
UAS = [
    "openai-python/1.54.3", "anthropic-sdk-python/0.39.0", "python-httpx/0.27.2",
    "node-fetch/3.3.2", "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 Chrome/124.0",
    "curl/8.5.0", "OpenAI/NodeJS/4.73.0", "litellm/1.52.0",
]
MODELS = ["frontier-large-2026-03", "frontier-mini-2026-03", "frontier-reasoner-2026-05"]
SYSTEMS = [
    "You are a helpful assistant.",
    "You are an expert software engineer. Think step by step and show your full reasoning.",
    "You are a customer-support agent for Acme Cloud. Answer politely and concisely.",
]


def _text(rng: random.Random, pool: str, median: int) -> str:
    n = max(8, min(len(pool) - 1, int(rng.lognormvariate(0, 0.6) * median)))
    start = rng.randrange(0, len(pool) - n)
    return pool[start : start + n]


def generate(path: Path, rows: int, seed: int = 1, accounts: int = 20_000) -> int:
    """Write `rows` canonical request records to `path`; return the bytes written."""
    rng = random.Random(seed)
    pool = " ".join(rng.choice(WORDS) for _ in range(400_000))
    t0 = 1_776_816_000_000  # 2026-04-22T00:00:00Z in ms
    written = 0
    with open(path, "wb") as out:
        buf = []
        for i in range(rows):
            acct = rng.randrange(accounts)
            ts = t0 + i * 2_592 + rng.randrange(1000)
            msgs = []
            if rng.random() < 0.5:
                msgs.append({"role": "system", "content": rng.choice(SYSTEMS)})
            msgs.append({"role": "user", "content": f"#{i} " + _text(rng, pool, 450)})
            rec = {
                "request_id": f"req_{seed}_{i:09d}",
                "ts": ts if i % 3 else "2026-04-22T00:00:00Z" if i == 0 else ts / 1000,
                "account_id": f"acct_{acct:06d}",
                "api_key_id": f"key_{acct:06d}_{acct % 3}",
                "org_id": f"org_{acct // 40:05d}",
                "ip": f"{10 + acct % 200}.{acct % 251}.{(acct * 7) % 256}.{rng.randrange(256)}",
                "user_agent": UAS[acct % len(UAS)],
                "country": ["US", "DE", "SG", "BR", "IN"][acct % 5],
                "model": rng.choice(MODELS),
                "messages": msgs,
                "response": _text(rng, pool, 900),
                "input_tokens": rng.randrange(20, 3000),
                "output_tokens": rng.randrange(20, 4000),
                "max_tokens": 4096,
                "temperature": rng.choice([0.0, 0.7, 1.0]),
                "latency_ms": rng.randrange(200, 30_000),
                "status": "ok" if rng.random() < 0.98 else "error",
            }
            buf.append(orjson.dumps(rec))
            if len(buf) >= 10_000:
                chunk = b"\n".join(buf) + b"\n"
                out.write(chunk)
                written += len(chunk)
                buf.clear()
        if buf:
            chunk = b"\n".join(buf) + b"\n"
            out.write(chunk)
            written += len(chunk)
    return written


if __name__ == "__main__":
    n = int(sys.argv[2]) if len(sys.argv) > 2 else 1_000_000
    print(generate(Path(sys.argv[1]), n))
