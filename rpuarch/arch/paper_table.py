"""The comparison table of docs/hardware.md: the 2016 tile on the paper's networks.

Every number comes from ``estimate`` (rpuarch.arch.hardware_docs writes it into the docs); the
sentences under the table are filled from the same results.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..config.loader import resolve
from .estimate import estimate, estimate_network
from .network import mlp_network

PAPER_SPEEDUP = 30_000
PAPER_OPS_PER_W = 84_000e9

# Training-split sizes (80 % of each corpus): War and Peace and the Linux corpus of
# ../shared/data/README.md (bytes as characters), MNIST's 60,000 training images.
WP_CHARS = 3_196_234
LK_CHARS = 6_185_325
MNIST_TRAIN = 60_000

HARDWARE = {
    "tile": {"preset": "gokmen-vlasov-2016"},
    "chip": {"preset": "rpu-2016"},
    "device": {"preset": "gokmen-vlasov-2016"},
    "baselines": ["xeon-e5-2699v4", "v100", "h100"],
}


@dataclass(frozen=True)
class Case:
    label: str
    layers: int
    hidden: int
    vocab: int
    train_items: int
    streams: int
    seq_length: int


CASES = (
    Case("LSTM2-64WP", 2, 64, 87, int(WP_CHARS * 0.8), 32, 100),
    Case("LSTM2-512LK", 2, 512, 101, int(LK_CHARS * 0.8), 32, 100),
)
MLP_SIZES = [784, 256, 128, 10]
COMPONENT_NAMES = {"static": "static power", "memory": "the activation memory", "adc": "the ADCs",
                   "vector_unit": "the vector units", "offchip": "the off-chip memory (activations spilled from the on-chip memory)"}


def _workload(case: Case | None):
    raw = dict(HARDWARE, name=case.label if case else "MNIST MLP")
    if case is not None:
        raw["network"] = {"layers": case.layers, "hidden": case.hidden, "vocab_size": case.vocab,
                          "bias": "analog", "arrays": "combined"}  # the paper's mapping
        raw["training"] = {"streams": case.streams, "seq_length": case.seq_length}
    workload, _ = resolve(raw, "rpuarch.arch.paper_table")
    return workload


def rows() -> list[dict]:
    """One estimate per network, with the numbers the table shows."""
    out = []
    for case in CASES:
        result = estimate(_workload(case), train_chars=case.train_items)
        out.append({"label": case.label, "setup": f"{case.streams} streams x {case.seq_length} steps", **result})
    workload = _workload(None)
    network = mlp_network(MLP_SIZES, workload.tile.rows, workload.tile.cols, batch=1)
    result = estimate_network(workload, network, MNIST_TRAIN, "MNIST training set")
    out.append({"label": "MLP 784-256-128-10", "setup": "batch 1 (per-sample SGD)", **result})
    return out


def _si(value: float, unit: str) -> str:
    for scale, prefix in ((1e15, "P"), (1e12, "T"), (1e9, "G"), (1e6, "M"), (1e3, "k"), (1.0, ""),
                          (1e-3, "m"), (1e-6, "µ"), (1e-9, "n"), (1e-12, "p")):
        if abs(value) >= scale:
            return f"{value / scale:.3g} {prefix}{unit}"
    return f"{value:.3g} {unit}"


def _x(value: float) -> str:
    return f"{value:,.0f}x" if value >= 100 else f"{value:.3g}x"


def render(results: list[dict]) -> str:
    names = [b["name"] for b in results[0]["baselines"]]
    head = ["network", "schedule", "weights", "tiles (devices used)", "time / item", "epoch", "energy / item",
            "power", "Ops/s/W"] + [f"vs {n}: speed-up, energy" for n in names]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for r in results:
        hw = r["hardware"]
        unit = hw["inputs"]["unit"]
        by_name = {b["name"]: b for b in r["baselines"]}
        cells = [
            r["label"], r["setup"], f"{hw['mapping']['weights']:,}",
            f"{hw['tiles']} of {hw['chip_tiles']} ({100 * hw['utilization']['devices']:.2g} %)",
            _si(hw["time_per_char_s"], f"s/{unit}"), _si(hw["epoch_time_s"], "s"),
            _si(hw["energy_per_char_J"], f"J/{unit}"), _si(hw["power_W"], "W"), _si(hw["ops_per_s_per_W"], "Ops/s/W"),
        ] + [f"{_x(by_name[n]['acceleration_factor'])}, {_x(by_name[n]['energy_ratio'])}" for n in names]
        lines.append("| " + " | ".join(cells) + " |")
    full = results[0]["hardware"]["full_tile"]
    lines += ["", _full_tile_sentence(full), ""]
    for r in results:
        lines.append(f"- {_sentence(r, full)}")
    return "\n".join(lines) + "\n"


def _full_tile_sentence(full: dict) -> str:
    return (
        f"Paper-style figure of the same tile: one fully used 4096 x 4096 tile cycling forward, backward and update"
        f" back to back does {_si(full['ops_per_s'], 'Ops/s')} at {_si(full['power_W'], 'W')}, i.e."
        f" {full['ops_per_s_per_W'] / 1e9:,.0f} GOps/s/W ({full['ops_per_s_per_W'] / PAPER_OPS_PER_W:.2g}x the paper's"
        f" 84,000 GOps/s/W); a chip of 100 such tiles, all busy, {full['chip_ops_per_s_per_W'] / 1e9:,.0f} GOps/s/W."
        " The rows above are what the networks actually get."
    )


def _sentence(r: dict, full: dict) -> str:
    hw = r["hardware"]
    cpu = r["baselines"][0]
    fastest = min(r["baselines"], key=lambda b: b["epoch_time_s"])
    used = hw["utilization"]
    energy = {c: sum(p.values()) for c, p in hw["breakdown"]["energy_J"].items()}
    top = max(energy, key=energy.get)
    share = energy[top] / sum(energy.values())
    waiting = (
        "the recurrence and back-propagation through time leave the rest waiting" if hw["inputs"]["unit"] == "char"
        else "per-sample SGD runs forward, backward and update of one sample through the layers before the next"
    )
    against_fastest = (
        "the CPU is also the fastest baseline here (kernel launches dominate the small per-step GPU kernels)"
        if fastest is cpu else f"{_x(fastest['acceleration_factor'])} against the {fastest['name']}, the fastest baseline"
    )
    return (
        f"**{r['label']}**: {_x(cpu['acceleration_factor'])} faster than the {cpu['name']}, a CPU of the paper's time"
        f" (the paper's 30,000x is {PAPER_SPEEDUP / cpu['acceleration_factor']:,.0f} times more); {against_fastest};"
        f" {hw['ops_per_s_per_W'] / 1e9:,.0f} GOps/s/W, {ratio(full['ops_per_s_per_W'], hw['ops_per_s_per_W'])} below"
        f" the full-tile figure and {ratio(PAPER_OPS_PER_W, hw['ops_per_s_per_W'])} below the paper's 84,000. Why: its"
        f" {hw['mapping']['weights']:,} weights fill {100 * used['devices']:.2g} % of the devices of the {hw['tiles']}"
        f" tiles it needs ({100 * used['chip_tiles']:.0f} % of the chip), while the paper's figures assume ~1e9 weights"
        f" keeping ~100 tiles busy; a read takes the full t_int and each ADC sample its full energy however few of"
        f" the tile's columns hold weights; its tiles are busy {100 * used['tile_time']:.0f} % of the time ({waiting}); and"
        f" {COMPONENT_NAMES.get(top, top)} takes {100 * share:.0f} % of the energy."
    )


def ratio(a: float, b: float) -> str:
    return f"{a / b:,.0f}x" if a / b >= 10 else f"{a / b:.2g}x"
