"""Property: over valid workload values, a run either succeeds with finite numbers or refuses
with a clear UserError that names the workload file; it never crashes."""

import math

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from rpuarch.config import load_workload
from rpuarch.errors import ConfigError, UserError
from rpuarch.run import compute_report

from conftest import write_workload

# Values inside the models' ranges, kept small so each run takes well under a second.
settings_strategy = st.fixed_dictionaries({
    "network": st.fixed_dictionaries({"layers": st.integers(1, 2), "hidden": st.integers(1, 12),
                                       "dropout": st.sampled_from([0.0, 0.3])}),
    "training": st.fixed_dictionaries({
        "lr": st.floats(1e-4, 2.0), "streams": st.integers(1, 6), "seq_length": st.integers(1, 24),
        "update_mode": st.sampled_from(["exact", "aggregated"]), "max_windows_per_epoch": st.integers(1, 4),
        "epochs": st.integers(1, 2),
    }),
    "device": st.fixed_dictionaries({
        "preset": st.sampled_from(["gokmen-vlasov-2016", "symmetric", "soft-bounds", "ideal"]),
        "up_down": st.floats(-0.6, 0.6), "dw_min": st.floats(1e-4, 0.2),
    }),
    "io": st.fixed_dictionaries({"forward": st.fixed_dictionaries({
        "inp_bits": st.integers(2, 10), "out_bits": st.integers(2, 12), "out_noise": st.floats(0, 0.5),
        "inp_sto_round": st.booleans()})}),
    "update": st.fixed_dictionaries({"desired_bl": st.integers(1, 31), "update_management": st.booleans()}),
    "tile": st.fixed_dictionaries({"rows": st.integers(4, 128), "cols": st.integers(4, 128)}),
    "chip": st.fixed_dictionaries({"tiles": st.integers(1, 400)}),
    "seed": st.integers(0, 2**31),
})


def finite_numbers(tree, path=""):
    if isinstance(tree, dict):
        for key, value in tree.items():
            yield from finite_numbers(value, f"{path}.{key}")
    elif isinstance(tree, list):
        for i, value in enumerate(tree):
            yield from finite_numbers(value, f"{path}[{i}]")
    elif isinstance(tree, float):
        yield path, tree


@settings(max_examples=20, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(changes=settings_strategy)
def test_run_succeeds_with_finite_numbers_or_refuses_clearly(tmp_path_factory, changes):
    directory = tmp_path_factory.mktemp("prop")
    path = write_workload(directory, changes)
    try:
        loaded = load_workload(path)
    except ConfigError as exc:  # e.g. a preset and a field that together break a rule
        assert str(path) in str(exc) or exc.source == str(path)
        return
    try:
        report = compute_report(loaded, directory / "out", progress=False)
    except UserError as exc:
        assert str(path) in str(exc), f"the error does not name the workload: {exc}"
        return
    for section in ("accuracy", "hardware", "network"):
        for where, value in finite_numbers(report[section], section):
            assert math.isfinite(value), where
    assert report["accuracy"]["rpu"]["test_loss"] > 0
