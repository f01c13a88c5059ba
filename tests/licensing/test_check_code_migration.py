"""The migration that gives licences their public check code gives each existing licence its
own (a field default is evaluated once for the rows already there)."""

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

from tests.licensing.factories import World

pytestmark = pytest.mark.django_db(transaction=True)


def test_existing_licences_each_get_their_own_code():
    world = World()
    licences = [world.licensed()]
    second = World()
    licences.append(second.licensed())
    executor = MigrationExecutor(connection)
    executor.migrate([("licensing", "0003_licence_vat_number_validated")])
    executor.loader.build_graph()
    executor.migrate([("licensing", "0004_licence_check_code")])
    from khutwa.licensing.models import CHECK_CODE_ALPHABET, Licence

    codes = list(
        Licence.objects.filter(pk__in=[lic.pk for lic in licences]).values_list("check_code", flat=True)
    )
    assert len(codes) == 2 and len(set(codes)) == 2
    assert all(len(c) == 6 and set(c) <= set(CHECK_CODE_ALPHABET) for c in codes)
    # Back to the latest migrations, for the tests that follow in this process.
    executor.loader.build_graph()
    executor.migrate(executor.loader.graph.leaf_nodes())
