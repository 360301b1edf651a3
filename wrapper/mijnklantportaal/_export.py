"""``mijnklantportaal invoices export``: invoice ids in, one JSON line per invoice out.

What it promises, and how:

- **Whole lines only.** Each line (``Invoice.to_dict()``: the API's field names, money as
  strings) is written with one ``os.write`` on a file opened with ``O_APPEND``, so Ctrl+C or
  ``kill -9`` can only leave whole lines. A torn last line (a full disk, a crash of an older
  writer) is cut off when the next run opens the file.
- **Resumable.** A run first reads the ids already in OUT (streaming through it, keeping
  only the set of ids) and fetches only the others; duplicates in the ids file are fetched
  once. At most the lines in flight when a run was killed are missing; the rerun fetches them.
- **Failures on the side.** An id that fails (404, a malformed id, 429 after the retries) is
  one line in ``OUT.errors.jsonl`` (``out.jsonl`` -> ``out.errors.jsonl``) with the error's
  type, status and a bounded, terminal-safe message; it is not in OUT, so a rerun tries it
  again. That file holds the failures of the latest run only: it is removed when a run
  starts and written on the first failure. A 401 stops the export at once (every other
  call would fail the same way).
- **Progress on stderr.** A tqdm bar when stderr is a terminal (done/total, rate, ETA,
  failures, rate-budget waits and 429s), else a plain line every ``PROGRESS_INTERVAL``
  seconds and at the end. Waits and 429s are counted from the client's log records.

``run_export`` takes the bulk fetch as a callable ``ids -> (id, Invoice | error)`` pairs:
the command passes ``client.invoices.get_many``.
"""

from __future__ import annotations

import contextlib
import errno
import json
import logging
import math
import os
import stat
import sys
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from pathlib import Path
from types import TracebackType
from typing import IO, TYPE_CHECKING, Any, Literal, Protocol, Self, TypeGuard

import attrs

from mijnklantportaal._constants import (
    BAR_REFRESH_INTERVAL,
    LOG_BUDGET_WAITS_FROM,
    MAX_ERROR_MESSAGE,
    PROGRESS_INTERVAL,
    TAIL_CHUNK,
)
from mijnklantportaal._exceptions import (
    AuthenticationError,
    InvalidArgumentError,
    MijnKlantportaalError,
)

if TYPE_CHECKING:
    from mijnklantportaal import Invoice

__all__ = [
    "ExportFile",
    "ExportResult",
    "Progress",
    "errors_path_for",
    "read_ids",
    "run_export",
]

BulkFetch = Callable[[Iterable[str]], Iterator[tuple[str, "Invoice | MijnKlantportaalError"]]]
ProgressMode = Literal["bar", "lines", "off"]

ERRORS_SUFFIX = ".errors.jsonl"
# Errors after which no other call can succeed: the export stops instead of logging each id.
FATAL_ERRORS: tuple[type[MijnKlantportaalError], ...] = (AuthenticationError,)

_LOGGER = "mijnklantportaal"


# -- the ids file ---------------------------------------------------------------------------


def read_ids(path: str) -> list[str]:
    """The ids in ``path`` (``-``: stdin), one per line, in order and without duplicates;
    whitespace is stripped, blank lines and ``#`` comments are skipped. The file must be
    UTF-8. Unreadable input raises ``InvalidArgumentError`` naming the file and line."""
    shown = "stdin" if path == "-" else repr(path)
    unique: dict[str, None] = {}
    try:
        with _open_ids(path) as binary:
            for number, raw in enumerate(binary, start=1):
                try:
                    line = raw.decode("utf-8-sig" if number == 1 else "utf-8")
                except UnicodeDecodeError:
                    raise InvalidArgumentError(
                        f"the ids file {shown} is not UTF-8 text (line {number}); "
                        "it must hold one invoice id per line"
                    ) from None
                invoice_id = line.strip()
                if invoice_id and not invoice_id.startswith("#"):
                    unique[invoice_id] = None
    except OSError as error:
        raise InvalidArgumentError(
            f"cannot read the ids file {shown}: {error.strerror or error}"
        ) from None
    return list(unique)


@contextlib.contextmanager
def _open_ids(path: str) -> Iterator[IO[bytes]]:
    if path == "-":
        stdin = sys.stdin
        if stdin is None:
            raise OSError(errno.EBADF, "stdin is closed")
        yield stdin.buffer
    else:
        with open(path, "rb") as file:
            yield file


# -- OUT and OUT.errors.jsonl ---------------------------------------------------------------


def errors_path_for(out: Path) -> Path:
    """``out.jsonl`` -> ``out.errors.jsonl``; another name gets the suffix added."""
    name = out.name
    stem = name[: -len(".jsonl")] if name.endswith(".jsonl") and name != ".jsonl" else name
    return out.with_name(stem + ERRORS_SUFFIX)


def _line(record: dict[str, Any]) -> bytes:
    """One JSON line; UTF-8, or ASCII with ``\\u`` escapes if the text cannot be UTF-8
    (an unpaired surrogate the server escaped into a string)."""
    text = json.dumps(record, ensure_ascii=False, separators=(",", ":"))
    try:
        return text.encode("utf-8") + b"\n"
    except UnicodeEncodeError:
        return json.dumps(record, separators=(",", ":")).encode("ascii") + b"\n"


def _append(fd: int, line: bytes) -> None:
    """Write ``line`` with one ``os.write`` on an ``O_APPEND`` fd: the whole line or, when the
    disk is full, nothing (a short write is cut off again) and an OSError."""
    written = os.write(fd, line)
    if written != len(line):
        with contextlib.suppress(OSError):
            os.ftruncate(fd, os.lseek(fd, 0, os.SEEK_END) - written)
        raise OSError(errno.ENOSPC, f"wrote {written} of {len(line)} bytes (is the disk full?)")


def _cut_torn_line(fd: int) -> int:
    """Truncate the file to just after its last newline; returns the bytes cut."""
    size = os.fstat(fd).st_size
    end = size
    while end > 0:
        start = max(0, end - TAIL_CHUNK)
        chunk = os.pread(fd, end - start, start)
        newline = chunk.rfind(b"\n")
        if newline >= 0:
            keep = start + newline + 1
            break
        end = start
    else:
        keep = 0
    if keep < size:
        os.ftruncate(fd, keep)
    return size - keep


class ExportFile:
    """OUT, opened for appending whole lines, with the ids it already holds.

    Opening it reads the ids already exported (``done``), then cuts a torn last line
    (``torn_bytes``), and removes the errors file of an earlier run. A file that is not an
    export is refused (``InvalidArgumentError``) before anything in it changes; OSError when
    it cannot be opened.
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        self.errors_path = errors_path_for(path)
        flags = os.O_RDWR | os.O_CREAT | os.O_APPEND | getattr(os, "O_CLOEXEC", 0)
        self._fd = os.open(path, flags, 0o644)
        self._errors_fd: int | None = None
        try:
            if not stat.S_ISREG(os.fstat(self._fd).st_mode):
                raise InvalidArgumentError(
                    f"--out {str(path)!r} is not a regular file; the export appends to a file "
                    "and reads it back to resume"
                )
            self.done = self._read_done()
            self.torn_bytes = _cut_torn_line(self._fd)
            with contextlib.suppress(FileNotFoundError):
                os.unlink(self.errors_path)
        except BaseException:
            os.close(self._fd)
            raise

    def _read_done(self) -> set[str]:
        """The ids of OUT's whole lines (a last line without its newline is torn: skipped)."""
        done: set[str] = set()
        with open(self._fd, "rb", closefd=False) as file:
            file.seek(0)
            for number, raw in enumerate(file, start=1):
                if not raw.endswith(b"\n"):
                    break
                try:
                    record = json.loads(raw)
                except (ValueError, RecursionError):
                    record = None
                invoice_id = record.get("id") if isinstance(record, dict) else None
                if not isinstance(invoice_id, str):
                    raise InvalidArgumentError(
                        f"line {number} of --out {str(self.path)!r} is not an exported invoice; "
                        "--out must be a file this command wrote (to resume) or a new one"
                    )
                done.add(invoice_id)
        return done

    def write_invoice(self, invoice: Invoice) -> None:
        _append(self._fd, _line(invoice.to_dict()))

    def write_error(self, invoice_id: str, error: MijnKlantportaalError) -> None:
        if self._errors_fd is None:
            flags = os.O_WRONLY | os.O_CREAT | os.O_APPEND | getattr(os, "O_CLOEXEC", 0)
            self._errors_fd = os.open(self.errors_path, flags, 0o644)
        _append(self._errors_fd, _line(error_record(invoice_id, error)))

    def close(self) -> None:
        for fd in (self._fd, self._errors_fd):
            if fd is not None:
                with contextlib.suppress(OSError):
                    os.close(fd)
        self._errors_fd = None

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()


def error_record(invoice_id: str, error: MijnKlantportaalError) -> dict[str, Any]:
    """``{"id", "error", "status", "message"}``: the message on one line, terminal-safe and
    at most ``MAX_ERROR_MESSAGE`` characters."""
    from mijnklantportaal.cli import terminal_safe

    message = terminal_safe(" ".join(str(error).split()))
    if len(message) > MAX_ERROR_MESSAGE:
        message = message[: MAX_ERROR_MESSAGE - 3] + "..."
    status = getattr(error, "status_code", None)
    return {
        "id": invoice_id,
        "error": type(error).__name__,
        "status": status if isinstance(status, int) else None,
        "message": message,
    }


# -- progress -------------------------------------------------------------------------------


class LogCounts(logging.Handler):
    """Counts, from the client's records on the ``mijnklantportaal`` logger, the retries
    (``mijnklantportaal_retry_delay``), the 429s among them (``mijnklantportaal_retry_status``)
    and the waits for the rate budget (``mijnklantportaal_budget_wait``, seconds; from
    ``LOG_BUDGET_WAITS_FROM`` up, a start that was free at once is no wait)."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.retries = 0
        self.rate_limited = 0
        self.budget_waits = 0

    def emit(self, record: logging.LogRecord) -> None:
        if _is_number(getattr(record, "mijnklantportaal_retry_delay", None)):
            self.retries += 1
            if getattr(record, "mijnklantportaal_retry_status", None) == 429:
                self.rate_limited += 1
        waited = getattr(record, "mijnklantportaal_budget_wait", None)
        if _is_number(waited) and waited >= LOG_BUDGET_WAITS_FROM:
            self.budget_waits += 1

    @contextlib.contextmanager
    def attached(self) -> Iterator[Self]:
        """Listen while active; the logger's level goes down to INFO meanwhile if needed."""
        logger = logging.getLogger(_LOGGER)
        level = logger.level
        logger.addHandler(self)
        if not logger.isEnabledFor(logging.INFO):
            logger.setLevel(logging.INFO)
        try:
            yield self
        finally:
            logger.removeHandler(self)
            logger.setLevel(level)


def _is_number(value: object) -> TypeGuard[float]:
    return isinstance(value, int | float) and not isinstance(value, bool)


class _Bar(Protocol):
    def update(self, n: int = 1) -> bool | None: ...
    def set_postfix_str(self, s: str = "", refresh: bool = True) -> None: ...
    def refresh(self) -> None: ...
    def close(self) -> None: ...


@attrs.define
class Progress:
    """What the export has done, shown on ``stream`` as a bar, periodic lines or nothing.

    ``advance`` is called for each id from the export's thread; a ticker thread redraws
    while calls wait (a long wait for the rate budget must not look like a hang).
    """

    mode: ProgressMode
    stream: IO[str]
    total: int  # unique ids in the ids file
    already: int  # of those, in OUT before this run
    counts: LogCounts = attrs.field(factory=LogCounts)
    exported: int = 0
    failed: int = 0
    started: float = attrs.field(factory=time.monotonic)
    _lock: threading.Lock = attrs.field(factory=threading.Lock)
    _bar: _Bar | None = None
    _stop: threading.Event = attrs.field(factory=threading.Event)
    _ticker: threading.Thread | None = None
    _next_line: float = 0.0

    def __enter__(self) -> Self:
        self.started = time.monotonic()
        self._next_line = self.started + PROGRESS_INTERVAL
        if self.mode == "bar":
            from tqdm import tqdm  # type: ignore[import-untyped]  # only when a bar is shown

            self._bar = tqdm(
                total=self.total,
                initial=self.already,
                file=self.stream,
                unit="inv",
                desc="export",
                dynamic_ncols=True,
                smoothing=0.1,
                postfix=self._postfix(),
            )
        if self.mode != "off":
            self._ticker = threading.Thread(
                target=self._tick, name="mijnklantportaal-progress", daemon=True
            )
            self._ticker.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._stop.set()
        if self._ticker is not None:
            self._ticker.join()
        with self._lock:
            if self._bar is not None:
                self._set_postfix()
                self._bar.close()
            elif self.mode == "lines":
                self._print(self.line())

    def advance(self, ok: bool) -> None:
        with self._lock:
            if ok:
                self.exported += 1
            else:
                self.failed += 1
            if self._bar is not None:
                self._set_postfix()
                self._bar.update(1)
            elif self.mode == "lines" and time.monotonic() >= self._next_line:
                self._print(self.line())

    def _tick(self) -> None:
        while not self._stop.wait(BAR_REFRESH_INTERVAL):
            with self._lock:
                if self._bar is not None:
                    self._set_postfix()
                    self._bar.refresh()
                elif time.monotonic() >= self._next_line:
                    self._print(self.line())

    def _set_postfix(self) -> None:
        assert self._bar is not None
        self._bar.set_postfix_str(self._postfix(), refresh=False)

    def _postfix(self) -> str:
        counts = self.counts
        return (
            f"{self.failed} failed, {counts.budget_waits} budget waits, {counts.rate_limited} x 429"
        )

    def _print(self, line: str) -> None:
        self._next_line = time.monotonic() + PROGRESS_INTERVAL
        with contextlib.suppress(OSError, ValueError):
            self.stream.write(line + "\n")
            self.stream.flush()

    def line(self) -> str:
        """``exported 120/5000 (3 failed), 0.9/s, ETA 1h31m`` and the waits and 429s seen."""
        elapsed = max(time.monotonic() - self.started, 1e-9)
        processed = self.exported + self.failed
        rate = processed / elapsed
        remaining = self.total - self.already - processed
        eta = "-" if remaining <= 0 else (_duration(remaining / rate) if rate > 0 else "?")
        text = (
            f"exported {self.already + self.exported}/{self.total} ({self.failed} failed), "
            f"{rate:.1f}/s, ETA {eta}"
        )
        if self.counts.budget_waits:
            text += f", {self.counts.budget_waits} budget waits"
        if self.counts.rate_limited:
            text += f", {self.counts.rate_limited} x 429"
        return text


def _duration(seconds: float) -> str:
    if not math.isfinite(seconds):
        return "?"
    whole = math.ceil(seconds)
    if whole < 60:
        return f"{whole}s"
    if whole < 3600:
        return f"{whole // 60}m{whole % 60:02d}s"
    return f"{whole // 3600}h{whole % 3600 // 60:02d}m"


# -- the export -------------------------------------------------------------------------------


@attrs.frozen
class ExportResult:
    total: int  # unique ids in the ids file
    already: int  # in OUT before this run
    exported: int  # written to OUT by this run
    failed: int  # written to the errors file by this run
    interrupted: bool  # Ctrl+C (or SIGTERM) stopped the run; what was written is whole


def run_export(
    fetch: BulkFetch, ids: Sequence[str], target: ExportFile, progress: Progress
) -> ExportResult:
    """Fetch each of ``ids`` not yet in ``target`` through ``fetch`` and write it to
    ``target`` (invoices) or its errors file (failures), showing ``progress``.

    Ctrl+C ends the run with ``interrupted=True``; lines written stay whole. An error in
    ``FATAL_ERRORS`` (401) is raised at once; OSError when a file cannot be written.
    """
    todo = (invoice_id for invoice_id in ids if invoice_id not in target.done)
    interrupted = False
    with progress.counts.attached(), progress:
        results = fetch(todo)
        try:
            for invoice_id, result in results:
                if isinstance(result, MijnKlantportaalError):
                    if isinstance(result, FATAL_ERRORS):
                        raise result
                    target.write_error(invoice_id, result)
                    progress.advance(ok=False)
                else:
                    target.write_invoice(result)
                    progress.advance(ok=True)
        except KeyboardInterrupt:
            interrupted = True
        finally:
            close = getattr(results, "close", None)
            if close is not None:
                close()
    return ExportResult(
        total=progress.total,
        already=progress.already,
        exported=progress.exported,
        failed=progress.failed,
        interrupted=interrupted,
    )
