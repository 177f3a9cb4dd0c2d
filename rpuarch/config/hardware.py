"""The chip: tiles of RPU arrays with their converters and digital periphery.

Converter resolutions are not here: the DAC and ADC bits are those of the workload's ``io``
section, so training and the cost model always see the same converters. A tile gives the energy
of each converter at a reference resolution (``ref_bits``); the cost model scales it with the bits
the workload uses (see docs/hardware.md).

Defaults are the values of the ``gokmen-vlasov-2016`` tile preset and the ``rpu-2016`` chip preset,
whose files under models/ give the source of every constant.
"""

from __future__ import annotations

from pydantic import model_validator

from .base import Section, field
from .baseline import BaselineConfig  # noqa: F401  (re-exported: the baselines live in config/baseline.py)


class ArraySpec(Section):
    """The cross-point array: its devices, wires and cells."""

    r_device_MOhm: float = field(
        24.0, "Mean device resistance during a read (sets the read energy V^2/R per device).", "MOhm", gt=0
    )
    r_min_MOhm: float = field(5.0, "Lowest device resistance of the programmable range (g_max).", "MOhm", gt=0)
    r_max_MOhm: float = field(25.0, "Highest device resistance of the programmable range (g_min).", "MOhm", gt=0)
    read_voltage_V: float = field(1.0, "Full-scale input voltage on a line during an analog read.", "V", gt=0, le=10)
    update_voltage_V: float = field(
        1.0, "Amplitude of an update pulse; a device between two coinciding pulses sees it, a half-selected one half.",
        "V", gt=0, le=10,
    )
    cell_area_um2: float = field(0.04, "Area of one cross-point cell (pitch squared).", "um^2", gt=0)
    wire_capacitance_fF_per_um: float = field(
        0.2, "Capacitance of a row or column wire per length (charged on every drive and pulse).", "fF/um", ge=0
    )
    wire_resistance_ohm_per_cell: float = field(
        0.1, "Wire resistance between two neighbouring cells (for the IR-drop check n^2 R_wire / R_dev < 0.1).",
        "Ohm", ge=0,
    )

    @model_validator(mode="after")
    def _range_ordered(self) -> ArraySpec:
        if not self.r_min_MOhm < self.r_max_MOhm:
            raise ValueError(f"r_min_MOhm ({self.r_min_MOhm}) must be below r_max_MOhm ({self.r_max_MOhm})")
        return self


class DACSpec(Section):
    """One digital-to-analog converter per line (rows and columns), driving the inputs of a read."""

    ref_bits: int = field(7, "Resolution at which energy_pJ is given; scaled as 2**bits to the workload's bits.", "bit", ge=1, le=24)
    energy_pJ: float = field(0.5, "Energy of one conversion at ref_bits (line charging is counted by the array).", "pJ", ge=0)
    area_um2: float = field(200.0, "Area of one DAC and line driver.", "um^2", ge=0)


class ADCSpec(Section):
    """Analog-to-digital converters, each shared by ``lines_per_adc`` output lines (time-multiplexed)."""

    ref_bits: int = field(9, "Resolution at which energy_pJ is given; scaled as 2**bits (Walden) to the workload's bits.", "bit", ge=1, le=24)
    energy_pJ: float = field(23.0, "Energy of one sample at ref_bits.", "pJ", ge=0)
    sample_rate_MSps: float = field(200.0, "Samples per second of one ADC.", "MS/s", gt=0)
    lines_per_adc: int = field(16, "Output lines sharing one ADC, converted one after another.", "line", ge=1, le=65536)
    area_um2: float = field(3000.0, "Area of one ADC.", "um^2", ge=0)
    aperture_jitter_fs: float = field(
        100.0,
        "RMS sampling-clock jitter of the best converters; bounds the sample rate to 1/(2 pi 2**bits jitter).",
        "fs", gt=0,
    )


class IntegratorSpec(Section):
    """The op-amp integrator on every line, holding the result for its ADC (sample and hold)."""

    power_uW: float = field(10.0, "Power of one integrator while it integrates (t_int per pass).", "uW", ge=0)
    area_um2: float = field(500.0, "Area of one integrator with its capacitor.", "um^2", ge=0)


class VectorUnitSpec(Section):
    """The digital periphery of a tile: LSTM gates, nonlinear functions, element-wise products,
    partial sums, noise/bound/update management scaling."""

    lanes: int = field(256, "Element-wise operations per clock cycle.", "op/cycle", ge=1)
    clock_GHz: float = field(1.0, "Clock of the vector unit.", "GHz", gt=0, le=20)
    energy_pJ_per_op: float = field(1.0, "Energy of one element-wise operation (a 16-bit multiply-add).", "pJ", ge=0)
    area_mm2: float = field(0.5, "Area of the vector unit with its registers.", "mm^2", ge=0)


class UpdateDriverSpec(Section):
    """Stochastic translation and pulse drivers of the update (one per line)."""

    slot_energy_fJ: float = field(
        50.0, "Energy to decide one pulse slot of one line (random number and compare).", "fJ", ge=0
    )
    area_um2: float = field(100.0, "Area of one line's translator and pulse driver.", "um^2", ge=0)


class TileConfig(Section):
    """One physical RPU array with its periphery."""

    preset: str | None = field(None, "Preset under models/tiles/ this tile started from.")
    rows: int = field(4096, "Array rows (outputs of the forward pass).", "device", ge=1, le=65536)
    cols: int = field(4096, "Array columns (inputs of the forward pass).", "device", ge=1, le=65536)
    t_int_ns: float = field(80.0, "Integration time of one analog matrix-vector product.", "ns", gt=0)
    t_pulse_ns: float = field(1.0, "Duration of one update pulse.", "ns", gt=0)
    static_power_mW: float = field(
        10.0, "Leakage and bias of one tile in use (unused tiles are power-gated).", "mW", ge=0
    )
    array: ArraySpec = field(ArraySpec(), "Devices, wires and cells of the array.")
    dac: DACSpec = field(DACSpec(), "Input converters (one per line).")
    adc: ADCSpec = field(ADCSpec(), "Output converters (shared by lines_per_adc lines).")
    integrator: IntegratorSpec = field(IntegratorSpec(), "Integrators (one per line).")
    vector_unit: VectorUnitSpec = field(VectorUnitSpec(), "Digital periphery of the tile.")
    update_driver: UpdateDriverSpec = field(UpdateDriverSpec(), "Stochastic pulse generation (one per line).")


class BusSpec(Section):
    """The on-chip network carrying activations and errors between the tiles of different layers."""

    links: int = field(16, "Transfers that can be under way at once.", "link", ge=1)
    bandwidth_GBps: float = field(90.0, "Bandwidth of one link.", "GB/s", gt=0)
    hop_latency_ns: float = field(2.0, "Fixed latency of one transfer.", "ns", ge=0)
    energy_pJ_per_bit: float = field(0.5, "Energy to move one bit between tiles.", "pJ", ge=0)
    word_bits: int = field(16, "Width of an activation or error word on the bus and in memory.", "bit", ge=1, le=64)
    area_mm2: float = field(10.0, "Area of the network, its routers and the chip's I/O.", "mm^2", ge=0)


class MemorySpec(Section):
    """Activation memory: what back-propagation through time needs of the forward pass."""

    capacity_MB: float = field(32.0, "On-chip capacity; a window needing more spills the rest off chip.", "MB", ge=0)
    ports: int = field(4, "Accesses that can be under way at once.", "port", ge=1)
    bandwidth_GBps: float = field(256.0, "Bandwidth of one on-chip port.", "GB/s", gt=0)
    energy_pJ_per_byte: float = field(5.0, "Energy to write or read one byte on chip.", "pJ", ge=0)
    offchip_bandwidth_GBps: float = field(100.0, "Bandwidth to off-chip memory (for spilled bytes).", "GB/s", gt=0)
    offchip_energy_pJ_per_byte: float = field(160.0, "Energy to write or read one byte off chip.", "pJ", ge=0)
    area_mm2_per_MB: float = field(1.0, "Area of on-chip memory per megabyte.", "mm^2/MB", ge=0)


class ChipConfig(Section):
    """How many tiles, and what connects them."""

    preset: str | None = field(None, "Preset under models/chips/ this chip started from.")
    tiles: int = field(100, "Number of physical tiles on the chip.", "tile", ge=1)
    static_power_W: float = field(1.0, "Always-on power of control, clocks and I/O.", "W", ge=0)
    bus: BusSpec = field(BusSpec(), "On-chip network between tiles.")
    memory: MemorySpec = field(MemorySpec(), "Activation memory for back-propagation through time.")
