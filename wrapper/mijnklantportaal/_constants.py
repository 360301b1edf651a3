"""Every number that tunes the client's behaviour, in one place."""

from __future__ import annotations

import httpx

DEFAULT_BASE_URL = "https://api.mijnklantportaal.nl/v1"

API_KEY_ENV = "MIJNKLANTPORTAAL_API_KEY"
BASE_URL_ENV = "MIJNKLANTPORTAAL_BASE_URL"
LOG_ENV = "MIJNKLANTPORTAAL_LOG"

# The generated client waits forever by default; a service must never hang on one call.
DEFAULT_TIMEOUT = httpx.Timeout(30.0, connect=5.0)
DEFAULT_CONNECTION_LIMITS = httpx.Limits(max_connections=100, max_keepalive_connections=20)

DEFAULT_MAX_RETRIES = 2
# Exponential backoff: 0.5 s, 1 s, 2 s, ... capped at 8 s, each less up to 25 % jitter.
INITIAL_RETRY_DELAY = 0.5
MAX_RETRY_DELAY = 8.0
RETRY_JITTER = 0.25
# The API's limit is per minute on a rolling window, so a longer wait than this is not a
# hiccup to sit out: the caller gets RateLimitError at once and decides.
MAX_RETRY_AFTER = 60.0

RETRYABLE_STATUS_CODES = frozenset({408, 409, 429})  # and every status >= 500
IDEMPOTENT_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "PUT", "DELETE"})
# POST and PATCH are re-sent only when the server cannot have acted on them (a connection
# that failed before sending, a 429), unless they carry an Idempotency-Key.

# A response body larger than this is refused unread (a 5,000-line invoice is ~0.9 MB). It
# holds on the decoded body: a gzip body is inflated in bounded steps and refused once its
# inflated size passes this, however small it was on the wire.
MAX_RESPONSE_BYTES = 64 * 2**20
# The only Content-Encodings asked for (and decoded, bounded, by the transport): brotli and
# zstd are never requested, so a body in them is refused rather than decoded unbounded.
ACCEPT_ENCODING = "gzip, deflate"
# Most bytes one zlib call may inflate: memory then peaks at the cap plus this.
INFLATE_STEP_BYTES = 2**20

# Deepest nesting accepted where the API's shape does not fix the depth (unknown fields,
# error bodies). Real bodies are 3 levels deep; beyond a few hundred levels to_dict(),
# pickle and deepcopy run out of Python's recursion limit.
MAX_JSON_DEPTH = 64

# Longest accepted timeout, per component. An API call waiting an hour is a hang, and far
# larger values overflow the platform's timers (1e10 s raises OverflowError in the socket
# layer, 2**31 s times out at once).
MAX_TIMEOUT = 3600.0

# Longest resource id accepted before a request is sent; real ids are ~20 characters.
MAX_ID_LENGTH = 128

# Headers that may carry a request id, first match wins.
REQUEST_ID_HEADERS = ("x-request-id", "request-id", "x-correlation-id", "cf-ray")

# The rate budget (``_budget``): at most this many requests start in any rolling window,
# as the API counts them (60 per minute per key).
DEFAULT_RATE_LIMIT = 60
DEFAULT_RATE_WINDOW = 60.0
# The longest a call waits for the budget before it raises RateLimitError, nothing sent.
DEFAULT_MAX_RATE_WAIT = 60.0
# Bulk work (get_many, export, priority="bulk") leaves this share of each window free for
# interactive calls: bulk may start floor(limit * (1 - BULK_RESERVE)) per window.
BULK_RESERVE = 0.2
# RedisRateBudget: keys live under this prefix, then a hash of the key id.
REDIS_RATE_PREFIX = "mijnklantportaal:rate:"
# A Redis call (connect or reply) that takes longer than this counts as Redis being down.
REDIS_SOCKET_TIMEOUT = 0.5
# While Redis is down, calls use the in-process budget and try Redis again this often.
REDIS_RETRY_INTERVAL = 2.0
# The budget spaces starts a little more than the window apart: requests reach the server
# after a varying network delay, and a start exactly one window after another may arrive
# just inside it.
RATE_SAFETY_MARGIN = 0.05

# The largest settings a budget takes. Beyond them the numbers derived from the settings
# (window plus margin, the Redis budget's microseconds, a refusal's retry_after) stop being
# finite or meaningful, so a budget refuses them with ConfigurationError. The window is the
# API's minute; an hour is the longest a budget makes sense for (and the longest a call waits).
MAX_RATE_LIMIT = 1_000_000
MAX_RATE_WINDOW = 3600.0
MAX_RATE_SAFETY_MARGIN = 60.0
# ``x-ratelimit-reset`` more than the budget's window plus RESET_SLACK ahead, or more than
# MAX_RESET_AHEAD ahead whatever the window, is implausible (typically epoch milliseconds
# read as seconds, or a wrong clock) and treated as no reset: it would block the key for
# years. The slack allows for the server's and the client's clocks disagreeing a little.
RESET_SLACK = 300.0
MAX_RESET_AHEAD = 3600.0

# A wait for the rate budget shorter than this is scheduling noise, not worth a log line.
LOG_BUDGET_WAITS_FROM = 0.01

# -- bulk fetch (``_bulk``) and export (``_export``, ``mijnklantportaal invoices export``) --

# The most calls a bulk fetch runs at once; more only queues behind the rate budget.
MAX_CONCURRENCY = 64
# Calls at once for ``invoices export`` unless --concurrency says otherwise.
DEFAULT_EXPORT_CONCURRENCY = 4
# Ids a bulk fetch holds at once, as a multiple of ``concurrency``: the calls in flight
# plus as many queued or finished behind a slow id at the head of the stream.
BULK_LOOKAHEAD_FACTOR = 2
# Plain export progress lines (stderr not a terminal) come this often, and once at the end.
PROGRESS_INTERVAL = 5.0
# The export's bar is redrawn (and a due plain line printed) at least this often, so that
# elapsed time and ETA move while every call waits for the rate budget.
BAR_REFRESH_INTERVAL = 1.0
# An error message in OUT.errors.jsonl is cut to this many characters.
MAX_ERROR_MESSAGE = 500
# ``invoices export --rate-window`` above this is a mistake on the command line (the API's
# window is a minute).
MAX_EXPORT_RATE_WINDOW = 3600.0

MAX_FIELD_ERRORS = 50
"""Fields of a 422's ``errors`` object kept on ``UnprocessableEntityError.errors``."""
MAX_FIELD_MESSAGES = 5
"""Messages kept per field of a 422's ``errors`` object."""

# Bucket bounds (seconds) of the telemetry histograms (call duration, rate-budget wait): the
# HTTP semantic conventions' advice, then longer ones, since a call may wait for the budget
# up to max_rate_wait.
TELEMETRY_BUCKETS = (
    0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1.0, 2.5, 5.0, 7.5, 10.0,
    30.0, 60.0, 120.0,
)  # fmt: skip
