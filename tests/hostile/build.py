"""Building the hostile store: every corpus entry written into every attacker-controlled field of a
canonical request log and an accounts file, loaded with the real CLI, triaged, tagged, put into a
case with notes, and exported twice (plain, and redacted through the CLI).

One account per entry, `<text>-h007` (the entry starts the id where it is storable and short, so a
formula or markup starts the cell; `h007` names the entry in findings),
with five requests: the entry as user agent (every request), org (even ones), model (one), prompt,
system prompt (one, in `messages`), response (one) and IP (one: an invalid address is stored as
sent). Its account record carries the entry in the email and the org. Accounts are chained into one
candidate farm: each sends from three request /24s, sharing two with the next account, and every
five share a payment fingerprint. Entries that no store row can hold (NUL, lone surrogates) and the
invalid UTF-8 lines end up in quarantine, with their raw text. A few request files are named after
entries too, so file names carry it.

Not here: the checks (`tests/test_hostile.py`, `tests/hostile/checks.py`).
"""

from __future__ import annotations

import csv
import io
import json
from dataclasses import dataclass, field
from pathlib import Path

from hostile.corpus import ENTRIES, RAW_ACCOUNT_LINES, RAW_REQUEST_LINES, Entry

ANALYST = "ana"
CASE = "hostile corpus"
REQUESTS_PER_ACCOUNT = 5
# Entries whose text also names a request file (ESC, OSC, markup, HTML, bidi, CSV in a file name).
FILE_NAMED = ("osc0-title-bel", "textual-click-quit", "html-script", "bidi-rlo", "csv-equals", "rich-link")
ACCOUNT_FIELDS = ("account_id", "created_at", "email", "payment_fingerprint", "card_bin", "billing_country",
                  "signup_ip", "org_id", "tier", "verified")  # fmt: skip


def account_id(i: int, e: Entry) -> str:
    """The entry's account: its text in the id too, where a row can hold it and it is not huge."""
    return f"{e.text}-h{i:03d}" if e.storable and len(e.text) <= 4096 else f"h{i:03d}"


def email(i: int, e: Entry) -> str:
    return f"{e.text}.{i}@evil.example"


def prompt(n: int, e: Entry) -> str:
    return f"Explain step by step and show all of your reasoning for part {n}: {e.text}"


def request_rows(i: int, e: Entry) -> list[dict]:
    acct, rows = account_id(i, e), []
    for n in range(REQUESTS_PER_ACCOUNT):
        row = {
            "request_id": f"h{i:03d}-r{n}", "ts": f"2026-04-24T{n + 1:02d}:{i % 60:02d}:{i // 60:02d}Z",
            "account_id": acct, "api_key_id": f"key_{i}", "org_id": e.text if n % 2 == 0 else f"org_{i}",
            "ip": e.text if n == 4 else f"198.51.{i + n % 3}.{10 + n}", "user_agent": e.text, "country": "US",
            "model": e.text if n == 1 else "atlas-4-pro", "prompt": prompt(n, e),
            "response": e.text if n == 0 else "ok", "input_tokens": 40, "output_tokens": 900,
        }  # fmt: skip
        if n == 3:
            del row["prompt"]
            row["messages"] = [{"role": "system", "content": e.text},
                               {"role": "user", "content": [{"type": "text", "text": prompt(n, e)}]}]  # fmt: skip
        rows.append(row)
    return rows


def account_row(i: int, e: Entry) -> dict:
    return {
        "account_id": account_id(i, e), "created_at": f"2026-04-23T10:{i % 60:02d}:{i // 60:02d}Z",
        "email": email(i, e), "payment_fingerprint": f"pf_h{i // 5}", "card_bin": "666666", "billing_country": "US",
        "signup_ip": f"203.0.113.{i % 250}", "org_id": e.text, "tier": "free", "verified": "false",
    }  # fmt: skip


def _json_line(row: dict) -> bytes:
    # ensure_ascii: a lone surrogate becomes the JSON escape \ud800, as a hostile exporter writes it
    return json.dumps(row, ensure_ascii=True).encode() + b"\n"


def _csv_line(row: dict) -> bytes:
    buf = io.StringIO()
    csv.writer(buf, lineterminator="\n", quoting=csv.QUOTE_ALL).writerow([row[k] for k in ACCOUNT_FIELDS])
    # surrogatepass: a lone surrogate is written as its (invalid) UTF-8 bytes, as a broken exporter would
    return buf.getvalue().encode("utf-8", "surrogatepass")


def file_name(e: Entry) -> str:
    return e.text.replace("/", "\u2215") + ".jsonl"


def write_logs(folder: Path) -> list[Path]:
    """The request log, the accounts file and the hostile-named files; returns the paths to ingest."""
    folder.mkdir(parents=True, exist_ok=True)
    requests, accounts = folder / "requests.jsonl", folder / "accounts.csv"
    with open(requests, "wb") as r, open(accounts, "wb") as a:
        a.write((",".join(ACCOUNT_FIELDS) + "\n").encode())
        for i, e in enumerate(ENTRIES):
            for row in request_rows(i, e):
                r.write(_json_line(row))
            a.write(_csv_line(account_row(i, e)))
        for line in RAW_REQUEST_LINES:
            r.write(line + b"\n")
        for line in RAW_ACCOUNT_LINES:
            a.write(line + b"\n")
    by_name = {e.name: e for e in ENTRIES}
    for k, name in enumerate(FILE_NAMED):
        path = folder / "named" / file_name(by_name[name])
        path.parent.mkdir(exist_ok=True)
        row = {"request_id": f"named-{k}", "ts": "2026-04-25T00:00:00Z", "account_id": "h_named", "prompt": "hi"}
        path.write_bytes(_json_line(row) + b'{"request_id": "named-bad", "account_id": "h_named"}\n')
    # the folder, not the files: a path argument is a glob, and these names hold [ ]
    return [requests, accounts, folder / "named"]


@dataclass
class Built:
    db: Path
    logs: list[Path]
    ingest: list[dict]  # ingest --json
    triage: dict  # triage --json
    triage_text: str  # as printed
    cluster_ids: list[int]  # the clusters holding hostile accounts
    accounts: dict[str, int] = field(default_factory=dict)  # stored hostile account id -> corpus index
    export: Path | None = None  # the case file (folder)
    zip_path: Path | None = None
    redacted: Path | None = None  # the case file exported with --redact emails,ips,prompts
    cli_export_output: str = ""


def build(tmp: Path, cli, cli_json) -> Built:
    """Load the corpus into a new store at `tmp/hostile.db` with the CLI (`cli`, `cli_json` from
    tests/helpers.py), triage it, tag, case and export it."""
    from farmhound.casefile.export import export_case
    from farmhound.store import Store
    from farmhound.store.cases import CaseBook
    from farmhound.store.tags import _LABEL, TagLog

    db = tmp / "hostile.db"
    logs = write_logs(tmp / "logs")
    ingest = cli_json("ingest", *logs, "--db", db, "--json", "--no-readers")
    triage_text = cli("triage", "--db", db, "--json", "--top", "50").output
    triage = json.loads(triage_text)
    store = Store(db)
    try:
        stored = {a for (a,) in store.conn.execute("SELECT account_id FROM accounts")}
        accounts = {account_id(i, e): i for i, e in enumerate(ENTRIES) if account_id(i, e) in stored}
        clusters = sorted({c for (c,) in store.conn.execute(
            "SELECT DISTINCT cluster_id FROM account_scores WHERE cluster_id IS NOT NULL AND account_id GLOB '*h[0-9][0-9][0-9]'")})  # fmt: skip
        log = TagLog(store)
        for acct, i in accounts.items():
            e = ENTRIES[i]
            log.apply([acct], "suspected", ANALYST, note=e.text)
            if _LABEL.match(e.text):  # a free label may be the entry itself (+1+1, -1+1)
                log.apply([acct], e.text, ANALYST, note=e.text)
        book = CaseBook(store)
        book.new(CASE, ANALYST, "\n".join(e.text for e in ENTRIES if e.storable and not e.huge))
        if clusters:
            book.add_clusters(CASE, clusters, ANALYST)
        book.add_accounts(CASE, [*accounts, "h_named"], ANALYST)  # h_named: its sources' names are hostile
        for acct, i in list(accounts.items())[::7]:  # joined through a pivot on a hostile value
            book.add_accounts(CASE, [acct], ANALYST, via=f"pivot on user agent {ENTRIES[i].text}")
        templates = [t for (t,) in store.conn.execute(
            "SELECT DISTINCT template_id FROM account_templates WHERE account_id GLOB '*h[0-9][0-9][0-9]' LIMIT 5")]  # fmt: skip
        if templates:
            book.add_templates(CASE, templates, ANALYST)
        for e in ENTRIES:
            if e.storable:
                book.note(CASE, e.text, ANALYST)
        done = export_case(store, CASE, tmp / "export" / "plain", ANALYST, tlp="amber", make_zip=True)
    finally:
        store.close()
    out = cli("case", "export", CASE, "--db", db, "--out", tmp / "export" / "redacted",
              "--redact", "emails,ips,prompts", "--tlp", "green", "--analyst", ANALYST).output
    return Built(db, logs, ingest, triage, triage_text, clusters, accounts, done.folder, done.zip_path,
                 tmp / "export" / "redacted", out)
