"""Declarative configuration: pydantic models, presets under models/, YAML workloads."""

from .baseline import BaselineConfig
from .device import DeviceConfig
from .hardware import ChipConfig, TileConfig
from .io import PERFECT_IO, IOConfig, IOSection
from .loader import LoadedWorkload, list_presets, load_preset, load_workload, resolve
from .update import UpdateConfig
from .workload import DatasetConfig, NetworkConfig, TrainingConfig, Workload

__all__ = [
    "BaselineConfig", "ChipConfig", "DatasetConfig", "DeviceConfig", "IOConfig", "IOSection",
    "LoadedWorkload", "NetworkConfig", "PERFECT_IO", "TileConfig", "TrainingConfig", "UpdateConfig",
    "Workload", "list_presets", "load_preset", "load_workload", "resolve",
]
