"""What a hardware architect's review found wrong in the chip model, each now a check."""

import pytest

from rpuarch.arch.des import simulate
from rpuarch.arch.estimate import estimate
from rpuarch.arch.schedule import build_schedule
from rpuarch.errors import ConfigError

from archtest_helpers import lstm_program, workload

SMALL = {"network": {"layers": 1, "hidden": 8, "vocab_size": 20}, "training": {"streams": 2, "seq_length": 5}}


def small(**more):
    return workload(**{**SMALL, **more})


def test_partial_sums_of_a_split_array_travel_on_the_bus():
    # 1 x 8 LSTM, vocabulary 20: lstm0 is 32 x 29. On 16 x 16 tiles it is a 2 x 2 grid on tiles
    # 0, 1 (first row band) and 2, 3 of a mesh row: forward, the second column band sends its 32
    # partial sums (32-bit) to the tile that adds them, 1 hop away; backward, the second row band
    # its 29, 2 hops away. On 64 x 64 tiles nothing is split and nothing moves.
    whole = lstm_program(tile={"rows": 64, "cols": 64})
    split = lstm_program(tile={"rows": 16, "cols": 16}, chip={"tiles": 8, "noc": {"links": 64}, "memory": {"ports": 64}})
    bit_J = 0.3e-12
    for phase, words, hops in (("forward", 32, 1), ("backward", 29, 2)):
        extra = split.works[(0, phase)].energy_per_pass.get("bus", 0.0)
        assert whole.works[(0, phase)].energy_per_pass.get("bus", 0.0) == 0.0
        assert extra == pytest.approx(words * 32 * hops * bit_J, rel=1e-12)
    # ... and take network time: a hop's latency plus 32 x 4 bytes at 102.4 GB/s, on every pass.
    stage = [s for s in split.works[(0, "forward")].stages if s.resource == "bus" and s.per_pass > 0]
    assert stage[0].per_pass == pytest.approx(2e-9 + 32 * 4 / 102.4e9)


def test_storing_activations_is_off_the_forward_critical_path():
    # One stream: the forward chain of the LSTM layers ends at the same time whether the activation
    # memory is fast or 100x slower (the store runs beside the next steps); the backward waits for it.
    # (The softmax is not recurrent: its backward may start early and interleave with its forward.)
    def forward_end(bandwidth):
        program = lstm_program(layers=2, streams=1, steps=6, chip={"memory": {"bandwidth_GBps": bandwidth, "ports": 4},
                                                                    "noc": {"links": 64}})
        schedule = build_schedule(program, windows=1)
        result = simulate(schedule)
        forward = [op for op in schedule.ops if op.array < 2 and op.work is program.works[(op.array, "forward")]]
        return max(result.end[op.index] for op in forward), result.makespan

    fast, slow = forward_end(256.0), forward_end(2.56)
    assert slow[0] == pytest.approx(fast[0], rel=1e-12)
    assert slow[1] > fast[1]  # the stores are slower; back-propagation waits for them


def test_update_and_read_voltages_are_ordered():
    # Reads and half-selected devices below the threshold, coinciding pulses above it.
    with pytest.raises(ConfigError) as info:
        small(tile={"array": {"update_voltage_V": 1.2}})  # a coincidence (1.2 V) below the 1.5 V threshold
    assert info.value.field == "tile.array" and "threshold" in info.value.problem
    with pytest.raises(ConfigError):
        small(tile={"array": {"update_voltage_V": 3.2}})  # half-selected devices see 1.6 V > 1.5 V
    with pytest.raises(ConfigError):
        small(tile={"array": {"read_voltage_V": 1.6}})  # every read would switch devices
    w = small()
    array = w.tile.array
    assert array.read_voltage_V < array.threshold_voltage_V < array.update_voltage_V
    assert array.update_voltage_V / 2 < array.threshold_voltage_V


def test_sram_energy_grows_with_capacity():
    from rpuarch.arch.components import sram_byte_J

    # CACTI 7.0.3 at 32 nm: 8 KB 2.9 pJ, 1 MB 38 pJ per 64-bit access (8 bytes).
    assert sram_byte_J(32, 8 * 1024 / 1e6)[0] == pytest.approx(2.9e-12 / 8)
    assert sram_byte_J(32, 2**20 / 1e6)[0] == pytest.approx(38e-12 / 8)
    sizes = [0.01, 0.1, 1, 4, 32, 256]
    energies = [sram_byte_J(22, mb)[0] for mb in sizes]
    assert all(b > a for a, b in zip(energies, energies[1:]))
    # 32 MB is beyond the table: extrapolated along the slope of 1 MB -> 4 MB, and said so.
    energy, how = sram_byte_J(22, 32)
    slope = __import__("math").log(37 / 18) / __import__("math").log(4)
    assert energy == pytest.approx(37e-12 / 8 * (32e6 / 4 / 2**20) ** slope, rel=1e-9) and "extrapolated" in how
    # The 2016 chip's 32 MB at 22 nm costs more per byte than the 5 pJ it was once given.
    assert energy > 5e-12
    with pytest.raises(ConfigError) as info:
        estimate(small(chip={"memory": {"node_nm": 7}}), train_chars=100)
    assert info.value.field == "chip.memory.node_nm"


def test_reticle_and_power_density_are_checked():
    ok = estimate(small(chip={"tiles": 50}), train_chars=100)["hardware"]
    assert ok["chip"]["area_mm2"] < 858 and not any("chip's" in w for w in ok["warnings"])
    # The 2016 chip: 100 tiles of 4096 x 4096 and 32 MB come to ~968 mm^2, beyond one exposure field.
    big = estimate(small(), train_chars=100)["hardware"]
    assert big["chip"]["area_mm2"] > 858
    assert any("reticle_limit_mm2" in w for w in big["warnings"])
    hot = estimate(small(chip={"max_power_density_W_per_mm2": 0.1}), train_chars=100)["hardware"]
    assert any("max_power_density_W_per_mm2" in w for w in hot["warnings"])
    # A run's report lists them with its other warnings (terminal and report.md print that list).
    from rpuarch.report.warnings import warnings_of

    kinds = [w["kind"] for w in warnings_of({"hardware": hot})]
    assert kinds.count("chip_limit") == 2


def test_tiles_used_and_the_whole_chip_are_both_reported():
    hw = estimate(small(), train_chars=100)["hardware"]
    chip, used = hw["chip"], hw["used"]
    assert (chip["tiles"], used["tiles"]) == (100, 2) == (hw["chip_tiles"], hw["tiles"])
    tile_area = hw["tile_area_mm2"]
    assert chip["area_mm2"] - used["area_mm2"] == pytest.approx(98 * tile_area)
    assert chip["peak_ops_per_s"] == pytest.approx(50 * used["peak_ops_per_s"])
    # Power-gated (the default): the static power charged is the used tiles' (10 mW each) and the chip's 1 W.
    assert used["static_power_W"] == pytest.approx(2 * 0.01 + 1.0) == hw["static_power_W"]
    assert chip["static_power_W"] == pytest.approx(100 * 0.01 + 1.0)
    leaky = estimate(small(chip={"power_gating": False}), train_chars=100)["hardware"]
    assert leaky["static_power_W"] == pytest.approx(100 * 0.01 + 1.0)
    assert leaky["energy_per_char_J"] > hw["energy_per_char_J"]


def test_time_per_character_and_latency_are_different_things():
    # One stream: a step's latency is the chain of every array's forward and backward and an
    # update; the time per character of a long window is the pipelined throughput, shorter.
    one = estimate(small(training={"streams": 1, "seq_length": 5}), train_chars=100)["hardware"]
    many = estimate(small(training={"streams": 16, "seq_length": 5}), train_chars=1000)["hardware"]
    assert one["latency_s"] == pytest.approx(many["latency_s"])
    assert many["time_per_char_s"] < one["time_per_char_s"] < one["latency_s"]
    assert one["inference"]["latency_s"] < one["latency_s"]
    assert many["inference"]["time_per_char_s"] < one["inference"]["latency_s"]


def test_idle_tiles_hold_copies_of_the_network():
    # 2 tiles per copy on a 20-tile chip: 10 copies for 16 streams.
    base = small(training={"streams": 16, "seq_length": 5}, chip={"tiles": 20})
    copied = small(training={"streams": 16, "seq_length": 5}, chip={"tiles": 20, "replicate": "idle-tiles"})
    one, ten = (estimate(w, train_chars=1000)["hardware"] for w in (base, copied))
    assert (one["replicas"], ten["replicas"]) == (1, 10)
    assert (one["tiles"], ten["tiles"]) == (2, 20)
    # Inference: independent copies, each with 2 of the 16 streams (the busiest), 8x the throughput
    # up to the shared bus (a fluid share of it per copy).
    speedup = one["inference"]["time_per_char_s"] / ten["inference"]["time_per_char_s"]
    assert 6 < speedup <= 8 + 1e-9
    # Training: forward and backward are shared out, the updates are not (each copy applies every
    # stream's rank-1 updates, so the copies stay equal): never faster than 16 x 5 updates in a row.
    update_s = 4 * 10 * 1e-9
    assert one["time_per_char_s"] > ten["time_per_char_s"] >= update_s * (1 - 1e-9)
    # ... and every copy spends the update energy of all the streams: 10x one copy's.
    update_J = lambda hw: hw["breakdown"]["energy_J"]["array_update"]["update"]  # noqa: E731
    assert update_J(ten) == pytest.approx(10 * update_J(one), rel=1e-6)
    # The x and d vectors of the other copies' updates travel on the bus.
    assert ten["breakdown"]["energy_J"]["bus"]["update"] > 0 and "update" not in one["breakdown"]["energy_J"]["bus"]
