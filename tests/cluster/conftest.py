"""Fault tests against the local cluster (scripts/cluster.sh; make test-cluster brings it up,
runs these, and takes it down). Marked `cluster` and left out of every other run."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.cluster.harness import Cluster


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Mark the tests here `cluster`; a run that does not ask for them (-m cluster) leaves
    them out (reported as deselected): they need the cluster up."""
    wanted = "cluster" in (config.option.markexpr or "") and "not cluster" not in config.option.markexpr
    keep, drop = [], []
    for item in items:
        if "/cluster/" in str(item.fspath):
            item.add_marker(pytest.mark.cluster)
            (keep if wanted else drop).append(item)
        else:
            keep.append(item)
    if drop:
        config.hook.pytest_deselected(items=drop)
        items[:] = keep


@pytest.fixture(scope="session")
def cluster() -> Iterator[Cluster]:
    running = Cluster()
    running.require_up()
    yield running
