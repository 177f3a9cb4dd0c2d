"""The chip as a hierarchy of components: chip -> tiles on a 2D mesh -> per tile its arrays and
their periphery; at chip level the activation memory, the on-chip network and off-chip memory.

Every component declares what it costs: energy per action, latency, area, static power, how many
there are and what they are shared by (the cost model in rpuarch/arch/components/ turns them into
per-action figures). A component section may start from a file of the component library,
``component: <kind>/<name>`` (models/components/<kind>/<name>.yaml), and override its fields.

Converter resolutions are not here: the DAC and ADC bits are those of the workload's ``io``
section, so training and the cost model always see the same converters. A converter's energy is
given at a reference resolution (``ref_bits``) and scaled with the bits the workload uses.

Defaults are the values of the ``gokmen-vlasov-2016`` tile preset and the ``rpu-2016`` chip preset,
whose files under models/ give the source of every constant.
"""

from __future__ import annotations

from typing import Literal

from pydantic import ValidationInfo, field_validator, model_validator

from .base import Section, field
from .baseline import BaselineConfig  # noqa: F401  (re-exported: the baselines live in config/baseline.py)


class ComponentSpec(Section):
    """A component section; ``component`` names the library file it started from (filled by the loader)."""

    component: str | None = field(None, "File under models/components/ this component started from.")

    def unused(self) -> set[str]:
        """Fields this component's kind does not use (no source needed, nothing to vary)."""
        return set()


class ArraySpec(ComponentSpec):
    """The cross-point array: its devices, wires and cells."""

    r_device_MOhm: float = field(
        24.0, "Mean device resistance during a read (sets the read energy V^2/R per device).", "MOhm", gt=0
    )
    r_min_MOhm: float = field(5.0, "Lowest device resistance of the programmable range (g_max).", "MOhm", gt=0)
    r_max_MOhm: float = field(25.0, "Highest device resistance of the programmable range (g_min).", "MOhm", gt=0)
    read_voltage_V: float = field(1.0, "Full-scale input voltage on a line during an analog read.", "V", gt=0, le=10)
    threshold_voltage_V: float = field(
        1.5, "Voltage above which a device changes its conductance; reads and half-selected devices must stay below it.",
        "V", gt=0, le=10,
    )
    update_voltage_V: float = field(
        2.0, "Voltage across a device between two coinciding update pulses (each line carries half of it, so a"
        " half-selected device sees update_voltage_V / 2).",
        "V", gt=0, le=20,
    )
    read_energy_fJ: float | None = field(
        None,
        "Energy of one device during one full-scale read, when given (e.g. derived from a chip's published"
        " power); null: read_voltage_V^2 / r_device_MOhm over the read window.",
        "fJ", ge=0,
    )
    devices_per_weight: int = field(
        1, "Devices holding one weight (a differential pair 2, bit slices of a digital weight more): read energy and area.",
        "device", ge=1, le=64,
    )
    slices_per_weight: int = field(
        1, "Output lines per weight (bit-sliced weights, recombined digitally): each is integrated and converted.",
        "line", ge=1, le=64,
    )
    cell_area_um2: float = field(0.04, "Area of one cross-point cell (pitch squared).", "um^2", gt=0)
    wire_capacitance_fF_per_um: float = field(
        0.2, "Capacitance of a row or column wire per length (charged on every drive and pulse).", "fF/um", ge=0
    )
    wire_resistance_ohm_per_cell: float = field(
        0.1, "Wire resistance between two neighbouring cells (for the IR-drop check n^2 R_wire / R_dev < 0.1).",
        "Ohm", ge=0,
    )
    program_iterations: float = field(
        20.0, "Program-and-verify iterations per device to write a target weight (closed loop).", "iteration", gt=0
    )

    def unused(self) -> set[str]:
        return {"read_energy_fJ"} if self.read_energy_fJ is None else set()

    @model_validator(mode="after")
    def _range_ordered(self) -> ArraySpec:
        if not self.r_min_MOhm < self.r_max_MOhm:
            raise ValueError(f"r_min_MOhm ({self.r_min_MOhm}) must be below r_max_MOhm ({self.r_max_MOhm})")
        read, threshold, update = self.read_voltage_V, self.threshold_voltage_V, self.update_voltage_V
        if not read < threshold < update or not update / 2 < threshold:
            raise ValueError(
                f"the voltages must order as read_voltage_V < threshold_voltage_V < update_voltage_V with"
                f" update_voltage_V / 2 < threshold_voltage_V (reads and half-selected devices must not switch,"
                f" coinciding pulses must); got read {read:g} V, threshold {threshold:g} V, update {update:g} V"
            )
        return self


class DACSpec(ComponentSpec):
    """The input converter of every driven line.

    ``amplitude``: the input sets the line's voltage for a fixed integration (``tile.t_int_ns``);
    ``pwm``: the input sets the pulse's width, ``lsb_ns`` per step of its magnitude, so a read lasts
    2**(bits - 1) * lsb_ns; ``bit-serial``: ``bits_per_cycle`` bits per read cycle of ``t_int_ns``,
    one cycle after another (their partial results shifted and added digitally).
    """

    kind: Literal["amplitude", "pwm", "bit-serial"] = field("amplitude", "How a line encodes its input.")
    ref_bits: int = field(7, "Resolution at which energy_pJ is given; scaled as 2**bits to the workload's bits.", "bit", ge=1, le=24)
    energy_pJ: float = field(
        0.5, "Energy of one conversion at ref_bits (bit-serial: of one cycle of one line; line charging is counted by the array).",
        "pJ", ge=0,
    )
    lsb_ns: float = field(1.0, "pwm: pulse width per step of the input's magnitude.", "ns", gt=0)
    bits_per_cycle: int = field(1, "bit-serial: input bits applied per read cycle.", "bit", ge=1, le=16)
    area_um2: float = field(200.0, "Area of one DAC and line driver.", "um^2", ge=0)

    def unused(self) -> set[str]:
        return ({"lsb_ns"} if self.kind != "pwm" else set()) | (
            {"bits_per_cycle"} if self.kind != "bit-serial" else {"ref_bits"})


class ADCSpec(ComponentSpec):
    """Analog-to-digital converters, each shared by ``lines_per_adc`` output lines (time-multiplexed).

    ``sar`` and ``flash``: one sample per 1/sample_rate; ``ramp``: a conversion counts through
    2**bits steps of ``lsb_ps``; ``cco`` (current-controlled oscillator): counts during the read
    itself, ``lsb_ps`` per count, adding time only when the read is shorter than 2**bits counts.
    """

    kind: Literal["sar", "flash", "ramp", "cco"] = field("sar", "Converter architecture (sets its conversion time).")
    ref_bits: int = field(9, "Resolution at which energy_pJ is given; scaled as 2**bits (Walden) to the workload's bits.", "bit", ge=1, le=24)
    energy_pJ: float = field(23.0, "Energy of one sample at ref_bits.", "pJ", ge=0)
    sample_rate_MSps: float = field(200.0, "sar, flash: samples per second of one ADC.", "MS/s", gt=0)
    lsb_ps: float = field(300.0, "ramp, cco: time per count.", "ps", gt=0)
    lines_per_adc: int = field(16, "Output lines sharing one ADC, converted one after another.", "line", ge=1, le=65536)
    area_um2: float = field(3000.0, "Area of one ADC.", "um^2", ge=0)
    aperture_jitter_fs: float = field(
        100.0,
        "RMS sampling-clock jitter; a warning when it limits the SNR below the bits' at the held signal's frequency.",
        "fs", gt=0,
    )

    def unused(self) -> set[str]:
        return {"lsb_ps"} if self.kind in ("sar", "flash") else {"sample_rate_MSps"}


class IntegratorSpec(ComponentSpec):
    """The circuit on every output line between the array and its ADC.

    ``integrator``: an op-amp integrator that holds its result for the ADC; per read it draws its
    bias for the read window and supplies the charge the line's devices deliver, from its supply:
    E = bias_power_uW * window + Q * supply_voltage_V, Q the line's current (every device at the mean
    input) times the window. ``sample-hold``: samples the line (its bias only).
    """

    kind: Literal["integrator", "sample-hold"] = field("integrator", "What holds a line's result for its ADC.")
    bias_power_uW: float = field(10.0, "Bias power of one unit while a read lasts.", "uW", ge=0)
    supply_voltage_V: float = field(
        1.0, "integrator: supply from which it sinks the charge the devices deliver.", "V", gt=0, le=10
    )
    area_um2: float = field(500.0, "Area of one unit with its capacitor.", "um^2", ge=0)

    def unused(self) -> set[str]:
        return {"supply_voltage_V"} if self.kind == "sample-hold" else set()


class VectorUnitSpec(ComponentSpec):
    """The digital periphery of a tile: LSTM gates, nonlinear functions, element-wise products,
    partial sums, noise/bound/update management scaling."""

    lanes: int = field(256, "Element-wise operations per clock cycle.", "op/cycle", ge=1)
    clock_GHz: float = field(1.0, "Clock of the vector unit.", "GHz", gt=0, le=20)
    energy_pJ_per_op: float = field(1.0, "Energy of one element-wise operation (a 16-bit multiply-add).", "pJ", ge=0)
    area_mm2: float = field(0.5, "Area of the vector unit with its registers.", "mm^2", ge=0)


class UpdateDriverSpec(ComponentSpec):
    """Stochastic translation and pulse drivers of the update (one per line)."""

    slot_energy_fJ: float = field(
        50.0, "Energy to decide one pulse slot of one line (random number and compare).", "fJ", ge=0
    )
    area_um2: float = field(100.0, "Area of one line's translator and pulse driver.", "um^2", ge=0)


class BlockSpec(ComponentSpec):
    """A digital block charged at its power whenever its tile (or chip) is on: buffers, registers,
    shift-and-add units, a chip's I/O links, given as a published power and area."""

    count: int = field(1, "How many of the block.", "unit", ge=0)
    power_mW: float = field(0.0, "Power of one block in operation.", "mW", ge=0)
    area_mm2: float = field(0.0, "Area of one block.", "mm^2", ge=0)


class TileConfig(Section):
    """One physical tile: ``arrays`` arrays of rows x cols weights, each with its converters, and
    the tile's digital periphery."""

    preset: str | None = field(None, "Preset under models/tiles/ this tile started from.")
    rows: int = field(4096, "Weights per array along the outputs of the forward pass (the mapping's tile rows).", "weight", ge=1, le=65536)
    cols: int = field(4096, "Weights per array along the inputs of the forward pass (the mapping's tile columns).", "weight", ge=1, le=65536)
    arrays: int = field(1, "Arrays on one tile, each with its own converters.", "array", ge=1, le=4096)
    bidirectional: bool = field(
        True, "Converters on both sides of an array, so it reads W x and W^T d (training); false: forward reads only."
    )
    read_phases: int = field(
        1, "Reads per matrix-vector product (e.g. 4: one per sign quadrant of inputs and weights).", "read", ge=1, le=64
    )
    t_int_ns: float = field(80.0, "Read window of an amplitude input, or one read cycle of a bit-serial input.", "ns", gt=0)
    t_pulse_ns: float = field(1.0, "Duration of one update pulse.", "ns", gt=0)
    static_power_mW: float = field(
        10.0, "Leakage and bias of one tile in use (unused tiles are power-gated).", "mW", ge=0
    )
    array: ArraySpec = field(ArraySpec(), "Devices, wires and cells of an array.")
    dac: DACSpec = field(DACSpec(), "Input converters (one per driven line).")
    adc: ADCSpec = field(ADCSpec(), "Output converters (shared by lines_per_adc lines).")
    integrator: IntegratorSpec = field(IntegratorSpec(), "Integrators or sample-and-holds (one per output line).")
    vector_unit: VectorUnitSpec = field(VectorUnitSpec(), "Digital periphery of the tile.")
    update_driver: UpdateDriverSpec = field(UpdateDriverSpec(), "Stochastic pulse generation (one per line).")
    blocks: dict[str, BlockSpec] = field({}, "Other digital blocks of a tile (buffers, registers), by name.")


class MeshSpec(Section):
    """Where the tiles sit: a grid of rows x cols positions, tiles placed row by row."""

    rows: int = field(10, "Rows of tile positions.", "tile", ge=1, le=4096)
    cols: int = field(10, "Columns of tile positions.", "tile", ge=1, le=4096)


class NoCSpec(ComponentSpec):
    """The on-chip network between tiles: routers on the mesh, links between neighbours."""

    links: int = field(16, "Transfers that can be under way at once.", "link", ge=1)
    bandwidth_GBps: float = field(102.4, "Bandwidth of one link.", "GB/s", gt=0)
    hop_latency_ns: float = field(2.0, "Latency of one router hop.", "ns", ge=0)
    energy_pJ_per_bit: float = field(0.3, "Energy to move one bit over one hop (router and link).", "pJ", ge=0)
    word_bits: int = field(16, "Width of an activation or error word on the network and in memory.", "bit", ge=1, le=64)
    partial_sum_bits: int = field(
        32, "Width of a partial sum sent from a tile to the tile that adds the partial sums of a split array.",
        "bit", ge=1, le=64,
    )
    tiles_per_router: int = field(1, "Tiles sharing one router.", "tile", ge=1)
    router_power_mW: float = field(0.0, "Power of one router in operation (charged as static).", "mW", ge=0)
    router_area_mm2: float = field(0.0, "Area of one router.", "mm^2", ge=0)
    area_mm2: float = field(10.0, "Area of the wiring and the chip's other interconnect.", "mm^2", ge=0)


class MemorySpec(ComponentSpec):
    """On-chip activation memory: what back-propagation through time needs of the forward pass."""

    capacity_MB: float = field(32.0, "On-chip capacity; a window needing more spills the rest off chip.", "MB", ge=0)
    ports: int = field(4, "Accesses that can be under way at once.", "port", ge=1)
    bandwidth_GBps: float = field(256.0, "Bandwidth of one port.", "GB/s", gt=0)
    energy_pJ_per_byte: float | None = field(
        None,
        "Energy to write or read one byte; null: from the CACTI table of models/components/sram/ at"
        " node_nm and capacity_MB (energy per access grows with capacity).",
        "pJ", ge=0,
    )
    node_nm: int = field(22, "Technology node of the memory (selects the CACTI table).", "nm", ge=1)
    area_mm2_per_MB: float = field(1.0, "Area per megabyte.", "mm^2/MB", ge=0)


class OffchipSpec(ComponentSpec):
    """Off-chip memory (DRAM, HBM) or links, one resource with its own bandwidth and energy."""

    kind: Literal["dram", "hbm", "link"] = field("dram", "What is off chip.")
    bandwidth_GBps: float = field(100.0, "Bandwidth of the off-chip interface.", "GB/s", gt=0)
    energy_pJ_per_byte: float = field(160.0, "Energy to write or read one byte off chip.", "pJ", ge=0)
    power_W: float = field(0.0, "Power of the interface (PHY, controller) while the chip is on.", "W", ge=0)
    area_mm2: float = field(0.0, "Area of the interface on the chip.", "mm^2", ge=0)


class ChipConfig(Section):
    """How many tiles, where they sit, and what connects them."""

    preset: str | None = field(None, "Preset under models/chips/ this chip started from.")
    tiles: int = field(100, "Number of physical tiles on the chip.", "tile", ge=1)
    mesh: MeshSpec = field(MeshSpec(), "Positions of the tiles (rows x cols must hold them all).")
    static_power_W: float = field(1.0, "Always-on power of control and clocks.", "W", ge=0)
    power_gating: bool = field(
        True, "Unused tiles are power-gated (no static power); false: every tile of the chip leaks."
    )
    replicate: Literal["none", "idle-tiles"] = field(
        "none",
        "idle-tiles: copies of the network's arrays on the idle tiles, each serving a share of the streams"
        " (training: data-parallel copies that each apply every stream's updates, so they stay equal;"
        " inference: independent copies).",
    )
    reticle_limit_mm2: float = field(
        858.0, "Largest die a lithography scanner exposes in one field; a larger chip gets a warning.", "mm^2", gt=0
    )
    max_power_density_W_per_mm2: float = field(
        1.0, "Power density a package can cool; a chip whose peak power exceeds it gets a warning.", "W/mm^2", gt=0
    )
    noc: NoCSpec = field(NoCSpec(), "On-chip network between tiles.")
    memory: MemorySpec = field(MemorySpec(), "Activation memory for back-propagation through time.")
    offchip: OffchipSpec = field(OffchipSpec(), "Off-chip memory for what the activation memory cannot hold.")
    blocks: dict[str, BlockSpec] = field({}, "Other blocks of the chip (I/O links, controllers), by name.")

    @field_validator("mesh")
    @classmethod
    def _mesh_holds_the_tiles(cls, mesh: MeshSpec, info: ValidationInfo) -> MeshSpec:
        tiles = info.data.get("tiles")
        if tiles is not None and mesh.rows * mesh.cols < tiles:
            raise ValueError(
                f"the mesh of {mesh.rows} x {mesh.cols} positions cannot hold {tiles} tiles;"
                f" give mesh.rows * mesh.cols >= tiles"
            )
        return mesh
