"""What network.bias and network.arrays cost on the chip: counted from the shared mapping."""

import pytest

from rpuarch.arch.baselines import activation_bytes, window_kernels
from rpuarch.arch.components import build_hardware
from rpuarch.arch.network import lstm_network
from rpuarch.arch.program import build_program
from rpuarch.arch.rates import expected_rates

from archtest_helpers import UNCONTENDED, workload


def program(bias, arrays, hidden=8, vocab=20):
    w = workload(chip=UNCONTENDED, tile={"rows": 64, "cols": 64})
    hw = build_hardware(w.tile, w.chip, w.io, w.update)
    net = lstm_network(vocab, hidden, 1, w.tile.rows, w.tile.cols, 1, 5, bias, arrays)
    return build_program(net, hw, expected_rates(net, w.activity, w.update.desired_bl), True), hw


def test_split_puts_w_ih_and_w_hh_on_two_tiles_and_reads_both():
    """1 x 8 on 20 characters: lstm0 is 32 x 29 (one 64 x 64 tile), split 32 x 21 | 32 x 8 (two).
    The forward pass then converts the 32 outputs of both tiles (twice the ADC energy) and adds the
    two partial sums (32 more vector-unit operations); the backward pass converts the same columns."""
    (combined, hw), (split, _) = program("analog", "combined"), program("analog", "split")
    assert combined.network.roles[0].mapping.tiles == 1 and split.network.roles[0].mapping.tiles == 2
    assert split.tiles_of["lstm0.tile"] == 2
    f_c, f_s = combined.works[(0, "forward")], split.works[(0, "forward")]
    assert f_s.energy_per_pass["adc"] == pytest.approx(2 * f_c.energy_per_pass["adc"])
    extra_ops = (f_s.energy_per_vector["vector_unit"] - f_c.energy_per_vector["vector_unit"]) / hw.tile.vector_op_J
    assert extra_ops == pytest.approx(32)
    assert split.works[(0, "backward")].energy_per_pass["adc"] == pytest.approx(combined.works[(0, "backward")].energy_per_pass["adc"])


def test_digital_bias_costs_vector_unit_and_memory_not_a_column():
    """Digital: lstm0 32 x 28 and softmax 20 x 8 (no bias column: one DAC fewer per forward pass of
    lstm0); the vector unit adds 32 (lstm0) and 20 (softmax) biases per vector, read from memory."""
    (analog, hw), (digital, _) = program("analog", "combined"), program("digital", "combined")
    assert [(r.rows, r.cols, r.digital_bias) for r in analog.network.roles] == [(32, 29, 0), (20, 9, 0)]
    assert [(r.rows, r.cols, r.digital_bias) for r in digital.network.roles] == [(32, 28, 32), (20, 8, 20)]
    a, d = analog.works[(0, "forward")], digital.works[(0, "forward")]
    assert d.energy_per_pass["dac"] == pytest.approx(a.energy_per_pass["dac"] * 28 / 29)
    for index, bias in ((0, 32), (1, 20)):
        a, d = analog.works[(index, "forward")], digital.works[(index, "forward")]
        # noise management reads one column fewer (-1 operation), the bias adds one per output
        more = (d.energy_per_vector["vector_unit"] - a.energy_per_vector["vector_unit"]) / hw.tile.vector_op_J
        assert more == pytest.approx(bias - 1)
        assert sum(d.energy_per_vector.values()) > sum(a.energy_per_vector.values())  # the bias words read
        assert len(d.stages) > len(a.stages)  # ... a memory stage of their own


@pytest.mark.parametrize("bias, arrays", [("digital", "combined"), ("analog", "split"), ("digital", "split")])
def test_the_digital_baseline_does_not_depend_on_the_mapping(bias, arrays):
    reference = program("analog", "combined")[0].network
    network = program(bias, arrays)[0].network
    assert window_kernels(network) == window_kernels(reference)
    assert activation_bytes(network, 4) == activation_bytes(reference, 4)
