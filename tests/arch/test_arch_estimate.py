"""The estimate API: its output schema, measured vs expected activity, inputs and errors."""

import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from rpuarch.arch.estimate import estimate, estimate_network
from rpuarch.arch.network import mlp_network
from rpuarch.errors import ConfigError

from archtest_helpers import workload

# The paper's mapping (a bias column per array), whose shapes the tests below count with.
SMALL = {"network": {"layers": 1, "hidden": 8, "vocab_size": 20, "bias": "analog"}, "training": {"streams": 2, "seq_length": 5}}
ISSUE_KEYS = (
    "tiles", "area_mm2", "peak_ops_per_s", "array_cycle_s", "time_per_char_s", "epoch_time_s",
    "energy_per_char_J", "power_W", "ops_per_s_per_W", "utilization", "breakdown",
)


def small(**more):
    sections = {**SMALL, **more}
    return workload(**sections)


def test_output_schema_and_baseline_arithmetic():
    result = estimate(small(baselines=["xeon-e5-2699v4", "v100", "h100"]), train_chars=1000)
    hw = result["hardware"]
    for key in ISSUE_KEYS:
        assert key in hw, key
    assert set(hw["breakdown"]) >= {"energy_J", "latency_s"}
    assert set(hw["breakdown"]["latency_s"]) >= {"tile", "adc", "vector_unit"}
    assert set(hw["breakdown"]["energy_J"]["adc"]) == {"forward", "backward"}
    assert hw["activity"]["source"] == "workload"
    assert hw["windows_per_epoch"] == 1000 // 10 and hw["items_per_epoch"] == 1000
    assert [b["name"] for b in result["baselines"]] == ["Xeon E5-2699 v4", "V100", "H100"]
    for b in result["baselines"]:
        assert b["acceleration_factor"] == pytest.approx(b["epoch_time_s"] / hw["epoch_time_s"])
        assert b["energy_ratio"] == pytest.approx(b["energy_J"] / hw["epoch_energy_J"])
        assert b["energy_J"] == pytest.approx(b["power_W"] * b["epoch_time_s"])
    # Power is energy over time in steady state; the breakdown adds up to the energy per window.
    window_J = sum(sum(p.values()) for p in hw["breakdown"]["energy_J"].values())
    assert window_J == pytest.approx(hw["energy_per_char_J"] * 10)
    assert hw["power_W"] == pytest.approx(window_J / hw["window_time_s"])


def test_same_workload_same_numbers():
    a = estimate(small(), train_chars=500)
    b = estimate(small(), train_chars=500)
    a["hardware"]["simulation"].pop("wall_s"), b["hardware"]["simulation"].pop("wall_s")
    assert a == b


def counters(forward_repeats=0, coincidences=0):
    """What training measures: 100 forward vectors and 100 rank-1 updates per array."""
    arrays = {}
    for name, rows, cols in (("lstm0", 32, 29), ("softmax", 20, 9)):
        arrays[name] = {
            "forward_vectors": 100, "forward_repeats": forward_repeats, "forward_outputs": 100 * rows,
            "updates": 100, "update_bl": 100 * 8, "x_pulses": 100 * 8 * cols // 2, "d_pulses": 100 * 8 * rows // 4,
            "coincidences": coincidences * rows * cols,
        }
    totals = {k: sum(a[k] for a in arrays.values()) for k in arrays["lstm0"]}
    return {**totals, "arrays": arrays}


def test_measured_activity_replaces_the_expected_one():
    w = small()
    measured = estimate(w, activity=counters(coincidences=100), train_chars=500)["hardware"]
    assert measured["activity"]["source"] == "measured"
    rates = measured["activity"]["arrays"]["lstm0"]
    assert rates["bl"] == 8 and rates["x_pulse_fraction"] == pytest.approx(0.5, abs=0.01)
    assert rates["coincidences_per_device"] == pytest.approx(1.0)
    busier = estimate(w, activity=counters(coincidences=300), train_chars=500)["hardware"]
    update = lambda hw: hw["breakdown"]["energy_J"]["array_update"]["update"]  # noqa: E731
    assert update(busier) > update(measured)
    assert busier["time_per_char_s"] == pytest.approx(measured["time_per_char_s"])
    # Bound-management repeats measured by training cost analog cycles.
    repeating = estimate(w, activity=counters(forward_repeats=100, coincidences=100), train_chars=500)["hardware"]
    assert repeating["activity"]["arrays"]["lstm0"]["bm_repeats"] == 1.0
    assert repeating["time_per_char_s"] > measured["time_per_char_s"]


def test_vocabulary_from_the_corpus_as_training_reads_it(tmp_path):
    from rpuarch.nn.corpus import read_corpus
    from rpuarch.nn.data import split_corpus

    corpus = tmp_path / "corpus.txt"
    corpus.write_text("the quick brown fox jumps over the lazy dog. " * 100 + "XYZ")
    w = workload(dataset={"path": str(corpus)}, network={"layers": 1, "hidden": 8},
                 training={"streams": 2, "seq_length": 5})
    data = split_corpus(read_corpus(w.dataset), w.dataset)
    hw = estimate(w)["hardware"]
    # The training split's symbols (X, Y and Z are only in the test split: one unknown symbol more).
    assert hw["inputs"]["vocab_size"] == data.vocab.size == 29
    assert hw["inputs"]["items_per_epoch"] == data.splits["train"].size
    # network.vocab_size is used when given (no corpus read), training's own count above all.
    given = workload(dataset={"path": str(corpus)}, network={"layers": 1, "hidden": 8, "vocab_size": 40},
                     training={"streams": 2, "seq_length": 5})
    assert estimate(given)["hardware"]["inputs"]["vocab_size"] == 40
    assert estimate(given, vocab_size=20, train_chars=100)["hardware"]["inputs"]["vocab_size"] == 20
    # No corpus and no vocab_size: a clear error naming the field.
    missing = workload(dataset={"path": str(tmp_path / "gone.txt")}, network={"layers": 1, "hidden": 8})
    with pytest.raises(ConfigError) as info:
        estimate(missing)
    assert info.value.field == "network.vocab_size" and "gone.txt" in info.value.problem


def test_network_that_does_not_fit_says_how_many_tiles():
    w = small(tile={"rows": 16, "cols": 16}, chip={"tiles": 3})
    with pytest.raises(ConfigError) as info:
        estimate(w, train_chars=100)
    assert info.value.field == "chip.tiles"
    assert "needs 6 tiles" in info.value.problem and "the chip has 3" in info.value.problem


def test_adc_jitter_is_a_warning_at_the_held_signal_frequency():
    # A 16-bit ADC at 200 MS/s converting integrator outputs held for 80 ns: jitter is no limit.
    held = estimate(small(io={"forward": {"out_bits": 16}}), train_chars=100)["hardware"]
    assert held["converters"]["forward_adc_bits"] == 16 and held["checks"]["adc_jitter"]["ok"]
    # Integrations of 1 ns: the held value changes at 500 MHz; 100 fs of jitter cannot give 16 bits.
    fast = estimate(small(io={"forward": {"out_bits": 16}}, tile={"t_int_ns": 1.0}), train_chars=100)["hardware"]
    assert not fast["checks"]["adc_jitter"]["ok"] and fast["checks"]["adc_jitter"]["signal_MHz"] == pytest.approx(500)
    from rpuarch.report.warnings import warnings_of

    jitter = [w for w in warnings_of({"hardware": fast}) if "adc_jitter" in w["message"]]
    assert [w["kind"] for w in jitter] == ["sizing_check"]


def test_measured_host_needs_a_measurement():
    w = small(baselines=["measured-host"])
    skipped = estimate(w, train_chars=1000)
    assert skipped["baselines"] == [] and skipped["baselines_skipped"][0]["name"] == "measured host"
    measured = estimate(w, train_chars=1000, measured_host_chars_per_s=5000.0)
    (host,) = measured["baselines"]
    assert host["epoch_time_s"] == pytest.approx(1000 / 5000.0)
    assert host["energy_J"] == pytest.approx(20.0 * 0.2)


def test_training_split_size_from_the_dataset_without_reading_it():
    w = small(dataset={"name": "tinyshakespeare", "max_chars": 20000})
    hw = estimate(w)["hardware"]
    assert hw["inputs"]["items_per_epoch"] == 16000 and "max_chars" in hw["inputs"]["items_per_epoch_source"]
    w = small(dataset={"name": "warpeace"})
    assert estimate(w)["hardware"]["inputs"]["items_per_epoch"] == int(3_196_234 * 0.8)


def test_activation_memory_spills_off_chip_when_too_small():
    roomy = estimate(small(), train_chars=500)["hardware"]
    tight = estimate(small(chip={"memory": {"capacity_MB": 0.0001}}), train_chars=500)["hardware"]
    assert roomy["activation_memory"]["spill_fraction"] == 0 and "offchip" not in roomy["breakdown"]["energy_J"]
    assert 0 < tight["activation_memory"]["spill_fraction"] < 1
    assert sum(tight["breakdown"]["energy_J"]["offchip"].values()) > 0
    assert any("off chip" in note for note in tight["notes"])


def test_offchip_memory_is_one_resource_whatever_the_memory_ports():
    # Everything spills to an off-chip memory of 0.01 GB/s, the bottleneck: more on-chip ports must
    # not make it faster (its bandwidth is its own, not multiplied by the ports).
    slow = {"offchip": {"bandwidth_GBps": 0.01}}
    times = [estimate(small(chip={"memory": {"capacity_MB": 0.0, "ports": ports}, **slow}), train_chars=500)["hardware"]
             ["window_time_s"] for ports in (1, 16)]
    assert times[1] == pytest.approx(times[0], rel=1e-9)
    hw = estimate(small(chip={"memory": {"capacity_MB": 0.0, "ports": 16}, **slow}), train_chars=500)["hardware"]
    # The off-chip memory is busy nearly the whole window: all bytes at 0.01 GB/s.
    assert hw["utilization"]["offchip_time"] > 0.9


def test_full_tile_figure_of_the_2016_tile():
    full = estimate(small(), train_chars=100)["hardware"]["full_tile"]
    assert full["cycle_s"] == pytest.approx(200e-9)
    assert full["ops_per_s"] == pytest.approx(6 * 4096 * 4096 / 200e-9)


def test_mlp_estimate():
    w = small()
    network = mlp_network([784, 256, 128, 10], w.tile.rows, w.tile.cols, batch=1)
    result = estimate_network(w, network, 600, "test")
    hw = result["hardware"]
    assert hw["inputs"]["unit"] == "sample" and hw["tiles"] == 3
    assert hw["mapping"]["weights"] == 256 * 785 + 128 * 257 + 10 * 129
    # The first layer has no backward product: no backward ADC samples for it.
    # One window is one sample: the backward reads convert the 257 + 129 inputs of layers 1 and 2.
    assert hw["breakdown"]["energy_J"]["adc"]["backward"] == pytest.approx((257 + 129) * 23e-12, rel=1e-9)


def test_counters_of_split_arrays_are_per_tile_sums():
    # On 16 x 16 tiles lstm0 (32 x 29) is a 2 x 2 grid: training counts each logical update once
    # per tile, and the pulses of the lines of all four tiles (x on 2 x 29 lines, d on 2 x 32).
    w = small(tile={"rows": 16, "cols": 16}, chip={"tiles": 8})
    updates, bl = 50, 10
    lstm0 = {"forward_vectors": 4 * 50, "forward_repeats": 4 * 25, "updates": 4 * updates, "update_bl": 4 * updates * bl,
             "x_pulses": int(0.4 * bl * updates * 2 * 29), "d_pulses": int(0.05 * bl * updates * 2 * 32),
             "coincidences": int(0.2 * updates * 32 * 29)}
    rates = estimate(w, activity={**lstm0, "arrays": {"lstm0": lstm0}}, train_chars=500)["hardware"]["activity"]
    got = rates["arrays"]["lstm0"]
    assert got["bm_repeats"] == pytest.approx(0.5) and got["bl"] == pytest.approx(bl)
    assert got["x_pulse_fraction"] == pytest.approx(0.4, rel=1e-3)
    assert got["d_pulse_fraction"] == pytest.approx(0.05, rel=1e-3)
    assert got["coincidences_per_device"] == pytest.approx(0.2, rel=1e-3)
    # The softmax has no counters of its own: it shares the pooled rates (here lstm0's alone).
    assert rates["arrays"]["softmax"]["bl"] == pytest.approx(bl)


positive = st.floats(1e-3, 1e3)


@settings(max_examples=10, deadline=None)
@given(
    rows=st.integers(8, 4096), cols=st.integers(8, 4096), t_int=positive, adc_energy=st.floats(0, 100),
    rate=st.floats(1, 5000), lines_per_adc=st.integers(1, 64), lanes=st.integers(1, 512),
    links=st.integers(1, 8), capacity=st.floats(0, 64), static=st.floats(0, 5), out_bits=st.integers(2, 14),
    bm_repeats=st.floats(0, 3), streams=st.integers(1, 40), steps=st.integers(1, 30),
)
def test_any_valid_hardware_gives_finite_numbers_or_a_clear_error(
    rows, cols, t_int, adc_energy, rate, lines_per_adc, lanes, links, capacity, static, out_bits, bm_repeats,
    streams, steps,
):
    w = workload(
        network={"layers": 1, "hidden": 16, "vocab_size": 30},
        training={"streams": streams, "seq_length": steps},
        tile={"rows": rows, "cols": cols, "t_int_ns": t_int, "adc": {"energy_pJ": adc_energy, "sample_rate_MSps": rate,
              "lines_per_adc": lines_per_adc}, "vector_unit": {"lanes": lanes}},
        chip={"tiles": 64, "static_power_W": static, "noc": {"links": links}, "memory": {"capacity_MB": capacity}},
        io={"forward": {"out_bits": out_bits}}, activity={"bm_repeats": bm_repeats},
    )
    try:
        result = estimate(w, train_chars=5000)
    except ConfigError as error:
        assert error.field == "chip.tiles"
        return
    hw = result["hardware"]
    for key in ("time_per_char_s", "epoch_time_s", "energy_per_char_J", "power_W", "area_mm2"):
        assert math.isfinite(hw[key]) and hw[key] > 0, key
    assert all(0 <= v <= 1 + 1e-9 for v in hw["utilization"].values())
    for b in result["baselines"]:
        assert math.isfinite(b["acceleration_factor"]) and b["acceleration_factor"] > 0


def test_inference_mode_is_the_forward_pass_alone():
    w = small(training={"streams": 4, "seq_length": 5})
    train = estimate(w, train_chars=1000)["hardware"]
    alone = estimate(w, train_chars=1000, mode="inference")
    hw = alone["hardware"]
    assert hw["mode"] == "inference" and "backward" not in hw["phase_spans_s"]
    # Baselines compare their inference with the chip's, the same as beside a training estimate.
    (v100,) = alone["baselines"]
    assert set(v100) == {"name", "kind", "preset", "inference"}
    assert v100["inference"]["acceleration_factor"] == pytest.approx(v100["inference"]["time_per_item_s"] / hw["time_per_char_s"])
    # The same figures as the inference section beside a training estimate.
    for key in ("time_per_char_s", "latency_s", "energy_per_char_J", "power_W", "ops_per_s", "ops_per_s_per_W"):
        assert hw[key] == pytest.approx(train["inference"][key], rel=1e-9), key
    # Per token: one forward product of every array (2 ops per weight) per character.
    weights = train["mapping"]["weights"]
    assert hw["ops_per_char"] == 2 * weights
    assert hw["ops_per_s"] == pytest.approx(2 * weights / hw["time_per_char_s"])
    assert hw["time_per_char_s"] < train["time_per_char_s"] and hw["energy_per_char_J"] < train["energy_per_char_J"]


def test_weight_programming_time_and_energy():
    # 1 x 8 LSTM, vocabulary 20, one tile per array: lstm0 32 x 29, softmax 20 x 9.
    # Columns one after another, 20 iterations each: a 1 ns pulse, an 80 ns read, the ADCs' conversions
    # of the column's rows (min(rows, 16) at 200 MS/s).
    hw = estimate(small(), train_chars=100)["hardware"]
    per_column = 1e-9 + 80e-9 + 16 / 200e6
    assert hw["programming"]["time_s"] == pytest.approx(20 * 29 * per_column)
    assert hw["programming"]["iterations_per_device"] == 20 and hw["programming"]["weights"] == 32 * 29 + 20 * 9
    # Energy: per iteration per device at least its programming pulse, (2 V)^2 / 24 MOhm for 1 ns.
    assert hw["programming"]["energy_J"] > 20 * (32 * 29 + 20 * 9) * 4 / 24e6 * 1e-9


def test_run_report_shows_inference_and_programming():
    from rpuarch.report.tables import hardware_table

    hw = estimate(small(), train_chars=100)["hardware"]
    rows = dict(hardware_table({"hardware": hw}).rows)
    assert rows["inference: efficiency"].endswith("Ops/s/W") and "programming the initial weights: energy" in rows
    assert rows["tiles on the chip"] != rows["tiles used"]
