"""What one vector of each array asks of the hardware, phase by phase.

For every array and phase (forward read, backward read, rank-1 update) a ``Work``: the stages it
passes through in order (the array's tiles, its ADC banks, its vector unit, the activation memory,
the on-chip bus) with their durations, and the energy it charges to each component. The schedule
strings these into a window of training; the simulation and the analytical model both read them.

Resources are named ``<array>.tile``, ``<array>.adc_out`` (the ADC bank of the forward outputs,
on the rows), ``<array>.adc_in`` (the bank of the backward outputs, on the columns),
``<array>.vector_unit``, and the shared ``bus``, ``memory`` (on-chip activation memory, one unit per
port) and ``offchip`` (the off-chip memory, one resource with its own bandwidth). The tiles of one logical array
always work on the same vector, so they are one resource (their count is kept for utilisation).
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

from . import quantities as q
from .components import ChipCosts, Hardware, TileCosts
from .components.noc import Placement, place
from .network import ArrayRole, NetworkSpec
from .rates import ArrayRates

PHASES = ("forward", "backward", "update")
SHARED = ("bus", "memory", "offchip")  # resources of the chip, not of one array


@dataclass(frozen=True)
class Stage:
    """A stage holds ``resource`` for per_vector * vectors + per_pass * passes seconds."""

    resource: str
    per_vector: float = 0.0
    per_pass: float = 0.0

    def duration(self, vectors: int, passes: int) -> float:
        return self.per_vector * vectors + self.per_pass * passes


@dataclass(frozen=True)
class Work:
    """One phase of one array for one vector (or one rank-1 update)."""

    array: int
    phase: str
    stages: tuple[Stage, ...]
    energy_per_vector: dict[str, float]
    energy_per_pass: dict[str, float]  # analog passes: repeated by bound management
    repeats: float  # mean extra passes per vector
    ops: float  # multiply-adds counted as 2 operations, as for peak throughput

    def energy(self, vectors: int, passes: int) -> dict[str, float]:
        out = {k: v * vectors for k, v in self.energy_per_vector.items()}
        for k, v in self.energy_per_pass.items():
            out[k] = out.get(k, 0.0) + v * passes
        return out


@dataclass(frozen=True)
class Program:
    """The work of every array and phase, and the resources it needs."""

    network: NetworkSpec
    hardware: Hardware
    rates: dict[str, ArrayRates]
    works: dict[tuple[int, str], Work]
    capacities: dict[str, int]
    tiles_of: dict[str, int]  # resource -> physical tiles it stands for (1 for bus and memory)
    spill_fraction: float
    window_bytes: float
    training: bool = True
    notes: tuple[str, ...] = field(default_factory=tuple)


def component_of(resource: str) -> str:
    """The component a resource belongs to (``lstm0.adc_out`` -> ``adc``)."""
    kind = resource.rpartition(".")[2]
    return "adc" if kind.startswith("adc") else kind


# ----------------------------------------------------------------------------- digital work
def _vector_ops(role: ArrayRole, phase: str, bands: tuple[int, int], rates: ArrayRates) -> float:
    """Element-wise operations of the vector unit for one vector (nonlinear functions count as one
    operation: a lookup table)."""
    rows, cols = role.rows, role.cols
    row_bands, col_bands = bands
    h = role.hidden
    if phase == "forward":
        # partial sums of the column bands, noise management (max |x|, rescale), bound-management
        # saturation checks on every pass, then the cell.
        ops = (col_bands - 1) * rows + cols + rows + rows * rates.bm_repeats
        if role.cell == "lstm":
            ops += 4 * h + 3 * h + h + h  # gate nonlinearities, c = f c + i g, tanh(c), h = o tanh(c)
        elif role.cell == "softmax":
            ops += 3 * rows + 1  # exp, sum, divide, loss
        else:
            ops += rows  # sigmoid
        return ops
    if phase == "backward":
        if role.cell == "lstm":
            ops = h + 15 * h  # dh from above and from t+1, then the gate deltas
        elif role.cell == "softmax":
            ops = rows  # p - onehot
        else:
            ops = 2 * rows  # f'(z) * error
        if role.backward_mvm:
            ops += rows + cols + (row_bands - 1) * cols  # noise management, partial sums
        return ops
    # update management: max |x|, max |d|, rescale both sides; BL management: one product
    return 2 * (rows + cols) + 1


def _recombination_ops(tile: TileCosts, lines: int, direction: str) -> float:
    """Shift-and-add of the conversions of bit-serial cycles, read phases and weight slices into
    one output per line (none when a read is one conversion per line)."""
    conversions = tile.directions[direction].reads * tile.slices_per_weight
    return lines * conversions if conversions > 1 else 0.0


def digital_bias_outputs(role: ArrayRole) -> int:
    """Outputs of the array whose bias the vector unit adds instead of a bias column."""
    bias = getattr(role.mapping.array, "digital_bias", 0)
    return role.rows if bias is True else int(bias or 0)


def _stored_words(role: ArrayRole) -> float:
    """Words the forward pass keeps for back-propagation: the input and the cell's activations."""
    if role.cell == "lstm":
        return role.cols + 5 * role.hidden  # x, four gates, cell state
    return role.cols + role.rows  # x, activations


# ----------------------------------------------------------------------------- the program
def memory_stages(chip: ChipCosts, bytes_: float, spill: float) -> tuple[list[Stage], dict[str, float]]:
    """Moving ``bytes_`` of activations: the on-chip part through a memory port, the spilled part
    through the off-chip memory, a resource of its own (its bandwidth is not multiplied by ports)."""
    stages, energy = [], {}
    for resource, share, rate, joules in (("memory", 1.0 - spill, chip.memory_bytes_per_s, chip.memory_byte_J),
                                          ("offchip", spill, chip.offchip_bytes_per_s, chip.offchip_byte_J)):
        if share > 0:
            stages.append(Stage(resource, per_vector=bytes_ * share / rate))
            energy[resource] = bytes_ * share * joules
    return stages, energy


def transfer(chip: ChipCosts, words: float, hops: float, per: str = "vector",
             word_bytes: float | None = None) -> tuple[list[Stage], dict[str, float]]:
    """A transfer on the network (per vector, or per analog pass for partial sums)."""
    if words <= 0:
        return [], {}
    seconds, joules = chip.bus_cost(words, hops, word_bytes)
    stage = Stage("bus", per_vector=seconds) if per == "vector" else Stage("bus", per_pass=seconds)
    return [stage], {"bus": joules}


def _add(energy: dict[str, float], more: dict[str, float]) -> dict[str, float]:
    out = dict(energy)
    for key, value in more.items():
        out[key] = out.get(key, 0.0) + value
    return out


def placement_of(network: NetworkSpec, hardware: Hardware) -> Placement:
    blocks = {role.name: role.mapping.tiles for role in network.roles}
    return place(blocks, hardware.tile.arrays, hardware.chip.mesh_cols)


def read_energy(tile: TileCosts, role: ArrayRole, rates: ArrayRates, direction: str) -> dict[str, float]:
    """One analog matrix-vector product (all its read cycles) of an array in one direction: the
    DACs of the driven lines, the devices at the mean input, the wires, the integrators and the ADCs
    of every output line (and weight slice)."""
    m = role.mapping
    row_bands, col_bands = m.grid
    d = tile.directions[direction]
    forward = direction == "forward"
    driven = row_bands * role.cols if forward else col_bands * role.rows
    converted = (col_bands * role.rows * tile.slices_per_weight) if forward else (row_bands * role.cols)
    span = tile.rows if forward else tile.cols  # a driven wire spans the tile
    devices = sum(b.shape[0] * b.shape[1] for b in m.blocks) * tile.devices_per_weight
    integrators = sum(
        (b.shape[0] * tile.slices_per_weight * tile.integrator_J(b.shape[1], rates.input_fraction, direction)) if forward
        else b.shape[1] * tile.integrator_J(b.shape[0], rates.input_fraction, direction)
        for b in m.blocks
    )
    return {k: v * d.reads for k, v in {
        "dac": driven * d.dac_J,
        "array_read": devices * d.device_J * rates.input_fraction + driven * tile.line_charge_J(span, tile.read_voltage_V),
        "integrator": integrators,
        "adc": converted * d.adc_J,
    }.items()}


def build_program(network: NetworkSpec, hardware: Hardware, rates: dict[str, ArrayRates],
                  training: bool = True, footprint_steps: int | None = None) -> Program:
    """The work of every array and phase. ``footprint_steps``: the window length whose activations
    the memory must hold (default the network's; a shortened simulated window keeps the full one's).

    Training stores the forward pass's activations for back-propagation as a phase of its own
    (``store``): it takes memory bandwidth and energy, but nothing in the forward pass waits for it.
    Transfers between arrays (outputs, errors, partial sums) cross as many router hops as their
    tiles are apart on the mesh.

    With ``network.replicas`` copies the program is that of one copy, whose streams are its share:
    every copy does the same at the same time, so each stage on a shared resource (bus, memory)
    takes ``replicas`` times as long (the copies' transfers share it), and each rank-1 update is
    applied by every copy (its x and d sent to the other copies over the bus), so the copies stay
    equal: that is what data-parallel training means for analog weights, which cannot be averaged.
    """
    tile, chip = hardware.tile, hardware.chip
    roles = network.roles
    word = chip.word_bytes
    where = placement_of(network, hardware)
    # Activations that must wait for the update: the forward's stored words and the errors.
    steps = network.steps if footprint_steps is None else footprint_steps
    window_bytes = network.streams * steps * sum(_stored_words(r) + r.rows for r in roles) * word
    spill = 0.0
    notes = []
    if training and window_bytes > chip.memory_capacity_bytes:
        spill = 1.0 - chip.memory_capacity_bytes / window_bytes
        notes.append(
            f"activation memory: a window needs {window_bytes / 1e6:.3g} MB, the chip has"
            f" {chip.memory_capacity_bytes / 1e6:.3g} MB; {spill:.0%} of the traffic goes off chip."
        )

    copies = network.replicas
    works: dict[tuple[int, str], Work] = {}
    capacities: dict[str, int] = {"bus": chip.bus_links, "memory": chip.memory_ports, "offchip": 1}
    tiles_of: dict[str, int] = {"bus": 1, "memory": 1, "offchip": 1}
    for index, role in enumerate(roles):
        m = role.mapping
        blocks = m.blocks
        row_bands, col_bands = m.grid
        r = rates[role.name]
        name = role.name
        for kind in ("tile", "adc_out", "adc_in", "vector_unit"):
            capacities[f"{name}.{kind}"] = 1
            tiles_of[f"{name}.{kind}"] = m.tiles * copies
        max_block_rows = max(b.shape[0] for b in blocks) * tile.slices_per_weight
        max_block_cols = max(b.shape[1] for b in blocks)
        vu_rate = tile.vector_ops_per_s * m.tiles
        bias = digital_bias_outputs(role)

        # ---- forward: drive cols lines of each row band, read rows lines of each column band,
        # send the column bands' partial sums to the tile that adds them, add a digital bias
        fwd = tile.directions["forward"]
        ops_f = _vector_ops(role, "forward", m.grid, r) + _recombination_ops(tile, role.rows, "forward") + bias
        psum_stages, psum_J = transfer(chip, (col_bands - 1) * role.rows, where.reduction(name, m.grid, 0), "pass",
                                       chip.partial_sum_bytes)
        stages = [
            Stage(f"{name}.tile", per_pass=fwd.reads * fwd.window_s),
            Stage(f"{name}.adc_out", per_pass=fwd.reads * tile.adc_s(max_block_rows, "forward")),
            *psum_stages,
            Stage(f"{name}.vector_unit", per_vector=ops_f / vu_rate),
        ]
        energy_vec = {"vector_unit": ops_f * tile.vector_op_J}
        if bias:
            bias_stages, bias_J = memory_stages(chip, bias * word, 0.0)
            stages += bias_stages
            energy_vec = _add(energy_vec, bias_J)
        for consumer in network.consumers(index):
            words = role.hidden if role.cell == "lstm" else role.rows
            out_stages, out_J = transfer(chip, words, where.between(name, roles[consumer].name))
            stages += out_stages
            energy_vec = _add(energy_vec, out_J)
        energy_pass = _add(read_energy(tile, role, r, "forward"), psum_J)
        works[(index, "forward")] = Work(index, "forward", tuple(stages), energy_vec, energy_pass,
                                         r.bm_repeats, 2.0 * role.rows * role.cols)
        if not training:
            continue

        # ---- store: the forward's activations kept for back-propagation (off the critical path)
        stored = _stored_words(role) * word
        mem_stages, mem_J = memory_stages(chip, stored, spill)
        works[(index, "store")] = Work(index, "forward", tuple(mem_stages), mem_J, {}, 0.0, 0.0)

        # ---- backward: memory (read activations, write errors), deltas, read through W^T
        bwd = tile.directions["backward"]
        ops_b = _vector_ops(role, "backward", m.grid, r)
        mem_stages, mem_J = memory_stages(chip, stored + role.rows * word, spill)
        stages = [*mem_stages, Stage(f"{name}.vector_unit", per_vector=ops_b / vu_rate)]
        energy_vec = {**mem_J, "vector_unit": ops_b * tile.vector_op_J}
        energy_pass = {}
        if role.backward_mvm:
            psum_stages, psum_J = transfer(chip, (row_bands - 1) * role.cols, where.reduction(name, m.grid, 1), "pass",
                                           chip.partial_sum_bytes)
            stages += [
                Stage(f"{name}.tile", per_pass=bwd.reads * bwd.window_s),
                Stage(f"{name}.adc_in", per_pass=bwd.reads * tile.adc_s(max_block_cols, "backward")),
                *psum_stages,
            ]
            energy_pass = _add(read_energy(tile, role, r, "backward"), psum_J)
            ops_b += _recombination_ops(tile, role.cols, "backward")
            energy_vec["vector_unit"] = ops_b * tile.vector_op_J
            if role.source is not None:
                source = roles[role.source]
                words = source.hidden if source.cell == "lstm" else source.rows
                err_stages, err_J = transfer(chip, words, where.between(name, source.name))
                stages += err_stages
                energy_vec = _add(energy_vec, err_J)
        works[(index, "backward")] = Work(index, "backward", tuple(stages), energy_vec, energy_pass, 0.0,
                                          2.0 * role.rows * role.cols if role.backward_mvm else 0.0)

        # ---- update: read x and d, translate to pulse trains, pulse the array
        ops_u = _vector_ops(role, "update", m.grid, r)
        mem_stages, mem_J = memory_stages(chip, (role.rows + role.cols) * word, spill)
        x_lines = row_bands * role.cols
        d_lines = col_bands * role.rows
        pulses_x = r.x_pulse_fraction * r.bl * x_lines
        pulses_d = r.d_pulse_fraction * r.bl * d_lines
        # With copies, (copies - 1) / copies of the updates a copy applies come from the others.
        from_others = (copies - 1) / copies
        broadcast, broadcast_J = transfer(chip, from_others * (role.rows + role.cols), where.between_copies(name, copies))
        stages = (
            *mem_stages,
            *broadcast,
            Stage(f"{name}.vector_unit", per_vector=ops_u / vu_rate),
            Stage(f"{name}.tile", per_vector=q.update_time_s(r.bl, tile.t_pulse_s)),
        )
        energy_vec = {
            **mem_J,
            **broadcast_J,
            "vector_unit": ops_u * tile.vector_op_J,
            "pulse_generation": (x_lines + d_lines) * r.bl * tile.slot_J,
            "array_update": pulses_x * tile.pulse_J(tile.rows) + pulses_d * tile.pulse_J(tile.cols)
            + r.coincidences_per_device * role.rows * role.cols * tile.devices_per_weight * tile.coincidence_extra_J,
        }
        works[(index, "update")] = Work(index, "update", stages, energy_vec, {}, 0.0, 2.0 * role.rows * role.cols)

    if copies > 1:
        works = {key: _sharing(work, copies) for key, work in works.items()}
    return Program(network, hardware, rates, works, capacities, tiles_of, spill, window_bytes, training, tuple(notes))


def _sharing(work: Work, copies: int) -> Work:
    """The work of one of ``copies`` identical copies: its stages on shared resources take ``copies``
    times as long (a fluid model of the copies' transfers sharing them)."""
    stages = tuple(replace(s, per_vector=s.per_vector * copies, per_pass=s.per_pass * copies)
                   if s.resource in SHARED else s for s in work.stages)
    return replace(work, stages=stages)
