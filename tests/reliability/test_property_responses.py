"""Property-based responses: every body built from the spec's Invoice/InvoiceLine schemas
either parses into an ``Invoice`` whose values are exactly what the JSON text spells, or
raises ``APIResponseValidationError``. Nothing else, ever.
"""

from __future__ import annotations

import json
import threading
from datetime import datetime
from decimal import Decimal
from typing import Any

import httpx
import mijnklantportaal
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from mijnklantportaal import (
    APIResponseValidationError,
    APIStatusError,
    Invoice,
    MijnKlantportaal,
    _decode,
)
from mijnklantportaal._models import Model
from reliability_helpers import API_KEY, INVOICE_ID, outcome
from spec_strategies import (
    ANY_TIMESTAMP,
    INVALID,
    SCHEMAS,
    Expected,
    field_kind,
    invoice_body,
    money_text,
    money_value,
    properties,
)

EXAMPLES = settings(
    max_examples=600,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)

_local = threading.local()


def fetch(body: bytes) -> Any:
    """The client's answer (model or MijnKlantportaalError) to a 200 carrying ``body``."""
    client = getattr(_local, "client", None)
    if client is None:
        _local.body = b""
        transport = httpx.MockTransport(lambda request: httpx.Response(200, content=_local.body))
        client = _local.client = MijnKlantportaal(
            api_key=API_KEY,
            http_client=httpx.Client(transport=transport),
            max_retries=0,
            rate_budget=None,
        )
    _local.body = body
    return outcome(lambda: client.invoices.get(INVOICE_ID))


@pytest.fixture(scope="module", autouse=True)
def _close_client() -> Any:
    yield
    client = getattr(_local, "client", None)
    if client is not None:
        client.close()
        del _local.client


# -- the oracle -------------------------------------------------------------------------------------


def model_class(schema_name: str) -> type[Model]:
    cls = getattr(mijnklantportaal, schema_name)
    assert issubclass(cls, Model), f"spec schema {schema_name} has no model"
    return cls


def must_refuse(expected: Expected) -> bool:
    """True when the client must refuse the object (judged on the fields the model declares)."""
    if expected.duplicate_key:
        return True
    declared = {key for _, key, _ in model_class(expected.schema)._wire_fields}
    spec = properties(expected.schema)
    for key, (_, value) in expected.known.items():
        if key in declared and _value_refused(spec[key], value):
            return True
    return False


def _value_refused(schema: dict[str, Any], value: Any) -> bool:
    if value is INVALID:
        return True
    kind = field_kind(schema)
    if kind == "object":
        return must_refuse(value)
    if kind == "array":
        return any(_value_refused(schema["items"], item) for item in value)
    return False


def check_model(model: Any, expected: Expected) -> None:
    cls = model_class(expected.schema)
    assert type(model) is cls
    spec = properties(expected.schema)
    wire = {key: attribute for attribute, key, _ in cls._wire_fields}
    for key, schema in spec.items():
        if key not in wire:  # a spec field the model does not declare yet: kept, not dropped
            if key in expected.known:
                text, _ = expected.known[key]
                assert model.extra[key] == _decode.loads(text)
            continue
        actual = getattr(model, wire[key])
        if key not in expected.known:
            assert actual is None, f"{key}: absent or null in the body, got {actual!r}"
            continue
        check_value(schema, actual, expected.known[key][1], key)
    assert dict(model.extra) == expected.extra
    # to_dict() is JSON-safe, and a fixed point: decoding it again gives the same data.
    data = model.to_dict()
    assert json.loads(json.dumps(data)) == data
    assert cls.from_dict(data).to_dict() == data
    assert repr(model).startswith(f"{cls.__name__}(")


def check_value(schema: dict[str, Any], actual: Any, expected: Any, where: str) -> None:
    kind = field_kind(schema)
    if kind == "money":
        assert type(actual) is Decimal, where
        # Exactly the digits, sign and exponent the JSON text spells: never via a float.
        assert actual.as_tuple() == expected.as_tuple(), f"{where}: {actual!r} != {expected!r}"
    elif kind == "timestamp":
        assert type(actual) is datetime and actual.tzinfo is not None, where
        if expected is not ANY_TIMESTAMP:
            assert actual == expected and actual.utcoffset() == expected.utcoffset(), where
    elif kind == "integer":
        assert type(actual) is int and actual == expected, where
    elif kind == "array":
        assert type(actual) is tuple and len(actual) == len(expected), where
        for index, (item, item_expected) in enumerate(zip(actual, expected, strict=True)):
            check_value(schema["items"], item, item_expected, f"{where}[{index}]")
    elif kind == "object":
        check_model(actual, expected)
    else:
        assert type(actual) is type(expected) and actual == expected, where


def _is_timestamp_field(path: str | None) -> bool:
    """Whether the error's field (``lines[0].x`` -> ``x``) is a timestamp of some spec schema."""
    if not path:
        return False
    key = path.rsplit(".", 1)[-1].split("[", 1)[0]
    return any(
        key in SCHEMAS[name].get("properties", {})
        and field_kind(SCHEMAS[name]["properties"][key]) == "timestamp"
        for name in SCHEMAS
    )


def assert_outcome(text: str, expected: Expected) -> None:
    result = fetch(text.encode("utf-8", errors="surrogatepass"))
    if must_refuse(expected):
        assert type(result) is APIResponseValidationError, f"accepted a bad body: {text}"
        assert result.status_code == 200 and str(result)
        return
    if type(result) is APIResponseValidationError and result.field == "id":
        # The client refuses an answer naming another invoice than the one it asked for,
        # or none (a missing or null id).
        sent_id = expected.known.get("id", (None, None))[1]
        assert sent_id != INVOICE_ID, f"{result}: {text}"
        return
    if type(result) is APIResponseValidationError and _is_timestamp_field(result.field):
        # A free-form timestamp string (ANY_TIMESTAMP) may be refused; everything else parses.
        assert ANY_TIMESTAMP in _all_values(expected), f"{result}: {text}"
        return
    assert type(result) is Invoice, f"{type(result).__name__}: {result} for {text}"
    check_model(result, expected)


def _all_values(expected: Expected) -> list[Any]:
    values: list[Any] = []
    for _, value in expected.known.values():
        if isinstance(value, Expected):
            values += _all_values(value)
        elif isinstance(value, list):
            for item in value:
                values += _all_values(item) if isinstance(item, Expected) else [item]
        else:
            values.append(value)
    return values


# -- properties -------------------------------------------------------------------------------------


def test_strategies_cover_every_spec_property_of_both_schemas() -> None:
    kinds = {
        name: {key: field_kind(schema) for key, schema in properties(name).items()}
        for name in ("Invoice", "InvoiceLine")
    }
    assert kinds["Invoice"]["totalAmount"] == "money"
    assert kinds["InvoiceLine"]["vatRate"] == "money"
    assert kinds["Invoice"]["issuedAt"] == "timestamp"
    assert kinds["Invoice"]["lines"] == "array"
    assert set(SCHEMAS) >= {"Invoice", "InvoiceLine"}


@EXAMPLES
@given(body=invoice_body())
def test_generated_invoice_bodies_parse_exactly_or_are_refused(
    body: tuple[str, Expected], figures: Any
) -> None:
    figures.count("property-based", "invoice bodies from the spec")
    text, expected = body
    assert_outcome(text, expected)


@EXAMPLES
@given(value=money_value(), key=st.sampled_from(["subtotalAmount", "vatAmount", "totalAmount"]))
def test_money_field_is_exact_or_refused(value: tuple[str, Any], key: str, figures: Any) -> None:
    figures.count("property-based", "money values")
    text, expected = value
    result = fetch(f'{{"id":"{INVOICE_ID}","{key}":{text}}}'.encode())
    attribute = {k: a for a, k, _ in Invoice._wire_fields}[key]
    if expected is INVALID:
        assert type(result) is APIResponseValidationError and result.field == key, text
    else:
        assert type(result) is Invoice, f"{result} for {text}"
        assert getattr(result, attribute).as_tuple() == expected.as_tuple(), text


@EXAMPLES
@given(text=money_text(), as_string=st.booleans())
def test_money_in_a_line_keeps_every_digit(text: str, as_string: bool, figures: Any) -> None:
    figures.count("property-based", "line money values")
    written = json.dumps(text) if as_string else text
    body = f'{{"id":"{INVOICE_ID}","lines":[{{"amountExclVat":{written},"vatRate":21}}]}}'
    result = fetch(body.encode())
    try:
        expected = Decimal(text)
    except ArithmeticError:  # pragma: no cover - money_text only writes decimal numbers
        raise
    if abs(expected.adjusted()) > 10_000:
        assert type(result) is APIResponseValidationError
        assert result.field == "lines[0].amountExclVat"
        return
    assert type(result) is Invoice, f"{result} for {text}"
    assert result.lines is not None
    assert result.lines[0].amount_excl_vat.as_tuple() == expected.as_tuple()
    assert result.lines[0].vat_rate == Decimal(21)


@EXAMPLES
@given(body=st.binary(max_size=200))
def test_arbitrary_bytes_never_escape_as_a_raw_exception(body: bytes, figures: Any) -> None:
    figures.count("property-based", "arbitrary byte bodies")
    result = fetch(body)
    assert type(result) in (Invoice, APIResponseValidationError)


@EXAMPLES
@given(body=st.text(max_size=200))
def test_arbitrary_text_never_escapes_as_a_raw_exception(body: str, figures: Any) -> None:
    figures.count("property-based", "arbitrary text bodies")
    result = fetch(body.encode("utf-8", errors="surrogatepass"))
    assert type(result) in (Invoice, APIResponseValidationError)


@EXAMPLES
@given(
    message=st.text(max_size=300),
    status=st.sampled_from([400, 401, 403, 404, 409, 422, 429, 500, 502, 503, 520]),
)
def test_any_api_message_makes_a_printable_error(message: str, status: int, figures: Any) -> None:
    figures.count("property-based", "API error messages")
    body = json.dumps({"message": message}).encode()
    transport = httpx.MockTransport(lambda request: httpx.Response(status, content=body))
    with MijnKlantportaal(
        api_key=API_KEY,
        http_client=httpx.Client(transport=transport),
        max_retries=0,
        rate_budget=None,
    ) as client:
        error = outcome(lambda: client.invoices.get(INVOICE_ID))
    assert isinstance(error, APIStatusError) and error.status_code == status
    text = str(error)
    text.encode("utf-8")
    assert text.isprintable() and len(text) < 7_000


_header_text = st.text(
    st.characters(min_codepoint=0x20, max_codepoint=0xFF, blacklist_characters="\x7f"), max_size=40
)


@EXAMPLES
@given(
    headers=st.dictionaries(
        st.sampled_from(
            [
                "retry-after",
                "retry-after-ms",
                "x-ratelimit-reset",
                "x-ratelimit-limit",
                "x-ratelimit-remaining",
                "x-request-id",
            ]
        ),
        st.one_of(
            _header_text,
            st.integers(-(10**20), 10**20).map(str),
            st.floats(allow_nan=True).map(str),
        ),
        max_size=6,
    ),
    status=st.sampled_from([200, 429, 503]),
)
def test_any_rate_limit_headers_give_a_bounded_wait_or_a_typed_error(
    headers: dict[str, str], status: int, figures: Any
) -> None:
    figures.count("property-based", "rate-limit and retry-after headers")
    waits: list[float] = []
    raw = [(k.encode(), v.strip().encode("latin-1")) for k, v in headers.items()]
    body = b'{"id":"fac_abc12345def678"}' if status == 200 else b'{"message":"busy"}'
    transport = httpx.MockTransport(
        lambda request: httpx.Response(status, headers=raw, content=body)
    )
    with MijnKlantportaal(
        api_key=API_KEY,
        http_client=httpx.Client(transport=transport),
        max_retries=1,
        rate_budget=None,
    ) as client:
        client._transport._sleep = waits.append  # type: ignore[method-assign]
        result = outcome(lambda: client.invoices.get(INVOICE_ID))
        rate_limit = client.rate_limit
    assert rate_limit is not None
    if status == 200:
        assert type(result) is Invoice and waits == []
        return
    assert isinstance(result, APIStatusError) and result.status_code == status
    assert len(waits) <= 1 and all(0 <= w <= 60 for w in waits)
