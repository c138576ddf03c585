"""Steps 2-3: skeletons -> templates, by blocking keys and leaders compared with rapidfuzz, with caps
that keep the cost linear."""

from __future__ import annotations

from collections import defaultdict

import numpy as np
from rapidfuzz import fuzz, process
from rapidfuzz.distance import Postfix, Prefix

from farmhound.templates.model import TemplateConfig


# ----------------------------------------------------------------------------- templates
class _Grouper:
    """Greedy leader clustering of distinct skeletons inside blocks (see the module docstring)."""

    def __init__(self, sk: list[str], counts: np.ndarray, cfg: TemplateConfig):
        self.sk, self.counts, self.cfg = sk, counts.tolist(), cfg
        self.tmpl = np.full(len(sk), -1, dtype=np.int64)   # template per distinct skeleton
        self.lead: list[str] = []                          # template -> its leader's skeleton
        self.anchor: list[str] = []                        # "h" or "t": the side it was found on
        self.size: list[int] = []                          # template -> prompts so far

    def fits(self, s: str, lead: str, head: bool) -> bool:
        """Does skeleton s join the template led by `lead`, anchored on its head (or tail)? A close
        side window, or a long exact shared head+tail including the anchored side."""
        cfg, w = self.cfg, self.cfg.side_chars
        if fuzz.ratio(s[:w] if head else s[-w:], lead[:w] if head else lead[-w:], score_cutoff=cfg.side_ratio):
            return True
        side = Prefix.similarity(s, lead) if head else Postfix.similarity(s, lead)
        if side < cfg.min_edge_chars:
            return False
        short = min(len(s), len(lead))
        other = Postfix.similarity(s, lead) if head else Prefix.similarity(s, lead)
        return min(side + other, short) >= cfg.edge_share * min(short, cfg.edge_window)

    def hits(self, t: int, strs: list[str]) -> list[bool]:
        """fits() for many skeletons; through process.cdist (C++, no Python per pair) when long."""
        cfg, lead, w, head = self.cfg, self.lead[t], self.cfg.side_chars, self.anchor[t] == "h"
        if len(strs) < 64:
            return [self.fits(x, lead, head) for x in strs]
        win = [x[:w] for x in strs] if head else [x[-w:] for x in strs]
        close = process.cdist(win, [lead[:w] if head else lead[-w:]], scorer=fuzz.ratio,
                              score_cutoff=cfg.side_ratio)[:, 0] > 0
        pre = process.cdist(strs, [lead], scorer=Prefix.similarity)[:, 0]
        post = process.cdist(strs, [lead], scorer=Postfix.similarity)[:, 0]
        side, other = (pre, post) if head else (post, pre)
        short = np.minimum(np.fromiter(map(len, strs), np.int64, len(strs)), len(lead))
        long = (side >= cfg.min_edge_chars) & (np.minimum(side + other, short) >=
                                                cfg.edge_share * np.minimum(short, cfg.edge_window))
        return (close | long).tolist()

    def claim(self, t: int, ms: list[int], strs: list[str], hit: list[bool]) -> tuple[list[int], list[str]]:
        """Members hit join template t; returns the others."""
        rest_m, rest_s = [], []
        for m, x, h in zip(ms, strs, hit):
            if h:
                self.tmpl[m] = t
                self.size[t] += self.counts[m]
            else:
                rest_m.append(m)
                rest_s.append(x)
        return rest_m, rest_s

    def block(self, kind: str, members: np.ndarray) -> None:
        own = self.tmpl[members]
        todo = members[own < 0].tolist()
        if todo:
            self._run(kind, todo, [self.sk[i] for i in todo], set(own[own >= 0].tolist()), 0)

    def _run(self, kind: str, ms: list[int], strs: list[str], leaders: set[int], depth: int) -> None:
        cfg = self.cfg
        for t in sorted(leaders, key=lambda t: (-self.size[t], t))[: cfg.max_leaders]:
            if not ms:                                   # templates already present, or carried
                return
            ms, strs = self.claim(t, ms, strs, self.hits(t, strs))
        made, misses = [], 0
        while len(ms) > 1 and misses < cfg.max_misses and len(made) + len(leaders) < cfg.max_leaders:
            t = len(self.lead)                           # next leader: the first one left
            self.lead.append(strs[0]), self.anchor.append(kind), self.size.append(0)
            hit = self.hits(t, strs[1:])
            if any(hit):
                ms, strs = self.claim(t, ms, strs, [True] + hit)
                made.append(t)
                misses = 0
            else:                                        # attracted nobody: no template after all
                self.lead.pop(), self.anchor.pop(), self.size.pop()
                ms, strs = ms[1:], strs[1:]
                misses += 1
        if len(ms) > 1 and depth < cfg.max_depth:        # free text that merely starts alike: split
            width = cfg.key_chars << (depth + 1)
            sub: dict[str, list[int]] = defaultdict(list)
            for i, x in enumerate(strs):
                sub[x[:width] if kind == "h" else x[-width:]].append(i)
            for key in sorted(sub, key=lambda k: (-len(sub[k]), k)):
                if len(sub[key]) > 1:
                    idx = sub[key]
                    self._run(kind, [ms[i] for i in idx], [strs[i] for i in idx], leaders | set(made), depth + 1)


def _group(sk: list[str], counts: np.ndarray, keys: dict[str, np.ndarray], cfg: TemplateConfig) -> np.ndarray:
    """Template index per distinct skeleton, given its blocking keys (ids)."""
    n, grouper, blocks = len(sk), _Grouper(sk, counts, cfg), []
    for kind in "ht":
        ids = keys[kind]
        order = np.lexsort((-counts, ids))               # by key, most prompts first, then stable
        sid = ids[order]
        starts = np.flatnonzero(np.r_[True, sid[1:] != sid[:-1]])
        sizes = np.diff(np.r_[starts, n])
        totals = np.add.reduceat(counts[order], starts)
        for s, z, tot in zip(starts[sizes > 1].tolist(), sizes[sizes > 1].tolist(), totals[sizes > 1].tolist()):
            blocks.append((-tot, kind, int(order[s]), order[s: s + z]))
    blocks.sort(key=lambda b: b[:3])
    for _, kind, _, members in blocks:
        grouper.block(kind, members)
    tmpl = grouper.tmpl
    rest = np.flatnonzero(tmpl < 0)                      # never matched: their own template
    tmpl[rest] = np.arange(len(grouper.lead), len(grouper.lead) + len(rest))
    return tmpl


