"""The export job: writing a case's case file in a thread worker on a writable `Store` of its own,
its steps shown on the task bar of whatever screen is on top, its end (the folder and the
manifest's SHA-256) or its refusal said in a notification. Escape cancels it between steps (the
progress callback raises): nothing is written until the last step, so a cancelled export leaves
nothing behind. The app mixes this in.

Not here: the case file itself (`farmhound/casefile/export.py`), its options dialog (`case_modals.py`).
"""

from __future__ import annotations

import threading
from dataclasses import dataclass

from textual import work
from textual.message import Message

from farmhound.store.cases import CaseError
from tui.case_modals import ExportRequest


@dataclass
class CaseExportProgressed(Message):
    label: str
    fraction: float

    def can_replace(self, message: Message) -> bool:
        return isinstance(message, CaseExportProgressed)


class _Cancelled(Exception):
    pass


class CaseExport:
    """Mixed into `FarmhoundApp` (which provides db, say, show_job, case_written)."""

    export_label: str | None = None  # an export is running while this is set
    export_fraction: float = 0.0
    export_cancel: threading.Event | None = None

    def export_case_file(self, request: ExportRequest) -> None:
        if self.export_label is not None:
            self.say("A case file is being written already; wait for it to finish.", "warning")
            return
        self.export_label, self.export_fraction = f"export {request.case}: starting", 0.0
        self.export_cancel = threading.Event()
        self.show_job()
        self._export(request, self.export_cancel)

    def cancel_export(self) -> None:
        if self.export_cancel is not None:
            self.export_cancel.set()
            self.say("Cancelling the export…")

    @work(thread=True, group="case-export", name="case export", exit_on_error=False)
    def _export(self, request: ExportRequest, cancel: threading.Event) -> None:
        from farmhound.casefile.export import STEPS, ExportError, export_case
        from farmhound.settings import SettingsError, load_settings
        from farmhound.store import Store, StoreError
        from farmhound.store.tags import analyst_name

        def step(name: str) -> None:
            if cancel.is_set():
                raise _Cancelled
            k = STEPS.index(name) if name in STEPS else 0
            self.post_message(CaseExportProgressed(f"export {request.case}: {name}", k / len(STEPS)))

        try:
            organisation = load_settings()["organisation"]
            with Store(self.db) as store:
                done = export_case(store, request.case, request.out, analyst_name(), tlp=request.tlp,
                                   redact=request.redact, make_zip=request.make_zip, organisation=organisation,
                                   progress=step)  # fmt: skip
        except _Cancelled:
            self.call_from_thread(self._exported, f"Export of {request.case} cancelled: nothing was written.", None)
            return
        except (ExportError, CaseError, SettingsError, StoreError, OSError) as exc:
            self.call_from_thread(self._exported, f"Not exported: {exc}", None)
            return
        except BaseException:
            self.call_from_thread(self._exported, "", None)  # the app's worker handler says what failed
            raise
        where = str(done.folder) + (f" (and {done.zip_path.name})" if done.zip_path else "")
        said = f"case {request.case} exported to {where}: {done.members:,} members · manifest SHA-256 {done.manifest_sha256}"
        self.call_from_thread(self._exported, said, request.case)

    def on_case_export_progressed(self, message: CaseExportProgressed) -> None:
        if self.export_label is not None:
            self.export_label, self.export_fraction = message.label, message.fraction
            self.show_job()

    def _exported(self, said: str, case: str | None) -> None:
        self.export_label, self.export_cancel = None, None
        self.show_job()
        if said:
            self.say(said, "information" if case else "warning", timeout=30)
        if case:
            self.case_written("", case)  # the export is in the case's log
