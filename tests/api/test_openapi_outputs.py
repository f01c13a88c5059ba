"""Outputs on plain pydantic (`api.schemas.Out`, for speed) are documented in the OpenAPI
document exactly as they were as ninja `Schema`s, and serialise alike."""

import pydantic
import pytest
from ninja import Schema
from ninja.schema import NinjaGenerateJsonSchema

from khutwa.api.api import api
from khutwa.api.schemas import Out


def _outs() -> list[type[Out]]:
    import khutwa.api.documents  # noqa: F401 - defines the outputs

    return list(Out.__subclasses__())


def _twin(model: type[Out]) -> type[Schema]:
    """The same fields on ninja's Schema, as the output was declared before."""
    fields = {name: (info.annotation, info) for name, info in model.model_fields.items()}
    return pydantic.create_model(model.__name__, __base__=Schema, __module__=model.__module__, **fields)  # type: ignore[call-overload, no-any-return]


def test_there_are_outputs_on_plain_pydantic() -> None:
    assert {m.__name__ for m in _outs()} >= {"DocumentOut"}


@pytest.mark.parametrize("model", _outs(), ids=lambda m: m.__name__)
def test_an_output_is_documented_as_its_schema_twin_would_be(model: type[Out]) -> None:
    components = api.get_openapi_schema(path_prefix="/api/v1/")["components"]["schemas"]
    twin = _twin(model).model_json_schema(schema_generator=NinjaGenerateJsonSchema)
    assert components[model.__name__] == twin
    assert model.model_json_schema(schema_generator=NinjaGenerateJsonSchema) == twin


def test_a_document_serialises_as_its_schema_twin_would() -> None:
    import datetime as dt

    from khutwa.api.documents import DocumentOut

    values = {
        "public_id": "0b0e1c52-5d3a-4a53-9d0e-2f1f6a1b2c3d",
        "number": "INV-2026-000001",
        "type": "invoice",
        "issued_at": dt.datetime(2026, 12, 3, 9, 0, 1, 123456, tzinfo=dt.UTC),
        "currency": "BHD",
        "customer": 7,
        "subtotal": "10.000",
        "vat": "1.000",
        "total": "11.000",
        "hash": "ab" * 32,
        "previous_hash": "",
        "counter": 1,
        "key_id": "k1",
        "verify_url": "https://example.test/verify/x",
        "qr": "data",
        "lines": [{"description": "كعك", "quantity": "2", "unit_price": "5.000"}],
        "references": {"quotation": None},
        "tamkeen_application_number": "",
        "valid_until": None,
        "due_date": dt.date(2026, 12, 31),
        "reason": "",
        "payment": None,
    }
    assert DocumentOut(**values).model_dump_json() == _twin(DocumentOut)(**values).model_dump_json()
    assert DocumentOut(**values).model_dump() == _twin(DocumentOut)(**values).model_dump()
