"""Run the reliability suite and write RELIABILITY.md from the figures it reports.

    .venv/bin/python tools/reliability_report.py          # whole suite, incl. the load tests

The suite (tests/reliability) counts what it tries through its ``figures`` fixture and,
when MKP_RELIABILITY_FIGURES names a file, writes the counts and every test's outcome there
as JSON; this script turns that file into the tables of RELIABILITY.md. Nothing in the
document is typed by hand except the bug descriptions below, whose status comes from
their regression tests' outcomes in the same run.

The "Redis faults" section comes from ``benchmarks/rate_budget.py --faults-only`` (worker
processes on the shared Redis budget while a real Valkey server is killed, restarted or
frozen), run after the suite; ``--no-redis-faults`` leaves it out.
"""

from __future__ import annotations

import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
OUTPUT = ROOT / "RELIABILITY.md"

# Bugs the suite found: (what, fix commit, substrings of the regression tests' node ids).
BUGS: list[tuple[str, str, list[str]]] = [
    (
        "`X-RateLimit-*` header holding a non-ASCII digit (`\\xb2`, read as `²`) crashed every "
        "response, even a 200, with a raw `ValueError` (`str.isdigit()` then `int()`)",
        "9ebea6e",
        ["rate-limit headers non-ASCII digits", "reset superscript", "superscript two"],
    ),
    (
        "`retry-after` parsed with `float()`: `1_0` was honoured as 10 s, `1e1` as 10 s; now "
        "only digits (with an optional fraction) count, the rest falls back to backoff",
        "9ebea6e",
        ["-underscore-", "-exponent-", "-hex-", "-inf-", "-1e400-"],
    ),
    (
        "`x-ratelimit-reset` already in the past (or sent as seconds) made the client retry "
        "at once, with no delay at all; it now backs off",
        "9ebea6e",
        ["reset in the past"],
    ),
    (
        "A money field sent as the JSON integer `-0` lost its sign (`Decimal('0')`, digits "
        "differ from the text)",
        "66ab7ac",
        ["test_negative_zero_keeps_its_sign", "test_money_field_is_exact_or_refused"],
    ),
    (
        "`quantity: 1E+5000` decoded to a 5001-digit int, after which `repr(invoice)` raised "
        "`ValueError` (Python's int/str digit limit); now an `APIResponseValidationError`",
        "66ab7ac",
        ["huge integral quantity"],
    ),
    (
        "A transport error with an empty message produced `... ReadError: . Check the "
        "network`; it now says `connection failed`",
        "0b2d647",
        ["test_fault_is_retried_within_budget_then_typed"],
    ),
    (
        "API error `message`, request-id header and reason phrase went verbatim into "
        "`str(error)`: an unpaired surrogate made `print(error)`/UTF-8 logging raise "
        "`UnicodeEncodeError`, newlines/ANSI/bidi characters forged log lines, a 1 MB message "
        "made a 1 MB log line; now bounded and escaped (raw body kept in `error.body`)",
        "e6c1215",
        ["test_server_text_in_errors_is_bounded_and_printable", "printable_error"],
    ),
    (
        "A server trickling the body (each read quick) held one call far past `timeout=` "
        "(~2.4 s against 0.3 s); the body is now bounded by the read timeout",
        "670ca24",
        ["test_trickling_server_is_bounded_by_the_timeout"],
    ),
    (
        "`repr()` of a client whose `__init__` raised read `self._transport` before it "
        "existed, so a traceback with locals (error trackers) of a `ConfigurationError` "
        "failed with `AttributeError`",
        "670ca24",
        ["test_repr_of_a_half_built_client_never_raises"],
    ),
    (
        "A 200 naming another invoice than the one asked for (a proxy or cache mixing "
        "responses up) was returned as if it were the requested one; now refused "
        "(`APIResponseValidationError`, field `id`)",
        "d17f106",
        ["test_answer_for_another_invoice_is_refused_not_returned"],
    ),
    (
        "Nothing bounded a response body's size: an endless 200 grew memory until the read "
        "timeout; bodies over 64 MiB are now refused as they stream in",
        "d17f106",
        ["test_endless_body_is_cut_at_the_size_cap"],
    ),
    (
        "A call on a closed client raised httpx's bare `RuntimeError`; now "
        "`ClientClosedError` (a `MijnKlantportaalError` and `RuntimeError`), nothing sent",
        "d17f106",
        ["test_call_on_a_closed_client_is_typed_and_sends_nothing"],
    ),
    (
        "Async: a server trickling the status line and headers held a call far past "
        "`timeout=` (~3.4 s against 0.3 s); the wait for the headers is now bounded by the "
        "connect + read timeout (the sync half stays open, below)",
        "0a4c678",
        ["test_trickled_headers_are_bounded_by_the_timeout[async]"],
    ),
    (
        "Issue 11.1: a gzip bomb passed the 64 MiB cap, which counted wire bytes (200 KB became "
        "200 MB; `gzip, gzip` made 732 bytes 300 MB), error bodies too; the transport now "
        "inflates gzip/deflate itself, bounded by the decoded size (peak ~66 MiB at the cap)",
        "6d6b122, e5e45cb",
        ["gzip_bomb", "encoding_not_asked_for", "corrupt_gzip", "test_encoded_bodies_decode"],
    ),
    (
        "Issue 11.2: a huge exponent (`1e9999999999999999999`) escaped as a raw "
        "`decimal.InvalidOperation`, and a 404 carrying one never became `NotFoundError`",
        "6d6b122",
        ["huge_exponent"],
    ),
    (
        "Issue 11.3: chunk extensions or trailers trickled a byte at a time held a call without "
        "bound (6 s against `timeout=0.5`); a watchdog (sync) or cancel scope (async) ends it",
        "6d6b122",
        ["test_trickled_chunk_framing_is_bounded_by_the_timeout"],
    ),
    (
        'Issue 11.4: an answer without an `id`, or with `"id": null` (`{}`, a maintenance '
        "page), was returned as the invoice asked for",
        "6d6b122",
        ["test_an_answer_without_an_id_is_refused"],
    ),
    (
        "Issue 11.5: JSON 500-990 levels deep in an unknown field was accepted, then "
        "`to_dict()`, pickle, `deepcopy` raised `RecursionError`; a deep 404 did not pickle. "
        "Now refused past 64 levels (error bodies kept as text)",
        "6d6b122",
        ["deep_nesting", "nesting_up_to_the_limit", "deep_error_body"],
    ),
    (
        "Issue 11.6: an h11 protocol error (a 90 KB bad header line, a bad chunk size) made a "
        "90,000-character `str(APIConnectionError)`; now bounded and printable",
        "6d6b122",
        ["test_protocol_error_text_is_bounded"],
    ),
    (
        "Issue 11.7: a key with `\\x0b`/`\\x0c` ended up whole in `str(APIConnectionError)`, "
        "one with a zero-width space in a raw `UnicodeEncodeError`; keys are now visible ASCII, "
        "checked at construction without showing the key",
        "6d6b122",
        ["character_no_key_has", "key_from_the_environment", "key_that_is_not_a_str"],
    ),
    (
        "Issue 11.8: `with_raw_response` kept the real key in "
        "`raw.http_response.request.headers` and in `pickle.dumps(raw)`",
        "6d6b122",
        ["test_a_raw_response_keeps_no_key"],
    ),
    (
        "Issue 11.9: with `HTTP_PROXY` set, a plain-http loopback `base_url` sent the Bearer key "
        "in clear text to the proxy; the own pool now ignores env proxies there, and a "
        "caller's `http_client` that would proxy it is refused",
        "6d6b122",
        ["env_proxies_are_not_used", "would_proxy_a_loopback_url"],
    ),
    (
        "Issue 11.10: `timeout=1e10` raised a raw `OverflowError` on every call (and left a "
        "socket unclosed), `2**31` timed out at once; timeouts above 3600 s are refused",
        "6d6b122",
        ["out_of_range_timeout", "largest_timeout_works"],
    ),
    (
        "Issue 11.15: a static mock (Prism serving the spec's example for every id) was "
        "refused with no way through; `check_response_id=False` now allows it, and the "
        "message names this case",
        "6d6b122",
        ["static_mock", "check_response_id"],
    ),
    (
        "Issue 11.16: a gzip-encoded 404/500 crashed with a raw `httpx.DecodingError` (the "
        "redaction rebuilt the response and httpx decoded it twice)",
        "6d6b122",
        ["gzip_encoded_error_body"],
    ),
    (
        'Issue 17.1: an enum value holding `"""` and Python statements landed unescaped in a generated docstring, so the statements ran when the module was imported',
        "6b3c7be",
        ["i17_1_"],
    ),
    (
        "Issue 17.2: the same with a tag name, in a resource class docstring",
        "6b3c7be",
        ["i17_2_"],
    ),
    (
        "Issue 17.3: the same with an operationId",
        "6b3c7be",
        ["i17_3_"],
    ),
    (
        "Issue 17.4: a tag starting with a digit (`2FA API`): the wrapper imported a low-level module name openapi-python-client never wrote (`ImportError`), while `generate.sh` exited 0",
        "6b3c7be",
        ["i17_4_"],
    ),
    (
        "Issue 17.5: the same mismatch with an operationId starting with an underscore (`_get-invoice`)",
        "6b3c7be",
        ["i17_5_"],
    ),
    (
        "Issue 17.6: a NUL character in a description gave a `SyntaxError` in generated code",
        "6b3c7be",
        ["i17_6_"],
    ),
    (
        "Issue 17.7: an unquoted example YAML reads as a timestamp gave a `NameError` in the generated examples",
        "6b3c7be",
        ["i17_7_"],
    ),
    (
        "Issue 17.8: tags `Rate Limit API` and `Close API` became resources that replaced `client.rate_limit` and `client.close()`",
        "6b3c7be",
        ["i17_8_"],
    ),
    (
        "Issue 17.9: collisions passed silently: a method named `get_many` or `with_raw_response`, two operations with one method name, two tags with one resource attribute",
        "6b3c7be",
        ["i17_9_"],
    ),
    (
        "Issue 17.10: a query parameter named `timeout` (a per-call option name) crashed generation with a ruff traceback",
        "6b3c7be",
        ["i17_10_"],
    ),
    (
        "Issue 17.11: a self-referencing schema (`Comment` with `replies: [Comment]`) crashed generation with a `RecursionError`",
        "6b3c7be",
        ["i17_11_"],
    ),
    (
        "Issue 17.12: `X-RateLimit-Remaining: 0` with an `x-ratelimit-reset` far in the future (epoch milliseconds read as seconds) blocked the key for years",
        "d57b215",
        ["i17_12_"],
    ),
    (
        "Issue 17.13: a 429 with `retry-after: 0` forever was re-sent without bound under a budget; the call never returned",
        "d57b215",
        ["i17_13_"],
    ),
    (
        "Issue 17.14: a 429 with `retry-after: 1` and `X-RateLimit-Remaining: 0` (no reset) made the call wait ~59 s while its log said 1.17 s: the budget's guess beat the server's word",
        "d57b215",
        ["i17_14_"],
    ),
    (
        "Issue 17.15: `max_retries=0` still waited out and re-sent a 429 under a budget",
        "d57b215",
        ["i17_15_"],
    ),
    (
        "Issue 17.16: budget settings whose derived numbers overflow (a huge window or margin) raised a raw `OverflowError`",
        "d57b215",
        ["i17_16_"],
    ),
    (
        "Issue 17.17: `invoices export --out notes.txt` on somebody's file without a final newline: the torn-line cut deleted their text",
        "1f2e6fe",
        ["i17_17_"],
    ),
    (
        "Issue 17.18: `invoices export --redis` with nothing listening: the fallback warning was never seen",
        "1f2e6fe",
        ["i17_18_"],
    ),
    (
        "Issue 17.19: a Redis answering valid RESP of the wrong shape raised raw `TypeError`/`IndexError`/`AttributeError`, and a huge wait from a reply was not clamped",
        "c8bb509",
        ["i17_19_"],
    ),
    (
        "Issue 17.20: `get_many`, `break`, `close()`: workers asleep in the budget kept the process alive ~40 s and still sent requests",
        "c8bb509, b1dc6c8",
        ["i17_20_"],
    ),
    (
        "Issue 17.21: an export stopped by a 401 while workers waited in the budget took ~40 s to exit",
        "c8bb509",
        ["i17_21_"],
    ),
    (
        "Issue 17.22: two exports of the same ids to one OUT at once wrote every line twice",
        "1f2e6fe",
        ["i17_22_"],
    ),
    (
        "Issue 17.23: when the ids source raised mid-stream, results already fetched were dropped",
        "c8bb509",
        ["i17_23_"],
    ),
    (
        "Issue 17.24: an async `RedisRateBudget` used across many `asyncio.run()` calls leaked a connection per event loop",
        "c8bb509",
        ["i17_24_"],
    ),
    (
        "Issue 17.25: the spec-change tests' mutations reused names a vendor could ship (`GET /invoices`), and failed with a confusing diff once the vendor did",
        "6b3c7be",
        ["i17_25_"],
    ),
]

CATEGORIES = [
    ("property_responses", "property-based", "Property-based responses (spec-derived Hypothesis)"),
    ("hostile_inputs", "hostile input", "Bad inputs: ids, bodies, statuses, headers"),
    ("faults_loopback", "loopback faults", "Faults over real loopback HTTP"),
    ("load", "load", "Load (8 threads sync, 64 tasks async)"),
    ("secrets", "secrets", "Secrets"),
    ("hardening_core", "hardening", "Issue 11 hardening: bodies, secrets, configuration"),
    ("hardening2_generator", "generator", "Issue 17: hostile vendor specs through ./generate.sh"),
    (
        "hardening2_budget",
        "hardening2 budget",
        "Issue 17: rate-limit headers and 429s under a budget",
    ),
    (
        "hardening2_bulk_redis",
        "hardening2 bulk",
        "Issue 17: bulk fetches, close, misbehaving Redis",
    ),
    (
        "hardening2_export",
        "hardening2",
        "Issue 17: export misuse (foreign OUT, Redis down, two at once)",
    ),
]


def run_suite(figures_path: Path) -> tuple[int, float]:
    env = dict(os.environ, MKP_RELIABILITY_FIGURES=str(figures_path))
    command = [
        sys.executable,
        "-m",
        "pytest",
        "tests/reliability",
        "-q",
        "-p",
        "no:cacheprovider",
        "-W",
        "error",
    ]
    started = time.monotonic()
    code = subprocess.call(command, cwd=ROOT, env=env)
    return code, time.monotonic() - started


# The generator's issue 17 regression tests live beside the other generator tests (they drive
# tools/gen_wrapper.py in-process and ./generate.sh in repo copies); they are run here by
# name and their outcomes join the suite's.
GENERATOR_TESTS = ["tests/tools", "-k", "i17_"]
GENERATOR_STEM = "hardening2_generator"


def run_generator_tests(junit_path: Path) -> tuple[int, dict[str, str]]:
    """The generator's ``i17_`` tests: exit code and each test's outcome by node id."""
    command = [sys.executable, "-m", "pytest", *GENERATOR_TESTS, "-q", "-p", "no:cacheprovider"]
    code = subprocess.call([*command, f"--junitxml={junit_path}"], cwd=ROOT)
    outcomes: dict[str, str] = {}
    if not junit_path.exists():
        return code or 1, outcomes
    import xml.etree.ElementTree as ET

    for case in ET.parse(junit_path).getroot().iter("testcase"):
        name = f"{case.get('classname', '').replace('.', '/')}.py::{case.get('name', '')}"
        failed = case.find("failure") is not None or case.find("error") is not None
        skipped = case.find("skipped") is not None
        outcomes[name] = "failed" if failed else "skipped" if skipped else "passed"
    return code, outcomes


def run_redis_faults(json_path: Path) -> dict[str, Any] | None:
    """The Redis fault runs of the rate budget benchmark (about 40 s), or None if they broke."""
    command = [
        sys.executable,
        str(ROOT / "benchmarks" / "rate_budget.py"),
        "--faults-only",
        "--json",
        str(json_path),
    ]
    code = subprocess.call(command, cwd=ROOT)
    if not json_path.exists():
        print(f"the Redis fault runs wrote no figures (exit code {code})", file=sys.stderr)
        return None
    if code != 0:  # the figures are written either way; the section shows what failed
        print(f"the Redis fault runs failed a check (exit code {code})", file=sys.stderr)
    data: dict[str, Any] = json.loads(json_path.read_text(encoding="utf-8"))
    return data


FAULT_TITLES = {
    "redis_killed": "SIGKILL halfway",
    "redis_restarted": "SIGKILL, then started again",
    "redis_frozen": "SIGSTOP, then SIGCONT",
}


def render_redis_faults(data: dict[str, Any]) -> list[str]:
    """The "Redis faults" section from ``benchmarks/rate_budget.py --faults-only`` JSON."""
    settings = data["settings"]
    machine = data["machine"]
    out = [
        "## Redis faults",
        "",
        "The fleet-wide rate budget (`RedisRateBudget`) losing its Redis mid-run:",
        f"{settings['processes']} worker processes fetch invoices from the fake",
        f"(`rate_limit={settings['limit']}`, `rate_window={settings['window']:g}`, loopback HTTP) "
        'with `priority="bulk"` on 4 threads',
        "each, every call timed, while this run SIGKILLs the real Valkey server, SIGKILLs and",
        "starts it again, or freezes it (SIGSTOP, then SIGCONT). Times are seconds after the",
        "workers start; the ideal is when the last call could start with the budget intact.",
        f"From `benchmarks/rate_budget.py --faults-only`, commit {machine['commit']}, "
        f"{machine['nproc']} cores, Python {machine['python']}.",
        "",
        "| Fault | Ids | Finished | Lost | 429s | Elapsed / ideal | Longest call | "
        "Warnings per process | Back on Redis |",
        "|---|---:|---|---:|---:|---:|---:|---|---:|",
    ]
    for o in data["scenarios"]:
        when = ", ".join(f"{action} at {at:g} s" for at, action in o["redis_faults"] or [])
        ratio = "-" if o["ratio"] is None else f"{o['elapsed_s']:.1f} s / {o['ideal_s']:g} s"
        longest = "-" if o["max_call_s"] is None else f"{o['max_call_s']:.1f} s"
        out.append(
            f"| {FAULT_TITLES.get(o['name'], o['name'])} ({when}) | {o['ids']} | "
            f"{'yes' if not o['failures'] else 'NO: ' + '; '.join(o['failures'])} | "
            f"{o['lost']} | {o['responses_429']} | {ratio} | {longest} | "
            f"{', '.join(map(str, o['warnings_per_process']))} | {o['redis_back_lines']} |"
        )
    out += [
        "",
        "What is checked: every worker finishes (a redis exception reaching the caller, or",
        "anything but a `MijnKlantportaalError`, would end its process), no id ends in an error",
        f"(Lost), and no call outlives `max_rate_wait` ({settings['max_rate_wait']:g} s; Longest",
        "call is the slowest single `get`, its budget wait and retries included). Each process",
        "logs one WARNING per outage (none if it needed no new start after the fault); Back on",
        'Redis counts the "Redis is back" INFO lines. The 429s are the price of the fallback:',
        "while Redis is away each process keeps the limit only for itself, and the client",
        "retries them.",
        "",
    ]
    return out


def render(data: dict[str, Any], seconds: float, redis_faults: dict[str, Any] | None = None) -> str:
    counts: dict[str, dict[str, int]] = data["counts"]
    tests: dict[str, dict[str, int]] = data["tests"]
    notes: dict[str, Any] = data["notes"]
    results: dict[str, str] = data["results"]
    total_tests = sum(sum(o.values()) for o in tests.values())
    failed = sum(o.get("failed", 0) for o in tests.values())
    out = [
        "# Reliability",
        "",
        "What the reliability suite (`tests/reliability`) tried against the client, and what it",
        "found. Generated by `.venv/bin/python tools/reliability_report.py`, which runs the suite",
        "(warnings as errors, load tests included) and writes this file from the suite's own",
        "counts. Do not edit by hand.",
        "",
        f"Last run: {total_tests} tests, {failed} failed, in {seconds:.0f} s on "
        f"{os.cpu_count()} cores, Python {platform.python_version()}.",
        "",
        "Run it: `.venv/bin/python -m pytest tests/reliability` (CI runs it within the whole",
        "suite); `-m 'not load'` skips the two load tests, `MKP_LOAD_REQUESTS=1000` shrinks them.",
        "",
        "## Summary",
        "",
        "| Category | Tests | Cases tried | Faults injected | HTTP requests | Failures |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    for stem, key, title in CATEGORIES:
        outcomes = tests.get(stem, {})
        whats = counts.get(key, {})
        faults = sum(v for w, v in whats.items() if w.startswith("faults injected"))
        requests = sum(v for w, v in whats.items() if w.startswith("HTTP requests"))
        cases = sum(
            v
            for w, v in whats.items()
            if not w.startswith(("faults injected", "HTTP requests", "checked:"))
        )
        out.append(
            f"| {title} | {sum(outcomes.values())} | {cases:,} | {_n(faults)} | "
            f"{_n(requests)} | {outcomes.get('failed', 0)} |"
        )
    out += [
        "",
        "Cases tried: generated bodies, table rows, fault scenarios, client calls under load,",
        "leak scenarios (each table row runs against the sync and the async client). HTTP",
        "requests: what the loopback servers received, retries included. Failures: failed",
        "tests in this run.",
    ]
    out += ["", "## Detail", ""]
    for _, key, title in CATEGORIES:
        whats = counts.get(key, {})
        if not whats:
            continue
        out += [f"### {title}", "", "| What | Count |", "|---|---:|"]
        out += [f"| {what.removeprefix('case: ')} | {n:,} |" for what, n in sorted(whats.items())]
        out.append("")
    load_notes = {k: v for k, v in notes.items() if k.startswith("load ")}
    if load_notes:
        out += ["### Load run", "", "| What | Value |", "|---|---|"]
        out += [f"| {k} | {v} |" for k, v in load_notes.items()]
        out += [
            "",
            "Load assertions: zero wrong results (each answer compared digit for digit with the",
            "invoice it asked for), every failed call a typed `MijnKlantportaalError`, no",
            "file descriptors, threads or `ResourceWarning`s left after the clients close.",
            "",
        ]
    if redis_faults is not None:
        out += render_redis_faults(redis_faults)
    out += [
        "## Failures found and fixed",
        "",
        "| # | Bug | Fix | Regression tests (this run) |",
        "|---:|---|---|---|",
    ]
    for number, (what, commit, patterns) in enumerate(BUGS, 1):
        matched = [o for nodeid, o in results.items() if any(p in nodeid for p in patterns)]
        passed = sum(1 for o in matched if o == "passed")
        out.append(f"| {number} | {what} | {commit} | {passed}/{len(matched)} passed |")
    xfails = {k.removeprefix("xfail: "): v for k, v in notes.items() if k.startswith("xfail: ")}
    if xfails:
        out += [
            "",
            "## Found, not fixed here",
            "",
            "Each is a strict `xfail` in the suite: when it gets fixed the test passes, the",
            "strict marker fails the run, and the marker comes off.",
            "",
        ]
        out += [f"- `{test}`: {reason}" for test, reason in sorted(xfails.items())]
    return "\n".join(out) + "\n"


def _n(number: int) -> str:
    return f"{number:,}" if number else "-"


def main(argv: list[str]) -> int:
    with tempfile.TemporaryDirectory() as tmp:
        figures_path = Path(tmp) / "figures.json"
        code, seconds = run_suite(figures_path)
        if not figures_path.exists():
            print("the suite wrote no figures", file=sys.stderr)
            return code or 1
        data = json.loads(figures_path.read_text(encoding="utf-8"))
        started = time.monotonic()
        generator_code, generator = run_generator_tests(Path(tmp) / "generator.xml")
        seconds += time.monotonic() - started
        code = code or generator_code
        data["results"].update(generator)
        tally: dict[str, int] = {}
        for outcome in generator.values():
            tally[outcome] = tally.get(outcome, 0) + 1
        data["tests"][GENERATOR_STEM.removeprefix("test_")] = tally
        faults = None
        if "--no-redis-faults" not in argv:
            faults = run_redis_faults(Path(tmp) / "redis_faults.json")
            broken = faults is None or any(
                o["failures"] or not all(o["checks"].values()) for o in faults["scenarios"]
            )
            code = code or int(broken)
    OUTPUT.write_text(render(data, seconds, faults), encoding="utf-8")
    print(f"wrote {OUTPUT.relative_to(ROOT)} (suite exit code {code})")
    return code


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
