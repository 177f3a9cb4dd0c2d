"""The LSTM networks, their training on simulated RPU tiles, and the floating-point twin."""

# Version of the training numerics: raise it with any change that alters the numbers a training run
# gives for the same workload and data (device model, periphery, mapping, training loop). Finished
# study runs (rpuarch.study.runs) of another version are never mixed with this version's.
NUMERICS_VERSION = 2  # 2: aihwkit 1.2 periphery and update semantics, network.bias and network.arrays
