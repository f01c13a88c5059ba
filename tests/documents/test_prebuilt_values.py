"""`khutwa.prebuilt` prepares an amount (a DecimalField's value) without the field's
`get_db_prep_save` when it is a finite Decimal: what it passes to the driver is exactly what
Django's preparation gives, for any Decimal and on both engines; anything else still goes to the
field (and is refused as the ORM refuses it)."""

from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.db import connection
from hypothesis import given
from hypothesis import strategies as st

from khutwa import prebuilt
from khutwa.documents.models import Document, DocumentLine

AMOUNTS = ("subtotal", "vat", "total")
LINE_AMOUNTS = ("quantity", "unit_price", "discount", "vat_rate", "net")


def test_every_amount_of_a_document_and_its_lines_takes_the_decimal_path():
    for model, names in ((Document, AMOUNTS), (DocumentLine, LINE_AMOUNTS)):
        for preparer in prebuilt._converted(model, names):
            assert isinstance(preparer, prebuilt._DecimalPrep)


@given(
    st.decimals(allow_nan=False, allow_infinity=False, places=3)
    | st.decimals(allow_nan=False, allow_infinity=False)
)
def test_a_finite_decimal_is_prepared_as_django_prepares_it(value):
    for model, names in ((Document, AMOUNTS), (DocumentLine, LINE_AMOUNTS)):
        for name, preparer in zip(names, prebuilt._converted(model, names), strict=True):
            ours = preparer.get_db_prep_save(value, connection)
            django = model._meta.get_field(name).get_db_prep_save(value, connection)
            assert type(ours) is type(django)
            assert str(ours) == str(django)  # the same digits and exponent, not only equal


@pytest.mark.parametrize("value", ["2.500", 3, None])
def test_anything_else_goes_to_the_field(value):
    (preparer,) = prebuilt._converted(DocumentLine, ("quantity",))
    field = DocumentLine._meta.get_field("quantity")
    assert preparer.get_db_prep_save(value, connection) == field.get_db_prep_save(value, connection)


@pytest.mark.parametrize("value", [Decimal("NaN"), Decimal("Infinity"), "many"])
def test_a_value_the_orm_refuses_is_refused(value):
    (preparer,) = prebuilt._converted(DocumentLine, ("quantity",))
    with pytest.raises(ValidationError):
        preparer.get_db_prep_save(value, connection)
