"""Every generated model round-trips, wire -> model -> wire, for bodies derived from the spec
(issue 18, item 9): the strategies read the schemas as the generator does
(``tests/_model_strategies.py``), so no field list is restated and a new field is covered."""

from __future__ import annotations

import tomllib

import pytest
from _model_strategies import check_round_trip, gen_wrapper, wire_strategy
from _support import REPO
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from mijnklantportaal import _decode
from mijnklantportaal._generated import models

SPEC = gen_wrapper.yaml.safe_load((REPO / "openapi.yaml").read_text(encoding="utf-8"))
MAP = tomllib.loads((REPO / "spec-map.toml").read_text(encoding="utf-8"))
API = gen_wrapper.build(
    SPEC, MAP, gen_wrapper.read_low_level(REPO / "generated" / "mijnklantportaal_api")
)
EXAMPLES = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def test_i18_9_every_generated_model_is_covered() -> None:
    assert sorted(API.models) == sorted(n for n in models.__all__ if n not in API.unions)
    assert API.models, "the spec has no models"


@pytest.mark.parametrize("name", sorted(API.models))
def test_i18_9_every_generated_model_round_trips_wire_model_wire(name: str) -> None:
    cls = getattr(models, name)

    @EXAMPLES
    @given(st.data())
    def round_trip(data: st.DataObject) -> None:
        check_round_trip(cls, data.draw(wire_strategy(API, name)), _decode.loads)

    round_trip()


def test_i18_8_ids_imports_nothing_generated_and_gets_its_prefixes_from_the_package() -> None:
    """The ``_ids`` <-> ``_generated/ids`` knot: the handwritten checks import nothing
    generated; importing the generated package registers the prefixes for the mix-up hint."""
    import ast

    import mijnklantportaal
    from mijnklantportaal import InvalidArgumentError, _ids
    from mijnklantportaal._generated import ids

    source = (REPO / "wrapper" / "mijnklantportaal" / "_ids.py").read_text(encoding="utf-8")
    imported = {
        node.module
        for node in ast.walk(ast.parse(source))
        if isinstance(node, ast.ImportFrom) and node.module
    }
    assert not any("_generated" in name for name in imported), imported
    assert mijnklantportaal  # the package import filled the registry
    assert dict(_ids.KNOWN_PREFIXES) == ids.ID_PREFIXES
    with pytest.raises(InvalidArgumentError, match="looks like the id of a customer"):
        _ids.check_id("cst_abc123", prefix="fac_", argument="invoice_id", what="an invoice")
