"""The CPU and GPU baselines: roofline with a cache model, precision, wavefront, power, the
throughput-best batch, inference, and the presets' sources. Closed forms computed by hand."""

from __future__ import annotations

import re
from dataclasses import replace

import pytest

from rpuarch.arch import baselines as bl
from rpuarch.arch.network import lstm_network
from rpuarch.config import BaselineConfig, list_presets, load_preset, resolve
from rpuarch.errors import ConfigError

TAGS = ("[datasheet]", "[paper]", "[derived]", "[assumed]", "[calibrated]")


def gpu(**more) -> BaselineConfig:
    """A made-up GPU with round numbers, so every expected time below is a hand calculation."""
    fields = dict(name="G", kind="gpu", peak_tflops={"fp32": 10.0, "bf16": 80.0}, efficiency=0.5,
                  memory_bandwidth_GBps=1000.0, memory_efficiency=0.5, cache_MB=1.0, cache_bandwidth_GBps=4000.0,
                  launch_overhead_us=10.0, power_W=300.0, idle_power_W=50.0)
    return BaselineConfig(**{**fields, **more})


def net(hidden=64, layers=2, streams=32, steps=50, vocab=87):
    return lstm_network(vocab, hidden, layers, 4096, 4096, streams, steps)


def test_one_kernel_is_launch_plus_the_largest_of_compute_memory_and_cache():
    k = bl.gemm("g", "forward", 2, 200, 300, "B", 4)  # a batch of 2: memory-bound from main memory
    assert (k.flops, k.weight_bytes, k.data_bytes) == (2 * 2 * 200 * 300, 4 * 200 * 300, 4 * (2 * 200 + 2 * 300))
    b = gpu()
    compute = k.flops / (10e12 * 0.5)
    cold = bl.kernel_cost(k, b, bl.Residency(False, False, 0))
    memory = (k.weight_bytes + k.data_bytes) / (1000e9 * 0.5)
    assert memory > compute and cold.seconds == pytest.approx(10e-6 + memory)
    assert cold.split["launch"] == pytest.approx(10e-6)
    # Everything resident: only the cache's bandwidth and the arithmetic remain.
    warm = bl.kernel_cost(k, b, bl.Residency(True, True, 0))
    cache = (k.weight_bytes + k.data_bytes) / 4000e9
    assert warm.seconds == pytest.approx(10e-6 + max(compute, cache))
    assert warm.seconds < cold.seconds
    # The busy time of the power model is at the datasheet peak, without the efficiencies.
    assert cold.busy_s == pytest.approx(max(k.flops / 10e12, (k.weight_bytes + k.data_bytes) / 1000e9))


def test_weights_that_fit_in_the_cache_are_not_reread_from_main_memory():
    network = net(hidden=64)  # 77,591 weights: 0.62 MB with their gradients in FP32
    roomy = bl.network_residency(gpu(cache_MB=1.0), network)
    assert roomy.weights and not roomy.data  # the 32 x 50-step window's activations do not fit in 1 MB
    assert bl.network_residency(gpu(cache_MB=50.0), network).data
    assert not bl.network_residency(gpu(cache_MB=0.5), network).weights
    # Without the cache every step's recurrent GEMM re-reads its 64 x 256 weights from main memory.
    b = gpu(launch_overhead_us=0.0, memory_bandwidth_GBps=10.0)
    step = next(k for k in bl.window_kernels(network) if k.name == "lstm1 recurrent GEMM")
    extra = bl.kernel_cost(step, b, bl.Residency(False, False, 0)).seconds - bl.kernel_cost(
        step, b, bl.Residency(True, False, 0)).seconds
    assert extra == pytest.approx(4 * 64 * 256 / (10e9 * 0.5))
    slow, fast = (bl.window_cost(gpu(launch_overhead_us=0.0, memory_bandwidth_GBps=10.0, cache_MB=mb), network)[0]
                  for mb in (0.5, 1.0))
    assert slow.seconds - fast.seconds > 2 * 50 * extra  # at least the two layers' 50 steps of re-reads


def test_precision_sets_the_peak_of_the_matrix_products_and_the_bytes_stored():
    network = net()
    fp32, bf16 = gpu(), gpu(precision="bf16")
    gemm = next(k for k in bl.window_kernels(network, 2) if k.name == "lstm0 recurrent GEMM")
    cell = next(k for k in bl.window_kernels(network, 2) if k.name == "lstm0 cell")
    assert gemm.weight_bytes == 2 * 64 * 256
    free = bl.Residency(True, True, 0)
    no_launch = {"launch_overhead_us": 0.0, "cache_bandwidth_GBps": 1e9}
    assert bl.kernel_cost(gemm, gpu(precision="bf16", **no_launch), free).seconds == pytest.approx(
        gemm.flops / (80e12 * 0.5))
    assert bl.kernel_cost(cell, gpu(precision="bf16", **no_launch), free).seconds == pytest.approx(
        cell.flops / (10e12 * 0.5))  # element-wise kernels stay at the fp32 peak
    assert bl.network_residency(bf16, network).working_set_bytes == pytest.approx(
        bl.network_residency(fp32, network).working_set_bytes / 2)
    with pytest.raises(ValueError, match="precision tf32 has no peak"):
        gpu(precision="tf32")
    with pytest.raises(ValueError, match="fp32 entry"):
        gpu(peak_tflops={"bf16": 80.0}, precision="bf16")
    assert BaselineConfig(name="x", kind="cpu", peak_tflops=1.5, memory_bandwidth_GBps=50, power_W=100).peak_tflops \
        == {"fp32": 1.5}


def test_a_bad_baseline_in_a_workload_names_the_field():
    with pytest.raises(ConfigError) as info:
        resolve({"baselines": [{"preset": "v100", "precision": "bf16"}]}, "w.yaml")
    assert "precision bf16 has no peak" in str(info.value)


def test_stacked_layers_run_as_a_wavefront_when_the_baseline_overlaps_them():
    network = net(layers=3, steps=50)
    serial, wave = gpu(), gpu(overlap_layers=True)
    forward = [k for k in bl.window_kernels(network) if k.layer is not None and k.phase == "forward"]
    resident = bl.network_residency(serial, network)
    s = bl.program_cost(forward, serial, resident).seconds
    w = bl.program_cost(forward, wave, resident).seconds
    # Launch-bound per-step kernels: 3 layers x 50 steps one after another, or 52 steps of a wavefront.
    assert w / s == pytest.approx(52 / 150, rel=0.02)
    # Work-bound: the wavefront is never shorter than the kernels' work alone.
    heavy = gpu(overlap_layers=True, launch_overhead_us=0.0, peak_tflops={"fp32": 1e-4})
    work = sum(k.launches * k.flops for k in forward) / (1e8 * 0.5)
    assert bl.program_cost(forward, heavy, resident).seconds == pytest.approx(work, rel=1e-6)


def test_power_is_idle_plus_dynamic_by_utilisation():
    b = gpu()
    cost, _ = bl.window_cost(b, net())
    assert cost.energy_J(b) == pytest.approx(50.0 * cost.seconds + 250.0 * cost.busy_s)
    assert 0 < cost.busy_s < cost.seconds
    result = bl.baseline_estimate(b, net(), 10, 1.0, 1.0, None)
    assert 50.0 < result["power_W"] < 300.0 and result["utilization"] == pytest.approx(cost.busy_s / cost.seconds)
    # Launch-bound (a small LSTM): the GPU draws close to its idle power.
    assert result["power_W"] < 60.0
    # Without an idle power the processor draws its full power throughout.
    flat = gpu(idle_power_W=None)
    assert bl.window_cost(flat, net())[0].energy_J(flat) == pytest.approx(300.0 * bl.window_cost(flat, net())[0].seconds)


def test_the_throughput_best_batch_has_the_least_time_per_item_and_fits():
    network = net()
    items = 3_000_000
    b = gpu(memory_GB=0.05)
    best_net, best = bl.best_batch(b, network, items)
    assert bl.fits_in_memory(b, best_net)
    per_item = {}
    n = 1
    while n <= bl.MAX_BATCH:
        candidate = replace(network, streams=n)
        if not bl.fits_in_memory(b, candidate):
            break
        per_item[n] = bl.window_cost(b, candidate)[0].seconds / candidate.items_per_window
        n *= 2
    assert max(per_item) < bl.MAX_BATCH  # the 50 MB memory bounded the search
    assert best_net.streams == min(per_item, key=per_item.get)
    assert best.seconds / best_net.items_per_window == min(per_item.values()) < per_item[32]
    result = bl.baseline_estimate(b, network, items // network.items_per_window, 1.0, 1.0, None)
    assert result["best_batch"]["batch"] == best_net.streams
    assert result["best_batch"]["acceleration_factor"] < result["acceleration_factor"]


def test_inference_is_the_forward_kernels_alone():
    b = gpu()
    network = net()
    forward, _ = bl.window_cost(b, network, training=False)
    every = bl.window_kernels(network)
    assert forward.flops == pytest.approx(sum(k.launches * k.flops for k in every if k.phase == "forward"))
    result = bl.baseline_estimate(b, network, 10, 1.0, 1.0, None, rpu_inference=(1e-7, 1e-7))
    inference = result["inference"]
    assert inference["time_per_item_s"] < result["time_per_item_s"]
    assert inference["acceleration_factor"] == pytest.approx(inference["time_per_item_s"] / 1e-7)


def test_estimate_reports_cache_batch_and_inference_for_every_baseline():
    from rpuarch.arch.estimate import estimate

    w, _ = resolve({"dataset": {"name": "tinyshakespeare"}, "network": {"vocab_size": 65},
                    "training": {"streams": 4, "seq_length": 10},
                    "baselines": ["xeon-e5-2699v4", "v100", {"preset": "h100", "precision": "bf16"}]}, "test")
    result = estimate(w, train_chars=20_000)
    names = [b["name"] for b in result["baselines"]]
    assert names == ["Xeon E5-2699 v4", "V100", "H100"]
    for b in result["baselines"]:
        assert b["cache"]["resident"] == "weights and activations"  # a tiny network fits every cache here
        assert b["best_batch"]["batch"] >= 1 and b["inference"]["acceleration_factor"] > 0
        assert b["max_power_W"] >= b["power_W"] >= b["idle_power_W"]
    assert result["baselines"][2]["precision"] == "bf16"


def test_measured_host_states_the_load_it_was_measured_at():
    from rpuarch.arch.estimate import estimate

    w, _ = resolve({"dataset": {"name": "tinyshakespeare"}, "network": {"vocab_size": 65},
                    "training": {"streams": 4, "seq_length": 10}, "baselines": ["measured-host"]}, "test")
    conditions = {"statistic": "median of 3 epochs' training speeds", "load_avg_1m": 2.5, "cpus": 2}
    result = estimate(w, train_chars=20_000, measured_host_chars_per_s=4000.0, measured_host_conditions=conditions)
    (host,) = result["baselines"]
    assert host["measurement"]["load_avg_1m"] == 2.5 and host["epoch_time_s"] == pytest.approx(20_000 / 4000.0)
    assert "load average 2.50 on 2 CPUs" in host["note"] and "median of 3 epochs" in host["note"]
    bare = estimate(w, train_chars=20_000, measured_host_chars_per_s=4000.0)
    assert "without the conditions" in bare["baselines"][0]["note"]


@pytest.mark.parametrize("name", [n for n, _ in list_presets("baseline")["baseline"]])
def test_every_baseline_constant_has_a_tagged_source(name):
    preset = load_preset("baseline", name, "test")
    BaselineConfig(**preset.sections["baseline"])
    leaves = []
    for key, value in preset.sections["baseline"].items():
        if key in ("name", "kind"):
            continue
        leaves += [f"{key}.{k}" for k in value] if isinstance(value, dict) else [key]
    for leaf in leaves:
        source = preset.sources.get(leaf, "")
        assert re.match(r"\[\w+\]", source) and source.split("]")[0] + "]" in TAGS, f"{name}.{leaf}: {source!r}"
    calibrated = [leaf for leaf in leaves if preset.sources[leaf].startswith("[calibrated]")]
    assert all("DeepBench" in preset.sources[leaf] for leaf in calibrated)


def test_the_measured_speed_is_the_median_of_the_epochs():
    from rpuarch.host import speed_of_epochs

    epochs = [{"train_s": 1.0, "train_chars": 1000, "load_avg_1m": 1.0, "cpus": 2},
              {"train_s": 4.0, "train_chars": 1000, "load_avg_1m": 6.0, "cpus": 2},  # a disturbed epoch
              {"train_s": 1.25, "train_chars": 1000, "load_avg_1m": 1.5, "cpus": 2}]
    summary = speed_of_epochs(epochs)
    assert summary["chars_per_s"] == 800.0 and summary["statistic"] == "median of 3 epochs' training speeds"
    assert summary["load_avg_1m"] == 1.5 and summary["load_avg_1m_range"] == [1.0, 6.0]
    assert speed_of_epochs([]) is None
