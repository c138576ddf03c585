"""Ingest rate per export format: the same canonical requests written in every format, each
loaded by `farmhound ingest` into a fresh store, timed side by side.

    python benchmarks/formats.py                # 100k requests per format
    python benchmarks/formats.py --rows 20000   # quicker

The canonical rows come from gen_requests.py (realistic prompt and response lengths). LiteLLM and
Bedrock are written by farmhound's own sample writers (`farmhound/sample_exports.py`); the other
formats by the writers below, from the field layouts in ../shared/reference/log-formats.md.
Generated files live in benchmarks/data/formats/ (git-ignored).
"""

from __future__ import annotations

import argparse
import csv
import shutil
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

import orjson

HERE = Path(__file__).resolve().parent
DATA = HERE / "data"


def _ms(ts) -> int:
    if isinstance(ts, str):
        return int(datetime.fromisoformat(ts.replace("Z", "+00:00")).timestamp() * 1000)
    return int(ts * 1000) if ts < 1e11 else int(ts)


def _iso(ms: int, sep: str = "T", zone: str = "Z") -> str:
    return datetime.fromtimestamp(ms / 1000, UTC).strftime(f"%Y-%m-%d{sep}%H:%M:%S.%f")[:-3] + zone


def _jsonl(path: Path, rows) -> Path:
    with open(path, "wb") as f:
        for r in rows:
            f.write(orjson.dumps(r) + b"\n")
    return path


def openai_batch(records: list[dict], out: Path) -> list[Path]:
    inputs, outputs = [], []
    for i, r in enumerate(records):
        cid = f"req-{i:07d}"
        inputs.append({"custom_id": cid, "method": "POST", "url": "/v1/chat/completions",
                       "body": {"model": r["model"], "user": r["account_id"], "messages": r["messages"],
                                "max_tokens": r["max_tokens"], "temperature": r["temperature"]}})
        outputs.append({"id": f"batch_req_{i}", "custom_id": cid, "error": None, "response": {
            "status_code": 200, "request_id": f"req_{r['request_id']}",
            "body": {"id": f"chatcmpl-{i}", "object": "chat.completion", "created": _ms(r["ts"]) // 1000,
                     "model": r["model"], "choices": [{"index": 0, "finish_reason": "stop",
                                                       "message": {"role": "assistant", "content": r["response"]}}],
                     "usage": {"prompt_tokens": r["input_tokens"], "completion_tokens": r["output_tokens"]}}}})
    return [_jsonl(out / "batch_input.jsonl", inputs), _jsonl(out / "batch_output.jsonl", outputs)]


def anthropic_batch(records: list[dict], out: Path) -> list[Path]:
    requests, results = [], []
    for i, r in enumerate(records):
        cid = f"msg-{i:07d}"
        system = [m["content"] for m in r["messages"] if m["role"] == "system"]
        params = {"model": r["model"], "max_tokens": r["max_tokens"], "metadata": {"user_id": r["account_id"]},
                  "messages": [m for m in r["messages"] if m["role"] != "system"]}
        if system:
            params["system"] = [{"type": "text", "text": system[0]}]
        requests.append({"custom_id": cid, "params": params})
        results.append({"custom_id": cid, "result": {"type": "succeeded", "message": {
            "id": f"msg_{i:010d}", "type": "message", "role": "assistant", "model": r["model"],
            "content": [{"type": "text", "text": r["response"]}], "stop_reason": "end_turn",
            "usage": {"input_tokens": r["input_tokens"], "output_tokens": r["output_tokens"]}}}})
    return [_jsonl(out / "batch_requests.jsonl", requests), _jsonl(out / "batch_results.jsonl", results)]


def langfuse(records: list[dict], out: Path) -> list[Path]:
    rows = []
    for r in records:
        start = _ms(r["ts"])
        rows.append({"id": f"obs_{r['request_id']}", "trace_id": f"tr_{r['request_id']}", "project_id": "proj_01",
                     "type": "GENERATION", "start_time": _iso(start, " ", "000"),
                     "end_time": _iso(start + r["latency_ms"], " ", "000"), "name": "chat", "level": "DEFAULT",
                     "input": orjson.dumps(r["messages"]).decode(),
                     "output": orjson.dumps({"role": "assistant", "content": r["response"]}).decode(),
                     "provided_model_name": r["model"],
                     "usage_details": {"input": r["input_tokens"], "output": r["output_tokens"]},
                     "latency": r["latency_ms"] / 1000, "user_id": r["account_id"], "tags": ["bench"]})
    return [_jsonl(out / "observations.jsonl", rows)]


def helicone(records: list[dict], out: Path) -> list[Path]:
    rows = []
    for r in records:
        rows.append({"request_id": r["request_id"], "request_created_at": _iso(_ms(r["ts"])),
                     "request_user_id": r["account_id"], "request_model": r["model"], "model": r["model"],
                     "request_body": {"model": r["model"], "messages": r["messages"]},
                     "response_status": 200, "response_body": {"choices": [{"index": 0, "message": {
                         "role": "assistant", "content": r["response"]}}]},
                     "delay_ms": r["latency_ms"], "prompt_tokens": r["input_tokens"],
                     "completion_tokens": r["output_tokens"], "country_code": r["country"], "provider": "OPENAI"})
    return [_jsonl(out / "helicone.jsonl", rows)]


def openrouter(records: list[dict], out: Path) -> list[Path]:
    path = out / "openrouter_activity.csv"
    header = ["generation_id", "created_at", "cost_total", "tokens_prompt", "tokens_completion", "model_permaslug",
              "app_name", "api_key_name", "user", "generation_time_ms", "finish_reason_normalized", "cancelled"]
    with open(path, "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(header)
        for r in records:
            w.writerow([f"gen-{r['request_id']}", _iso(_ms(r["ts"]), " ", ""), "0.0012", r["input_tokens"],
                        r["output_tokens"], r["model"], "bench", r["api_key_id"], r["account_id"],
                        r["latency_ms"], "stop", "false"])
    return [path]


def canonical(records: list[dict], out: Path) -> list[Path]:
    return [_jsonl(out / "requests.jsonl", records)]


def litellm(records: list[dict], out: Path) -> list[Path]:
    from farmhound.sample_exports import write_litellm

    return [write_litellm(iter(records), out)]


def bedrock(records: list[dict], out: Path) -> list[Path]:
    from farmhound.sample_exports import write_bedrock

    return [write_bedrock(iter(records), out)]


WRITERS = {"canonical": canonical, "litellm": litellm, "bedrock": bedrock, "openai-batch": openai_batch,
           "anthropic-batch": anthropic_batch, "langfuse": langfuse, "helicone": helicone, "openrouter": openrouter}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--rows", type=int, default=100_000)
    ap.add_argument("--only", nargs="*", choices=list(WRITERS), help="run these formats only")
    args = ap.parse_args()
    sys.path.insert(0, str(HERE))
    from gen_requests import generate

    DATA.mkdir(exist_ok=True)
    src = DATA / f"requests_{args.rows}.jsonl"
    if not src.exists():
        generate(src, args.rows)
    with open(src, "rb") as f:
        records = [orjson.loads(line) for line in f]
    print(f"{args.rows:,} requests per format, written from {src.name}", flush=True)
    for name in args.only or WRITERS:
        out = DATA / "formats" / name
        shutil.rmtree(out, ignore_errors=True)
        out.mkdir(parents=True)
        files = WRITERS[name](records, out)
        size = sum(p.stat().st_size for f in files for p in ([f] if f.is_file() else f.rglob("*")) if p.is_file())
        db = out / "bench.db"
        t0 = time.perf_counter()
        done = subprocess.run([sys.executable, "-m", "farmhound", "ingest", *map(str, files), "--db", str(db),
                               "--json"], capture_output=True, check=False)
        secs = time.perf_counter() - t0
        if done.returncode != 0:
            print(f"{name:<16} failed: {done.stderr.decode()[-500:]}")
            continue
        summaries = orjson.loads(done.stdout)
        summaries = summaries if isinstance(summaries, list) else [summaries]
        stored = sum(s["stored"] for s in summaries if s["kind"] == "requests")
        quarantined = sum(s["quarantined"] for s in summaries)
        print(f"{name:<16} {secs:6.1f} s  {args.rows / secs:>8,.0f} rows/s  {size / secs / 1e6:6.1f} MB/s "
              f"({size / 1e6:,.0f} MB{', gzip' if name == 'bedrock' else ''})  stored {stored:,}  "
              f"quarantined {quarantined:,}", flush=True)


if __name__ == "__main__":
    main()
