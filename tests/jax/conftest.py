"""JAX tests run on 2 CPU devices: the flags are set here, before JAX initialises.

pytest imports every conftest while collecting, before any test runs, and JAX reads
``XLA_FLAGS`` only when its backend first starts; so every JAX test in the session sees
two devices. The ``two_devices`` fixture fails loudly if something started JAX earlier.
"""

from __future__ import annotations

import importlib.util
import os
import re
from pathlib import Path

import pytest

if importlib.util.find_spec("jax") is None:  # the jax extra is not installed
    collect_ignore_glob = ["test_*.py"]
else:
    os.environ.setdefault("JAX_PLATFORMS", "cpu")
    if "xla_force_host_platform_device_count" not in os.environ.get("XLA_FLAGS", ""):
        flags = os.environ.get("XLA_FLAGS", "")
        os.environ["XLA_FLAGS"] = f"{flags} --xla_force_host_platform_device_count=2".strip()

from autotune import compat, facts, paths

SUBMISSIONS = Path(__file__).parent / "submissions"
HPARAMS = {
    "learning_rate": 0.003, "one_minus_beta1": 0.1, "beta2": 0.999, "weight_decay": 1e-4,
    "warmup_factor": 0.02, "label_smoothing": 0.0, "dropout_rate": 0.0,
}  # fmt: skip


@pytest.fixture(autouse=True)
def _close_scopes():
    yield
    compat.deactivate()


def capped_rules(version: str, steps: int, folder: Path) -> str:
    """AlgoPerf's rules ``version`` with an external-ruleset step cap of ``steps`` (mnist)."""
    text = (paths.rulesets_dir() / f"algoperf-{version}.toml").read_text()
    head, _, tail = text.partition("[external]")
    multiplier = (steps + 0.5) / facts.proxy("mnist").step_hint  # floor() gives ``steps``
    tail = re.sub(r"step_cap_multiplier = [^\n]*", f"step_cap_multiplier = {multiplier!r}",
                  tail, count=1)  # fmt: skip
    path = folder / f"jax-test-{version}.toml"
    path.write_text(head.replace('name = "algoperf"', 'name = "jax-test"') + "[external]" + tail)
    return str(path)


@pytest.fixture
def two_devices() -> int:
    import jax

    n = jax.local_device_count()
    assert n == 2, f"JAX started with {n} device(s) before tests/jax/conftest.py set XLA_FLAGS"
    return n
