"""The chain-of-thought elicitation detector (RE2 regexes through pyarrow, batched)."""

from __future__ import annotations

from collections.abc import Iterable
from itertools import islice

# -- chain-of-thought elicitation -------------------------------------------------------------------

_STEP = r"step[\s-]*by[\s-]*step"
# "a step-by-step guide" asks for instructions, not reasoning. RE2 (pyarrow) has no lookahead, so these
# uses are counted and subtracted from all uses of the phrase.
_STEP_ADJ = _STEP + (r"[\s-]*(?:guides?|tutorials?|instructions?|plans?|recipes?|itinerar(?:y|ies)|"
                     r"walk-?throughs?|directions|lists?|process(?:es)?|breakdowns?|manuals?|checklists?|"
                     r"approach|routines?|programs?)\b")
_SHOW = (r"(?:show|write\s+(?:out|down)|walk\s+(?:me\s+|us\s+)?through|lay\s+out|spell\s+out|give(?:\s+me)?|"
         r"include|output|reveal|provide|print|share|narrate|articulate|expose|dump|display|verbali[sz]e)")
_THOUGHT = (r"(?:reasoning|thought\s+process|thinking|chain\s+of\s+(?:thought|reasoning)|train\s+of\s+thought|"
            r"rationale|deliberation|scratch\s*pad|thoughts)")
_ADJ = r"(?:(?:full|internal|complete|entire|whole|detailed|hidden|private|raw|underlying|intermediate|inner)\s+)"
_COT_OTHER = "|".join((
    r"chain[\s-]*of[\s-]*(?:thought|reasoning)",
    r"think(?:ing)?\s+(?:aloud|out\s+loud)",
    _SHOW + r"\s+(?:all\s+(?:of\s+)?|each\s+|every\s+)?(?:(?:your|the|its)\s+)?" + _ADJ + r"*" + _THOUGHT,
    r"(?:every|each)\s+step\s+of\s+(?:your|the)\s+(?:reasoning|thought\s+process|thinking|working)",
    r"explain\s+your\s+(?:reasoning|thinking|thought\s+process|logic)\s+(?:in\s+(?:full|detail)|before|first|then)",
    r"reconstruct\s+(?:the|your)\s+(?:\w+\s+)?(?:reasoning|thought\s+process|chain\s+of\s+thought)",
    r"(?:imagine|articulate)\s+(?:the\s+)?(?:internal\s+)?reasoning",
    r"reason\s+(?:it\s+|this\s+)?(?:out|through)\s+(?:fully|in\s+full|completely|carefully|step)",
    r"(?:full|complete|entire|whole)\s+(?:reasoning|thought\s+process|chain\s+of\s+thought|trajectory)",
    r"intermediate\s+(?:reasoning|steps|thoughts)",
    r"<\s*/?\s*(?:thinking|think|reasoning|scratchpad)\s*>",
    r"show\s+(?:all\s+)?(?:of\s+)?your\s+work(?:ing)?\b",
))
_COT_BATCH = 100_000  # prompts per pyarrow call: bounds the memory of one call


def cot_flags(texts: Iterable[str | None]) -> list[bool]:
    """Whether each prompt asks the model to show its reasoning ("step by step", "show your full
    reasoning", "think aloud", "explain your reasoning before", "reconstruct the reasoning", "chain of
    thought", ...). Case-insensitive; None or non-text is False; "a step-by-step guide to X" asks for
    instructions, not reasoning. Runs RE2 over Arrow arrays (one pass per pattern group, in C++)."""
    import pyarrow as pa
    import pyarrow.compute as pc

    out: list[bool] = []
    it = iter(texts)
    while True:
        batch = [t if type(t) is str else None for t in islice(it, _COT_BATCH)]
        if not batch:
            return out
        arr = pc.utf8_lower(pa.array(batch, pa.large_string()))
        other = pc.match_substring_regex(arr, _COT_OTHER)
        steps = pc.subtract(pc.count_substring_regex(arr, _STEP), pc.count_substring_regex(arr, _STEP_ADJ))
        flags = pc.fill_null(pc.or_(other, pc.greater(steps, 0)), False)
        out += flags.to_pylist()


