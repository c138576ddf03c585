"""The command palette (Ctrl+P): every action of the app and of the current screen, plus "go to"
entries typed by the analyst: an account id, `cluster N`, `template N`.

Textual reads a hit's prompt and help given as a string as markup, and some of them quote what a
screen shows (an account id, a pivot value: attacker text). So every prompt and help reaches the
palette as `Content` built from `farmhound.safe.visible`: literal, never parsed (`_literal`).

Not here: the actions themselves (the app and its screens).
"""

from __future__ import annotations

import asyncio
from functools import partial

from textual.command import DiscoveryHit, Hit, Hits, Provider
from textual.content import Content
from textual.fuzzy import Matcher

from farmhound.safe import visible


def _literal(text: str | Content) -> Content:
    """Text shown in the palette as typed: `[b]` or `[@click=...]` stay text, controls show as escapes."""
    return text if isinstance(text, Content) else Content(visible(text))


def _highlight(matcher: Matcher, name: str) -> Content:
    """`matcher.highlight(name)`, without reading `name` as markup."""
    content = _literal(name)
    if content.plain != name:  # escapes made visible: the offsets below would not line up
        return content
    score, offsets = matcher.fuzzy_search.match(matcher.query, name)
    for offset in offsets if score else ():
        if not name[offset].isspace():
            content = content.stylize(matcher.match_style, offset, offset + 1)
    return content


class FarmCommands(Provider):
    def _actions(self) -> list[tuple[str, str | Content, object]]:
        """(name, help, callback) of every command here; a help quoting attacker text is `Content`."""
        app = self.app
        actions = [
            ("Triage queue", "candidate farms, ranked", app.action_open_triage),
            ("Templates", "prompt template families by spread", app.action_open_templates),
            ("Cases", "cases: members, clusters, templates, notes, log; export (c)", app.action_open_cases),
            ("Sources and quarantine", "files loaded, hashes, rejected rows", app.action_open_sources),
            ("Re-run triage", "recompute templates, signals, clusters and scores", app.action_rerun),
            ("Cancel the running job", "stop ingest or triage; results stay as they were", app.cancel_job),
            ("Help", "keys and help for the focused panel (F1)", app.action_toggle_help),
            (
                "Undo the latest tag change",
                "a whole batch: one account, a selection or a cluster (u)",
                app.action_undo_tag,
            ),
            ("Redo the tag change undone", "(U)", app.action_redo_tag),
        ]
        screen = self.screen
        if hasattr(screen, "action_tag_one"):
            actions += [
                ("Tag the account under the cursor", "suspected, confirmed, cleared or a label, with a note (T)",
                 screen.action_tag_one),
                ("Tag every account of this cluster or pivot", "one batch, undone as one (A)", screen.action_tag_all),
            ]  # fmt: skip
        target = screen.case_target() if hasattr(screen, "case_target") else None
        if target is not None:
            actions.append(("Add to a case", Content(visible(target.what, 60) + " (C)"), screen.action_to_case))
        if hasattr(screen, "commands"):
            actions += screen.commands()
        focused = self.focused  # the widget focused before the palette opened
        if focused is not None and hasattr(focused, "action_sort"):
            actions += [
                (
                    "Sort by the picked column",
                    "the focused table, by the underlined column (s; < > pick it)",
                    focused.action_sort,
                ),
                ("Filter this table", "rows containing a text (/)", focused.action_filter),
            ]
        return actions

    async def discover(self) -> Hits:
        for name, help_text, callback in self._actions():
            yield DiscoveryHit(_literal(name), callback, text=name, help=_literal(help_text))  # type: ignore[arg-type]

    async def search(self, query: str) -> Hits:
        matcher = self.matcher(query)
        for name, help_text, callback in self._actions():
            score = matcher.match(name)
            if score > 0:
                yield Hit(score, _highlight(matcher, name), callback, text=name, help=_literal(help_text))  # type: ignore[arg-type]
        words = query.split()
        if len(words) == 2 and words[0].lower() in ("cluster", "template") and words[1].isdigit():
            n = int(words[1])
            if words[0].lower() == "cluster":
                yield Hit(1.0, Content(f"Open cluster {n}"), partial(self.app.open_cluster, n))
            else:
                yield Hit(1.0, Content(f"Pivot on template {n}"), partial(self.app.open_pivot, "template", str(n)))
        if query.strip():
            inv = self.app.inv
            ids = await asyncio.to_thread(inv.find_accounts, query.strip(), 10)
            for account_id in ids:
                yield Hit(0.9, Content("Account " + visible(account_id, 60)), partial(self.app.open_account, account_id),
                          help="open the account")  # fmt: skip
