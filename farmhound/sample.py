"""Deterministic generator of synthetic tenant bases with planted distillation farms.

Responsible for: writing `requests.jsonl` (canonical request records, globally sorted by `ts`),
`accounts.csv` (canonical account records) and `labels.csv` (ground truth: label, population,
farm id) for a 30-day window starting at a fixed epoch. The tenant base mixes ordinary users with
the legitimate look-alikes that fool any single signal (a SaaS template, a campus NAT, an eval
harness, an enterprise egress range) and three farms of increasing care (crude, rotating,
careful). The same (scale, seed) always gives byte-identical files: every draw comes from a
`random.Random` seeded from the seed, and nothing reads the clock.

Not responsible for: the CLI (`farmhound sample` calls `generate`), other export formats, loading
into the store, or detection. No network and no external data: all text is built from the word
lists and task pools below. Requests are kept as small tuples (ts, account, conversation key,
turn) and their text is rendered only while writing, so memory grows by a small tuple per request.
"""
from __future__ import annotations

import csv
import math
import random
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

import orjson

__all__ = ["SampleSummary", "generate", "POPULATIONS"]

EPOCH = datetime(2026, 4, 22, tzinfo=UTC)   # window start; never the current time
DAYS = 30
MIN_MS, H_MS, DAY_MS = 60_000, 3_600_000, 86_400_000
EPOCH_MS = int(EPOCH.timestamp()) * 1000
END_MS = EPOCH_MS + DAYS * DAY_MS
RELEASE_MS = EPOCH_MS + 18 * DAY_MS         # a new model appears mid-window (model-pivot signal)
NEW_MODEL = "atlas-4.5-pro"
CAREFUL_DAILY_CAP = 24                      # the careful farm keeps each account under ~26/day
POPULATIONS = ("individual", "saas", "campus_nat", "eval_harness", "enterprise",
               "farm_crude", "farm_rotating", "farm_careful")


@dataclass
class SampleSummary:
    out_dir: Path
    requests: int                 # request records written
    accounts: int                 # account records written
    populations: dict[str, int]   # population name -> number of accounts
    files: list[Path]             # files written


# ----------------------------------------------------------------------------- word lists
def _w(s: str) -> tuple[str, ...]:
    return tuple(s.split("|"))


FIRST = _w("james|maria|wei|aisha|lucas|sofia|omar|yuki|daniel|elena|ravi|chloe|mateo|fatima|"
           "noah|ingrid|kwame|hana|diego|olga|samuel|priya|tomas|leila|ethan|mei|pablo|zara|felix")
LAST = _w("smith|garcia|chen|khan|muller|rossi|kim|silva|nguyen|patel|johnson|novak|okafor|"
          "tanaka|lopez|ivanova|brown|haddad|costa|larsen|singh|walker|moreau|yilmaz|santos")
WEBMAIL = _w("gmail.com|outlook.com|yahoo.com|proton.me|icloud.com|hotmail.com|gmx.de|qq.com")
BINS = _w("414720|453275|491653|518791|542418|552433|601100|379763|400022|476173|434769")
# country -> (UTC offset in April, residential first octets, IPv6 prefix, weight)
COUNTRIES = {
    "US": (-5, (73, 98, 24, 71, 67, 174), "2600:1700", 30), "IN": (5.5, (49, 117, 106), "2401:4900", 10),
    "GB": (1, (86, 81, 92), "2a00:23c5", 6), "DE": (2, (91, 87, 79), "2a02:8108", 6),
    "BR": (-3, (177, 189, 179), "", 6), "JP": (9, (126, 60, 114), "240b:10", 4),
    "FR": (2, (90, 86, 109), "2a01:cb00", 4), "CA": (-4, (142, 99, 70), "", 4),
    "ID": (7, (36, 114, 180), "", 3), "VN": (7, (113, 14, 27), "", 3), "KR": (9, (121, 211), "", 3),
    "NG": (1, (105, 102, 197), "", 2), "AU": (10, (101, 110, 120), "", 3),
    "MX": (-6, (187, 201), "", 3), "PL": (2, (83, 89, 31), "", 3)}
PROXY_COUNTRIES = _w("BR|IN|ID|VN|MX|PL|NG|KR|GB|DE|FR|JP")
DC_PREFIXES = _w("45.137.21|104.248.63|167.99.112|5.188.62|193.32.162|141.98.10|91.92.249|"
                 "146.70.38|38.180.13|194.26.29|80.66.88|179.43.128|212.102.40|89.38.97")
CLOUD_PREFIXES = _w("3.94.211|18.207.14|52.14.88|34.122.50|35.190.7|20.42.106|13.58.200")
BROWSER_UAS = (
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/124.0.0.0 Safari/537.36",
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) "
    "Version/17.4 Safari/605.1.15",
    "Mozilla/5.0 (X11; Linux x86_64; rv:125.0) Gecko/20100101 Firefox/125.0")
SDK_UAS = _w("openai-python/1.54.3|openai-python/1.30.1|anthropic-sdk-python/0.39.0|"
             "OpenAI/NodeJS 4.47.1|httpx/0.27.0|python-requests/2.32.3|curl/8.5.0|axios/1.7.2|"
             "node-fetch/1.0 (+https://github.com/bitinn/node-fetch)|langchain-python/0.2.11")
ROTATED_UAS = _w("openai-python/1.40.6|openai-python/1.51.2|anthropic-sdk-python/0.34.2|"
                 "anthropic-sdk-typescript/0.27.3|httpx/0.27.2|httpx/0.25.1|node-fetch/2.7.0|"
                 "node-fetch/3.3.2|OpenAI/NodeJS 4.56.0|python-requests/2.31.0")

# ----------------------------------------------------------------------------- task pools
CODE_TASKS = (
    ("merge_intervals", "merges overlapping [start, end] intervals"),
    ("LRUCache", "implements an LRU cache with O(1) get and put"),
    ("parse_duration", "parses strings like '1h30m15s' into seconds"),
    ("top_k_words", "returns the k most frequent words, ties broken alphabetically"),
    ("is_valid_sudoku", "checks whether a partially filled 9x9 sudoku board is valid"),
    ("TokenBucket", "implements a thread-safe token-bucket rate limiter"),
    ("diff_lines", "computes a line diff of two texts using longest common subsequence"),
    ("flatten_json", "flattens nested JSON into dotted keys"),
    ("retry_async", "retries an async call with exponential backoff and jitter"),
    ("topo_sort", "topologically sorts a dependency graph and reports any cycle"),
    ("BloomFilter", "implements a Bloom filter with a configurable false-positive rate"),
    ("dedupe_csv", "removes duplicate rows from a CSV too large for memory"),
    ("autocomplete", "builds a trie and returns the top 5 completions for a prefix"),
    ("spiral_order", "returns the elements of an m x n matrix in spiral order"),
    ("roman_to_int", "converts Roman numerals to integers and rejects invalid ones"),
    ("parse_access_log", "parses nginx access-log lines into dicts, skipping malformed lines"),
    ("ConsistentHashRing", "implements consistent hashing with virtual nodes"),
    ("shortest_paths", "runs Dijkstra from a source over a weighted directed graph"),
    ("min_window", "finds the minimum window substring containing all given characters"),
    ("serialize_tree", "serializes and deserializes a binary tree"),
    ("IntervalScheduler", "schedules meetings into the fewest rooms"),
    ("eval_rpn", "evaluates an arithmetic expression in reverse Polish notation"),
    ("chunk_text", "splits text into chunks of at most n tokens on sentence boundaries"),
    ("KVStore", "implements a key-value store with snapshots and rollback"))
MATH = (
    "A train leaves at {h}:00 at {a} km/h; a second leaves {d} hours later at {b} km/h. "
    "When does the second catch up?",
    "Find all real x with x^2 - {s}x + {p} = 0.",
    "How many positive integers below {n} are divisible by {a} or {b} but not both?",
    "A rectangle has perimeter {p} cm and is {a} cm longer than wide. Find its area.",
    "What is the remainder when {a}^{n} is divided by {m}?",
    "In how many ways can {k} people sit at a round table if two of them refuse to sit together?",
    "A bag holds {r} red and {b} blue marbles. Two are drawn without replacement. "
    "What is the probability both are red?",
    "Prove that the sum of the first {n} odd numbers is a perfect square.",
    "A loan of ${P} accrues {r}% annual interest compounded monthly. What is owed after {y} years?",
    "Find the number of lattice points strictly inside the triangle with vertices (0,0), "
    "({a},0), (0,{b}).",
    "Let f(x) = {a}x^3 - {b}x + {k}. Find all local extrema of f.",
    "Sequence a_1 = {k}, a_(n+1) = {a}a_n - {b}. Find a closed form for a_n.")
AGENT_GOALS = (
    "the CI job `{ci}` fails with ModuleNotFoundError: No module named '{mod}'; find and fix it",
    "find the three most-cited 2025 papers on {topic} and summarise each in one paragraph",
    "book the cheapest refundable flight from {city} to {city2} next {weekday}",
    "reconcile orders.csv against payments.csv and list orders with mismatched totals",
    "add a non-null `{col}` column to the `{table}` table without downtime",
    "find why p99 latency of /checkout doubled after deploy v{d}.{k}.{m}",
    "rotate the leaked API key in the `{ci}` service and audit where it was used",
    "scrape the pricing pages of three competitors in {topic} and build a comparison table")
AGENT_TOOLS = "search_web(query), read_file(path), run_shell(cmd), write_file(path, text)"
GENERAL = (
    "can you help me write a polite email to my {who} asking for {what}?",
    "What's a good {d}-day itinerary for {city} on a budget?",
    "explain {concept} like I'm 12", "Give me a recipe for {dish} that uses {food}",
    "Summarize the arguments for and against {debate}.", "How do I fix '{err}' in {tool}?",
    "Rewrite this to sound more professional: \"{sentence}\"", "name ideas for a {pet}?",
    "I have a {job} interview on {weekday}. What questions should I expect?",
    "Translate to {lang2}: \"{sentence}\"", "Write a short poem about {thing}.",
    "Plan a {d}-week beginner workout routine to {goal}.", "Help me understand {concept} with an example.",
    "write a cover letter opening for a {job} role", "ideas for a {k}th birthday party for my {who}",
    "How should I store {food} so it lasts longer?",
    "what's the difference between {concept} and {concept2}?")
CASUAL_CODE = ("can you write a {plang} function that {desc}?", "how do I write {plang} code that {desc}",
               "{plang} question: I need something that {desc}. cleanest way?",
               "write {fn} in {plang} pls, it {desc}",
               "my {plang} `{fn}` {desc} but it's slow on big inputs. how do I speed it up?")
CASUAL_MATH = ("{problem}", "homework help: {problem}", "how do you solve this? {problem}")
BUSINESS = (
    "Draft a reply to a supplier in {city} who says shipment SO-{n}{k} is delayed {d} days.",
    "Summarize these meeting notes into action items: {sentence}; {sentence2}",
    "Write an Excel formula that sums column {col} when column B equals \"{city}\".",
    "Review this SQL for performance: SELECT * FROM {table} WHERE {col} LIKE '%{mod}%'",
    "Give me 3 talking points for a QBR on {topic}.", "Translate to {lang2} for a customer: \"{sentence}\"")
SLOTS = {
    "who": _w("landlord|manager|professor|neighbour|coach|sister|grandma"),
    "what": _w("a deadline extension|a refund|a day off|a recommendation letter|feedback"),
    "city": _w("Lisbon|Tokyo|Mexico City|Kraków|Hanoi|Chicago|Nairobi|Seoul|Lyon|Porto"),
    "city2": _w("Berlin|Austin|Singapore|Madrid|Toronto|Bangkok|Prague|Oslo"),
    "concept": _w("inflation|blockchains|photosynthesis|recursion|black holes|compound interest|"
                  "vaccines|TCP handshakes|the stock market|entropy|neural networks|tariffs"),
    "concept2": _w("weather|a list|a mutex|an ETF|a virus|RAM|a hash map|GDP"),
    "dish": _w("lasagna|ramen|shakshuka|banana bread|dal|tacos|risotto|a stir fry"),
    "food": _w("chickpeas|leftover rice|spinach|tofu|avocados|fresh basil|sourdough"),
    "debate": _w("a four-day work week|nuclear power|remote work|school uniforms|rent control"),
    "err": _w("TypeError: 'NoneType' object is not subscriptable|CORS policy blocked|segfault|"
              "npm ERR! ERESOLVE|permission denied (publickey)|IndexError"),
    "tool": _w("VS Code|Docker|git|pandas|Excel|React|Postgres|Homebrew"),
    "sentence": _w("we can't make the meeting, sorry|the invoice is wrong again|pls send the file asap|"
                   "your product broke after two days|thx for the help, it worked"),
    "sentence2": _w("budget approved|hire freeze until Q3|launch moved to June|vendor audit next week"),
    "pet": _w("grey kitten|golden retriever|hamster|parrot|pair of goldfish"),
    "job": _w("data analyst|nurse|backend engineer|barista|product manager|teacher"),
    "ci": _w("unit-tests|deploy-staging|lint|build-wheels|e2e-nightly|billing-api"),
    "lang2": _w("Spanish|French|German|Japanese|Portuguese|Hindi"),
    "thing": _w("autumn rain|my cat|the first day of school|coffee|the ocean at night"),
    "table": _w("orders|users|invoices|events"), "col": _w("region|status|tenant_id|sku|D"),
    "goal": _w("lose weight|run a 5k|build strength|fix my posture"),
    "topic": _w("retrieval-augmented generation|battery chemistry|CRISPR|supply chains|fintech"),
    "weekday": _w("Monday|Tuesday|Friday|Saturday"), "mod": _w("yaml|requests|numpy|pydantic|boto3"),
    "status": _w("in transit|delivered|delayed at customs|label created|returned to sender"),
    "plang": _w("Python|TypeScript|Go|Rust|Java|C++"), "fn": ("solve",),
    "constraint": _w("O(n log n) time|no external libraries|handle empty input and None|include "
                     "unit tests|inputs up to 10^6 elements|constant extra memory|full type hints"),
    "stuck": _w("the priority queue part|updating distances|the base case|filling the table|"
                "path compression|reconstructing the answer"),
    "bug": _w("KeyError: 'B'|IndexError: list index out of range|wrong answer on test 2|"
              "an infinite loop|RecursionError"),
    "guess": _w("O(n^2)|O(E log V)|O(mn)|O(2^n)|O(n log n)"),
}
NUMS = {"a": (3, 97), "b": (2, 60), "d": (2, 9), "h": (6, 11), "s": (3, 19), "p": (6, 120),
        "n": (50, 5000), "m": (7, 31), "k": (4, 12), "r": (3, 12), "P": (1000, 90000), "y": (2, 30)}


class _Slots(dict):
    """format_map mapping that fills a slot on first use; one per request, so the reply can
    reuse the prompt's slot values (same status, same language, same function name)."""

    def __init__(self, r: random.Random, **fixed):
        super().__init__(fixed)
        self.r = r

    def __missing__(self, key: str):
        value = self.r.randint(*NUMS[key]) if key in NUMS else self.r.choice(SLOTS[key])
        self[key] = value
        return value

    def fill(self, template: str) -> str:
        return template.format_map(self)

    def code_task(self) -> str:
        self["fn"], self["desc"] = self.r.choice(CODE_TASKS)
        return self.fill("Write a {plang} function `{fn}` that {desc}. Constraint: {constraint}.")

    def math_task(self) -> str:
        return self.fill(self.r.choice(MATH))

    def agent_task(self) -> str:
        text = self.fill(self.r.choice(AGENT_GOALS))
        return text[0].upper() + text[1:] + "."


# ----------------------------------------------------------------------------- timing
_HOURS = tuple(range(24))


def _cum(weights) -> list[float]:
    out, s = [], 0.0
    for w in weights:
        s += w
        out.append(s)
    return out


HUMAN_HOURS = _cum((3, 1.5, .8, .5, .5, 1, 3, 7, 12, 16, 18, 17, 14, 15, 16, 16, 15, 14,
                    15, 19, 22, 21, 16, 8))
WORK_HOURS = _cum((0, 0, 0, 0, 0, 0, 0, .5, 6, 16, 18, 16, 8, 14, 17, 16, 13, 7, 2, .5, .3, 0, 0, 0))
STUDENT_HOURS = _cum((10, 6, 3, 1, 0, 0, 0, .5, 2, 5, 8, 9, 8, 10, 16, 16, 9, 8, 9, 12, 16, 18,
                      17, 14))


def _poisson(r: random.Random, mean: float) -> int:
    if mean > 30:
        return max(0, round(r.gauss(mean, math.sqrt(mean))))
    limit, k, p = math.exp(-mean), 0, r.random()
    while p > limit:
        k += 1
        p *= r.random()
    return k


def _geometric(r: random.Random, mean: float) -> int:
    return 1 + int(math.log(1.0 - r.random()) / math.log(1.0 - 1.0 / mean))


def _day_probs(fn: Callable[[int, int], float]) -> list[float]:
    """fn(local day index, weekday) for local days -1..DAYS (all that overlap the window)."""
    return [fn(d, (EPOCH.weekday() + d) % 7) for d in range(-1, DAYS + 1)]


def _human_times(r: random.Random, start_ms: int, tz_h: float, hours: list[float],
                 day_p: list[float], per_session: float) -> list[tuple[int, int, int]]:
    """Bursty sessions on a diurnal schedule: [(ts, conversation key, turn)]."""
    out, off = [], int(tz_h * H_MS)
    for i, p in enumerate(day_p):
        if p <= 0 or r.random() >= p:
            continue
        day0 = EPOCH_MS + (i - 1) * DAY_MS - off
        for _ in range(1 + _poisson(r, 0.35)):
            t = day0 + r.choices(_HOURS, cum_weights=hours)[0] * H_MS + r.randrange(H_MS)
            conv, turn = r.getrandbits(62), 0
            for _ in range(_geometric(r, per_session)):
                if start_ms <= t < END_MS:
                    out.append((t, conv, turn))
                t += 4000 + int(r.lognormvariate(4.2, 1.1) * 1000)   # heavy-tailed think time
                if turn < 2 and r.random() < 0.2:
                    turn += 1                                          # follow-up in the same chat
                else:
                    conv, turn = r.getrandbits(62), 0
    return out


def _poisson_times(r: random.Random, t0: int, t1: int, per_day: float,
                   tz_h: float = 0.0, swing: float = 0.0) -> list[int]:
    """Poisson arrivals at per_day, modulated ±swing by local hour of day (by thinning)."""
    out, t, peak = [], t0, per_day * (1 + swing) / DAY_MS
    while True:
        t += int(r.expovariate(peak)) + 1
        if t >= t1:
            return out
        local_h = ((t - EPOCH_MS) / H_MS + tz_h) % 24
        if r.random() * (1 + swing) < 1 + swing * math.sin((local_h - 9) * math.pi / 12):
            out.append(t)


# ----------------------------------------------------------------------------- rendering
REPLIES = {
    "general": ("Sure! Here's a simple way to approach it:\n1.", "Great question! A quick overview:",
                "Happy to help. Here's a first draft you can adapt:",
                "Here are a few ideas to get started:\n-"),
    "code": ("Here's a {plang} implementation:\n\n```\n{sig}\n",
             "One clean approach in {plang}:\n\n```\n{sig}\n"),
    "reason": ("Let's work through this step by step.\n\nStep 1: Write down what is given.",
               "<thinking>\nFirst, restate the problem, then check small cases.",
               "Reasoning:\n1. Identify the unknowns.\n2. Set up equations."),
    "agent": ("Thought: I should reproduce the failure first.\nAction: run_shell(\"pytest -x -q\")",
              "Thought: I need context before acting.\nAction: read_file(\"README.md\")",
              "Thought: Let me look for recent sources.\nAction: search_web(\"{topic} 2025\")"),
    "support": ("Hi there, thanks for reaching out! I've checked your order: it is {status}.",
                "Sorry for the trouble! Your parcel is {status}; you'll get an email with updates."),
    "bullets": ("- {sentence2}\n- Next review on {weekday}\n- Owner: {who}",),
    "sql": ("SELECT {col}, SUM(o.total) FROM orders o JOIN customers c ON c.id = o.customer_id "
            "WHERE c.city = '{city}' AND o.created_at > now() - interval '{d} months' GROUP BY 1;",),
    "listing": ("Meet the {dish} kit: everything you need in one box, ready to gift.",),
    "mc": ("{answer}",),
}
SIGNATURES = {"Python": "def {fn}(items):", "TypeScript": "export function {fn}(items: number[]) {",
              "Go": "func {fn}(items []int) int {", "Rust": "pub fn {fn}(items: &[i64]) -> i64 {",
              "Java": "public static int {fn}(int[] items) {", "C++": "int {fn}(const std::vector<int>& v) {"}
FOLLOWUPS = _w("thanks! can you make it shorter?|what about edge cases?|now add tests|"
               "can you explain step 2 again?|ok and in simpler words?|that didn't work, same error")
OUT_TOKENS = {"general": (60, 900), "code": (200, 1600), "reason": (700, 3800), "agent": (800, 3500),
              "support": (40, 120), "bullets": (40, 120), "sql": (30, 90), "listing": (50, 80),
              "mc": (1, 1)}


def _turn(r: random.Random, s: _Slots, cat: str, user: str, system: str | None = None, turn: int = 0,
          parts_p: float = 0.0, max_tokens: int = 1024, temperature: float = 1.0,
          model: str | None = None) -> dict:
    """Messages (with `turn` earlier exchanges) and a short reply; exports keep replies brief."""
    if cat == "code":
        s["sig"] = SIGNATURES[s["plang"]].replace("{fn}", str(s["fn"]))
    # Fixed draw order: turn k of a conversation repeats the exact history of turns 0..k-1.
    follow = [r.choice(FOLLOWUPS) for _ in range(2)]
    replies = [s.fill(r.choice(REPLIES[cat])) for _ in range(turn + 1)]
    msgs = [{"role": "system", "content": system}] if system else []
    msgs.append({"role": "user", "content": user})
    for k in range(turn):
        msgs += [{"role": "assistant", "content": replies[k]}, {"role": "user", "content": follow[k]}]
    if r.random() < parts_p:
        msgs[-1]["content"] = [{"type": "text", "text": msgs[-1]["content"]}]
    return {"messages": msgs, "response": replies[turn], "cat": cat,
            "max_tokens": max_tokens, "temperature": temperature, "model": model}


def _casual(r: random.Random, s: _Slots) -> tuple[str, str]:
    kind = r.random()
    if kind < 0.72:
        text, cat = s.fill(r.choice(GENERAL)), "general"
    elif kind < 0.92:
        s["fn"], s["desc"] = r.choice(CODE_TASKS)
        text, cat = s.fill(r.choice(CASUAL_CODE)), "code"
    else:
        s["problem"] = s.math_task()
        text, cat = s.fill(r.choice(CASUAL_MATH)), "reason"
    if r.random() < 0.35:
        text = text[0].lower() + text[1:].rstrip("?.")
    return text, cat


def _r_individual(a, r, ts, turn):
    s = _Slots(r)
    text, cat = _casual(r, s)
    system = "You are a helpful assistant." if r.random() < 0.1 else None
    return _turn(r, s, cat, text, system, turn, parts_p=0.05,
                 max_tokens=r.choice((1024, 2048, 4096)), temperature=r.choice((1.0, 0.7)))


def _r_enterprise(a, r, ts, turn):
    s = _Slots(r)
    text, cat = (s.fill(r.choice(BUSINESS)), "general") if r.random() < 0.5 else _casual(r, s)
    return _turn(r, s, cat, text, a.params["system"], turn, parts_p=0.05, max_tokens=2048,
                 temperature=0.7)


SAAS = (  # (brand, reply kind, system prompt, user template)
    ("Parcelly", "support", "You are Nimbus, the support assistant for {brand}, a package-tracking "
     "app. Answer in 2-3 sentences. Never promise refunds.",
     "Customer message: \"{sentence}\"\nOrder #{n}{k}: {status}\nWrite the reply."),
    ("Briefly", "bullets", "You summarise documents for {brand} users. Output exactly 3 bullet points.",
     "Title: {topic} update ({city})\n\n{sentence2}. Next review {weekday}. Owner: {who}."),
    ("Querymate", "sql", "Translate the question into one PostgreSQL query for {brand}. Schema: "
     "orders(id, customer_id, total, created_at), customers(id, name, city). Return only SQL.",
     "total revenue from {city} customers in the last {d} months by {col}"),
    ("Listwise", "listing", "You write product listings for {brand} sellers. 40 words, no emojis.",
     "Product: {dish} kit, {pet} toy bundle\nTone: {goal}"))


def _r_saas(a, r, ts, turn):
    _, cat, system, user = SAAS[a.params["template"]]
    s = _Slots(r, brand=a.params["brand"])
    return _turn(r, s, cat, s.fill(user), s.fill(system), max_tokens=300, temperature=0.3)


ASSIGNMENTS = (  # (label, function name, statement); due on the matching DEADLINES day
    ("CS 2110 HW3 Q2", "shortest_paths", "Implement Dijkstra's algorithm with a binary heap. "
     "shortest_paths(graph, src) takes an adjacency dict and returns a dict of distances."),
    ("CS 2110 HW4 Q1", "lcs", "Write a dynamic-programming solution for the longest common "
     "subsequence of two strings and analyse its time and space complexity."),
    ("CS 2110 HW5 Q3", "kruskal", "Implement union-find with path compression and use it for "
     "Kruskal's minimum spanning tree."))
DEADLINES = (8, 15, 22)           # window day each assignment is due (23:59 local)
CAMPUS = (
    "{hw}: {text}\n\nI'm stuck on {stuck}. Can you explain what I'm doing wrong without the full answer?",
    "for {hw} we have to: {text} how do i start", "{text}\nwhy does my version give {bug}?",
    "can you check my complexity analysis for {hw}? I think it's {guess}",
    "explain {stuck} simply, it's for {hw}")


def _r_campus(a, r, ts, turn):
    day = (ts - EPOCH_MS) // DAY_MS
    hw, fn, text = ASSIGNMENTS[next((i for i, d in enumerate(DEADLINES) if day <= d), 2)]
    s = _Slots(r, hw=hw, fn=fn, text=text, plang="Python")
    user = s.fill(r.choice(CAMPUS))
    return _turn(r, s, "code", user.lower() if r.random() < 0.3 else user, None, turn,
                 max_tokens=2048, temperature=1.0)


def _r_eval(a, r, ts, turn):
    """Items are a pure function of the item key (the conversation key), so re-runs repeat them;
    `turn` carries the model under evaluation."""
    model, s = ("atlas-4-mini", "atlas-4", "atlas-4-pro", NEW_MODEL)[turn], _Slots(r)
    if r.random() < 0.5:
        x, y = r.randint(12, 99), r.randint(12, 99)
        opts = [x * y, x * y + 10, x * y - 1, (x + 1) * y]
        r.shuffle(opts)
        s["answer"] = "ABCD"[opts.index(x * y)]
        q = (f"The following are multiple choice questions (with answers) about "
             f"{r.choice(('elementary', 'high school'))} mathematics.\n\nWhat is {x} * {y}?\n"
             + "\n".join(f"{'ABCD'[i]}. {o}" for i, o in enumerate(opts)) + "\nAnswer:")
        return _turn(r, s, "mc", q, max_tokens=1, temperature=0.0, model=model)
    q = f"Question: {s.math_task()}\nAnswer: Let's think step by step."
    return _turn(r, s, "reason", q, max_tokens=512, temperature=0.0, model=model)


CRUDE_TEMPLATES = ("Solve step by step and show your full reasoning: {task}",
                   "Explain your reasoning in full detail, step by step, then answer. Problem: {task}",
                   "Think step by step. Show every step of your reasoning.\n\n{task}")
ROTATING_SYSTEMS = (
    "You are a senior engineer. Write out your full chain of reasoning in <thinking> tags first.",
    f"You are an autonomous agent. Tools: {AGENT_TOOLS}. Output Thought:, Action:, Observation:.")
CAREFUL_WRAPS = (
    "{task}\n\nPlease walk through your complete reasoning before giving the final answer.",
    "Before answering, think it through and write out every step of your thought process.\n\n{task}",
    "I want to see how you get there: show all intermediate reasoning, then the answer.\n{task}",
    "Task: {task}\nExplain your thinking in detail, step by step, and only then conclude.",
    "{task}\n(Reason it out fully, I want each step, not just the result.)",
    "Work through this and narrate your reasoning as you go, including dead ends: {task}")


def _r_crude(a, r, ts, turn):
    s = _Slots(r)
    user = CRUDE_TEMPLATES[a.params["template"]].format(task=s.math_task())
    return _turn(r, s, "reason", user, max_tokens=4096, temperature=0.7, model="atlas-4-pro")


def _r_rotating(a, r, ts, turn):
    s = _Slots(r)
    if r.random() < 0.55:
        s["fn"], s["desc"] = r.choice(CODE_TASKS)
        user = s.fill("Task: write a {plang} function `{fn}` that {desc}.\nConstraint: {constraint}. "
                      "Show all reasoning, then the final code.")
        return _turn(r, s, "code", user, ROTATING_SYSTEMS[0], max_tokens=8192, model="atlas-4-pro")
    user = f"Goal: {s.agent_task()}\nGive the full trajectory with your complete reasoning."
    return _turn(r, s, "agent", user, ROTATING_SYSTEMS[1], max_tokens=8192, model="atlas-4-pro")


def _r_careful(a, r, ts, turn):
    model = NEW_MODEL if ts >= RELEASE_MS and r.random() < 0.85 else "atlas-4-pro"
    s, kind = _Slots(r), r.random()
    if kind < 0.12:                                   # camouflage: unrelated-looking traffic
        text, cat = _casual(r, s)
        return _turn(r, s, cat, text, max_tokens=1024, model=model)
    task, cat = ((s.code_task(), "code") if kind < 0.45 else (s.math_task(), "reason")
                 if kind < 0.75 else (s.agent_task(), "agent"))
    return _turn(r, s, cat, r.choice(CAREFUL_WRAPS).format(task=task),
                 max_tokens=r.choice((2048, 4096, 8000)), temperature=r.choice((0.6, 0.7, 0.8, 1.0)),
                 model=model)


RENDERERS = {"individual": _r_individual, "saas": _r_saas, "campus_nat": _r_campus,
             "eval_harness": _r_eval, "enterprise": _r_enterprise, "farm_crude": _r_crude,
             "farm_rotating": _r_rotating, "farm_careful": _r_careful}


# ----------------------------------------------------------------------------- populations
@dataclass
class _Account:
    population: str
    created_ms: int
    email: str
    signup_ip: str
    ips: list                       # [(ip, country)] requests come from
    uas: tuple
    farm_id: str = ""
    payment_fingerprint: str = ""
    card_bin: str = ""
    billing_country: str = "US"
    org_id: str | None = None
    tier: str = "free"
    verified: bool = False
    ip_weights: list | None = None
    models: tuple = ("atlas-4",)
    keys: int = 1
    params: dict = field(default_factory=dict)
    account_id: str = ""
    api_keys: list = field(default_factory=list)


class _Tenant:
    """Accounts plus compact request events (ts, account index, conversation key, turn)."""

    def __init__(self, salt: int):
        self.salt = salt                      # keeps generated conversation keys seed-dependent
        self.accounts: list[_Account] = []
        self.events: list[tuple[int, int, int, int]] = []

    def add(self, acct: _Account, times) -> None:
        """times: [(ts, conversation key, turn)] or bare timestamps (one fresh key each)."""
        idx, lo = len(self.accounts), max(acct.created_ms, EPOCH_MS)
        self.accounts.append(acct)
        for ev in times:
            ts, conv, turn = ev if isinstance(ev, tuple) else (ev, self.salt ^ len(self.events), 0)
            if lo <= ts < END_MS:
                self.events.append((ts, idx, conv, turn))


def _hex(r: random.Random, bits: int) -> str:
    return f"{r.getrandbits(bits):0{bits // 4}x}"


def _org(r: random.Random) -> str:
    return "org_" + _hex(r, 32)


def _card(r: random.Random, bin_: str | None = None) -> tuple[str, str]:
    return "pf_" + _hex(r, 48), bin_ or r.choice(BINS)


def _country(r: random.Random) -> str:
    return r.choices(list(COUNTRIES), [v[3] for v in COUNTRIES.values()])[0]


def _res_ip(r: random.Random, cc: str) -> str:
    _, octets, v6, _ = COUNTRIES[cc]
    if v6 and r.random() < 0.15:
        return f"{v6}:{r.getrandbits(16):x}:{r.getrandbits(16):x}::{r.getrandbits(16):x}"
    return f"{r.choice(octets)}.{r.randrange(256)}.{r.randrange(256)}.{r.randint(1, 254)}"


def _email(r: random.Random, domain: str | None = None) -> str:
    f, last = r.choice(FIRST), r.choice(LAST)
    local = r.choice((f"{f}.{last}", f"{f}{last}{r.randint(1, 99)}", f"{f[0]}{last}",
                      f"{f}_{r.randint(1970, 2006)}", f"{last}.{f}{r.randint(1, 9)}"))
    return f"{local}@{domain or r.choice(WEBMAIL)}"


def _individuals(r: random.Random, t: _Tenant, sizes: list[int]) -> None:
    for _ in range(sizes[0]):
        cc = _country(r)
        tz, home = COUNTRIES[cc][0], _res_ip(r, cc)
        ips, weights = [(home, cc)], [1.0]
        if r.random() < 0.5:                              # phone on mobile data
            ips.append((_res_ip(r, cc), cc)), weights.append(0.35)
        if r.random() < 0.08:                             # a trip abroad
            away = _country(r)
            ips.append((_res_ip(r, away), away)), weights.append(0.1)
        created = (EPOCH_MS + r.randrange((DAYS - 2) * DAY_MS) if r.random() < 0.15
                   else EPOCH_MS - r.randint(1, 500) * DAY_MS + r.randrange(DAY_MS))
        paid = r.random() < 0.45
        pf, bin_ = _card(r) if paid else ("", "")
        act, weekend = r.betavariate(0.8, 5.0), r.uniform(0.3, 0.9)     # heavy-tailed activity
        off0, off_len = (r.randrange(DAYS) if r.random() < 0.3 else -99), r.randint(3, 9)
        day_p = _day_probs(lambda d, wd: 0.0 if off0 <= d < off0 + off_len
                           else act * (weekend if wd >= 5 else 1.0))
        kind = r.random()
        uas = ((r.choice(BROWSER_UAS),) if kind < 0.25 else (r.choice(SDK_UAS),) if kind < 0.9
               else (r.choice(BROWSER_UAS), r.choice(SDK_UAS)))
        acct = _Account("individual", created, _email(r), home, ips, uas,
                        payment_fingerprint=pf, card_bin=bin_, billing_country=cc,
                        org_id=_org(r) if r.random() < 0.25 else None, tier="build" if paid else "free",
                        verified=paid and r.random() < 0.3, ip_weights=weights,
                        models=("atlas-4-mini", "atlas-4", "atlas-4", "atlas-4-pro"))
        t.add(acct, _human_times(r, created, tz, HUMAN_HOURS, day_p, 2.2))


def _saas(r: random.Random, t: _Tenant, sizes: list[int]) -> None:
    for i in range(sizes[0]):                             # sizes[0] = number of integrations
        tmpl = i % len(SAAS)
        brand = SAAS[tmpl][0] if i < len(SAAS) else r.choice(_w("Nova|Quill|Lumen|Tidy|Kite")) + f"ly{i}"
        domain = brand.lower() + r.choice((".io", ".app", ".com"))
        org, (pf, bin_), prefix = _org(r), _card(r), r.choice(CLOUD_PREFIXES)
        tz, ua, model = r.choice((-5, -7, 1, 2)), r.choice(SDK_UAS[:6]), r.choice(("atlas-4-mini", "atlas-4"))
        created = EPOCH_MS - r.randint(60, 400) * DAY_MS + r.randrange(DAY_MS)
        for j in range(1 if r.random() < 0.7 else 2):    # prod, sometimes a second workload
            ip = f"{prefix}.{r.randint(2, 254)}"
            acct = _Account("saas", created + j * r.randint(1, 50) * DAY_MS,
                            f"{('ops', 'platform')[j]}@{domain}", ip, [(ip, "US")], (ua,),
                            payment_fingerprint=pf, card_bin=bin_, org_id=org, tier="scale", verified=True, keys=2, models=(model,),
                            params={"template": tmpl, "brand": brand})
            t.add(acct, _poisson_times(r, EPOCH_MS, END_MS, r.uniform(6, 11), tz, 0.4))


def _campus_day(d: int, wd: int) -> float:
    p = 0.08 + (0.25 if wd in (1, 3) else 0.0)         # Tue/Thu lab sessions
    for due in DEADLINES:                                # cramming before each deadline
        p += 0.55 if 0 <= due - d <= 1 else 0.2 if 2 <= due - d <= 3 else 0.0
    return min(0.95, p * (0.6 if wd >= 5 else 1.0))


def _campus(r: random.Random, t: _Tenant, sizes: list[int]) -> None:
    for g, size in enumerate(sizes):
        domain = ("northfield", "lakemont", "ridgeview", "easton")[g % 4] + (str(g) if g > 3 else "") + ".edu"
        nat = f"{r.choice(('128.210', '129.79', '171.64', '130.126'))}.{r.randrange(256)}.{r.randint(2, 254)}"
        first_class = EPOCH_MS + DAY_MS + 18 * H_MS        # Thursday 14:00 local: everyone signs up
        for _ in range(size):
            created = first_class + r.choice((0, 0, 0, 1, 2, 5, 6)) * DAY_MS + r.randrange(3 * H_MS)
            act = r.uniform(0.6, 1.2)
            pf, bin_ = _card(r) if r.random() < 0.25 else ("", "")
            email = (f"s{r.randint(1000000, 9999999)}@{domain}" if r.random() < 0.8
                     else f"{r.choice(FIRST)[0]}{r.choice(LAST)}{r.randint(10, 99)}@{domain}")
            ua = r.choice(BROWSER_UAS if r.random() < 0.3 else SDK_UAS[:3])
            acct = _Account("campus_nat", created, email, nat, [(nat, "US"), (_res_ip(r, "US"), "US")],
                            (ua,), payment_fingerprint=pf, card_bin=bin_, ip_weights=[0.8, 0.2],
                            models=("atlas-4-mini", "atlas-4"))
            day_p = _day_probs(lambda d, wd: act * _campus_day(d, wd))
            t.add(acct, _human_times(r, created, -4, STUDENT_HOURS, day_p, 2.5))


def _eval_harness(r: random.Random, t: _Tenant, sizes: list[int]) -> None:
    for g, size in enumerate(sizes):
        domain = ("evalworks.ai", "benchlab.io", "metricly.dev")[g % 3]
        org, (pf, bin_), prefix = _org(r), _card(r), r.choice(CLOUD_PREFIXES)
        suite = r.getrandbits(62) & ~0xFFF                 # + item: same items across the org's runs
        for _ in range(size):
            ip, times = f"{prefix}.{r.randint(2, 254)}", []
            for day in sorted(r.sample(range(DAYS), r.randint(3, 6))):
                ts = EPOCH_MS + day * DAY_MS + r.choice((1, 2, 14, 15, 20)) * H_MS + r.randrange(H_MS)
                model = r.randrange(4) if ts >= RELEASE_MS else r.randrange(3)
                first = r.randrange(300)
                for item in range(first, first + r.randint(40, 80)):
                    times.append((ts, suite + item, model))
                    ts += r.randint(700, 2600)             # fixed concurrency: near-regular
            created = EPOCH_MS - r.randint(20, 200) * DAY_MS + r.randrange(DAY_MS)
            t.add(_Account("eval_harness", created, _email(r, domain), ip, [(ip, "US")],
                           ("openai-python/1.51.2",), payment_fingerprint=pf, card_bin=bin_,
                           org_id=org, tier="build", verified=True), times)


COMPANIES = (("Hollis & Vane Logistics", "hollisvane.com", "DE", 2, "185.46.212"),
             ("Corbel Health", "corbelhealth.com", "US", -4, "199.47.218"),
             ("Tamsin Retail Group", "tamsinretail.co.uk", "GB", 1, "81.144.190"))


def _enterprise(r: random.Random, t: _Tenant, sizes: list[int]) -> None:
    for g, size in enumerate(sizes):
        name, domain, cc, tz, prefix = COMPANIES[g % len(COMPANIES)]
        if g >= len(COMPANIES):
            domain, prefix = f"{g}{domain}", f"{prefix.rsplit('.', 1)[0]}.{100 + g}"
        org, (pf, bin_) = _org(r), _card(r)
        egress = [(f"{prefix}.{h}", cc) for h in r.sample(range(2, 30), 3)]
        uas = (BROWSER_UAS[0], f"{domain.split('.')[0]}-copilot/2.3 httpx/0.27.0", "openai-python/1.54.3")
        system = f"You are the internal assistant of {name}. Be concise."
        for _ in range(size):
            act = r.uniform(0.12, 0.55)
            created = EPOCH_MS - r.randint(10, 300) * DAY_MS + r.randrange(DAY_MS)
            acct = _Account("enterprise", created, f"{r.choice(FIRST)}.{r.choice(LAST)}@{domain}",
                            egress[0][0], egress, tuple(r.sample(uas, r.randint(1, 2))),
                            payment_fingerprint=pf, card_bin=bin_, billing_country=cc, org_id=org,
                            tier="enterprise", verified=True, models=("atlas-4", "atlas-4-pro"),
                            params={"system": system})
            day_p = _day_probs(lambda d, wd: act if wd < 5 else 0.02)
            t.add(acct, _human_times(r, created, tz, WORK_HOURS, day_p, 2.3))


def _farm_crude(r: random.Random, t: _Tenant, sizes: list[int]) -> None:
    for g, size in enumerate(sizes):
        prefix, (pf, bin_), cc = r.choice(DC_PREFIXES), _card(r), r.choice(("US", "NL", "DE"))
        t0 = EPOCH_MS + r.randint(2, 20) * DAY_MS + r.randrange(DAY_MS)   # all signups in an hour
        for j in range(size):
            ip = f"{prefix}.{r.randint(2, 254)}"
            letters = "".join(r.choices("abcdefghijklmnopqrstuvwxyz", k=6))
            email = f"{letters}{r.randint(1000, 9999)}@outlook.com"                # [a-z]{6}\d{4}
            start = t0 + H_MS + j * H_MS // size                          # hourly, staggered
            times = [start + m * H_MS + r.randint(-1500, 1500) for m in range(78) if r.random() > 0.02]
            t.add(_Account("farm_crude", t0 + r.randrange(55 * MIN_MS), email, ip, [(ip, cc)],
                           ("python-requests/2.31.0",), farm_id=f"farm-crude-{g + 1}",
                           payment_fingerprint=pf, card_bin=bin_, tier="build",
                           params={"template": g % len(CRUDE_TEMPLATES)}), times)


def _farm_rotating(r: random.Random, t: _Tenant, sizes: list[int]) -> None:
    for g, size in enumerate(sizes):
        ranges = [(p, r.choice(("US", "NL", "DE", "SG"))) for p in r.sample(DC_PREFIXES, 3)]
        bins = r.sample(BINS, 2)
        cards = [_card(r, bins[k % 2]) for k in range(4)]
        t0 = EPOCH_MS + r.randint(3, 22) * DAY_MS
        accts = []
        for j in range(size):
            prefix, cc = ranges[j % 3]
            ips = [(f"{prefix}.{h}", cc) for h in r.sample(range(2, 255), 4)]
            pf, bin_ = r.choice(cards)
            handle = r.choice(_w("blue|swift|quiet|lucky|red|bright|wild")) + r.choice(
                _w("falcon|river|pixel|tiger|cloud|maple"))
            email = f"{handle}{r.randint(100, 999)}@{r.choice(WEBMAIL[:2])}"
            accts.append(_Account("farm_rotating", t0 + r.randrange(DAY_MS), email, ips[0][0], ips,
                                  ROTATED_UAS, farm_id=f"farm-rotating-{g + 1}",
                                  payment_fingerprint=pf, card_bin=bin_, tier="build"))
        order = r.sample(range(size), size)              # round-robin over a shuffled ring
        per: list[list[int]] = [[] for _ in range(size)]
        for i, ts in enumerate(_poisson_times(r, t0 + DAY_MS, t0 + 5 * DAY_MS, size * 15.0)):
            per[order[i % size]].append(ts)
        for acct, times in zip(accts, per):
            t.add(acct, times)


def _farm_careful(r: random.Random, t: _Tenant, sizes: list[int]) -> None:
    for g, size in enumerate(sizes):
        pool = [(_res_ip(r, cc), cc) for cc in [r.choice(PROXY_COUNTRIES) for _ in range(max(300, 4 * size))]]
        farm_bin = r.choice(BINS)
        shared = [_card(r, farm_bin) for _ in range(3)]
        accts, spans = [], []
        for j in range(size):
            created = EPOCH_MS - 2 * DAY_MS + int((j + r.random()) * 28 * DAY_MS / size)   # trickle
            start = created + r.randint(2, 20) * H_MS
            spans.append((start, start + int(r.uniform(2.5, 4.5) * DAY_MS)))             # then abandoned
            pf, bin_ = (r.choice(shared) if r.random() < 0.3
                        else _card(r, farm_bin if r.random() < 0.9 else None))
            accts.append(_Account("farm_careful", created, _email(r), r.choice(pool)[0], pool,
                                  ROTATED_UAS + BROWSER_UAS[:2], farm_id=f"farm-careful-{g + 1}",
                                  payment_fingerprint=pf, card_bin=bin_,
                                  billing_country=r.choice(("US", "SG", "CA", "AE")), org_id=_org(r),
                                  tier="build"))
        per: list[list[int]] = [[] for _ in range(size)]
        load: dict[tuple[int, int], int] = {}
        for hour in range(min(s for s, _ in spans) // H_MS, END_MS // H_MS):
            live = [j for j, (s, e) in enumerate(spans) if s <= hour * H_MS < e]
            jobs = _poisson(r, len(live) * 13 / 24)      # ~13 requests per live account per day
            for ts in sorted(hour * H_MS + r.randrange(H_MS) for _ in range(jobs)):
                day = (ts - EPOCH_MS) // DAY_MS                # least-loaded account today, capped
                j = min(live, key=lambda k: (load.get((k, day), 0), (k - ts) % size))
                if load.get((j, day), 0) < CAREFUL_DAILY_CAP:
                    load[(j, day)] = load.get((j, day), 0) + 1
                    per[j].append(ts)
        for acct, times in zip(accts, per):
            t.add(acct, times)


# (population, builder, accounts at scale 1 (integrations for saas), split into groups?)
_PLAN = (("individual", _individuals, 300, False), ("saas", _saas, 3, False),
         ("campus_nat", _campus, 30, True), ("eval_harness", _eval_harness, 3, True),
         ("enterprise", _enterprise, 40, True), ("farm_crude", _farm_crude, 24, True),
         ("farm_rotating", _farm_rotating, 32, True), ("farm_careful", _farm_careful, 72, True))


def _sizes(base: int, scale: float, grouped: bool) -> list[int]:
    """Accounts scale linearly; grouped populations add one group (class, org, farm) per unit."""
    total = max(1, round(base * scale))
    n = min(total, max(1, round(scale))) if grouped else 1
    return [total // n + (1 if i < total % n else 0) for i in range(n)]


# ----------------------------------------------------------------------------- writing
_MUL, _MASK = 0x5DEECE66D, (1 << 40) - 1            # odd multiplier: i -> request id is a bijection
RATE_LIMITED = {"farm_crude": 0.02, "farm_rotating": 0.01, "eval_harness": 0.01}


def _iso(ms: int) -> str:
    dt = EPOCH + timedelta(milliseconds=ms - EPOCH_MS)
    return f"{dt:%Y-%m-%dT%H:%M:%S}.{ms % 1000:03d}Z"


def _chars(content) -> int:
    return len(content) if isinstance(content, str) else sum(len(p["text"]) for p in content)


def _record(rng: random.Random, i: int, ts: int, a: _Account, conv: int, turn: int, salt: int) -> dict:
    out = RENDERERS[a.population](a, random.Random(conv), ts, turn)
    ip, cc = rng.choices(a.ips, a.ip_weights)[0] if a.ip_weights else rng.choice(a.ips)
    model = out["model"] or rng.choice(a.models)
    if a.population == "individual" and ts >= RELEASE_MS and rng.random() < 0.15:
        model = NEW_MODEL
    roll, status = rng.random(), "ok"
    if roll < 0.004:
        status = "error"
    elif roll < 0.006 + RATE_LIMITED.get(a.population, 0.0):
        status = "rate_limited"
    ok = status == "ok"
    out_tok = min(rng.randint(*OUT_TOKENS[out["cat"]]), out["max_tokens"]) if ok else 0
    latency = 200 + int(out_tok * rng.uniform(9, 18)) + rng.randrange(400) if ok else rng.randint(15, 300)
    return {"request_id": f"req_{(i * _MUL + salt) & _MASK:010x}", "ts": _iso(ts),
            "account_id": a.account_id, "api_key_id": rng.choice(a.api_keys), "org_id": a.org_id,
            "ip": ip, "user_agent": rng.choice(a.uas), "country": cc, "model": model,
            "messages": out["messages"], "response": out["response"] if ok else "",
            "input_tokens": 6 + sum(4 + _chars(m["content"]) // 4 for m in out["messages"]),
            "output_tokens": out_tok, "max_tokens": out["max_tokens"],
            "temperature": out["temperature"], "latency_ms": latency, "status": status}


def _assign_ids(r: random.Random, accounts: list[_Account]) -> None:
    """Unique account ids, API keys and emails, in build order (so deterministic)."""
    seen: set[str] = set()

    def fresh(prefix: str) -> str:
        value = prefix + _hex(r, 32)
        while value in seen:
            value = prefix + _hex(r, 32)
        seen.add(value)
        return value

    for a in accounts:
        a.account_id, a.api_keys = fresh("acct_"), [fresh("key_") for _ in range(a.keys)]
        local, domain = a.email.split("@")
        while a.email in seen:
            a.email = f"{local}{r.randint(2, 99)}@{domain}"
        seen.add(a.email)


def _records(t: _Tenant, rng: random.Random):
    """The canonical request records of the tenant base, in time order."""
    t.events.sort()
    salt = rng.getrandbits(40)
    for i, (ts, ai, conv, turn) in enumerate(t.events):
        yield _record(rng, i, ts, t.accounts[ai], conv, turn, salt)


def _write_requests(path: Path, records) -> None:
    with open(path, "wb") as f:
        buf: list[bytes] = []
        for record in records:
            buf.append(orjson.dumps(record))
            if len(buf) >= 4096:
                f.write(b"\n".join(buf) + b"\n")
                buf.clear()
        if buf:
            f.write(b"\n".join(buf) + b"\n")


def _write_csv(path: Path, header: list[str], rows) -> None:
    with open(path, "w", newline="", encoding="utf-8") as f:
        w = csv.writer(f, lineterminator="\n")
        w.writerow(header)
        w.writerows(rows)


SAMPLE_FORMATS = ("canonical", "litellm", "bedrock")


def generate(out_dir: Path, scale: float = 1.0, seed: int = 7, fmt: str = "canonical") -> SampleSummary:
    """Write the requests, accounts.csv and labels.csv of a synthetic tenant base.

    Args:
        out_dir: folder to write into (created if missing; the files are overwritten).
        scale: multiplies account counts and request volume (1.0: ~500 accounts, ~13k requests).
        seed: the same (scale, seed) always produces byte-identical files.
        fmt: how the requests are written: "canonical" (requests.jsonl), "litellm" (LiteLLM spend
            logs) or "bedrock" (Bedrock invocation logs in their S3 folder layout). The same seed
            gives the same tenant base in every format.
    Returns:
        A SampleSummary with account counts per population and the files written.
    """
    if not scale > 0:
        raise ValueError(f"scale must be positive, got {scale}")
    if fmt not in SAMPLE_FORMATS:
        raise ValueError(f"format must be one of {', '.join(SAMPLE_FORMATS)}, got {fmt!r}")
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    tenant = _Tenant(random.Random(f"{seed}:keys").getrandbits(62))
    for name, build, base, grouped in _PLAN:        # each population has its own stream
        build(random.Random(f"{seed}:{name}"), tenant, _sizes(base, scale, grouped))
    _assign_ids(random.Random(f"{seed}:ids"), tenant.accounts)
    files = [out_dir / "requests.jsonl", out_dir / "accounts.csv", out_dir / "labels.csv"]
    n_requests = len(tenant.events)
    records = _records(tenant, random.Random(f"{seed}:requests"))
    if fmt == "canonical":
        _write_requests(files[0], records)
    else:
        from farmhound import sample_exports

        files[0] = getattr(sample_exports, f"write_{fmt}")(records, out_dir)
    accounts = sorted(tenant.accounts, key=lambda a: (a.created_ms, a.account_id))
    _write_csv(files[1], ["account_id", "created_at", "email", "payment_fingerprint", "card_bin",
                          "billing_country", "signup_ip", "org_id", "tier", "verified"],
               ([a.account_id, _iso(a.created_ms), a.email, a.payment_fingerprint, a.card_bin,
                 a.billing_country, a.signup_ip, a.org_id or "", a.tier,
                 "true" if a.verified else "false"] for a in accounts))
    _write_csv(files[2], ["account_id", "label", "population", "farm_id"],
               ([a.account_id, "farm" if a.farm_id else "legit", a.population, a.farm_id]
                for a in sorted(accounts, key=lambda a: a.account_id)))
    populations = {name: 0 for name in POPULATIONS}
    for a in accounts:
        populations[a.population] += 1
    return SampleSummary(out_dir, n_requests, len(accounts), populations, files)
