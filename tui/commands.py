"""The command palette (Ctrl+P): every action of the app and of the current screen, plus "go to"
entries typed by the analyst: an account id, `cluster N`, `template N`.

Not here: the actions themselves (the app and its screens).
"""

from __future__ import annotations

import asyncio
from functools import partial

from textual.command import DiscoveryHit, Hit, Hits, Provider
from textual.content import Content

from farmhound.safe import visible


class FarmCommands(Provider):
    def _actions(self) -> list[tuple[str, str, object]]:
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
            actions.append(("Add to a case", f"{visible(target.what, 60)} (C)", screen.action_to_case))
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
            yield DiscoveryHit(name, callback, help=help_text)

    async def search(self, query: str) -> Hits:
        matcher = self.matcher(query)
        for name, help_text, callback in self._actions():
            score = matcher.match(name)
            if score > 0:
                yield Hit(score, matcher.highlight(name), callback, help=help_text)
        words = query.split()
        if len(words) == 2 and words[0].lower() in ("cluster", "template") and words[1].isdigit():
            n = int(words[1])
            if words[0].lower() == "cluster":
                yield Hit(1.0, f"Open cluster {n}", partial(self.app.open_cluster, n))
            else:
                yield Hit(1.0, f"Pivot on template {n}", partial(self.app.open_pivot, "template", str(n)))
        if query.strip():
            inv = self.app.inv
            ids = await asyncio.to_thread(inv.find_accounts, query.strip(), 10)
            for account_id in ids:
                yield Hit(0.9, Content("Account " + visible(account_id, 60)), partial(self.app.open_account, account_id),
                          help="open the account")  # fmt: skip
