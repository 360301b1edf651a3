"""What the drill tests of whole resources share (tests/tools/test_gen_operations.py and
tests/test_drill_fake.py): the mutations that give the drill tickets every operation, and the
renames that turn the README's vendor-named examples into the drill's test-only names."""

from __future__ import annotations

# Applied in this order (each needs the one before): a create, then writes, a page list, a
# get and a delete, and a free-text query parameter on the list.
RESOURCE_MUTATIONS = (
    "create-operation-added",
    "write-methods-added",
    "page-list-added",
    "read-delete-added",
    "search-parameter-added",
)

# The README's examples of these shapes use the vendor's names; the spec here has the drill's
# test-only ones, which differ only by their drill prefix.
README_TO_DRILL = {
    "client.tickets.": "client.drill_tickets.",
    "amount=": "drill_amount=",
    "priority=": "drill_priority=",
    "ticket.amount": "ticket.drill_amount",
    '"tickets"': '"drill_tickets"',
    '"amount":': '"drillAmount":',
    '"priority":': '"drillPriority":',
    '"tck_"': '"dtk_"',
}


def readme_for_drill(code: str) -> str:
    """A README example with the drill's names in place of the vendor's."""
    for vendor, drill in README_TO_DRILL.items():
        code = code.replace(vendor, drill)
    return code
