"""The template miner's settings (filled from the `[templates]` table of the triage config) and
results."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class TemplateConfig:
    """Knobs of `mine`; the triage config TOML fills them (`[templates]`)."""

    head_chars: int = 200         # a prompt longer than head+tail+20 characters keeps its first
    tail_chars: int = 100         # head_chars and last tail_chars; the middle becomes " [...] "
    key_chars: int = 16           # blocking keys: first / last characters of the skeleton
    side_chars: int = 40          # same template when the first (or last) side_chars characters
    side_ratio: float = 80.0      # reach this fuzz.ratio (a wrapper, slots allowed inside) ...
    min_edge_chars: int = 16      # ... or when an exact shared head (tail) of this many characters
    edge_share: float = 0.5       # plus the shared tail (head) cover this share of the shorter
    edge_window: int = 120        # skeleton, counting at most edge_window characters of it
    max_leaders: int = 16         # templates a skeleton is compared with inside one block
    max_misses: int = 2           # leaders in a row that attract nobody before a block is split
    max_depth: int = 2            # splits by longer keys (x2 each); what is left stays single
    family_ratio: float = 75.0    # token_set_ratio of two templates' fixed wording -> one family
    family_min_words: int = 4     # fixed wording shorter than this never joins by wording
    family_keys: int = 3          # rarest words of a template used to find wording candidates
    family_max_df: int = 50       # words (payloads) in more templates than this are no key
    family_payloads: int = 3      # distinct long payloads sent under both templates -> family,
    family_overlap: float = 0.06  # if also >= this share of the distinct payloads of each one
    min_payload_chars: int = 40   # shorter payloads are too generic to link templates
    pattern_members: int = 8      # members aligned to build a pattern
    examples: int = 5             # example prompt hashes kept per template

    def __post_init__(self):
        for name in ("side_ratio", "family_ratio"):
            if not 0 <= getattr(self, name) <= 100:
                raise ValueError(f"templates.{name} must be within 0..100, got {getattr(self, name)}")
        for name in ("edge_share", "family_overlap"):
            if not 0 <= getattr(self, name) <= 1:
                raise ValueError(f"templates.{name} must be within 0..1, got {getattr(self, name)}")
        small = [n for n in ("head_chars", "tail_chars", "key_chars", "side_chars", "edge_window", "max_leaders",
                             "max_misses", "pattern_members", "examples") if getattr(self, n) < 1]
        if small or self.max_depth < 0:
            raise ValueError(f"templates.{(small or ['max_depth'])[0]} is too small")


@dataclass(slots=True)
class Template:
    id: int                 # dense ids 1..n, ordered by size desc then pattern
    family_id: int          # id of the largest template of its family
    pattern: str            # readable, volatile parts as <*>
    prompts: int            # distinct prompt texts in it
    examples: list[int] = field(default_factory=list)   # up to 5 prompt hashes (members)


@dataclass
class Mined:
    assignment: dict[int, int]   # prompt hash -> template id; every input prompt has one
    templates: list[Template]


