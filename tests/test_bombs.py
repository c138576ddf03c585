"""Files built to exhaust memory: a gzip bomb stops at its limit with the rest quarantined as one
row, a JSON document too large (or too many objects) to parse whole is refused naming the file,
and both limits can be set on the command line. `benchmarks/bombs.py` measures the big ones."""

from __future__ import annotations

import zlib

import pytest
from helpers import cli, cli_json

from farmhound.store import Store
from loaders import formats

GOOD = b'{"request_id": "good-1", "ts": 1700000000, "account_id": "a", "prompt": "hello"}\n'


def gzip_bytes(*pieces: tuple[bytes, int]) -> bytes:
    co = zlib.compressobj(9, zlib.DEFLATED, 31)
    return b"".join(co.compress(data) for data, times in pieces for _ in range(times)) + co.flush()


def rows_of(db) -> list[tuple]:
    with Store(db) as s:
        return s.conn.execute("SELECT request_id FROM requests ORDER BY request_id").fetchall()


def test_a_gzip_bomb_stops_at_the_limit_and_keeps_the_rows_before_it(tmp_path):
    row = b'{"request_id": "same", "ts": 1700000000, "account_id": "b", "prompt": "hi"}\n'
    # 80 MB of one repeated row in a file of about 100 KB: past the 64 MB floor at any ratio
    path = tmp_path / "bomb.jsonl.gz"
    path.write_bytes(gzip_bytes((GOOD, 1), (row * 10_000, 80 * (1 << 20) // (len(row) * 10_000))))
    out = cli_json("ingest", path, "--db", tmp_path / "s.db", "--json", "--max-gzip-ratio", 2)
    assert out["reasons"] == {"decompression limit": 1}
    assert out["rows_read"] == out["stored"] + out["duplicates"] + out["quarantined"]
    assert out["stored"] == 2 and out["rows_read"] < 80 * (1 << 20) // len(row)  # stopped before the end
    assert rows_of(tmp_path / "s.db") == [("good-1",), ("same",)]
    listing = cli("info", "--db", tmp_path / "s.db", "--quarantine", 5).output
    assert "decompression limit" in listing and "--max-gzip-ratio" in listing


def test_a_nul_bomb_in_one_line_is_read_in_pieces_and_stopped(tmp_path):
    path = tmp_path / "nul.jsonl.gz"
    path.write_bytes(gzip_bytes((GOOD, 1), (b'{"prompt": "', 1), (b"\0" * (1 << 20), 100), (b'"}\n', 1)))
    out = cli_json("ingest", path, "--db", tmp_path / "s.db", "--json", "--max-gzip-ratio", 2)
    assert out["reasons"] == {"line too long": 1, "decompression limit": 1} and out["stored"] == 1


def test_the_gzip_limit_is_the_ratio_to_the_file_with_a_floor(tmp_path, monkeypatch):
    path = tmp_path / "x.gz"
    path.write_bytes(gzip_bytes((b"x" * 1000, 1)))
    monkeypatch.setenv(formats.GZIP_RATIO_ENV, "300")
    with open(path, "rb") as raw:
        f = formats.gunzip(raw)
        assert f.limit == formats.GZIP_FLOOR_BYTES  # a small file may always expand to the floor
    big = tmp_path / "big.gz"
    big.write_bytes(b"\x1f\x8b" + b"\0" * (1 << 20))
    with open(big, "rb") as raw:
        assert formats.gunzip(raw).limit == 300 * (big.stat().st_size)


def test_a_json_document_over_the_size_limit_is_refused_naming_the_file(tmp_path):
    path = tmp_path / "doc.json"
    path.write_bytes(b"[" + b",".join([GOOD.strip()] * 20_000) + b"]")  # about 1.6 MB
    out = cli_json("ingest", path, "--db", tmp_path / "s.db", "--json", "--max-document-mb", 1, expect=1)
    assert out["status"] == "failed" and "a JSON document over 1 MB (--max-document-mb)" in out["error"]
    assert str(path) in out["error"]
    cli("ingest", path, "--db", tmp_path / "s.db")  # under the default limit it loads
    assert len(rows_of(tmp_path / "s.db")) == 1  # (20,000 copies of one request id)


@pytest.mark.parametrize("body", [b'{"ts": 1, "account_id": "a"},', b"1,"])
def test_a_json_document_of_too_many_values_is_refused_before_parsing(tmp_path, monkeypatch, body):
    monkeypatch.setattr(formats, "MAX_DOCUMENT_CONTAINERS", 1000)
    monkeypatch.setattr(formats, "MAX_DOCUMENT_VALUES", 10_000)
    path = tmp_path / "swarm.json"
    path.write_bytes(b"[" + body * 20_000 + b"{}]")
    with pytest.raises(formats.SourceError, match="parsed whole it would not fit in memory"):
        formats._load_document(path)
