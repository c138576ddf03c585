"""Detection signals: raw per-account and per-cluster values, each documented once in `SIGNALS`.

Responsible for: the signal registry (definition, what each catches, its legitimate look-alike,
thresholds of the evidence ramp, weight, gate); the chain-of-thought elicitation detector; the
platform-wide baseline that cluster signals compare against; and computing the values as pure
functions over pandas DataFrames, vectorised (group-bys over integer codes, no loop per request).
Definitions follow `reference/detection-signals.md` §5-§7; where the shipped synthetic tenant base
showed a reference default cannot work, the `Signal` says so in `adjusted`.

Not responsible for: SQL or the store (the caller hands in frames), template mining (requests arrive
with `template_id`/`family_id`, -1 = no template), linking accounts into clusters, or turning values
into points and levels (`scoring.py`, which holds the evidence ramp).

Inputs. `requests`: one row per request with account_id, ts (int ms UTC, may be NA), ip_prefix,
user_agent, country, model, system_hash, prompt_hash, template_id, family_id, turns, max_tokens,
temperature, cot (bool), optionally rid; sorted by (account_id, ts) (re-sorted if not). `accounts`:
account_id, created_at (ms, may be NA), email, email_domain, payment_fingerprint, card_bin,
billing_country, signup_ip_prefix, org_id, tier, verified. A missing column disables the signals
that need it (their value is NaN), it never raises.
"""

from farmhound.signals.account import account_signals
from farmhound.signals.cluster import cluster_signals
from farmhound.signals.common import baseline_stats, email_shape
from farmhound.signals.cot import cot_flags
from farmhound.signals.registry import DEFAULT_SETTINGS, FAMILIES, SIGNALS, Gate, Signal, SignalValue

__all__ = ["Gate", "Signal", "SignalValue", "SIGNALS", "FAMILIES", "DEFAULT_SETTINGS", "cot_flags",
           "baseline_stats", "account_signals", "cluster_signals", "email_shape"]  # fmt: skip
