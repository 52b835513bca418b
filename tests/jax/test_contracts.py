"""Every proxy workload with a JAX implementation passes the shared Workload contract.

The suite of :class:`autotune.testing.WorkloadContract` with ``framework = "jax"``, on
two CPU devices (``tests/jax/conftest.py``). JAX compiles each model (init, forward,
train step, eval) before it runs, several seconds per family on one CPU core, so by
default only the two cheapest families run (``DEFAULT``); the other base workloads and
the held-out variants (model overrides, which the parity tests ``test_parity_*.py``
check against PyTorch) are ``slow``: ``pytest -m slow tests/jax/test_contracts.py``.
"""

from __future__ import annotations

import pytest

from autotune import facts, registry
from autotune.testing import WorkloadContract

DEFAULT = {"mnist", "criteo1tb"}


def _jax_proxies() -> list[str]:
    names = []
    for name in facts.proxy_names():
        family = registry.FAMILIES.get(facts.proxy(name).family)
        if family is not None and family.implementation("jax") is not None:
            names.append(name)
    return names


@pytest.fixture(params=[
    pytest.param(n, marks=[] if n in DEFAULT else [pytest.mark.slow])
    for n in _jax_proxies()
])  # fmt: skip
def workload_name(request: pytest.FixtureRequest, two_devices: int) -> str:
    name: str = request.param
    return name


class TestJaxWorkloadContract(WorkloadContract):
    """The contract suite on every JAX proxy workload."""

    framework = "jax"
