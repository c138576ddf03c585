"""Case work from the workbench: opening the Cases screen, adding what a screen shows to a case
(`C`), asking for a new case, a note or an export, and every case write — new case, add, note,
status, removal — each in a thread worker on a writable `Store` of its own, as tagging does. The
app mixes this in.

The case the analyst used last is the app's `current_case`: the "add to case" dialog offers it
first and the Cases screen opens on it.

Not here: the rules of cases (`farmhound/store/cases.py`), the export job (`case_export.py`), the
dialogs (`case_modals.py`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from rich.text import Text
from textual import work

from farmhound.store.cases import STATUSES, Added, CaseBook, CaseError
from tui.case_modals import CasePickModal, ExportModal, FormModal
from tui.text import lit

Change = Callable[[CaseBook, str], tuple[str, str]]  # (book, analyst) -> (what to say, the case's name)


@dataclass
class CaseTarget:
    """What `C` adds on a screen: `what` names it in the dialog; `add(book, case, analyst)` adds it;
    `done()`, if given, runs once it was added (on the UI thread: e.g. the marks used are cleared)."""

    what: str
    add: Callable[[CaseBook, str, str], Added]
    done: Callable[[], None] | None = None


class CaseWork:
    """Mixed into `FarmhoundApp` (which provides db, inv, say, show_job, _open)."""

    current_case: str | None = None

    def action_open_cases(self) -> None:
        from tui.screens.case import CasesScreen

        self._open(CasesScreen())

    # -- adding to a case ------------------------------------------------------------------------

    def ask_case(self, target: CaseTarget | None) -> None:
        """`C`: pick (or name) the case, then add `target` to it."""
        if target is None:
            return
        self.push_screen(CasePickModal(target.what, self.inv.case_names(), self.current_case),
                         lambda name: self._add_to(name, target))  # fmt: skip

    def _add_to(self, name: str | None, target: CaseTarget) -> None:
        if not name:
            return

        def change(book: CaseBook, analyst: str) -> tuple[str, str]:
            # One transaction (the store's inner ones are savepoints): if the add fails, a case
            # created for it is not left behind empty.
            with book.store.transaction():
                try:
                    case, opened = book.get(name).name, ""
                except CaseError:
                    case, opened = book.new(name, analyst).name, " (a new case)"
                added = target.add(book, case, analyst)
            if added.accounts or added.clusters or added.templates:
                return f"added {added} to case {case}{opened}", case
            return f"nothing new: {target.what} is in case {case} already", case

        self.write_case(change, target.done)

    # -- what the Cases screen asks for ----------------------------------------------------------

    def ask_new_case(self) -> None:
        fields = [("case-name", "name: letters, digits, spaces and . : + # - _", ""),
                  ("case-description", "what the case is about (optional)", "")]  # fmt: skip
        hint = "Tab: the next field · Enter: open the case · Escape: cancel"
        self.push_screen(FormModal("New case", fields, hint), self._new_case)

    def _new_case(self, form: dict | None) -> None:
        if form and form["case-name"].strip():
            name, description = form["case-name"], form["case-description"].strip() or None
            self.write_case(lambda book, who: new_case(book, name, description, who))

    def ask_note(self, case: str) -> None:
        title = Text.assemble(("Note on case ", "bold"), lit(case, 64))
        fields = [("case-note", "the note (kept in the case's log)", "")]
        self.push_screen(FormModal(title, fields, "Enter adds it · Escape: cancel"), lambda f: self._note(case, f))

    def _note(self, case: str, form: dict | None) -> None:
        if form and form["case-note"].strip():
            text = form["case-note"]
            self.write_case(lambda book, who: add_note(book, case, text, who))

    def ask_export(self, case: str) -> None:
        from farmhound.casefile.model import TLP_LEVELS
        from farmhound.casefile.redact import KINDS
        from farmhound.settings import SettingsError, load_settings

        try:
            tlp = load_settings()["tlp"]
        except SettingsError as exc:
            self.say(str(exc), "error")
            return
        self.push_screen(
            ExportModal(case, TLP_LEVELS, KINDS, tlp), lambda request: request and self.export_case_file(request)
        )

    # -- every case write -------------------------------------------------------------------------

    @work(thread=True, group="cases", name="case change", exit_on_error=False)
    def write_case(self, change: Change, done: Callable[[], None] | None = None) -> None:
        """Run `change` on a CaseBook of a writable store of its own; say what it did (or why not).
        `done()` runs on the UI thread once the change was written, never if it failed."""
        from farmhound.settings import SettingsError
        from farmhound.store import Store, StoreError
        from farmhound.store.tags import analyst_name

        try:
            with Store(self.db) as store:
                said, case = change(CaseBook(store), analyst_name())
        except (CaseError, SettingsError, StoreError) as exc:
            self.call_from_thread(self.say, str(exc), "warning")
            return
        self.call_from_thread(self.case_written, said, case)
        if done is not None:
            self.call_from_thread(done)

    def case_written(self, said: str, case: str | None) -> None:
        """A case changed: say so, and every open Cases screen shows it (the store has it now)."""
        if case:
            self.current_case = case
        if said:
            self.say(said)
        for screen in self.screen_stack:
            if hasattr(screen, "case_changed"):
                screen.case_changed(case)

    def ensure_cases(self, then: Callable[[], None]) -> None:
        """The case tables exist (a store of schema 4 is migrated by a writable open), then `then()`."""
        if self.inv.cases_ready():
            then()
        else:
            self._migrate(then)

    @work(thread=True, group="cases", name="case tables", exit_on_error=False)
    def _migrate(self, then: Callable[[], None]) -> None:
        from farmhound.store import Store

        Store(self.db).close()  # a failure is said by the app's worker handler
        self.call_from_thread(then)


# -- the changes the Cases screen asks for: (book, ..., analyst) -> (what to say, the case) ---------


def new_case(book: CaseBook, name: str, description: str | None, analyst: str) -> tuple[str, str]:
    case = book.new(name, analyst, description)
    return f"case {case.name} opened", case.name


def add_note(book: CaseBook, name: str, text: str, analyst: str) -> tuple[str, str]:
    book.note(name, text, analyst)
    return f"note added to case {name}", name


def remove_item(book: CaseBook, name: str, kind: str, key: str, shown: str, analyst: str) -> tuple[str, str]:
    book.remove(name, kind, [key], analyst)
    return f"removed {kind} {shown} from case {name} (logged)", name


def next_status(book: CaseBook, name: str, analyst: str) -> tuple[str, str]:
    """open → review → closed → open."""
    before = book.get(name).status
    after = STATUSES[(STATUSES.index(before) + 1) % len(STATUSES)]
    book.set_status(name, after, analyst)
    then = STATUSES[(STATUSES.index(after) + 1) % len(STATUSES)]
    return f"case {name}: {before} → {after}   (S again: {then})", name
