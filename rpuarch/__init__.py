"""rpuarch: train LSTMs on simulated resistive cross-point (RPU) arrays and estimate the chip."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("rpuarch")
except PackageNotFoundError:  # running from a source tree that was never installed
    __version__ = "0.0.0+source"
