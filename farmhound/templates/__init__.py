"""Prompt-template mining: group distinct prompts into templates, and templates into families.

Responsible for: turning (prompt hash, text) pairs into templates (prompts that share their fixed
wording and differ in slots), each with a readable `<*>` pattern, and templates into families
(rewordings of one another, or wrappers sent around the same payloads). Pure function, no store, no
UI, no account data; the same input gives the same output whatever its order.

Not responsible for: counting uses per account or scoring (signals work from `assignment`),
storing results, or meaning: without embeddings, rewordings that share neither words nor payloads
stay in separate families.

Method (DESIGN §5, detection-signals §4):
1. Skeletons. Each prompt is cut to a head+tail excerpt; code blocks, URLs, emails, quoted
   strings, anything holding a digit and identifiers are masked, and the text lowercased (pyarrow,
   RE2, both cores). Equal skeletons are one group for free.
2. Templates. Skeletons are blocked by their first and by their last `key_chars` characters.
   Blocks are visited largest first; inside one, a skeleton is compared only with *leaders* (one
   member per template) and joins when, on the side the template is anchored on, the first/last
   `side_chars` characters are close (fuzz.ratio) or an exact shared head+tail is long enough.
   A skeleton joins one template only: a wrapper shared by thousands of prompts claims them before
   a smaller block keyed on their payload can, and nothing chains through union-find.
3. Caps. Leaders per block are capped (`max_leaders`); a block whose new leaders keep attracting
   nobody (`max_misses`: free text that merely starts alike) is split by twice longer keys, at
   most `max_depth` times; what is left stays single. Each skeleton is compared a bounded number of
   times, long lists through process.cdist: cost grows about linearly, never with all pairs.
4. Families, over templates of two prompts or more: close fixed wording (candidates share one of
   their rarer words; token_set_ratio verifies) or several long payloads sent under both (a farm
   rotating rewordings over one task list).
Measured (benchmarks/templates.py, 2 cores): 1M distinct ~640-character prompts in ~14 s, +0.83 GB RSS.
"""


from __future__ import annotations

import gc
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from farmhound.templates.families import _DSU, _families, _pattern, _payloads, _spread
from farmhound.templates.grouping import _group
from farmhound.templates.model import Mined, Template, TemplateConfig
from farmhound.templates.skeletons import _CHUNK, _SPACES, SLOT, _mask, _read, _release, _skeletons, _take

__all__ = ["Mined", "SLOT", "Template", "TemplateConfig", "mine"]


# ----------------------------------------------------------------------------- entry point
def mine(prompts: Iterable[tuple[int, str]], config: TemplateConfig = TemplateConfig()) -> Mined:
    """Group distinct prompts into templates and templates into families.

    Args:
        prompts: (prompt hash, text) pairs; a hash names one distinct text (a repeated hash keeps
            its first text). Consumed once; only a head+tail excerpt of each text is kept.
        config: thresholds and caps, see TemplateConfig.
    Returns:
        Every prompt's template id, and the templates: ids 1..n by size desc then pattern; a prompt
        that matched nothing is a template of its own.
    """
    was_enabled = gc.isenabled()
    gc.disable()          # millions of new containers, no cycles: the collector would only rescan them
    try:
        return _mine(prompts, config)
    finally:
        if was_enabled:
            gc.enable()


def _mine(prompts: Iterable[tuple[int, str]], cfg: TemplateConfig) -> Mined:
    hashes, src, excerpts = _read(prompts, cfg)
    if len(hashes) == 0:
        return Mined({}, [])
    sk_of, skeletons, keys = _skeletons(excerpts, src, cfg)
    t_of = _group(skeletons, np.bincount(sk_of), keys, cfg)[sk_of]
    del skeletons, sk_of, keys
    _release()
    order = np.argsort(t_of, kind="stable")              # members of a template stay in hash order
    starts = np.flatnonzero(np.r_[True, np.diff(t_of[order]) != 0])
    sizes = np.diff(np.r_[starts, len(order)])
    multi = [order[a: a + z].tolist() for a, z in zip(starts[sizes > 1].tolist(), sizes[sizes > 1].tolist())]
    singles = order[starts[sizes == 1]]
    del order, t_of
    patterns, families = _describe(multi, excerpts, src, cfg)
    _release()
    singles = singles[np.argsort(src[singles], kind="stable")]   # storage order: one take per chunk
    shown = _shown(excerpts, src[singles])
    del excerpts
    return _assemble(hashes, multi, patterns, families, singles, shown, cfg)


def _describe(multi: list[list[int]], excerpts: pa.ChunkedArray, src: np.ndarray, cfg: TemplateConfig
              ) -> tuple[list[str], _DSU]:
    """Patterns of the templates of two prompts or more, and their families."""
    picks = [_spread(list(range(len(g))), cfg.pattern_members) for g in multi]
    flat = [g[i] for g, pick in zip(multi, picks) for i in pick]
    shown = iter(_mask(pa.array(_take(excerpts, src[flat]), pa.string()), SLOT).to_pylist() if flat else [])
    patterns = [_pattern([next(shown) for _ in pick]) for pick in picks]
    payloads: list[set[int]] = []
    first = size = 0
    for n, g in enumerate(multi):                        # payloads, a bounded batch of texts at a time
        size += len(g)
        if size >= _CHUNK or n + 1 == len(multi):
            batch = pa.array(_take(excerpts, src[[p for b in multi[first: n + 1] for p in b]]), pa.string())
            batch = pc.utf8_lower(pc.replace_substring_regex(batch, _SPACES, " ")).to_pylist()
            at = 0
            for b, pick in zip(multi[first: n + 1], picks[first: n + 1]):
                own, at = batch[at: at + len(b)], at + len(b)
                payloads.append(_payloads(own, pick, cfg) if len(own) > 2 else set())
            first, size = n + 1, 0
    fixed = [" ".join(w for w in pat.lower().split() if w != SLOT) for pat in patterns]
    return patterns, _families(fixed, payloads, cfg)


def _shown(excerpts: pa.ChunkedArray, rows: np.ndarray) -> pa.ChunkedArray:
    """Masked excerpts (volatile parts as <*>) of rows given in storage order: one take per chunk."""
    bounds = np.cumsum([0] + [len(c) for c in excerpts.chunks])
    cut = np.searchsorted(rows, bounds)
    parts = [excerpts.chunk(c).take(rows[cut[c]: cut[c + 1]] - bounds[c])
             for c in range(excerpts.num_chunks) if cut[c + 1] > cut[c]]
    with ThreadPoolExecutor(2) as pool:
        return pa.chunked_array(list(pool.map(lambda part: _mask(part, SLOT), parts)), pa.string())


def _assemble(hashes: np.ndarray, multi: list[list[int]], patterns: list[str], families: _DSU,
              singles: np.ndarray, shown: pa.ChunkedArray, cfg: TemplateConfig) -> Mined:
    """Dense ids (size desc, then pattern, then first hash), families, and every prompt's id."""
    tid_of = np.zeros(len(hashes), dtype=np.int64)
    templates, fam_id = [], {}
    for tid, i in enumerate(sorted(range(len(multi)), key=lambda i: (-len(multi[i]), patterns[i],
                                                                     hashes[multi[i][0]])), 1):
        tid_of[multi[i]] = tid
        fid = fam_id.setdefault(families.find(i), tid)
        examples = _spread(hashes[multi[i]].tolist(), cfg.examples)
        templates.append(Template(tid, fid, patterns[i], len(multi[i]), examples))
    single_h = hashes[singles]
    if single_h.dtype == object or not len(singles):    # hashes beyond 64 bits: a Python sort
        texts = shown.to_pylist()
        by = sorted(range(len(singles)), key=lambda i: (texts[i], single_h[i]))
    else:
        by = pc.sort_indices(pa.table({"p": shown, "h": single_h}),
                             sort_keys=[("p", "ascending"), ("h", "ascending")]).to_numpy().tolist()
        texts = shown.to_pylist()
    del shown
    base = len(templates) + 1
    tid_of[singles[by]] = np.arange(base, base + len(singles))
    hs = single_h.tolist()
    templates.extend(Template(base + k, base + k, texts[i], 1, [hs[i]]) for k, i in enumerate(by))
    return Mined(dict(zip(hashes.tolist(), tid_of.tolist())), templates)

