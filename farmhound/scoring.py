"""Explainable scores: signal values -> evidence points -> capped family sums -> a level.

Each signal's raw value becomes evidence e in [0, 1] on a piecewise-linear ramp between its
"notice" and "strong" thresholds, and points = weight x e. Points add up within a family (content,
timing, identity, infrastructure) up to the family's cap; legitimate-looking evidence subtracts
visibly. A level needs corroboration: "high" needs points in at least two families, "critical" in
three, so one strong but benign family (a class behind one NAT, an eval harness) never reaches it.
Every score keeps its reason codes: signal, raw value, threshold, points, detail, evidence.

Not here: computing the signal values (`farmhound/signals/`), the clusters (`linking.py`).
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field

LEVELS = ("low", "medium", "high", "critical")


@dataclass
class Reason:
    """One line of a score's explanation."""

    code: str  # signal code, e.g. "S12", or "N1" for legitimate-looking evidence
    name: str
    family: str
    value: float | None  # the raw value
    threshold: float | None  # the "notice" threshold it is measured against
    points: float  # after the ramp, before the family cap; negative for legitimate evidence
    detail: str = ""  # what the value means here, naming the evidence
    evidence: list = field(default_factory=list)  # evidence rows: attribute values, template ids, request ids

    def to_json(self) -> dict:
        d = asdict(self)
        d["points"] = round(self.points, 2)
        if isinstance(self.value, float):
            d["value"] = round(self.value, 4)
        return d

    @staticmethod
    def parse(raw: str | None) -> list[Reason]:
        """Reasons from the JSON list the store keeps (the inverse of `to_json`)."""
        return [Reason(**r) for r in json.loads(raw or "[]")]

    def text(self, detail: bool = True) -> str:
        """`S12 synchrony 0.71 (notice 0.5) +3.0: 47 accounts ...`; without the detail, the first part."""
        value = "" if self.value is None else f" {_fmt(self.value)}"
        threshold = "" if self.threshold is None else f" (notice {_fmt(self.threshold)})"
        more = f": {self.detail}" if detail and self.detail else ""
        return f"{self.code} {self.name}{value}{threshold} {self.points:+.1f}{more}"


def _fmt(v) -> str:
    if isinstance(v, float):
        return f"{v:.3g}"
    return str(v)


def evidence(value: float | None, notice: float, strong: float) -> float:
    """The ramp: 0 at `notice` (or short of it), 1 at `strong` (or past it). Thresholds in
    decreasing order (strong < notice) mean lower values are worse."""
    if value is None or value != value:  # missing, or NaN: the gate was not met
        return 0.0
    if notice == strong:
        return 1.0 if value >= strong else 0.0
    e = (value - notice) / (strong - notice)
    return min(1.0, max(0.0, e))


@dataclass
class Score:
    score: float
    level: str
    families: dict[str, float]  # family -> capped points
    reasons: list[Reason]  # by |points|, largest first


def combine(reasons: list[Reason], cfg: dict) -> Score:
    """Cap per family, subtract legitimate evidence, and decide the level with corroboration."""
    caps = cfg["caps"]
    raw: dict[str, float] = {}
    negative = 0.0
    for r in reasons:
        if r.points < 0:
            negative += -r.points
        else:
            raw[r.family] = raw.get(r.family, 0.0) + r.points
    families = {f: round(min(caps.get(f, 0.0), p), 3) for f, p in raw.items()}
    score = round(sum(families.values()) - negative, 3)
    counted = sum(1 for p in families.values() if p >= cfg["family_min_points"])
    level = level_for(score, cfg, counted)
    ordered = sorted(reasons, key=lambda r: (-abs(r.points), r.code))
    return Score(score, level, families, ordered)


def level_for(score: float, cfg: dict, families: int | None = None) -> str:
    """The level a score reaches; with `families` (how many families have points), `high` and
    `critical` also need corroboration from that many families."""
    if score >= cfg["critical"] and (families is None or families >= cfg["critical_families"]):
        return "critical"
    if score >= cfg["high"] and (families is None or families >= cfg["high_families"]):
        return "high"
    if score >= cfg["medium"]:
        return "medium"
    return "low"


def cap_level(level: str, ceiling: str) -> str:
    return level if LEVELS.index(level) <= LEVELS.index(ceiling) else ceiling
