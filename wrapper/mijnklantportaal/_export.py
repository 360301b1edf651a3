"""``mijnklantportaal <resource> export``: ids in (or a list walked page by page), one JSON
line per record out, for any resource (``invoices export``, ``drill-tickets export --all``).

What it promises, and how:

- **Whole lines only.** Each line (the model's ``to_dict()``: the API's field names, money as
  strings; a record whose schema has no ``id`` gets the id it was fetched by) is written with
  one ``os.write`` on a file opened with ``O_APPEND``, so Ctrl+C or ``kill -9`` can only
  leave whole lines. A torn last line (a full disk, a crash of an older
  writer) is cut off when the next run opens the file.
- **Resumable.** A run first reads the ids already in OUT (streaming through it, keeping
  only the set of ids) and fetches only the others; duplicates in the ids file are fetched
  once. At most the lines in flight when a run was killed are missing; the rerun fetches them.
- **Only its own files.** OUT is recognised as this command's when each whole line is a JSON
  object with a string ``id`` and a last line without its newline is the start of one; the
  errors file likewise (a string ``error`` too). Anything else is refused before either
  file changes: the torn-line cut and the errors file's removal touch only this command's.
- **One run per OUT.** An exclusive ``flock`` on OUT, held until the run ends: a second
  export to the same OUT is refused (``OSError``), so no line is written twice.
- **Failures on the side.** An id that fails (404, a malformed id, 429 after the retries) is
  one line in ``OUT.errors.jsonl`` (``out.jsonl`` -> ``out.errors.jsonl``) with the error's
  type, status and a bounded, terminal-safe message; it is not in OUT, so a rerun tries it
  again. That file holds the failures of the latest run only: it is removed when a run
  starts and written on the first failure. A 401 stops the export at once (every other
  call would fail the same way).
- **Progress on stderr.** A tqdm bar when stderr is a terminal (done/total, rate, ETA,
  failures, rate-budget waits and 429s), else a plain line every ``PROGRESS_INTERVAL``
  seconds and at the end. Waits and 429s are counted from the client's log records.

``run_export`` takes the bulk fetch as a callable ``ids -> (id, model | error)`` pairs: the
command passes the resource's bulk get (``client.invoices.get_many``).

``run_page_export`` (``--all``) walks a page list instead (``client.drill_tickets.list``),
resumable by page: after each page's lines are written, ``OUT.pages.json`` (``PageState``)
records the page to go on from, the lines OUT then holds and the filters the walk was started
with. A rerun goes on from that page, and writes no item whose id is already in OUT, so a page
cut short by Ctrl+C is fetched again without a line written twice. The file is this command's
(refused otherwise, as OUT is), and a rerun with other filters, or against an OUT holding fewer
lines than the file records, is refused: it would leave a gap.
"""

from __future__ import annotations

import codecs
import contextlib
import errno
import fcntl
import json
import logging
import math
import os
import re
import stat
import sys
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from pathlib import Path
from types import TracebackType
from typing import IO, Any, Literal, Protocol, Self, TypeGuard

import attrs

from mijnklantportaal._constants import (
    BAR_REFRESH_INTERVAL,
    LOG_BUDGET_WAITS_FROM,
    MAX_ERROR_MESSAGE,
    PROGRESS_INTERVAL,
)
from mijnklantportaal._exceptions import (
    AuthenticationError,
    InvalidArgumentError,
    MijnKlantportaalError,
)
from mijnklantportaal._pagination import PageData
from mijnklantportaal._text import PROG, terminal_safe

__all__ = [
    "ExportFile",
    "ExportResult",
    "PageState",
    "Progress",
    "Record",
    "errors_path_for",
    "pages_path_for",
    "read_ids",
    "run_export",
    "run_page_export",
]


class Record(Protocol):
    """What an export writes: a model (any generated one) as the API's JSON shape."""

    def to_dict(self) -> dict[str, Any]: ...


class Page(Protocol):
    """One page of a list, as a generated list method returns it (``SyncPage``)."""

    @property
    def data(self) -> tuple[Any, ...]: ...

    @property
    def current_page(self) -> int: ...

    @property
    def page_data(self) -> PageData[Any]: ...

    def next_page(self) -> Page | None: ...


BulkFetch = Callable[[Iterable[str]], Iterator[tuple[str, "Record | MijnKlantportaalError"]]]
PageFetch = Callable[[int], Page]
ProgressMode = Literal["bar", "lines", "off"]

ERRORS_SUFFIX = ".errors.jsonl"
PAGES_SUFFIX = ".pages.json"
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
                        "it must hold one id per line"
                    ) from None
                record_id = line.strip()
                if record_id and not record_id.startswith("#"):
                    unique[record_id] = None
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
    return _beside(out, ERRORS_SUFFIX)


def pages_path_for(out: Path) -> Path:
    """``out.jsonl`` -> ``out.pages.json``: where ``--all`` records the pages done."""
    return _beside(out, PAGES_SUFFIX)


def _beside(out: Path, suffix: str) -> Path:
    name = out.name
    stem = name[: -len(".jsonl")] if name.endswith(".jsonl") and name != ".jsonl" else name
    return out.with_name(stem + suffix)


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


# What a line of OUT is, and what a line of OUT.errors.jsonl is: a JSON object with these
# string fields. Together with the rule for a torn last line (``_may_be_torn``) this is how a
# file is recognised as this command's; any other file is refused, never changed.
_OUT_FIELDS = ("id",)
_ERRORS_FIELDS = ("id", "error")
# Every line this command writes starts so (``json.dumps`` of a dict with keys), and holds no
# raw control character: ``json.dumps`` escapes them, and the newline ends it.
_LINE_START = b'{"'
_CONTROL = re.compile(rb"[\x00-\x1f]")


def _record(raw: bytes, fields: tuple[str, ...]) -> dict[str, Any] | None:
    """``raw`` as a JSON object with a string at each of ``fields``, or None."""
    try:
        record = json.loads(raw)
    except (ValueError, RecursionError):
        return None
    return record if _has_fields(record, fields) else None


def _has_fields(record: object, fields: tuple[str, ...]) -> TypeGuard[dict[str, Any]]:
    return isinstance(record, dict) and all(isinstance(record.get(f), str) for f in fields)


def _may_be_torn(tail: bytes, fields: tuple[str, ...]) -> bool:
    """Whether ``tail``, a last line without its newline, can be what an interrupted write of
    this command left: the start of one of its lines (``{"``, UTF-8, no raw control
    character, not a whole JSON value with more after it), or a whole line that lost only its
    newline. Anything else is not ours."""
    if not (_LINE_START.startswith(tail) or tail.startswith(_LINE_START)):
        return False
    if _CONTROL.search(tail):
        return False
    try:  # final=False: a character cut in two at the end is what a torn write leaves
        text = codecs.getincrementaldecoder("utf-8")().decode(tail, final=False)
    except UnicodeDecodeError:
        return False
    try:
        value, end = json.JSONDecoder().raw_decode(text)
    except RecursionError:
        return False  # nothing this command writes nests that deep
    except ValueError:
        return True  # cut short
    return end == len(text) and _has_fields(value, fields)  # whole: it must be one of ours


class _NotOurs(Exception):
    """A line of a file that this command did not write (its number and whether it is the
    unfinished last one)."""

    def __init__(self, number: int, last: bool) -> None:
        super().__init__(number, last)
        self.number = number
        self.last = last

    def where(self) -> str:
        if self.last:
            return f"its last line (line {self.number}, which has no final newline)"
        return f"line {self.number}"


def _scan(file: IO[bytes], fields: tuple[str, ...]) -> tuple[list[str], int]:
    """The ids of ``file``'s whole lines and where its torn last line starts (its size when
    there is none). ``_NotOurs`` at the first line that is neither."""
    ids: list[str] = []
    whole = 0
    file.seek(0)
    head = file.read(len(_LINE_START))
    if head and not _LINE_START.startswith(head):
        raise _NotOurs(1, last=False)  # at once: a big binary file is not read as one line
    file.seek(0)
    for number, raw in enumerate(file, start=1):
        if not raw.endswith(b"\n"):
            if not _may_be_torn(raw, fields):
                raise _NotOurs(number, last=True)
            break
        record = _record(raw, fields)
        if record is None:
            raise _NotOurs(number, last=False)
        ids.append(record["id"])
        whole += len(raw)
    return ids, whole


def _lock(fd: int) -> None:
    """Hold an exclusive ``flock`` on OUT until its fd is closed (the end of the run, or of
    the process): a second export to the same OUT would write every line again."""
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        raise OSError(
            errno.EWOULDBLOCK,
            "another export is writing to it now; wait for that run to end, or give another "
            "--out (it is left unchanged)",
        ) from None


class ExportFile:
    """OUT, opened for appending whole lines, with the ids it already holds.

    Opening it checks that the errors file is one this command wrote, takes OUT's lock
    (``OSError`` while another export holds it), reads the ids already exported (``done``),
    then cuts a torn last line off OUT (``torn_bytes``) and removes the errors file. OUT is this
    command's when each whole line is a JSON object with a string ``id`` and a last line
    without its newline is the start of one (``_may_be_torn``); the errors file when each
    line also has a string ``error``. Anything else is refused (``InvalidArgumentError``)
    before either file changes. An empty or missing file is a new one; OSError when a file
    cannot be opened.
    """

    def __init__(self, path: Path, what: str = "record") -> None:
        self.path = path
        self.what = what
        self.errors_path = errors_path_for(path)
        # Read-only, so first: a refusal then creates no OUT. (A concurrent export, which
        # the lock below refuses, writes only lines that pass this check.)
        self._check_errors_file()
        flags = os.O_RDWR | os.O_CREAT | os.O_APPEND | getattr(os, "O_CLOEXEC", 0)
        self._fd = os.open(path, flags, 0o644)
        self._errors_fd: int | None = None
        try:
            if not stat.S_ISREG(os.fstat(self._fd).st_mode):
                raise InvalidArgumentError(
                    f"--out {str(path)!r} is not a regular file; the export appends to a file "
                    "and reads it back to resume"
                )
            _lock(self._fd)
            self.done, whole = self._read_done()
            self.torn_bytes = os.fstat(self._fd).st_size - whole
            if self.torn_bytes:
                os.ftruncate(self._fd, whole)
            with contextlib.suppress(FileNotFoundError):
                os.unlink(self.errors_path)
        except BaseException:
            os.close(self._fd)  # which also lets go of the lock
            raise

    def _read_done(self) -> tuple[set[str], int]:
        """The ids of OUT's whole lines, and the length of those lines."""
        with open(self._fd, "rb", closefd=False) as file:
            try:
                ids, whole = _scan(file, _OUT_FIELDS)
            except _NotOurs as line:
                raise InvalidArgumentError(
                    f"--out {str(self.path)!r} is not an export of this command: "
                    f"{line.where()} is not an exported {self.what}. It is left unchanged; give "
                    "--out a file this command wrote (to resume it) or a new one"
                ) from None
        return set(ids), whole

    def _check_errors_file(self) -> None:
        """Refuse an errors file this command did not write: each run replaces it."""
        try:  # O_NONBLOCK: opening a FIFO there must not wait for a writer
            fd = os.open(
                self.errors_path, os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0)
            )
        except FileNotFoundError:
            return
        with open(fd, "rb") as file:
            if not stat.S_ISREG(os.fstat(file.fileno()).st_mode):
                raise InvalidArgumentError(
                    f"{str(self.errors_path)!r}, where this export writes its failures, is "
                    "not a regular file. It is left unchanged; move it away or give another --out"
                )
            try:
                _scan(file, _ERRORS_FIELDS)
            except _NotOurs as line:
                raise InvalidArgumentError(
                    f"{str(self.errors_path)!r}, which this export replaces with its failures, "
                    f"is not an errors file of this command: {line.where()} is not one of its "
                    "lines. It and --out are left unchanged; move it away or give another --out"
                ) from None

    def write_record(self, record: Record, record_id: str | None = None) -> bool:
        """Append ``record`` (its ``to_dict()``) unless its id is in OUT already; whether it
        was written. A record without a string ``id`` gets ``record_id``, the id it was
        fetched by, as its first field (every line of OUT names its id)."""
        line = record.to_dict()
        found = line.get("id")
        if not isinstance(found, str):
            if record_id is None:
                raise InvalidArgumentError(
                    f"an exported {self.what} has no id to resume by; nothing was written"
                )
            line = {"id": record_id, **line}
            found = record_id
        if found in self.done:
            return False
        _append(self._fd, _line(line))
        self.done.add(found)
        return True

    def write_error(self, record_id: str, error: MijnKlantportaalError) -> None:
        if self._errors_fd is None:
            flags = os.O_WRONLY | os.O_CREAT | os.O_APPEND | getattr(os, "O_CLOEXEC", 0)
            self._errors_fd = os.open(self.errors_path, flags, 0o644)
        _append(self._errors_fd, _line(error_record(record_id, error)))

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


def error_record(record_id: str, error: MijnKlantportaalError) -> dict[str, Any]:
    """``{"id", "error", "status", "message"}``: the message on one line, terminal-safe and
    at most ``MAX_ERROR_MESSAGE`` characters."""
    message = terminal_safe(" ".join(str(error).split()))
    if len(message) > MAX_ERROR_MESSAGE:
        message = message[: MAX_ERROR_MESSAGE - 3] + "..."
    status = getattr(error, "status_code", None)
    return {
        "id": record_id,
        "error": type(error).__name__,
        "status": status if isinstance(status, int) else None,
        "message": message,
    }


# -- progress -------------------------------------------------------------------------------


class LogCounts(logging.Handler):
    """Counts, from the client's records on the ``mijnklantportaal`` logger, the retries
    (``mijnklantportaal_retry_delay``), the 429s among them (``mijnklantportaal_retry_status``)
    and the waits for the rate budget (``mijnklantportaal_budget_wait``, seconds; from
    ``LOG_BUDGET_WAITS_FROM`` up, a start that was free at once is no wait).

    A WARNING or worse (such as the Redis budget falling back to the in-process one) goes to
    ``on_warning`` when no other handler would show it: this handler being there keeps
    logging's last-resort output to stderr from doing so.
    """

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.retries = 0
        self.rate_limited = 0
        self.budget_waits = 0
        self.on_warning: Callable[[str], None] | None = None
        self._echo_warnings = False

    def emit(self, record: logging.LogRecord) -> None:
        if _is_number(getattr(record, "mijnklantportaal_retry_delay", None)):
            self.retries += 1
            if getattr(record, "mijnklantportaal_retry_status", None) == 429:
                self.rate_limited += 1
        waited = getattr(record, "mijnklantportaal_budget_wait", None)
        if _is_number(waited) and waited >= LOG_BUDGET_WAITS_FROM:
            self.budget_waits += 1
        if record.levelno >= logging.WARNING and self._echo_warnings and self.on_warning:
            self.on_warning(record.getMessage())

    @contextlib.contextmanager
    def attached(self) -> Iterator[Self]:
        """Listen while active; the logger's level goes down to INFO meanwhile if needed."""
        logger = logging.getLogger(_LOGGER)
        level = logger.level
        self._echo_warnings = not logger.hasHandlers()
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
    def clear(self) -> None: ...
    def close(self) -> None: ...


@attrs.define
class Progress:
    """What the export has done, shown on ``stream`` as a bar, periodic lines or nothing.

    ``advance`` is called for each id from the export's thread; a ticker thread redraws
    while calls wait (a long wait for the rate budget must not look like a hang). The
    client's warnings are printed above the bar (``warn``), whatever the mode.
    """

    mode: ProgressMode
    stream: IO[str]
    total: int | None  # unique ids in the ids file; None for a list walked page by page
    already: int  # of those, in OUT before this run
    unit: str = " records"  # what the bar counts (`` invoices``)
    page: int | None = None  # the page being written, for a list walked page by page
    counts: LogCounts = attrs.field(factory=LogCounts)
    exported: int = 0
    failed: int = 0
    started: float = attrs.field(factory=time.monotonic)
    _lock: threading.Lock = attrs.field(factory=threading.Lock)
    _bar: _Bar | None = None
    _stop: threading.Event = attrs.field(factory=threading.Event)
    _ticker: threading.Thread | None = None
    _next_line: float = 0.0

    def __attrs_post_init__(self) -> None:
        self.counts.on_warning = self.warn

    def __enter__(self) -> Self:
        self.started = time.monotonic()
        self._next_line = self.started + PROGRESS_INTERVAL
        if self.mode == "bar":
            from tqdm import tqdm  # type: ignore[import-untyped]  # only when a bar is shown

            self._bar = tqdm(
                total=self.total,
                initial=self.already,
                file=self.stream,
                unit=self.unit,
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

    def warn(self, message: str) -> None:
        """``mijnklantportaal: warning: ...`` on one terminal-safe line, above the bar."""
        line = f"{PROG}: warning: {terminal_safe(' '.join(message.split()))}\n"
        with self._lock, contextlib.suppress(OSError, ValueError):
            if self._bar is not None:
                self._bar.clear()
            self.stream.write(line)
            self.stream.flush()
            if self._bar is not None:
                self._bar.refresh()

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
        """``exported 120/5000 (3 failed), 0.9/s, ETA 1h31m`` and the waits and 429s seen;
        for a list walked page by page ``exported 45, 3.1/s, page 3``."""
        elapsed = max(time.monotonic() - self.started, 1e-9)
        processed = self.exported + self.failed
        rate = processed / elapsed
        if self.total is None:
            text = f"exported {self.already + self.exported}, {rate:.1f}/s"
            if self.page is not None:
                text += f", page {self.page}"
        else:
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
    total: int | None  # unique ids in the ids file; None for a list walked page by page
    already: int  # in OUT before this run
    exported: int  # written to OUT by this run
    failed: int  # written to the errors file by this run
    interrupted: bool  # Ctrl+C (or SIGTERM) stopped the run; what was written is whole


def run_export(
    fetch: BulkFetch, ids: Sequence[str], target: ExportFile, progress: Progress
) -> ExportResult:
    """Fetch each of ``ids`` not yet in ``target`` through ``fetch`` and write it to
    ``target`` (the records) or its errors file (failures), showing ``progress``.

    Ctrl+C ends the run with ``interrupted=True``; lines written stay whole. An error in
    ``FATAL_ERRORS`` (401) is raised at once; OSError when a file cannot be written.
    """
    todo = (record_id for record_id in ids if record_id not in target.done)
    interrupted = False
    with progress.counts.attached(), progress:
        results = fetch(todo)
        try:
            for record_id, result in results:
                if isinstance(result, MijnKlantportaalError):
                    if isinstance(result, FATAL_ERRORS):
                        raise result
                    target.write_error(record_id, result)
                    progress.advance(ok=False)
                else:
                    target.write_record(result, record_id)
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


# -- a list walked page by page (``--all``) --------------------------------------------------


@attrs.define
class PageState:
    """Where ``--all`` goes on from: ``OUT.pages.json``, next to OUT.

    ``{"export": "pages", "operation": ..., "filters": {...}, "next_page": 3, "lines": 30}``:
    the list operation and the filters the walk was started with, the page after the last one
    whose items are all in OUT (None: the walk finished), and how many records OUT held then.
    Written whole after each page (a new file, then renamed over the old one), while OUT's
    lock is held.
    """

    path: Path
    operation: str
    filters: dict[str, Any]
    next_page: int | None = 1
    lines: int = 0

    @classmethod
    def read(cls, out: Path, operation: str, filters: Mapping[str, Any]) -> PageState:
        """The walk recorded for ``out`` (a new one, at page 1, when there is none). Refused
        (``InvalidArgumentError``, the file left as it is): a file this command did not write,
        and one of another list or of other filters."""
        path = pages_path_for(out)
        shown = repr(str(path))
        try:  # O_NONBLOCK: opening a FIFO there must not wait for a writer
            fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0))
        except FileNotFoundError:
            return cls(path, operation, dict(filters))
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            os.close(fd)
            raise InvalidArgumentError(
                f"{shown}, where --all records the pages done, is not a regular file. "
                "It is left unchanged; move it away or give another --out"
            )
        with open(fd, "rb") as file:
            raw = file.read(_MAX_PAGES_FILE + 1)
        state = _page_state(raw)
        if state is None:
            raise InvalidArgumentError(
                f"{shown}, where --all records the pages done, is not a pages file of this "
                "command. It and --out are left unchanged; move it away or give another --out"
            )
        if state["operation"] != operation or state["filters"] != dict(filters):
            raise InvalidArgumentError(
                f"--out {str(out)!r} holds a walk of {terminal_safe(state['operation'])} with the "
                f"filters {terminal_safe(json.dumps(state['filters']))} ({shown}); rerun it with "
                "the same filters to go on, or give another --out"
            )
        return cls(path, operation, dict(filters), state["next_page"], state["lines"])

    def check(self, target: ExportFile) -> None:
        """Refuse an OUT that holds fewer records than this walk wrote to it: lines were taken
        out by hand, and going on from the recorded page would leave them out for good."""
        if len(target.done) < self.lines:
            raise InvalidArgumentError(
                f"--out {str(target.path)!r} holds {len(target.done)} records, but "
                f"{str(self.path)!r} says {self.lines} were written before page "
                f"{self.next_page}: lines were removed. Both are left unchanged; move "
                f"{str(self.path)!r} away to walk the list again from page 1"
            )

    def record(self, next_page: int | None, lines: int) -> None:
        """Write the file anew: the walk goes on from ``next_page`` (None: it finished)."""
        self.next_page, self.lines = next_page, lines
        data = {
            "export": "pages",
            "operation": self.operation,
            "filters": self.filters,
            "next_page": next_page,
            "lines": lines,
        }
        temporary = self.path.with_name(self.path.name + ".tmp")
        flags = os.O_WRONLY | os.O_CREAT | os.O_TRUNC | getattr(os, "O_CLOEXEC", 0)
        fd = os.open(temporary, flags, 0o644)
        try:
            _append(fd, _line(data))
            os.fsync(fd)
        finally:
            os.close(fd)
        os.replace(temporary, self.path)


# A pages file is a few hundred bytes; one much larger is not this command's.
_MAX_PAGES_FILE = 1 << 20


def _page_state(raw: bytes) -> dict[str, Any] | None:
    """The pages file's content when it is this command's, else None."""
    if len(raw) > _MAX_PAGES_FILE:
        return None
    try:
        state = json.loads(raw)
    except (ValueError, RecursionError):
        return None
    if not (
        isinstance(state, dict)
        and state.get("export") == "pages"
        and isinstance(state.get("operation"), str)
        and isinstance(state.get("filters"), dict)
        and _count(state.get("lines"), 0)
        and (state.get("next_page") is None or _count(state.get("next_page"), 1))
    ):
        return None
    return state


def _count(value: object, least: int) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= least


def run_page_export(
    fetch_page: PageFetch, target: ExportFile, state: PageState, progress: Progress
) -> ExportResult:
    """Walk the list from ``state.next_page`` (``fetch_page(number)`` gives that page, and the
    page object the ones after it), writing each item not yet in ``target``; after each page,
    ``state`` records the next. Ctrl+C ends the run with ``interrupted=True``: the lines
    written stay whole, and the page being written is walked again by the rerun. An API error
    (a page that fails after the retries, or a page list that loops) is raised; the pages
    before it stay recorded. OSError when a file cannot be written."""
    interrupted = False
    number = state.next_page
    with progress.counts.attached(), progress:
        try:
            page = None if number is None else fetch_page(number)
            while page is not None:
                progress.page = page.current_page
                for item in page.data:
                    if target.write_record(item):
                        progress.advance(ok=True)
                state.record(page.page_data.next_page_number(), len(target.done))
                page = page.next_page()
        except KeyboardInterrupt:
            interrupted = True
    return ExportResult(
        total=None,
        already=progress.already,
        exported=progress.exported,
        failed=0,
        interrupted=interrupted,
    )
