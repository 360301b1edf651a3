"""The spec drill: each realistic vendor change goes through ``./generate.sh`` untouched by hand.

For every mutation in ``DRILL`` (tests/spec_mutations.py), in a temp git copy of the repo:
apply it to openapi.yaml, run ``./generate.sh``, and then, without editing a single line:

- non-breaking: the fast suite, schemathesis on the fake (every operation of the new spec),
  ``mypy --strict`` and ruff are green; the new field or operation is typed on the sync and async clients (a probe file checked by mypy, with
  ``reveal_type``), served by the fake, exact over loopback (a script against
  ``fake.serve()``), and the change report names it (parameters and response type included);
- breaking: the change report marks it breaking, and ``mypy --strict`` fails on code written
  against today's package, pointing at the line that must change.

``./generate.sh`` may only change generated files (``GENERATED``): the drill checks that with
git, so "zero hand-edited lines" is checked, not assumed. Run it with ``pytest -m drill``; the
copies share the pinned tool venv and one mypy cache, so it stays within a few minutes.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import textwrap
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from _support import REPO, copy_repo
from spec_mutations import MUTATIONS, chain, write_mutated

pytestmark = [pytest.mark.drill, pytest.mark.slow]

DRILL = (
    "datetime-field-added",
    "money-field-added",
    "list-operation-added",
    "query-parameter-added",
    "field-removed",
    "field-retyped",
    "enum-value-added",
    "create-operation-added",
    "write-methods-added",
    "page-list-added",
    # schema shapes (issue 18, item 6)
    "nested-object-added",
    "scalar-array-added",
    "integer-boolean-nullable-added",
    "enum-with-unknown-value-added",
    "all-of-added",
    "one-of-with-discriminator-added",
    "any-of-by-shape-added",
    "self-reference-added",
    "composed-answers-added",
)

# The quick part of the suite that exercises the wrapper, the fake and the models.
FAST_SUITE = (
    "tests/test_client.py",
    "tests/test_models.py",
    "tests/test_fake.py",
    "tests/test_field_coverage.py",
    "tests/test_loopback.py",
)

SCHEMATHESIS = "tests/test_schemathesis.py"

# What ./generate.sh writes. Anything else changing would be a hand edit it asks for.
GENERATED = ("openapi.yaml", "CHANGELOG.md", "generated/", "wrapper/mijnklantportaal/_generated/")

COPIED = (
    ".gitignore",
    "generate.sh",
    "openapi.yaml",
    "spec-map.toml",
    "pyproject.toml",
    "CHANGELOG.md",
    "tools",
    "generated",
    "wrapper",
    "tests",
)

EXAMPLE_ID = "fac_abc12345def678"  # the spec's example invoice
DRILL_ID = "fac_drill000000001"  # a second invoice, with values chosen by the drill
BAD_ID = "fac_drill000000002"  # a third, with a value that does not fit


@dataclass(frozen=True)
class Probe:
    """Code written for one mutation, as a user of the wrapper would.

    ``typed`` and ``loopback`` are function bodies, rendered twice: for the sync client
    (``{aw}`` and ``{af}`` empty) and the async one (``{aw}`` = ``await ``, ``{af}`` =
    ``async `` before a ``for``). ``reveals`` holds, per
    ``reveal_type`` in ``typed`` and in order, what the revealed type must contain.
    For a breaking mutation, ``typed`` is code that works today; the line marked
    ``# drill: breaks here`` is where mypy must fail.
    """

    typed: str
    reveals: tuple[str, ...] = ()
    setup: str = ""
    loopback: str = ""
    wire: str = ""  # after both clients ran, with ``base_url`` and ``auth`` (raw httpx)


PROBES: dict[str, Probe] = {
    "datetime-field-added": Probe(
        typed="""
            invoice = {aw}client.invoices.get(EXAMPLE_ID)
            checked: datetime.datetime | None = invoice.drill_checked_at
            reveal_type(invoice.drill_checked_at)
        """,
        reveals=("datetime.datetime",),
        setup='fake.add_invoice({**EXAMPLE_INVOICE, "id": DRILL_ID, "drillCheckedAt": "2024-04-28T21:00:00+02:00"})',
        loopback="""
            example = {aw}client.invoices.get(EXAMPLE_ID)
            assert example.drill_checked_at == datetime.datetime(2025, 5, 12, tzinfo=datetime.UTC), example
            other = {aw}client.invoices.get(DRILL_ID)
            assert other.drill_checked_at is not None and other.drill_checked_at.utcoffset() is not None
            assert other.drill_checked_at == datetime.datetime(2024, 4, 28, 19, tzinfo=datetime.UTC), other
        """,
    ),
    "money-field-added": Probe(
        typed="""
            invoice = {aw}client.invoices.get(EXAMPLE_ID)
            fee: decimal.Decimal | None = invoice.drill_late_fee_amount
            reveal_type(invoice.drill_late_fee_amount)
        """,
        reveals=("decimal.Decimal",),
        setup='fake.add_invoice({**EXAMPLE_INVOICE, "id": DRILL_ID, "drillLateFeeAmount": "12345678901234567.89"})',
        loopback="""
            example = {aw}client.invoices.get(EXAMPLE_ID)
            assert str(example.drill_late_fee_amount) == "4.05", example
            other = {aw}client.invoices.get(DRILL_ID)
            assert str(other.drill_late_fee_amount) == "12345678901234567.89", other
        """,
        # The fake sends it the way the vendor does: a JSON number, which a float would round.
        wire="""
            text = httpx.get(f"{base_url}/invoices/{DRILL_ID}", headers=auth).text
            assert re.search(r'"drillLateFeeAmount":\\s*12345678901234567\\.89[,}]', text), text
        """,
    ),
    "list-operation-added": Probe(
        typed="""
            page = {aw}client.drill_invoices.list(limit=5)
            reveal_type(page)
            for item in page.data or ():
                found: Invoice = item
            raw = {aw}client.drill_invoices.with_raw_response.list(
                limit=5, timeout=5.0, extra_headers={{"X-Drill": "yes"}}
            )
            reveal_type(raw.parsed)
        """,
        # A page-envelope list returns a page object; its raw answer is one decoded page.
        reveals=("Page[", "PageData["),
        setup='fake.add_invoice({**EXAMPLE_INVOICE, "id": DRILL_ID, "totalAmount": "12345678901234567.89"})',
        loopback="""
            page = {aw}client.drill_invoices.list(limit=5)
            assert fake.requests[-1].path == "/v1/drill-invoices", fake.requests[-1]
            assert "limit=5" in fake.requests[-1].query, fake.requests[-1]
            totals = {{item.id: str(item.total_amount) for item in page.data or ()}}
            assert totals == {{EXAMPLE_ID: "15.67", DRILL_ID: "12345678901234567.89"}}, totals
            raw = {aw}client.drill_invoices.with_raw_response.list(
                limit=5, timeout=5.0, extra_headers={{"X-Drill": "yes"}}
            )
            assert raw.status_code == 200 and fake.requests[-1].headers.get("x-drill") == "yes"
            sent = len(fake.requests)
            try:
                {aw}client.drill_invoices.list(limit="5")
            except MijnKlantportaalError as exc:  # checked before sending, named
                assert "limit" in str(exc), exc
            else:
                raise AssertionError("limit='5' was accepted")
            assert len(fake.requests) == sent, "a bad argument reached the server"
        """,
    ),
    "query-parameter-added": Probe(
        typed="""
            invoice: Invoice = {aw}client.invoices.get(EXAMPLE_ID, drill_locale="nl")
        """,
        loopback="""
            invoice = {aw}client.invoices.get(EXAMPLE_ID, drill_locale="nl")
            assert invoice.id == EXAMPLE_ID and str(invoice.total_amount) == "15.67", invoice
            assert fake.requests[-1].query == "drillLocale=nl", fake.requests[-1]
            sent = len(fake.requests)
            try:
                {aw}client.invoices.get(EXAMPLE_ID, drill_locale=5)
            except MijnKlantportaalError as exc:  # checked before sending, named
                assert "drill_locale" in str(exc), exc
            else:
                raise AssertionError("drill_locale=5 was accepted")
            assert len(fake.requests) == sent, "a bad argument reached the server"
        """,
    ),
    "field-removed": Probe(
        typed="""
            invoice = {aw}client.invoices.get(EXAMPLE_ID)
            paid: bool | None = invoice.is_paid  # drill: breaks here
        """,
    ),
    "field-retyped": Probe(
        typed="""
            invoice = {aw}client.invoices.get(EXAMPLE_ID)
            for line in invoice.lines or ():
                quantity: int | None = line.quantity  # drill: breaks here
        """,
    ),
    "enum-value-added": Probe(
        typed="""
            invoice = {aw}client.invoices.get(EXAMPLE_ID)
            reveal_type(invoice.drill_state)
        """,
        reveals=("",),
        setup='fake.add_invoice({**EXAMPLE_INVOICE, "id": DRILL_ID, "drillState": "overdue"})',
        loopback="""
            example = {aw}client.invoices.get(EXAMPLE_ID)
            assert getattr(example.drill_state, "value", example.drill_state) == "open", example
            other = {aw}client.invoices.get(DRILL_ID)
            assert getattr(other.drill_state, "value", other.drill_state) == "overdue", other
        """,
    ),
    # Issue 18: the operation shapes. Each body the server received is byte-checked.
    "create-operation-added": Probe(
        typed="""
            ticket = {aw}client.drill_tickets.create(
                subject="Hi",
                drill_amount=decimal.Decimal("12.950"),
                drill_total=decimal.Decimal("0.10"),
                expires_at=None,
                drill_priority="high",
                drill_contact={{"drillName": "Ada"}},
                drill_labels=["x"],
                x_drill_request_id="r-1",
                idempotency_key="k-1",
            )
            reveal_type(ticket)
            reveal_type(ticket.drill_amount)
        """,
        reveals=("DrillTicket", "decimal.Decimal"),
        loopback="""
            offset = datetime.timezone(datetime.timedelta(hours=2))
            ticket = {aw}client.drill_tickets.create(
                subject="Hi",
                drill_amount=decimal.Decimal("12.950"),
                drill_total=decimal.Decimal("0.10"),
                expires_at=datetime.datetime(2025, 5, 12, 10, tzinfo=offset),
                drill_priority="high",
                drill_contact={{"drillName": "Ada"}},
                drill_labels=["x", "y"],
                x_drill_request_id="r-1",
                idempotency_key="k-1",
            )
            seen = fake.requests[-1]
            assert (seen.method, seen.path, seen.status) == ("POST", "/v1/drill-tickets", 201), seen
            assert seen.body == (
                b'{{"subject":"Hi","drillAmount":"12.950","drillTotal":0.10,'
                b'"expiresAt":"2025-05-12T10:00:00+02:00","drillPriority":"high",'
                b'"drillContact":{{"drillName":"Ada"}},"drillLabels":["x","y"]}}'
            ), seen.body
            assert seen.headers.get("content-type") == "application/json", seen.headers
            assert seen.headers.get("idempotency-key") == "k-1", seen.headers
            assert seen.headers.get("x-drill-request-id") == "r-1", seen.headers
            assert str(ticket.drill_amount) == "12.950", ticket  # stored as sent, every digit
            {aw}client.drill_tickets.create(subject="Hi", drill_amount="3.00")
            assert fake.requests[-1].body == b'{{"subject":"Hi","drillAmount":"3.00"}}', fake.requests[-1]
            assert "idempotency-key" not in fake.requests[-1].headers, fake.requests[-1]
            sent = len(fake.requests)
            for bad in ({{"drill_amount": 12.95}}, {{"drill_priority": "urgent"}}, {{"subject": None}}):
                try:
                    {aw}client.drill_tickets.create(**{{"subject": "Hi", "drill_amount": "1", **bad}})
                except MijnKlantportaalError as exc:  # checked before sending, named
                    assert next(iter(bad)) in str(exc), exc
                else:
                    raise AssertionError(f"{{bad}} was accepted")
            assert len(fake.requests) == sent, "a bad argument reached the server"
        """,
    ),
    "write-methods-added": Probe(
        typed="""
            reply = {aw}client.drill_tickets.create_reply("dtk_1", message="m")
            reveal_type(reply)
            {aw}client.drill_tickets.delete_reply("dtk_1", "drp_2", idempotency_key="k")
            raw = {aw}client.drill_tickets.with_raw_response.delete_reply("dtk_1", "drp_2")
            reveal_type(raw.parsed)
            ticket = {aw}client.drill_tickets.update("dtk_1", expires_at=None)
            reveal_type(ticket)
            labelled = {aw}client.drill_tickets.replace_labels("dtk_1", drill_labels=("a",))
        """,
        reveals=("DrillTicketReply", "None", "DrillTicket"),
        # the fake is stateful: the ticket and reply the calls name are stored first
        setup='fake.add("DrillTicket", {"id": "dtk_1", "subject": "s"})',
        loopback="""
            fake.add("DrillTicketReply", {{"id": "drp_2"}})
            reply = {aw}client.drill_tickets.create_reply("dtk_1", message="Thanks")
            seen = fake.requests[-1]
            assert (seen.method, seen.path, seen.status) == ("POST", "/v1/drill-tickets/dtk_1/replies", 201), seen
            assert seen.body == b'{{"message":"Thanks"}}' and reply.message == "Thanks", (seen, reply)
            gone = {aw}client.drill_tickets.delete_reply("dtk_1", "drp_2")
            seen = fake.requests[-1]
            assert gone is None and (seen.method, seen.status, seen.body) == ("DELETE", 204, b""), seen
            assert seen.path == "/v1/drill-tickets/dtk_1/replies/drp_2", seen
            {aw}client.drill_tickets.update("dtk_1", expires_at=None)
            seen = fake.requests[-1]
            assert (seen.method, seen.body) == ("PATCH", b'{{"expiresAt":null}}'), seen
            {aw}client.drill_tickets.update("dtk_1")
            assert fake.requests[-1].body == b"{{}}", fake.requests[-1]
            {aw}client.drill_tickets.replace_labels("dtk_1", drill_labels=("a", "b"))
            seen = fake.requests[-1]
            assert (seen.method, seen.status, seen.body) == ("PUT", 202, b'{{"drillLabels":["a","b"]}}'), seen
            sent = len(fake.requests)
            try:
                {aw}client.drill_tickets.delete_reply("dtk_1", "drp 2")
            except MijnKlantportaalError as exc:  # checked before sending, named
                assert "drill_reply_id" in str(exc), exc
            else:
                raise AssertionError("a bad id was accepted")
            assert len(fake.requests) == sent, "a bad argument reached the server"
        """,
    ),
    "page-list-added": Probe(
        typed="""
            page = {aw}client.drill_tickets.list(drill_priority="low", drill_labels=["a"], page=2)
            reveal_type(page)
            reveal_type(page.data)
        """,
        reveals=("Page[", "DrillTicket"),
        setup=(
            "for n in range(12):\n"
            '    fake.add("DrillTicket", {"id": f"dtk_{n:014d}", "subject": f"s{n}", "drillAmount": f"{n}.10",'
            ' "drillPriority": "low", "drillLabels": ["b"]})  # matching the filters listed with'
        ),
        loopback="""
            ids = []
            {af}for ticket in client.drill_tickets.list(drill_priority="low", drill_labels=["a", "b"], per_page=5):
                ids.append(ticket.id)
            assert ids == [f"dtk_{{n:014d}}" for n in range(12)], ids
            asked = [r.query for r in fake.requests if r.path == "/v1/drill-tickets"][-3:]
            same = "drillPriority=low&drillLabels=a&drillLabels=b&per_page=5"
            assert asked == [same, same + "&page=2", same + "&page=3"], asked
            second = {aw}client.drill_tickets.list(page=2, per_page=5)
            assert [t.id for t in second.data] == ids[5:10], second
            assert fake.requests[-1].query == "per_page=5&page=2", fake.requests[-1]
            assert second.has_next_page()
            sent = len(fake.requests)
            {af}for ticket in client.drill_tickets.list(per_page=5):
                break
            assert len(fake.requests) == sent + 1, "breaking out of the loop fetched more"
            try:
                {aw}client.drill_tickets.list(drill_priority="urgent")
            except MijnKlantportaalError as exc:  # checked before sending, named
                assert "drill_priority" in str(exc), exc
            else:
                raise AssertionError("an unknown priority was accepted")
            assert len(fake.requests) == sent + 1, "a bad argument reached the server"
        """,
    ),
}

# -- schema shapes (issue 18, item 6): decoded exactly from the fake over loopback, and sent
# back by ``to_wire`` in the spec's JSON types --
SHAPE_PROBES: dict[str, Probe] = {
    "nested-object-added": Probe(
        typed="""
            invoice = {aw}client.invoices.get(EXAMPLE_ID)
            reveal_type(invoice.drill_customer)
            if invoice.drill_customer is not None:
                credit: decimal.Decimal | None = invoice.drill_customer.drill_credit_amount
        """,
        reveals=("DrillCustomer",),
        setup=(
            'fake.add_invoice({**EXAMPLE_INVOICE, "id": DRILL_ID, "drillCustomer": {"id": '
            '"cst_drill0000002", "name": "\\u00dcn\\u00efcode B.V.", "drillCreditAmount": '
            '"12345678901234567.89"}})'
        ),
        loopback="""
            example = {aw}client.invoices.get(EXAMPLE_ID)
            assert example.drill_customer is not None, example
            assert example.drill_customer.name == "Drill B.V.", example
            assert str(example.drill_customer.drill_credit_amount) == "250.5", example
            other = {aw}client.invoices.get(DRILL_ID)
            customer = other.drill_customer
            assert type(customer).__name__ == "DrillCustomer", other
            assert customer.name == "\\u00dcn\\u00efcode B.V.", customer
            assert str(customer.drill_credit_amount) == "12345678901234567.89", customer
            assert customer.to_wire() == {{
                "id": "cst_drill0000002",
                "name": "\\u00dcn\\u00efcode B.V.",
                "drillCreditAmount": "12345678901234567.89",
            }}, customer.to_wire()
        """,
    ),
    "scalar-array-added": Probe(
        typed="""
            invoice = {aw}client.invoices.get(EXAMPLE_ID)
            reveal_type(invoice.drill_reminder_days)
        """,
        reveals=("tuple[int, ...]",),
        setup='fake.add_invoice({**EXAMPLE_INVOICE, "id": DRILL_ID, "drillReminderDays": [1, 7, 30]})',
        loopback="""
            example = {aw}client.invoices.get(EXAMPLE_ID)
            assert example.drill_reminder_days == (7, 14), example
            other = {aw}client.invoices.get(DRILL_ID)
            assert other.drill_reminder_days == (1, 7, 30), other
            assert other.to_wire()["drillReminderDays"] == [1, 7, 30]
        """,
    ),
    "integer-boolean-nullable-added": Probe(
        typed="""
            invoice = {aw}client.invoices.get(EXAMPLE_ID)
            reveal_type(invoice.drill_reminder_count)
            reveal_type(invoice.drill_is_disputed)
            reveal_type(invoice.drill_note)
        """,
        reveals=("int", "bool", "str"),
        setup=(
            'fake.add_invoice({**EXAMPLE_INVOICE, "id": DRILL_ID, "drillReminderCount": 3, '
            '"drillIsDisputed": True, "drillNote": None})'
        ),
        loopback="""
            example = {aw}client.invoices.get(EXAMPLE_ID)
            assert example.drill_reminder_count == 2 and example.drill_is_disputed is False, example
            assert example.drill_note == "Paid in cash", example
            other = {aw}client.invoices.get(DRILL_ID)
            assert type(other.drill_reminder_count) is int and other.drill_reminder_count == 3
            assert other.drill_is_disputed is True and other.drill_note is None, other
            wire = other.to_wire()
            assert wire["drillReminderCount"] == 3 and wire["drillIsDisputed"] is True, wire
            assert "drillNote" not in wire, wire
        """,
    ),
    "enum-with-unknown-value-added": Probe(
        typed="""
            invoice = {aw}client.invoices.get(EXAMPLE_ID)
            reveal_type(invoice.drill_dispute_state)
        """,
        reveals=("str",),
        setup=(
            'fake.add_invoice({**EXAMPLE_INVOICE, "id": DRILL_ID, '
            '"drillDisputeState": "drill-escalated"})'
        ),
        loopback="""
            example = {aw}client.invoices.get(EXAMPLE_ID)
            assert example.drill_dispute_state == "none", example
            other = {aw}client.invoices.get(DRILL_ID)  # a value the spec does not list: kept
            assert other.drill_dispute_state == "drill-escalated", other
            try:  # but never sent: a request checks the values first
                other.to_wire()
            except MijnKlantportaalError as exc:
                assert "drill_dispute_state" in str(exc) and "resolved" in str(exc), exc
            else:
                raise AssertionError("an unknown enum value would have been sent")
            assert example.to_wire()["drillDisputeState"] == "none"
        """,
    ),
    "all-of-added": Probe(
        typed="""
            invoice = {aw}client.invoices.get(EXAMPLE_ID)
            note = invoice.drill_credit_note
            reveal_type(note)
            if note is not None:
                reveal_type(note.drill_total_amount)
                reveal_type(note.drill_issued_at)
                reason: str | None = note.drill_reason
        """,
        reveals=("DrillCreditNote", "decimal.Decimal", "datetime.datetime"),
        setup=(
            'fake.add_invoice({**EXAMPLE_INVOICE, "id": DRILL_ID, "drillCreditNote": {"id": '
            '"drd_0000000002", "drillIssuedAt": "2024-04-28T21:00:00+02:00", '
            '"drillTotalAmount": "12345678901234567.89", "drillReason": "damaged"}})'
        ),
        loopback="""
            example = {aw}client.invoices.get(EXAMPLE_ID)
            note = example.drill_credit_note
            assert note is not None and str(note.drill_total_amount) == "12.95", example
            assert note.drill_issued_at == datetime.datetime(2025, 4, 12, 10, tzinfo=datetime.UTC)
            assert note.drill_reason == "returned", note
            other = {aw}client.invoices.get(DRILL_ID)
            note = other.drill_credit_note
            assert type(note).__name__ == "DrillCreditNote", other
            assert str(note.drill_total_amount) == "12345678901234567.89", note
            assert note.drill_issued_at.utcoffset() == datetime.timedelta(hours=2), note
            assert note.to_wire() == {{
                "id": "drd_0000000002",
                "drillIssuedAt": "2024-04-28T21:00:00+02:00",
                "drillTotalAmount": "12345678901234567.89",
                "drillReason": "damaged",
            }}, note.to_wire()
        """,
    ),
    "one-of-with-discriminator-added": Probe(
        typed="""
            invoice = {aw}client.invoices.get(EXAMPLE_ID)
            reveal_type(invoice.drill_payment)
        """,
        reveals=(
            "DrillCardPayment | mijnklantportaal._generated.models.invoices.DrillBankPayment",
        ),
        setup=(
            'fake.add_invoice({**EXAMPLE_INVOICE, "id": DRILL_ID, "drillPayment": '
            '{"drillMethod": "bank", "drillIban": "NL02RABO0123456789"}})'
        ),
        loopback="""
            example = {aw}client.invoices.get(EXAMPLE_ID)
            card = example.drill_payment
            assert type(card).__name__ == "DrillCardPayment" and card.drill_last_4 == "4242", card
            other = {aw}client.invoices.get(DRILL_ID)
            bank = other.drill_payment
            assert type(bank).__name__ == "DrillBankPayment", other
            assert bank.drill_iban == "NL02RABO0123456789", bank
            assert other.to_wire()["drillPayment"] == {{
                "drillMethod": "bank",
                "drillIban": "NL02RABO0123456789",
            }}
        """,
    ),
    "any-of-by-shape-added": Probe(
        typed="""
            invoice = {aw}client.invoices.get(EXAMPLE_ID)
            reveal_type(invoice.drill_contact)
        """,
        reveals=(
            "DrillEmailContact | mijnklantportaal._generated.models.invoices.DrillPhoneContact",
        ),
        setup=(
            'fake.add_invoice({**EXAMPLE_INVOICE, "id": DRILL_ID, "drillContact": '
            '{"drillPhone": "+31 20 123 4567"}})'
        ),
        loopback="""
            example = {aw}client.invoices.get(EXAMPLE_ID)
            email = example.drill_contact
            assert type(email).__name__ == "DrillEmailContact", example
            assert email.drill_email == "billing@example.com", email
            other = {aw}client.invoices.get(DRILL_ID)
            phone = other.drill_contact
            assert type(phone).__name__ == "DrillPhoneContact", other
            assert phone.drill_phone == "+31 20 123 4567", phone
            assert other.to_wire()["drillContact"] == {{"drillPhone": "+31 20 123 4567"}}
        """,
    ),
    "composed-answers-added": Probe(
        typed="""
            note = {aw}client.drill_documents.get_drill_credit_note("drd_0000000001")
            reveal_type(note.drill_total_amount)
            payment = {aw}client.drill_documents.get_drill_payment("dpy_0000000001")
            reveal_type(payment)
        """,
        reveals=(
            "decimal.Decimal",
            # used by two tags now: the shared models module
            "DrillCardPayment | mijnklantportaal._generated.models._shared.DrillBankPayment",
        ),
        setup=(
            "fake.add_examples(path_ids=True)\n"
            'fake.add("DrillCreditNote", {"id": "drd_0000000002", "drillTotalAmount": '
            '"12345678901234567.89", "drillIssuedAt": "2024-04-28T21:00:00+02:00", '
            '"drillReason": "damaged"})'
        ),
        loopback="""
            other = {aw}client.drill_documents.get_drill_credit_note("drd_0000000002")
            assert str(other.drill_total_amount) == "12345678901234567.89", other
            assert other.drill_issued_at.utcoffset() == datetime.timedelta(hours=2), other
            note = {aw}client.drill_documents.get_drill_credit_note("drd_0000000001")
            assert type(note).__name__ == "DrillCreditNote", note
            assert str(note.drill_total_amount) == "12.95" and note.drill_reason == "returned", note
            assert note.drill_issued_at == datetime.datetime(2025, 4, 12, 10, tzinfo=datetime.UTC)
            payment = {aw}client.drill_documents.get_drill_payment("dpy_0000000001")
            assert type(payment).__name__ == "DrillCardPayment", payment
            assert payment.drill_last_4 == "4242", payment
        """,
    ),
    "self-reference-added": Probe(
        typed="""
            invoice = {aw}client.invoices.get(EXAMPLE_ID)
            for comment in invoice.drill_comments or ():
                reveal_type(comment.drill_replies)
        """,
        reveals=("tuple[mijnklantportaal._generated.models.invoices.DrillComment, ...]",),
        setup=(
            'fake.add_invoice({**EXAMPLE_INVOICE, "id": DRILL_ID, "drillComments": [{"id": '
            '"drc_1", "drillReplies": [{"id": "drc_2", "drillCreatedAt": '
            '"2024-04-28T21:00:00+02:00", "drillReplies": [{"id": "drc_3"}]}]}]})\n'
            'fake.add_invoice({**EXAMPLE_INVOICE, "id": BAD_ID, "drillComments": [{"id": '
            '"drc_1", "drillReplies": [{"id": "drc_2"}, {"id": "drc_3", '
            '"drillCreatedAt": "yesterday"}]}]})'
        ),
        loopback="""
            other = {aw}client.invoices.get(DRILL_ID)
            (top,) = other.drill_comments
            reply = top.drill_replies[0]
            assert reply.drill_replies[0].id == "drc_3", other
            assert reply.drill_created_at.utcoffset() == datetime.timedelta(hours=2), reply
            assert other.to_wire()["drillComments"] == [{{
                "id": "drc_1",
                "drillReplies": [{{
                    "id": "drc_2",
                    "drillCreatedAt": "2024-04-28T21:00:00+02:00",
                    "drillReplies": [{{"id": "drc_3"}}],
                }}],
            }}], other.to_wire()
            try:
                {aw}client.invoices.get(BAD_ID)
            except MijnKlantportaalError as exc:
                assert "drillComments[0].drillReplies[1].drillCreatedAt" in str(exc), exc
            else:
                raise AssertionError("a bad nested timestamp was accepted")
        """,
    ),
}
PROBES.update(SHAPE_PROBES)

BREAKS_HERE = "# drill: breaks here"


def _body(template: str, aw: str) -> str:
    af = "async " if aw else ""
    return textwrap.indent(textwrap.dedent(template).strip().format(aw=aw, af=af), "    ")


def typed_probe(probe: Probe) -> str:
    return (
        "from __future__ import annotations\n\n"
        "import datetime\nimport decimal\nfrom typing import reveal_type\n\n"
        "from mijnklantportaal import AsyncMijnKlantportaal, Invoice, MijnKlantportaal\n\n"
        f"EXAMPLE_ID = {EXAMPLE_ID!r}\n\n\n"
        "def sync_probe(client: MijnKlantportaal) -> None:\n"
        f"{_body(probe.typed, '')}\n\n\n"
        "async def async_probe(client: AsyncMijnKlantportaal) -> None:\n"
        f"{_body(probe.typed, 'await ')}\n"
    )


def loopback_script(probe: Probe) -> str:
    wire = textwrap.indent(textwrap.dedent(probe.wire).strip(), "    ")
    return (
        "import asyncio, datetime, decimal, re\n\n"
        "import httpx\n"
        "from mijnklantportaal import AsyncMijnKlantportaal, MijnKlantportaal, MijnKlantportaalError\n"
        "from mijnklantportaal.testing import EXAMPLE_INVOICE, FakeMijnKlantportaal\n\n"
        f"EXAMPLE_ID, DRILL_ID, BAD_ID = {EXAMPLE_ID!r}, {DRILL_ID!r}, {BAD_ID!r}\n"
        "fake = FakeMijnKlantportaal(rate_limit=None)\n"
        "fake.add_example_invoice()\n"
        f"{probe.setup}\n\n\n"
        "def check_sync(base_url):\n"
        "    with MijnKlantportaal(api_key=fake.api_key, base_url=base_url) as client:\n"
        f"{textwrap.indent(_body(probe.loopback, ''), '    ')}\n\n\n"
        "async def check_async(base_url):\n"
        "    async with AsyncMijnKlantportaal(api_key=fake.api_key, base_url=base_url) as client:\n"
        f"{textwrap.indent(_body(probe.loopback, 'await '), '    ')}\n\n\n"
        "with fake.serve() as base_url:\n"
        "    check_sync(base_url)\n"
        "    asyncio.run(check_async(base_url))\n"
        '    auth = {"Authorization": f"Bearer {fake.api_key}"}\n'
        f"{wire or '    pass'}\n"
        'print("drill loopback ok")\n'
    )


# -- running things in a copy -------------------------------------------------------------


@dataclass
class Copy:
    root: Path
    tools_venv: Path
    mypy_cache: Path
    timings: dict[str, float] = field(default_factory=dict)

    def run(self, step: str, *args: str) -> subprocess.CompletedProcess[str]:
        env = {
            **os.environ,
            "MIJNKLANTPORTAAL_TOOLS_VENV": str(self.tools_venv),
            "PYTHONPATH": f"{self.root / 'wrapper'}{os.pathsep}{self.root / 'generated'}",
            "MYPYPATH": f"{self.root / 'wrapper'}{os.pathsep}{self.root / 'generated'}",
            "PYTHONDONTWRITEBYTECODE": "1",
        }
        started = time.monotonic()
        try:
            return subprocess.run(
                list(args), cwd=self.root, env=env, capture_output=True, text=True, timeout=300
            )
        finally:
            self.timings[step] = self.timings.get(step, 0.0) + time.monotonic() - started

    def git(self, *args: str) -> str:
        done = self.run(
            "git", "git", "-c", "user.name=drill", "-c", "user.email=drill@localhost", *args
        )
        assert done.returncode == 0, done.stderr
        return done.stdout

    def generate(self) -> subprocess.CompletedProcess[str]:
        return self.run("generate", str(self.root / "generate.sh"))

    def python(self, step: str, *args: str) -> subprocess.CompletedProcess[str]:
        return self.run(step, sys.executable, *args)

    def mypy(self, *paths: str) -> subprocess.CompletedProcess[str]:
        return self.python(
            "mypy", "-m", "mypy", "--strict", "--cache-dir", str(self.mypy_cache), *paths
        )

    def changed_paths(self) -> list[str]:
        status = self.git("status", "--porcelain", "--untracked-files=all")
        return [line[3:] for line in status.splitlines()]


@pytest.fixture(scope="module")
def mypy_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One mypy cache for all copies: the stdlib, httpx and attrs are analysed once."""
    return tmp_path_factory.mktemp("drill-mypy-cache")


@pytest.fixture
def repo(tmp_path: Path, tools_venv: Path, mypy_cache: Path) -> Iterator[Copy]:
    root = copy_repo(tmp_path / "repo", *[n for n in COPIED if (REPO / n).exists()])
    copy = Copy(root, tools_venv, mypy_cache)
    copy.git("init", "-q")
    copy.git("add", "-A")
    copy.git("commit", "-q", "-m", "as checked out")
    yield copy
    total = sum(copy.timings.values())
    steps = ", ".join(f"{k} {v:.1f}s" for k, v in copy.timings.items())
    print(f"\n{root.name}: {total:.1f}s ({steps})")


def _report_section(report: str, line: str) -> str:
    """The heading (BREAKING, POTENTIALLY BREAKING, NON-BREAKING) a report line sits under."""
    before = report[: report.index(line)]
    headings: list[str] = re.findall(r"^([A-Z -]+) \(\d+\)$", before, re.M)
    return headings[-1]


def _step_output(result: subprocess.CompletedProcess[str]) -> str:
    return (result.stdout + result.stderr)[-6000:]


@pytest.mark.parametrize("name", DRILL)
def test_spec_drill(name: str, repo: Copy) -> None:
    mutation = MUTATIONS[name]
    probe = PROBES[name]
    spec = repo.root / "openapi.yaml"

    # The spec the mutation builds on is taken in first, and committed: it is "today".
    for earlier in chain(name)[:-1]:
        write_mutated(spec, earlier.name, with_base=False)
        base = repo.generate()
        assert base.returncode == 0, _step_output(base)
        assert set(repo.changed_paths()) <= _generated_only(repo.changed_paths())
        repo.git("add", "-A")
        repo.git("commit", "-q", "-m", earlier.name)

    write_mutated(spec, name, with_base=False)
    generated = repo.generate()
    assert generated.returncode == 0, _step_output(generated)

    # Zero hand-edited lines: ./generate.sh changed generated files only, and nothing else
    # in the copy is touched before the checks below.
    changed = repo.changed_paths()
    assert changed, "./generate.sh changed nothing"
    assert set(changed) == _generated_only(changed), (
        "./generate.sh changed handwritten files: "
        + ", ".join(sorted(set(changed) - _generated_only(changed)))
    )

    repo.git("add", "-A")
    numstat = repo.git("diff", "--cached", "--numstat")
    generated_lines = sum(
        int(a) + int(d)
        for a, d, _ in (row.split("\t", 2) for row in numstat.splitlines())
        if a != "-"
    )
    print(
        f"\n{name}: 0 hand-edited lines; ./generate.sh changed {len(changed)} files, {generated_lines} lines"
    )

    # The change report names the change, under the right heading.
    report = generated.stdout
    assert f"  - {mutation.report}\n" in report, report
    section = _report_section(report, mutation.report)
    if mutation.breaking:
        assert section == "BREAKING", report
        assert "required version bump: major" in report, report
    else:
        assert section in ("NON-BREAKING", "POTENTIALLY BREAKING"), report
        assert "\nBREAKING (" not in report, report

    (repo.root / "drill_probe.py").write_text(typed_probe(probe))
    typed = repo.mypy("wrapper/mijnklantportaal", "drill_probe.py")

    if mutation.breaking:
        # mypy points at the line of today's code that the change breaks, sync and async.
        lines = typed_probe(probe).splitlines()
        at = [n for n, line in enumerate(lines, 1) if BREAKS_HERE in line]
        assert len(at) == 2
        assert typed.returncode == 1, _step_output(typed)
        for n in at:
            assert re.search(rf"^drill_probe\.py:{n}: error: ", typed.stdout, re.M), (
                f"mypy does not point at drill_probe.py:{n} ({lines[n - 1].strip()}):\n"
                + _step_output(typed)
            )
        return

    # Non-breaking: green, typed, served, exact.
    assert typed.returncode == 0, _step_output(typed)
    revealed = re.findall(
        r'^drill_probe\.py:\d+: note: Revealed type is "(.*)"$', typed.stdout, re.M
    )
    assert len(revealed) == 2 * len(probe.reveals), typed.stdout
    for shown, expected in zip(revealed, probe.reveals * 2, strict=True):
        assert expected in shown and "Any" not in shown, (expected, shown)

    assert (repo.root / FAST_SUITE[0]).exists()
    suite = repo.python(
        "suite",
        "-m",
        "pytest",
        "-q",
        "-p",
        "no:cacheprovider",
        "-m",
        "not slow and not load and not drill",
        *[test for test in FAST_SUITE if (repo.root / test).exists()],
    )
    assert suite.returncode == 0, _step_output(suite)

    # The fake answers every operation of the new spec, and schemathesis checks each one
    # (money fields read from the spec: a new one must go out as a JSON number).
    checked = repo.python(
        "schemathesis", "-m", "pytest", "-q", "-p", "no:cacheprovider", SCHEMATHESIS
    )
    assert checked.returncode == 0, _step_output(checked)

    linted = repo.python("ruff", "-m", "ruff", "check", "wrapper", "tests", "tools")
    assert linted.returncode == 0, _step_output(linted)
    formatted = repo.python("ruff", "-m", "ruff", "format", "--check", "wrapper")
    assert formatted.returncode == 0, _step_output(formatted)

    script = repo.root / "drill_loopback.py"
    script.write_text(loopback_script(probe))
    served = repo.python("loopback", str(script))
    assert served.returncode == 0 and "drill loopback ok" in served.stdout, _step_output(served)


def _generated_only(paths: list[str]) -> set[str]:
    return {p for p in paths if p in GENERATED or p.startswith(tuple(GENERATED))}


def test_every_mutation_has_a_probe() -> None:
    assert set(PROBES) == set(DRILL)
    assert {m for m in DRILL if MUTATIONS[m].breaking} == {"field-removed", "field-retyped"}
    for name in DRILL:
        probe = PROBES[name]
        compile(typed_probe(probe), f"{name}-typed", "exec")
        if MUTATIONS[name].breaking:
            assert typed_probe(probe).count(BREAKS_HERE) == 2, name
        else:
            compile(loopback_script(probe), f"{name}-loopback", "exec")
            assert probe.loopback and probe.typed.count("reveal_type") == len(probe.reveals), name
            # The probe uses what the mutation says the naming rules add.
            adds = MUTATIONS[name].adds
            assert adds is not None, name
            member = adds.split(".")[-1].split("(")[0].rstrip("=")
            used = member if "(" not in adds else adds.split("(")[1].rstrip("=)")
            assert re.search(rf"\.{member}\b", probe.typed), (name, member)
            assert re.search(rf"\b{used}\b", probe.typed) and re.search(
                rf"\b{used}\b", probe.loopback
            )


def test_probes_of_breaking_mutations_type_check_today(tmp_path: Path) -> None:
    """The code the breaking mutations must break is valid against today's package, so the
    drill's mypy failure can only come from the spec change."""
    for name in DRILL:
        if MUTATIONS[name].breaking:
            (tmp_path / f"probe_{name.replace('-', '_')}.py").write_text(typed_probe(PROBES[name]))
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "mypy",
            "--strict",
            "--no-incremental",
            *map(str, tmp_path.glob("*.py")),
        ],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stdout
