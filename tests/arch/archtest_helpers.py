"""Small programs for the architecture tests (kept tiny so every simulation takes milliseconds)."""

from rpuarch.arch.components import build_hardware
from rpuarch.arch.network import lstm_network, mlp_network
from rpuarch.arch.program import build_program
from rpuarch.arch.rates import expected_rates
from rpuarch.config import resolve

# Plenty of bus links and memory ports: nothing shared is ever contended.
UNCONTENDED = {"noc": {"links": 64}, "memory": {"ports": 64}}


def workload(**sections):
    raw = {"dataset": {"name": "tinyshakespeare"}, "baselines": ["v100"]}
    raw.update(sections)
    w, _ = resolve(raw, "test")
    return w


def lstm_program(layers=1, hidden=8, vocab=20, streams=1, steps=5, training=True, chip=None, tile=None,
                 activity=None):
    w = workload(chip=chip or UNCONTENDED, tile=tile or {"rows": 64, "cols": 64}, activity=activity or {})
    hw = build_hardware(w.tile, w.chip, w.io, w.update)
    net = lstm_network(vocab, hidden, layers, w.tile.rows, w.tile.cols, streams, steps)
    return build_program(net, hw, expected_rates(net, w.activity, w.update.desired_bl), training)


def mlp_program(sizes=(30, 20, 10), batch=1, chip=None, tile=None):
    w = workload(chip=chip or UNCONTENDED, tile=tile or {"rows": 64, "cols": 64})
    hw = build_hardware(w.tile, w.chip, w.io, w.update)
    net = mlp_network(list(sizes), w.tile.rows, w.tile.cols, batch)
    return build_program(net, hw, expected_rates(net, w.activity, w.update.desired_bl), True)


def forward_time(program, array, passes=1):
    return sum(s.duration(1, passes) for s in program.works[(array, "forward")].stages)
