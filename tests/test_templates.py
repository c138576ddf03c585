"""Template mining: what an analyst sees in the Templates screen — which prompts share a template,
what its pattern shows, which templates are one family — on small hand-built cases and on the
planted-farm sample."""
import csv
import random
from collections import Counter, defaultdict

import orjson
import pytest
import xxhash

from farmhound.sample import generate
from farmhound.templates import SLOT, Mined, TemplateConfig, mine


def _h(text: str) -> int:
    return xxhash.xxh3_64_intdigest(text.encode()) >> 1       # as the store hashes prompt texts


def _mine(texts, config=TemplateConfig()) -> tuple[Mined, dict[str, int]]:
    """Mine texts; return the result and each text's template id."""
    mined = mine(((_h(t), t) for t in texts), config)
    return mined, {t: mined.assignment[_h(t)] for t in texts}


def _by_id(mined: Mined):
    return {t.id: t for t in mined.templates}


MATH = ["What is 17 * 23?", "Find all real x with x^2 - 5x + 6 = 0.",
        "A train leaves at 9:00 at 80 km/h; when does it reach a city 260 km away?",
        "How many primes are there below 100?", "Prove that the sum of two odd numbers is even.",
        "A rectangle has perimeter 40 cm and is 4 cm longer than wide. Find its area.",
        "What is the remainder when 7^222 is divided by 5?", "Simplify (3a + 2b) - (a - 4b)."]
INDIVIDUALS = [
    "Can you help me write a birthday message for my grandmother who just turned ninety?",
    "Can you help me understand why my sourdough never rises in winter?",
    "How do I get red wine out of a light carpet without bleach?",
    "How do I set up a budget when my income changes every month?",
    "What is the best way to learn Japanese grammar as an adult beginner",
    "What is the best way to store fresh basil so it does not turn black?",
    "Write a short poem about the sea at night, in the style of a lullaby.",
    "explain inflation like I'm twelve",
    "Give me three dinner ideas with chickpeas and spinach, nothing too spicy please.",
    "My landlord wants to keep the deposit for normal wear; what are my options in Ohio?",
    "Summarize the plot of Middlemarch without spoilers for the last third.",
    "I have a job interview for a barista position on Friday, what should I wear?",
]


def test_one_template_groups_all_its_fills_and_shows_slots_where_they_vary():
    fills = [("https://example.com/cfg/1", "ana@corp.com", "timeout", 12, "x = 1"),
             ("http://test.org/app?env=prod", "bo.li@mail.org", "retry limit", 3400, "retries = None"),
             ("https://git.example.net/repo/blob/main/app.yaml", "ops+alerts@example.io", "max_conn", 7,
              "def load(path):\n    return yaml.safe_load(open(path))"),
             ("www.internal.local/settings", "k.tanaka@firm.co.jp", "pool size", 88, "POOL = Pool(8)"),
             ("https://example.com/cfg/2", "zed@zed.dev", "cache ttl", 19, "ttl: 30s"),
             ("http://10.0.0.7:8080/health", "it-support@uni.edu", "log level", 256, "level=debug")]
    texts = [f'Review the config at {url} sent by {email}: the value "{q}" on line {n} fails.\n'
             f"```python\n{code}\n```\nExplain what is wrong and how to fix it."
             for url, email, q, n, code in fills]
    mined, tid = _mine(texts + INDIVIDUALS)
    assert len({tid[t] for t in texts}) == 1
    template = _by_id(mined)[tid[texts[0]]]
    assert template.prompts == len(texts)
    assert template.pattern.startswith(f"Review the config at {SLOT} sent by {SLOT}")
    assert template.pattern.endswith("Explain what is wrong and how to fix it.")
    assert template.pattern.count(SLOT) >= 4
    shown_values = [str(v) for row in fills for v in row]
    assert not [v for v in shown_values if v in template.pattern]
    assert set(template.examples) <= {_h(t) for t in texts} and len(template.examples) == 5


def test_a_wrapper_around_long_pasted_context_groups_by_its_edges():
    rng = random.Random(3)
    words = "the of data model query index cache result value error thread lock queue node".split()
    texts = [f"Think it through step by step and show all of your reasoning.\n\n{task}\n\nContext:\n"
             + " ".join(rng.choice(words) for _ in range(rng.randint(200, 900)))
             + "\n\nEnd with a one-line final answer." for task in MATH]
    mined, tid = _mine(texts + INDIVIDUALS)
    assert len({tid[t] for t in texts}) == 1
    assert _by_id(mined)[tid[texts[0]]].pattern.startswith(
        "Think it through step by step and show all of your reasoning.")


REWORDINGS = ["Solve step by step and show your full reasoning before the final answer: {}",
              "Show your full reasoning before the final answer and solve step by step: {}",
              "Before the final answer, show your full reasoning and solve it step by step. Task: {}",
              "Step by step, solve it and show your full reasoning before the final answer: {}"]


def test_rewordings_of_one_wrapper_are_one_family_of_distinct_templates():
    rng = random.Random(5)
    groups = [[w.format(f"{task} (case {rng.randint(1, 9999)})") for task in MATH] for w in REWORDINGS]
    mined, tid = _mine([t for g in groups for t in g] + INDIVIDUALS)
    by_id = _by_id(mined)
    templates = [{tid[t] for t in g} for g in groups]
    assert all(len(ids) == 1 for ids in templates)               # each wording is one template ...
    assert len(set.union(*templates)) == len(REWORDINGS)         # ... of its own
    assert len({by_id[t].family_id for ids in templates for t in ids}) == 1
    assert all(by_id[tid[t]].family_id != by_id[tid[groups[0][0]]].family_id for t in INDIVIDUALS)


def test_unrelated_individual_prompts_stay_single():
    mined, tid = _mine(INDIVIDUALS)
    by_id = _by_id(mined)
    assert len(set(tid.values())) == len(INDIVIDUALS)
    assert all(by_id[t].prompts == 1 and by_id[t].family_id == t for t in tid.values())
    assert {by_id[tid[t]].pattern for t in INDIVIDUALS} >= {"explain inflation like I'm twelve"}


def test_templates_that_share_a_phrase_stay_apart():
    cot = [f"Solve step by step and show your full reasoning: {task}" for task in MATH]
    translate = [f"Translate this paragraph into French step by step, naming each grammar rule you use: {s}"
                 for s in INDIVIDUALS[:8]]
    mined, tid = _mine(cot + translate)
    by_id = _by_id(mined)
    a, b = {tid[t] for t in cot}, {tid[t] for t in translate}
    assert len(a) == 1 and len(b) == 1 and a != b
    assert by_id[a.pop()].family_id != by_id[b.pop()].family_id


def test_the_same_payloads_under_rotated_wrappers_make_one_family():
    tasks = MATH + ["Write a Python function `merge_intervals` that merges overlapping intervals.",
                    "Find why p99 latency of /checkout doubled after deploy v8.10.11 and fix it.",
                    "Book the cheapest refundable flight from Lisbon to Oslo next Tuesday."]
    wraps = ["{}\n\nPlease walk through your complete reasoning before giving the final answer.",
             "Before answering, think it through and write out every step of your thought process.\n\n{}",
             "Work through this and narrate your reasoning as you go, including dead ends: {}"]
    groups = [[w.format(t) for t in tasks] for w in wraps]     # a farm rotating wordings over one task list
    mined, tid = _mine([t for g in groups for t in g] + INDIVIDUALS)
    by_id = _by_id(mined)
    assert [len({tid[t] for t in g}) for g in groups] == [1, 1, 1]
    assert len({tid[t] for g in groups for t in g}) == len(wraps)
    assert len({by_id[tid[t]].family_id for g in groups for t in g}) == 1


def test_same_input_in_any_order_gives_the_same_templates():
    rng = random.Random(1)
    texts = ([w.format(t) for w in REWORDINGS for t in MATH] + INDIVIDUALS
             + [f'Customer message: "{s}"\nOrder #{rng.randint(1000, 99999)}: delayed\nWrite the reply.'
                for s in INDIVIDUALS])
    first = mine((_h(t), t) for t in texts)
    for seed in range(3):
        shuffled = texts[:]
        random.Random(seed).shuffle(shuffled)
        again = mine((_h(t), t) for t in shuffled + shuffled[:5])       # repeats are ignored
        assert again.assignment == first.assignment
        assert again.templates == first.templates


def test_ids_are_dense_by_size_and_every_prompt_has_one():
    texts = [w.format(t) for w in REWORDINGS[:2] for t in MATH] + INDIVIDUALS + MATH[:3]
    mined, tid = _mine(texts)
    assert [t.id for t in mined.templates] == list(range(1, len(mined.templates) + 1))
    assert [t.prompts for t in mined.templates] == sorted((t.prompts for t in mined.templates), reverse=True)
    assert Counter(tid.values()) == {t.id: t.prompts for t in mined.templates}
    for t in mined.templates:
        assert t.family_id <= t.id and _by_id(mined)[t.family_id].family_id == t.family_id
        assert all(mined.assignment[h] == t.id for h in t.examples)


def test_config_thresholds_are_honoured():
    texts = [w.format(t) for w in REWORDINGS for t in MATH]
    exact_only = TemplateConfig(side_chars=10**6, side_ratio=100, min_edge_chars=10**6, family_payloads=10**6)
    mined, tid = _mine(texts, exact_only)
    assert len(set(tid.values())) == len(texts)
    with pytest.raises(ValueError, match="side_ratio"):
        TemplateConfig(side_ratio=120)
    assert mine([]).templates == [] and mine([]).assignment == {}


# ----------------------------------------------------------------------------- the sample
@pytest.fixture(scope="module")
def sample(tmp_path_factory):
    """(Mined, population -> prompt hashes) for the planted-farm sample at scale 0.3."""
    out = tmp_path_factory.mktemp("sample")
    generate(out, scale=0.3, seed=11)
    with open(out / "labels.csv", newline="", encoding="utf-8") as f:
        population = {row["account_id"]: row["population"] for row in csv.DictReader(f)}
    texts, by_population = {}, defaultdict(set)
    for line in (out / "requests.jsonl").read_bytes().splitlines():
        record = orjson.loads(line)
        content = record["messages"][-1]["content"]                # the last user turn
        text = content if isinstance(content, str) else "".join(p["text"] for p in content)
        texts[_h(text)] = text
        by_population[population[record["account_id"]]].add(_h(text))
    return mine(texts.items()), by_population


def _shares(mined, hashes, family=False):
    by_id = _by_id(mined)
    keys = Counter(by_id[mined.assignment[h]].family_id if family else mined.assignment[h] for h in hashes)
    return [n / len(hashes) for _, n in keys.most_common()], keys


def test_sample_crude_and_rotating_farms_concentrate_in_few_templates(sample):
    mined, pop = sample
    crude, _ = _shares(mined, pop["farm_crude"])
    rotating, _ = _shares(mined, pop["farm_rotating"])
    assert crude[0] >= 0.95                   # one wrapper at this scale: one template
    assert sum(rotating[:2]) >= 0.95          # a coding and an agent template


def test_sample_careful_farm_paraphrases_land_in_one_family(sample):
    mined, pop = sample
    careful, families = _shares(mined, pop["farm_careful"], family=True)
    assert careful[0] >= 0.8                  # six rewordings in one family; the rest is camouflage
    assert sum(1 for s in careful if s >= 0.05) == 1
    main = families.most_common(1)[0][0]
    by_id = _by_id(mined)
    for other in ("eval_harness", "individual", "farm_crude", "saas", "campus_nat"):
        assert not [h for h in pop[other] if by_id[mined.assignment[h]].family_id == main], other


def test_sample_individuals_stay_in_small_templates_apart_from_farms(sample):
    mined, pop = sample
    by_id = _by_id(mined)
    individual = pop["individual"]
    farm = {mined.assignment[h] for p in ("farm_crude", "farm_rotating") for h in pop[p]}
    largest_farm = min(max(by_id[mined.assignment[h]].prompts for h in pop[p])
                       for p in ("farm_crude", "farm_rotating", "farm_careful"))
    assert not [h for h in individual if mined.assignment[h] in farm]
    assert all(by_id[mined.assignment[h]].prompts < largest_farm / 2 for h in individual)
    assert sum(by_id[mined.assignment[h]].prompts < 30 for h in individual) / len(individual) >= 0.6
