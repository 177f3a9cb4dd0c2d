"""The workload: one YAML file describing data, network, training, device, periphery and chip."""

from __future__ import annotations

from typing import Literal

from pydantic import model_validator

from .base import Section, field
from .baseline import BaselineConfig
from .device import DeviceConfig
from .hardware import ChipConfig, TileConfig
from .io import IOSection
from .update import UpdateConfig

CorpusName = Literal["warpeace", "linux-headers", "tinyshakespeare"]


class DatasetConfig(Section):
    """The text a character-level language model is trained on. Give ``name`` or ``path``."""

    name: CorpusName | None = field(
        None,
        "Named corpus: linux-headers (the installed /usr/include/linux, offline), warpeace"
        " (Project Gutenberg #2600, downloaded once into the user cache), tinyshakespeare.",
    )
    path: str | None = field(
        None, "A text file, a directory (all files below it, sorted) or a glob; relative to the workload file."
    )
    max_chars: int | None = field(
        None, "Use only the first max_chars characters of the corpus (before the split).", "char", ge=1000
    )
    split: tuple[float, float, float] = field(
        (0.8, 0.1, 0.1), "Contiguous train / valid / test fractions, summing to 1."
    )
    newlines: Literal["normalize", "keep"] = field(
        "normalize",
        "normalize: CRLF and lone CR become LF and a leading byte-order mark is dropped; keep: leave them as characters.",
    )
    encoding_errors: Literal["replace", "strict"] = field(
        "replace",
        "Bytes that are not valid UTF-8: replace makes each such byte one U+FFFD character (and counts"
        " them in the report); strict refuses the file, naming it and the byte offset.",
    )

    @model_validator(mode="after")
    def _one_source(self) -> DatasetConfig:
        if (self.name is None) == (self.path is None):
            raise ValueError("give exactly one of dataset.name or dataset.path")
        if abs(sum(self.split) - 1.0) > 1e-9 or min(self.split) <= 0:
            raise ValueError(f"split must be three positive fractions summing to 1, got {self.split}")
        return self


class NetworkConfig(Section):
    """Stacked LSTM layers with a softmax output layer over the vocabulary (one-hot inputs)."""

    layers: int = field(1, "Number of stacked LSTM layers.", "layer", ge=1, le=16)
    hidden: int = field(64, "Hidden units per LSTM layer.", "unit", ge=1, le=8192)
    dropout: float = field(0.0, "Dropout on the outputs of each LSTM layer while training.", ge=0, lt=1)
    bias: Literal["analog", "digital"] = field(
        "digital",
        "analog: each bias is a crossbar column driven by a constant 1 (the paper's mapping);"
        " digital: the vector unit adds it and trains it in floating point (aihwkit's digital_bias).",
    )
    arrays: Literal["combined", "split"] = field(
        "combined",
        "combined: one array per LSTM layer, [W_ih W_hh] side by side (the paper's 4h x (x+h+1));"
        " split: W_ih and W_hh on separate tiles, each with its own periphery and management"
        " (aihwkit's AnalogLSTM).",
    )
    vocab_size: int | None = field(
        None,
        "Vocabulary size for a hardware estimate without reading the dataset; training measures it"
        " from the training split and ignores this.",
        "char", ge=2,
    )


class TrainingConfig(Section):
    """SGD with truncated back-propagation through time over parallel streams (char-rnn batching)."""

    epochs: int = field(1, "Passes over the training split.", "epoch", ge=1)
    lr: float = field(0.05, "SGD learning rate (on the loss summed over the steps of a window).", gt=0, le=10)
    streams: int = field(1, "Parallel streams over the training text (the batch size B).", "stream", ge=1)
    seq_length: int = field(50, "Steps of truncated back-propagation through time per window.", "char", ge=1)
    update_mode: Literal["exact", "aggregated"] = field(
        "exact",
        "exact: one rank-1 pulsed update per time step per stream, applied in order (as the hardware"
        " does); aggregated: the coincidences of a window's rank-1 updates counted at once.",
    )
    max_windows_per_epoch: int | None = field(
        None, "Stop an epoch after this many windows (for quick looks).", "window", ge=1
    )
    eval_chars: int | None = field(
        None, "Evaluate valid/test loss on at most this many characters of each split.", "char", ge=100
    )
    state: Literal["carry", "reset"] = field(
        "carry",
        "carry: the hidden and cell state of a stream go on from one window to the next (char-rnn);"
        " reset: every window, in training and evaluation, starts from zero state (aihwkit's"
        " War-and-Peace example).",
    )
    clip_norm: float | None = field(
        None,
        "Gradient clipping: when the L2 norm of the window's gradient over all weights and biases"
        " exceeds this, every output gradient d is scaled down to that norm before the update (of both"
        " networks); null: no clipping.",
        gt=0,
    )
    eval_streams: int = field(
        32,
        "Parallel streams the valid/test text is cut into for evaluation (with state carry the state"
        " is carried within a stream, so only each stream's first characters are predicted from a"
        " fresh state; with reset every window starts from zero).",
        "stream", ge=1, le=4096,
    )


class ActivityConfig(Section):
    """Expected array activity for the cost model when no training run measured it.

    A training run measures these (pulses, coincidences, bound-management repeats); the estimate
    then uses the measured values and ignores this section.
    """

    x_pulse_fraction: float = field(
        0.3, "Mean fraction of the BL pulse slots that carry a pulse on an input (x) line of an update.", ge=0, le=1
    )
    d_pulse_fraction: float = field(
        0.1, "Mean fraction of the BL pulse slots that carry a pulse on an output (error) line of an update.", ge=0, le=1
    )
    coincidence_rate: float | None = field(
        None,
        "Device steps (pulse coincidences) per device per rank-1 update; null: BL * x_pulse_fraction *"
        " d_pulse_fraction (independent trains).",
        "step", ge=0,
    )
    bm_repeats: float = field(0.0, "Mean bound-management repeats per forward product.", "pass", ge=0)
    input_fraction: float = field(
        0.5,
        "Mean |x| of an analog read's inputs as a fraction of full scale: the fraction of the full-scale"
        " charge (read energy, integrator charge) a read moves.",
        ge=0, le=1,
    )


class Workload(Section):
    """Root of a workload file."""

    name: str = field("workload", "Name shown in reports (and in the default output directory).", min_length=1, max_length=200)
    seed: int = field(0, "Seed of every random draw (data order, weights, devices, noise).", ge=0)
    dataset: DatasetConfig = field(DatasetConfig(name="linux-headers"), "Training text.")
    network: NetworkConfig = field(NetworkConfig(), "The LSTM.")
    training: TrainingConfig = field(TrainingConfig(), "Training schedule.")
    device: DeviceConfig = field(DeviceConfig(), "The resistive device (a preset plus overrides).")
    io: IOSection = field(IOSection(), "DAC/ADC, noise and management of forward and backward passes.")
    update: UpdateConfig = field(UpdateConfig(), "Pulsed update.")
    tile: TileConfig = field(TileConfig(preset="gokmen-vlasov-2016"), "One physical array and its periphery (a preset plus overrides).")
    chip: ChipConfig = field(ChipConfig(preset="rpu-2016"), "The chip (a preset plus overrides).")
    baselines: list[BaselineConfig] = field([], "Digital processors to compare with.")
    activity: ActivityConfig = field(ActivityConfig(), "Activity assumed when training did not measure it.")
    sources: dict[str, str] = field(
        {}, "Where each hardware or device constant comes from, by dotted field path (filled from presets)."
    )
