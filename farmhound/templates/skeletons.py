"""Step 1: prompts -> head+tail excerpts -> masked, lowercased skeletons (pyarrow RE2, both cores),
and the memory handling that keeps 1M prompts in bounds."""

from __future__ import annotations

import ctypes
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import xxhash

from farmhound.templates.model import TemplateConfig

SLOT = "<*>"
_PH = "\x1a"              # placeholder in skeletons: one character, so ratios stay fair
_GAP = " [...] "          # where the middle of a long prompt was cut out (ASCII: keeps strings compact)
_CHUNK = 1 << 15
_VOLATILE = (             # RE2 syntax (pyarrow), no lookarounds; each match -> one placeholder
    r"```(?s:.*?)(?:```|$)"                                        # code blocks, even unterminated
    r"|(?:https?://|www\.)[^\s<>\"')\]]+"                          # URLs
    r"|[\w.+-]+@[\w-]+(?:\.[\w-]+)+"                               # emails
    r"|\"[^\"\n]+\"|“[^”\n]+”|`[^`\n]+`"                          # quoted strings, inline code
    r"|\w*\d(?:[\w^]|[.,:/-]\w)*"                                  # numbers, ids, versions, hex
    r"|\b[A-Za-z]+(?:_[A-Za-z0-9]+)+\b"                            # snake_case
    r"|\b[a-z]+[A-Z][A-Za-z]*\b|\b[A-Z]+[a-z]+[A-Z][A-Za-z]*\b"    # camelCase, PascalCase
    r"|\b[A-Za-z]\w+(?:\.[A-Za-z]\w+)+\b"                          # dotted names: os.path, a.csv
)
_SQUOTE = r"(^|[^\w'])'[^'\n]+'"           # 'quoted', but not it's ... don't
# (RE2 turns a bounded repeat like {1,200} into a big automaton: 6x slower. Excerpts are short and
# newlines end a quote, so unbounded is safe.)


def _pool() -> pa.MemoryPool:
    """jemalloc told to return freed pages at once, so RSS follows live data (the default mimalloc
    pool and glibc keep hundreds of MB of freed buffers at 1M prompts); system malloc elsewhere."""
    try:
        pool = pa.jemalloc_memory_pool()
        pa.jemalloc_set_decay_ms(0)
        return pool
    except (NotImplementedError, pa.ArrowNotImplementedError):
        return pa.system_memory_pool()


_POOL = _pool()


def _release() -> None:
    """Hand freed heap memory back to the OS (glibc only; elsewhere a no-op). Big numpy, list and
    rapidfuzz buffers freed between phases otherwise stay in the heap: ~300 MB at 1M prompts,
    which the next phase's small Python objects cannot reuse."""
    try:
        ctypes.CDLL("libc.so.6").malloc_trim(0)
    except (OSError, AttributeError):
        pass


_SPACES = r"\s\s+|[\t\n\r\f\v]"     # 4x faster than \s+, which also rewrites every single space
_EDGE_PUNCT = " \t\n.,:;!?()[]{}\"'`-"


# ----------------------------------------------------------------------------- skeletons
def _mask(texts, ph: str):
    """Volatile parts -> ph, whitespace collapsed, neighbouring placeholders merged (arrow in/out)."""
    esc = "".join(c if c.isalnum() else "\\" + c for c in ph)
    steps = ((_VOLATILE, ph), (_SQUOTE, r"\1" + ph), (_SPACES, " "),
             (f"{esc}(?:[^\\w{esc}]{{0,3}}{esc})+", ph))
    for pattern, by in steps:
        texts = pc.replace_substring_regex(texts, pattern, by, memory_pool=_POOL)
    return pc.utf8_trim_whitespace(texts, memory_pool=_POOL)


def _cut(text: str, head: int, tail: int) -> str:
    gap = _GAP
    if "```" in text and text.count("```", head, len(text) - tail) % 2:
        gap = " ```" + _GAP             # a code block opens or closes in the cut-out middle
    return text[:head] + gap + text[-tail:]


def _take(arr: pa.ChunkedArray, rows: np.ndarray) -> list:
    """arr[rows] as Python values, chunk by chunk (ChunkedArray.take would concatenate them all)."""
    bounds = np.cumsum([0] + [len(c) for c in arr.chunks])
    which = np.searchsorted(bounds, rows, side="right") - 1
    first = int(which[0]) if len(rows) else 0
    if (which == first).all():
        return arr.chunk(first).take(rows - bounds[first]).to_pylist() if len(rows) else []
    out: list = [None] * len(rows)
    for c in np.unique(which).tolist():
        sel = np.flatnonzero(which == c)
        for i, v in zip(sel.tolist(), arr.chunk(c).take(rows[sel] - bounds[c]).to_pylist()):
            out[i] = v
    return out


def _read(prompts: Iterable[tuple[int, str]], cfg: TemplateConfig) -> tuple[np.ndarray, np.ndarray, pa.ChunkedArray]:
    """(distinct hashes sorted, so input order never matters; where each one's excerpt is; the
    excerpts in input order). Texts go to arrow a chunk at a time: no Python object per prompt
    outlives its chunk, and nothing is copied to reorder them."""
    head, tail = cfg.head_chars, cfg.tail_chars
    most = head + tail + 20
    hashes, texts, hs, buf = [], [], [], []

    def flush() -> None:
        try:
            hashes.append(np.array(hs, dtype=np.int64))
        except OverflowError:                            # hashes beyond 64 bits: slower, still fine
            hashes.append(np.array(hs, dtype=object))
        texts.append(pa.array(buf, pa.string(), memory_pool=_POOL))
        hs.clear(), buf.clear()

    for h, text in prompts:
        hs.append(h)
        buf.append(text if len(text) <= most else _cut(text, head, tail))
        if len(buf) == _CHUNK:
            flush()
    flush()
    uniq, src = np.unique(np.concatenate(hashes), return_index=True)   # a repeated hash keeps its first text
    return uniq, src.astype(np.int64), pa.chunked_array(texts, pa.string())


def _skeletons(excerpts: pa.ChunkedArray, src: np.ndarray, cfg: TemplateConfig
               ) -> tuple[np.ndarray, list[str], dict[str, np.ndarray]]:
    """(distinct skeleton per prompt; the distinct skeletons, numbered by their first prompt in hash
    order; their blocking keys as ids, "h" and "t"). Both cores mask, a slice each. Equal skeletons
    are found by a 64-bit hash of their text (a collision is ~1e-8 likely at 1M skeletons)."""
    k, h64 = cfg.key_chars, xxhash.xxh3_64_intdigest

    def work(part: pa.ChunkedArray) -> tuple[list[str], np.ndarray, pa.ChunkedArray, pa.ChunkedArray]:
        sk = pc.utf8_lower(_mask(part, _PH), memory_pool=_POOL)
        strs = sk.to_pylist()
        return (strs, np.fromiter((h64(x.encode()) for x in strs), np.uint64, len(strs)),
                pc.utf8_slice_codeunits(sk, 0, k, memory_pool=_POOL),
                pc.utf8_slice_codeunits(sk, -k, None, memory_pool=_POOL))

    parts = [excerpts.slice(a, _CHUNK) for a in range(0, len(excerpts), _CHUNK)]
    with ThreadPoolExecutor(2) as pool:                  # arrow releases the GIL while masking
        done = list(pool.map(work, parts))
    flat = [x for d in done for x in d[0]] + [""]
    _, first, inverse = np.unique(np.concatenate([d[1] for d in done])[src], return_index=True, return_inverse=True)
    canon = np.argsort(first, kind="stable")             # number skeletons by their first prompt
    label = np.empty(len(canon), dtype=np.int64)
    label[canon] = np.arange(len(canon))
    rows = src[first[canon]]                             # a row (input order) of each distinct one
    keys = {}
    for n, kind in ((2, "h"), (3, "t")):
        enc = pc.dictionary_encode(pa.chunked_array([c for d in done for c in d[n].chunks], pa.string()))
        keys[kind] = np.concatenate([c.indices.to_numpy(zero_copy_only=False) for c in enc.chunks])[rows]
    del done
    alone = (np.bincount(keys["h"])[keys["h"]] == 1) & (np.bincount(keys["t"])[keys["t"]] == 1)
    distinct = [flat[r] for r in np.where(alone, -1, rows).tolist()]   # in no block: text not needed
    return label[inverse.ravel()], distinct, keys


