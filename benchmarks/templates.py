"""Template-mining benchmark: `farmhound.templates.mine` on N distinct prompts of ~600 characters.

    python benchmarks/templates.py 100000 300000 1000000     # one run per N, each in a fresh process
    python benchmarks/templates.py 100000 --seed 2

The prompts mimic a tenant base at scale: about a third are farm traffic (the sample generator's
crude / careful / rotating wrappers around its maths, coding and agent tasks, with a few hundred
characters of pasted context inside the slot, so the wrapper sits at the edges of a long prompt);
a tenth are SaaS and eval-harness templates; the rest are individuals, who open with a common
phrase ("Can you help me", "How do I", ...) and go on with free text: English words drawn with
their real frequencies from the docstrings of some standard-library modules. That mix stresses both
sides of the miner: huge homogeneous blocks (farms) and huge heterogeneous ones (everyone who
starts with "can you help me").

Prints, per N: seconds in mine(), peak RSS of the process during mine() (sampled every 20 ms with
psutil) next to the RSS before it (the prompt list itself), and the templates and families found,
with the share of farm prompts in the 20 largest templates.
"""

from __future__ import annotations

import argparse
import math
import random
import subprocess
import sys
import threading
import time

import numpy as np
import psutil
import xxhash

from farmhound.sample import AGENT_GOALS, CAREFUL_WRAPS, CODE_TASKS, CRUDE_TEMPLATES, MATH, NUMS, SAAS, SLOTS

OPENERS = ("Can you help me", "How do I", "What is the best way to", "Write a", "I have a", "Explain",
           "Please", "I'm working on", "Why does", "Give me", "Could you", "Summarize", "Help me",
           "What are", "I need", "Is it possible to", "Tell me", "Create a", "My", "Hi, ")


def _fill(r: random.Random, template: str, **fixed) -> str:
    values = dict(fixed)
    for key in SLOTS:
        values.setdefault(key, r.choice(SLOTS[key]))
    for key, (lo, hi) in NUMS.items():
        values.setdefault(key, r.randint(lo, hi))
    return template.format_map(values)


def _task(r: random.Random) -> str:
    kind = r.random()
    if kind < 0.4:
        fn, desc = r.choice(CODE_TASKS)
        return _fill(r, "Write a {plang} function `{fn}` that {desc}. Constraint: {constraint}.", fn=fn, desc=desc)
    if kind < 0.75:
        return _fill(r, r.choice(MATH))
    return _fill(r, r.choice(AGENT_GOALS)).capitalize() + "."


def _corpus() -> list[str]:
    """Real English words with their real frequencies: the docstrings of some standard modules."""
    import importlib
    import inspect

    docs = set()
    for name in ("argparse asyncio collections csv datetime decimal email http.client json logging "
                 "pathlib re shutil socket sqlite3 subprocess tarfile textwrap threading "
                 "unittest urllib.request zipfile").split():
        for _, obj in inspect.getmembers(importlib.import_module(name)):
            doc = getattr(obj, "__doc__", None)
            if isinstance(doc, str) and len(doc) > 40:
                docs.add(doc)
    return [w for w in " ".join(sorted(docs)).split() if len(w) <= 15 and any(c.isalpha() for c in w)]


def prompts(n: int, seed: int = 1):
    """n distinct (hash, text, is_farm) triples, deterministic per seed (and Python version)."""
    r = random.Random(seed)
    vocab = _corpus()
    rng = np.random.default_rng(seed)

    def words(median: int) -> str:                     # free text: ~6.5 characters per word
        k = max(3, min(600, int(r.lognormvariate(math.log(median / 6.5), 0.6))))
        return " ".join(vocab[i] for i in rng.integers(0, len(vocab), k))

    wrappers = [t.replace("{task}", "{}") for t in CRUDE_TEMPLATES + CAREFUL_WRAPS] + [
        "Task: {}\nShow all reasoning, then the final code.",
        "Goal: {}\nGive the full trajectory with your complete reasoning."]
    seen: set[int] = set()
    while len(seen) < n:
        kind = r.random()
        if kind < 0.33:                                    # farm: wrapper(task + pasted context)
            text = r.choice(wrappers).format(_task(r) + "\n\nContext:\n" + words(450))
        elif kind < 0.43:                                  # SaaS and eval harness templates
            if r.random() < 0.5:
                _, _, _, user = r.choice(SAAS)
                text = _fill(r, user)
            else:
                text = f"Question: {_fill(r, r.choice(MATH))}\nAnswer: Let's think step by step."
        else:                                              # individuals: an opener and free text
            text = f"{r.choice(OPENERS)} {words(560)}"
        h = xxhash.xxh3_64_intdigest(text.encode()) >> 1
        if h not in seen:
            seen.add(h)
            yield h, text, kind < 0.33


def run(n: int, seed: int) -> None:
    from farmhound.templates import mine

    data = list(prompts(n, seed))
    farm = {h for h, _, is_farm in data if is_farm}
    pairs = [(h, t) for h, t, _ in data]
    del data
    chars = sum(len(t) for _, t in pairs) / len(pairs)
    proc = psutil.Process()
    before = proc.memory_info().rss
    peak, done = [before], threading.Event()

    def sample():
        while not done.wait(0.02):
            peak[0] = max(peak[0], proc.memory_info().rss)

    watcher = threading.Thread(target=sample, daemon=True)
    watcher.start()
    t0 = time.perf_counter()
    mined = mine(iter(pairs))
    seconds = time.perf_counter() - t0
    done.set()
    watcher.join()
    peak[0] = max(peak[0], proc.memory_info().rss)
    top = {t.id for t in mined.templates[:20]}
    in_top = sum(1 for h in farm if mined.assignment[h] in top) / max(1, len(farm))
    singles = sum(1 for t in mined.templates if t.prompts == 1)
    print(f"N={n:>9,}  mean {chars:,.0f} chars  mine {seconds:6.1f} s  "
          f"RSS before {before / 2**20:,.0f} MB, peak {peak[0] / 2**20:,.0f} MB "
          f"(+{(peak[0] - before) / 2**20:,.0f})  templates {len(mined.templates):,} "
          f"({singles:,} singletons)  families {len({t.family_id for t in mined.templates}):,}  "
          f"farm prompts in the top 20 templates {in_top:.0%}", flush=True)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("n", nargs="*", type=int, default=[100_000, 300_000, 1_000_000])
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--one", action="store_true", help=argparse.SUPPRESS)    # child process
    args = ap.parse_args()
    if args.one:
        run(args.n[0], args.seed)
        return
    for n in args.n:                                       # fresh process: clean peak RSS
        subprocess.run([sys.executable, __file__, str(n), "--seed", str(args.seed), "--one"], check=True)


if __name__ == "__main__":
    main()
