"""The farmhound terminal workbench: the Textual app, its screens' openers and its one job worker.

The app opens a store read-only through `Investigation` (a small pool of connections, one per
worker thread at a time) and pushes the triage queue. Slow work — loading the shipped sample logs
for a first run, running triage — is one named thread worker that runs and watches a child process
(`jobs.py`); progress arrives at most every 0.2 s, Escape cancels it, and the screens keep
answering from the previous results until the new ones are committed.

Case work (the Cases screen, `C`, case writes) is mixed in from `casework.py`, the case file
export job from `case_export.py`.

Not here: SQL (`farmhound/store/`), detection (`farmhound/triage.py`), screen layouts (`screens/`).
"""

from __future__ import annotations

import gc
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from textual import on, work
from textual.app import App
from textual.binding import Binding
from textual.message import Message
from textual.widgets import HelpPanel
from textual.worker import Worker, WorkerState

from farmhound.safe import visible
from farmhound.store.investigate import Investigation
from farmhound.store.tags import analyst_name
from tui.case_export import CaseExport
from tui.casework import CaseWork
from tui.chrome import TaskBar
from tui.commands import FarmCommands
from tui.inputs import LiteralCommandPalette
from tui.jobs import run_job
from tui.screens.account import AccountScreen
from tui.screens.base import FarmScreen
from tui.screens.cluster import ClusterScreen
from tui.screens.pivot import PivotScreen
from tui.screens.sources import SourcesScreen
from tui.screens.templates import TemplatesScreen
from tui.screens.triage import TriageScreen
from tui.tagging import TagModal, TagRequest, describe


@dataclass
class JobProgressed(Message):
    label: str
    fraction: float

    def can_replace(self, message: Message) -> bool:
        return isinstance(message, JobProgressed)


class FarmhoundApp(CaseWork, CaseExport, App):
    CSS_PATH = "app.tcss"
    TITLE = "farmhound"
    COMMANDS = App.COMMANDS | {FarmCommands}
    BINDINGS = [
        Binding("f1", "toggle_help", "Help", id="help"),
        Binding("ctrl+t", "open_triage", "Triage queue", id="triage-queue", show=False),
        Binding("c", "open_cases", "Cases", id="cases"),
        Binding("q", "quit", "Quit", id="quit"),
    ]

    def __init__(self, db: str | Path, load: list[Path] | None = None, config_path: str | Path | None = None):
        """Args:
        db: the store (created and migrated by the caller).
        load: files to ingest first (a first run on the shipped sample logs), then triage.
        config_path: the TOML config triage runs with (checked by the caller; default: shipped)."""
        super().__init__()
        self.db = Path(db)
        self.to_load = list(load or [])
        self.config_path = str(config_path) if config_path else None
        self.inv = Investigation(self.db)
        self.cancel_event = threading.Event()
        self.job: Worker | None = None
        self._tidy = None
        self._gc_threshold = gc.get_threshold()

    async def on_mount(self) -> None:
        await self.push_screen(TriageScreen())  # mounted: its task bar can show the job
        # The collector's full passes over a big heap stall a keypress for 50-150 ms: everything
        # loaded so far lives as long as the app (frozen, never scanned again), and full passes
        # run when the screens have settled (`screen_changed`) instead of in the middle of a key.
        gc.freeze()
        self._gc_threshold = gc.get_threshold()
        gc.set_threshold(self._gc_threshold[0], self._gc_threshold[1], 1000)
        if self.to_load:
            self.start_job(self.to_load)
        elif self.inv.run() is None and self.inv.page("sources").rows:
            self.start_job([])

    def screen_changed(self) -> None:
        """A screen was opened or closed (FarmScreen calls this): it shows the running job, and
        the heap is tidied once the screens settle."""
        self.show_job()
        # Once the screens have settled, a full collection while nobody waits for a key (automatic
        # full passes are rare: see on_mount).
        if self._tidy is not None:
            self._tidy.stop()
        self._tidy = self.set_timer(0.25, self._tidy_heap)

    def _tidy_heap(self) -> None:
        gc.collect()  # not frozen again: a screen frozen while open would never be freed once closed

    def on_unmount(self) -> None:
        gc.set_threshold(*self._gc_threshold)
        gc.unfreeze()
        self.cancel_event.set()
        self.inv.close()

    # -- opening screens (the screens and the command palette call these) -----------------------

    def open_cluster(self, cluster_id: int) -> None:
        self._open(ClusterScreen(cluster_id))

    def open_account(self, account_id: str, trail: list[tuple[str, str]] | None = None) -> None:
        self._open(AccountScreen(account_id, trail))

    def open_pivot(self, kind: str, value: str, trail: list[tuple[str, str]] | None = None) -> None:
        self._open(PivotScreen(kind, value, trail))

    def action_open_templates(self) -> None:
        self._open(TemplatesScreen())

    def action_open_sources(self) -> None:
        self._open(SourcesScreen())

    def _open(self, screen: FarmScreen) -> None:
        # A repeated key (Enter Enter) would stack the same screen twice: the second is ignored.
        top = self.screen_stack[-1]
        if type(top) is type(screen) and top.target == screen.target:
            return
        self.push_screen(screen)

    def action_open_triage(self) -> None:
        while len(self.screen_stack) > 2:
            self.pop_screen()

    def action_command_palette(self) -> None:
        """Textual's palette, with a search field that draws a pasted escape or bidi override literally."""
        if self.use_command_palette and not LiteralCommandPalette.is_open(self):
            self.push_screen(LiteralCommandPalette(id="--command-palette"))

    def action_toggle_help(self) -> None:
        if self.screen.query(HelpPanel):
            self.action_hide_help_panel()
        else:
            self.action_show_help_panel()

    # -- tagging ---------------------------------------------------------------------------------

    def ask_tag(self, accounts: list[str], what: str, done: Callable[[], None] | None = None) -> None:
        """Ask for the tag of `accounts`, then write it; `done()` runs once it is written (not on
        Escape, nor if the write fails): the marks used are cleared then."""
        if accounts:
            self.push_screen(TagModal(accounts, what), lambda request: self._tag(request, done))

    def _tag(self, request: TagRequest | None, done: Callable[[], None] | None = None) -> None:
        if request is not None:
            self._write_tags(lambda log: log.apply(request.accounts, request.tag, analyst_name(), request.note), done)

    def action_undo_tag(self) -> None:
        self._write_tags(lambda log: log.undo(analyst_name()))

    def action_redo_tag(self) -> None:
        self._write_tags(lambda log: log.redo(analyst_name()))

    @work(thread=True, exclusive=True, group="tags", name="tagging", exit_on_error=False)
    def _write_tags(self, change, done: Callable[[], None] | None = None) -> None:
        from farmhound.settings import SettingsError
        from farmhound.store import Store
        from farmhound.store.tags import TagError, TagLog

        store = Store(self.db)
        try:
            batch = change(TagLog(store))
        except (TagError, SettingsError) as exc:
            self.call_from_thread(self.say, str(exc), "warning")
            return
        finally:
            store.close()
        self.call_from_thread(self._tagged, describe(batch), done)

    def _tagged(self, summary: str, done: Callable[[], None] | None = None) -> None:
        self.say(f"{summary}   (u undoes, U redoes)")
        if done is not None:
            done()
        for screen in self.screen_stack:
            if isinstance(screen, FarmScreen):
                screen.tags_changed()

    # -- the job: load (first run) and triage ----------------------------------------------------

    def action_rerun(self) -> None:
        if not self.inv.request_count():
            self.say(f"The store holds no requests: load some first (farmhound ingest FILES --db {self.db}).",
                     severity="warning")  # fmt: skip
            return
        self.start_job([])

    def say(self, message: str, severity: str = "information", timeout: float | None = None) -> None:
        """A notification whose text is shown literally (it may quote a file name or a value)."""
        self.notify(visible(message, 500), severity=severity, markup=False,  # type: ignore[arg-type]
                    **({"timeout": timeout} if timeout else {}))  # fmt: skip

    @property
    def job_running(self) -> bool:
        return self.job is not None and self.job.is_running

    def start_job(self, paths: list[Path]) -> None:
        if self.job_running:
            self.say("A job is already running (Escape cancels it).", severity="warning")
            return
        self.cancel_event = threading.Event()
        self.job_label, self.job_fraction = ("loading the sample logs" if paths else "triage"), 0.0
        self.job = self._run_job(paths, self.cancel_event)
        self.show_job()

    def cancel_job(self) -> None:
        if self.job_running:
            self.cancel_event.set()
            self.say("Cancelling…")

    def show_job(self) -> None:
        """The job's state on the current screen's task bar (each screen has one); else a case
        export's (`case_export.py`)."""
        for bar in self.screen.query(TaskBar):
            if self.job_running:
                bar.report(self.job_label, self.job_fraction)
            elif self.export_label is not None:
                bar.report(self.export_label, self.export_fraction)
            else:
                bar.finish()

    @work(thread=True, exclusive=True, group="job", name="triage", exit_on_error=False, description="ingest and triage")
    def _run_job(self, paths: list[Path], cancel: threading.Event) -> str:
        return run_job(
            str(self.db), [str(p) for p in paths], self.config_path,
            lambda label, fraction: self.post_message(JobProgressed(label, fraction)), cancel.is_set,
        )  # fmt: skip

    @on(JobProgressed)
    def _job_progressed(self, message: JobProgressed) -> None:
        self.job_label, self.job_fraction = message.label, message.fraction
        self.show_job()

    async def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        """Every worker's failure is reported here, loudly; the job's end reloads the screens."""
        worker = event.worker
        if event.state == WorkerState.ERROR:
            self.say(f"{worker.name or worker.description} failed: {worker.error}", severity="error", timeout=30)
        if worker is not self.job or event.state not in (WorkerState.SUCCESS, WorkerState.ERROR, WorkerState.CANCELLED):
            return
        self.show_job()
        outcome = worker.result if event.state == WorkerState.SUCCESS else "failed"
        if outcome == "cancelled":
            self.say("Cancelled: the previous results are unchanged.")
        if outcome != "done":
            return
        # Cluster and template ids are renumbered by each run: screens showing the old ones close.
        closed = len(self.screen_stack) - 2
        while len(self.screen_stack) > 2:
            await self.pop_screen()  # awaited: a notice shown on a closing screen would close with it
        self.screen_stack[1].reload()
        self.say(
            "Triage finished."
            + (f" {closed} open screen(s) closed: they showed the previous results." if closed > 0 else "")
        )
