"""Scale of the paper's models (study 7): multiply-adds per epoch against the MNIST MLP, and the
hardware estimate of each on the workload's tile and chip.

Multiply-adds per epoch = weights x items per epoch (one multiply-add per weight per character or
image in the forward pass; backward and update multiply it by three for every model, which
cancels in the ratio). Two epoch conventions, both from the corpus actually read: the training
split (what one training epoch sees) and the whole corpus.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ...arch.estimate import estimate, estimate_network
from ...arch.network import mlp_network
from ...config import DatasetConfig, load_workload
from ...mapping import NetworkMapping, lstm_arrays, mlp_arrays
from ...nn.corpus import read_corpus
from ...nn.data import split_corpus
from ...report.units import si
from .. import data as corpus_data
from ..spec import to_overrides
from .common import fact_key, markdown_table, plt, save


def _corpus(dataset: dict[str, Any], local) -> tuple[DatasetConfig, dict[str, Any]]:
    settings = dict(dataset)
    if local is not None:
        settings.pop("name", None)
        settings["path"] = str(local)
    config = DatasetConfig.model_validate(settings)
    data = split_corpus(read_corpus(config), config)
    measured = {
        "vocab": data.vocab.size,
        "chars": int(sum(s.size for s in data.splits.values())),
        "train_chars": int(data.splits["train"].size),
    }
    return config, measured


def analyse(run) -> Any:
    from ..runner import Analysis

    study = run.study
    workload_file = (run.path.parent / study.workload).resolve() if study.workload else None
    corpora, provenance = {}, []
    for key, dataset in study.corpora.items():
        config, measured = _corpus(dataset, run.data_paths.get(key))
        corpora[key] = measured
        provenance.append({"corpus": key, **corpus_data.provenance(config)})

    facts: dict[str, Any] = {}
    rows, hw_rows, models = [], [], []
    mlp = study.mlp
    mlp_weights = NetworkMapping.build(mlp_arrays(mlp.sizes), 1, 1).weights
    mlp_macs = mlp_weights * mlp.samples
    facts.update({"mlp_weights": mlp_weights, "mlp_macs_epoch": mlp_macs, "mlp_samples": mlp.samples})

    base = load_workload(workload_file, run.overrides)
    mlp_est = estimate_network(base.workload, mlp_network(mlp.sizes, base.workload.tile.rows, base.workload.tile.cols, mlp.batch),
                               mlp.samples, f"{mlp.name} training set")
    baseline_names = [b["name"] for b in mlp_est["baselines"]]
    w = base.workload
    facts.update({"tile_rows": w.tile.rows, "tile_cols": w.tile.cols, "chip_tiles": w.chip.tiles,
                  "streams": w.training.streams, "seq_length": w.training.seq_length})
    for model in study.models:
        measured = corpora[model.corpus]
        loaded = load_workload(workload_file, run.overrides + to_overrides({
            "network.layers": model.layers, "network.hidden": model.hidden, "network.vocab_size": measured["vocab"]}))
        weights = NetworkMapping.build(lstm_arrays(measured["vocab"], model.hidden, model.layers), 1, 1).weights
        est = estimate(loaded.workload, vocab_size=measured["vocab"], train_chars=measured["train_chars"])
        hw = est["hardware"]
        entry = {
            "name": model.name, "corpus": model.corpus, "layers": model.layers, "hidden": model.hidden,
            "vocab": measured["vocab"], "weights": weights,
            "macs_epoch_train": weights * measured["train_chars"], "macs_epoch_corpus": weights * measured["chars"],
            "hardware": {k: hw[k] for k in ("tiles", "time_per_char_s", "epoch_time_s", "energy_per_char_J",
                                            "epoch_energy_J", "power_W", "ops_per_s_per_W", "area_mm2")},
            "limited_by": hw["analytical"]["limited_by"],
            "utilization": hw["mapping"]["utilization"],
            "acceleration_factor": {b["name"]: b["acceleration_factor"] for b in est["baselines"]},
            "energy_ratio": {b["name"]: b["energy_ratio"] for b in est["baselines"]},
        }
        entry["ratio_train"] = entry["macs_epoch_train"] / mlp_macs
        entry["ratio_corpus"] = entry["macs_epoch_corpus"] / mlp_macs
        models.append(entry)
        k = fact_key(model.name)
        facts.update({f"{k}_weights": weights, f"{k}_ratio_train": entry["ratio_train"], f"{k}_ratio_corpus": entry["ratio_corpus"],
                      f"{k}_macs_epoch_train": entry["macs_epoch_train"]})
        facts.update({f"{k}_{q}": v for q, v in entry["hardware"].items()})
        facts.update({f"{k}_limited_by": entry["limited_by"], f"{k}_utilization": entry["utilization"]})
        facts.update({fact_key(k, "accel", n): v for n, v in entry["acceleration_factor"].items()})
        rows.append([model.name, f"{measured['vocab']}", f"{weights:,}", f"{measured['train_chars']:,}",
                     f"{entry['macs_epoch_train']:.3e}", f"{entry['ratio_train']:,.1f}x", f"{entry['ratio_corpus']:,.1f}x"])
        hw_rows.append(_hw_row(model.name, entry, baseline_names))

    mlp_hw = mlp_est["hardware"]
    mlp_entry = {"name": mlp.name, "weights": mlp_weights, "macs_epoch": mlp_macs,
                 "hardware": {k: mlp_hw[k] for k in ("tiles", "time_per_char_s", "epoch_time_s", "energy_per_char_J",
                                                     "epoch_energy_J", "power_W", "ops_per_s_per_W", "area_mm2")},
                 "limited_by": mlp_hw["analytical"]["limited_by"], "utilization": mlp_hw["mapping"]["utilization"],
                 "acceleration_factor": {b["name"]: b["acceleration_factor"] for b in mlp_est["baselines"]}}
    rows.append([mlp.name, "-", f"{mlp_weights:,}", f"{mlp.samples:,} images", f"{mlp_macs:.3e}", "1x", "1x"])
    hw_rows.append(_hw_row(mlp.name + " (per image)", mlp_entry, baseline_names))

    facts.update(_claim_facts(study.claims, models, baseline_names))
    for key, measured in corpora.items():
        facts.update({fact_key(key, q): v for q, v in measured.items()})
    facts["all_limited_by_dependencies"] = all(m["limited_by"] == "dependencies" for m in models)
    facts["max_utilization"] = max(m["utilization"] for m in models)
    if "wp_vocab" in study.claims and "WP" in corpora:
        paper_weights = NetworkMapping.build(lstm_arrays(int(study.claims["wp_vocab"]), 64, 2), 1, 1).weights
        facts["lstm2_64wp_weights_at_paper_vocab"] = paper_weights
        facts["lstm2_64wp_weights_change"] = facts["lstm2_64wp_weights"] / paper_weights - 1.0
        facts["wp_vocab_differs"] = corpora["WP"]["vocab"] != study.claims["wp_vocab"]

    plots = [_plot_ratios(models, study.claims.get("mac_ratio"), run.out_dir),
             _plot_accel(models, mlp_entry, baseline_names, run.out_dir)]
    sections = [
        "### Multiply-adds per epoch", "",
        "Weights x items per epoch (one multiply-add per weight per character or image, forward pass;"
        " backward and update scale every model alike). Vocabulary and characters are measured on the corpora read.", "",
        markdown_table(["model", "vocabulary", "weights", "training chars / epoch", "multiply-adds / epoch (training split)",
                        f"vs {mlp.name} (training split)", f"vs {mlp.name} (whole corpus)"], rows),
        f"![ratios]({plots[0]})", "",
        "### Hardware estimate (training, workload's tile and chip)", "",
        markdown_table(["model", "tiles", "array utilisation", "window limited by", "time / char", "epoch time", "energy / char", "power", "efficiency",
                        *[f"speed-up vs {n}" for n in baseline_names]], hw_rows),
        f"![acceleration]({plots[1]})", "",
    ]
    results = {"models": models, "mlp": mlp_entry, "corpora": corpora, "data": provenance,
               "mlp_notes": mlp_hw.get("notes", [])}
    return Analysis(facts, sections, plots, results)


def _hw_row(name: str, entry: dict, baselines: list[str]) -> list[str]:
    hw, accel = entry["hardware"], entry["acceleration_factor"]
    return [name, f"{hw['tiles']}", f"{100 * entry['utilization']:.2f} %", entry["limited_by"],
            si(hw["time_per_char_s"], "s"), si(hw["epoch_time_s"], "s"),
            si(hw["energy_per_char_J"], "J"), si(hw["power_W"], "W"), si(hw["ops_per_s_per_W"], "Ops/s/W"),
            *[f"{accel[n]:,.1f}x" if n in accel else "n/a" for n in baselines]]


def _claim_facts(claims: dict[str, float], models: list[dict], baselines: list[str]) -> dict[str, Any]:
    facts: dict[str, Any] = {}
    ratio = claims.get("mac_ratio")
    if ratio:
        facts["claim_mac_ratio"] = ratio
        for convention in ("train", "corpus"):
            nearest = min(models, key=lambda m: abs(np.log(m[f"ratio_{convention}"] / ratio)))
            facts[f"nearest_{convention}_model"] = nearest["name"]
            facts[f"nearest_{convention}_ratio"] = nearest[f"ratio_{convention}"]
            facts[f"nearest_{convention}_off"] = nearest[f"ratio_{convention}"] / ratio
        largest = max(models, key=lambda m: m["weights"])
        facts["largest_model"] = largest["name"]
        facts["largest_is_nearest_corpus"] = facts["nearest_corpus_model"] == largest["name"]
        facts["largest_is_nearest_train"] = facts["nearest_train_model"] == largest["name"]
        facts["largest_ratio_train"] = largest["ratio_train"]
        facts["largest_ratio_corpus"] = largest["ratio_corpus"]
    speedup = claims.get("chip_speedup")
    if speedup:
        facts["claim_chip_speedup"] = speedup
        for name in baselines:
            values = [m["acceleration_factor"].get(name) for m in models if name in m["acceleration_factor"]]
            if values:
                facts[fact_key("all_faster_than", name)] = min(values) > 1.0
                facts[fact_key("min_accel", name)] = min(values)
                facts[fact_key("max_accel", name)] = max(values)
                facts[fact_key("max_accel", name, "vs_claim")] = max(values) / speedup
    efficiency = claims.get("ops_per_s_per_W")
    if efficiency:
        facts["claim_ops_per_s_per_W"] = efficiency
        best = max(m["hardware"]["ops_per_s_per_W"] for m in models)
        facts["max_ops_per_s_per_W"] = best
        facts["max_ops_per_s_per_W_vs_claim"] = best / efficiency
    return facts


def _plot_ratios(models: list[dict], claim: float | None, out_dir) -> str:
    fig, ax = plt.subplots(figsize=(8, 4.2))
    names = [m["name"] for m in models]
    x = np.arange(len(models))
    ax.bar(x - 0.2, [m["ratio_train"] for m in models], 0.4, label="epoch = training split")
    ax.bar(x + 0.2, [m["ratio_corpus"] for m in models], 0.4, label="epoch = whole corpus")
    if claim:
        ax.axhline(claim, color="black", linestyle="--", linewidth=1, label="the paper's statement")
    ax.set_yscale("log")
    ax.set_xticks(x, names, rotation=25, fontsize=8)
    ax.set_ylabel("multiply-adds per epoch / MNIST MLP's")
    ax.grid(alpha=0.3, axis="y")
    ax.legend(fontsize=8)
    save(fig, out_dir / "mac_ratio.png")
    return "mac_ratio.png"


def _plot_accel(models: list[dict], mlp: dict, baselines: list[str], out_dir) -> str:
    fig, ax = plt.subplots(figsize=(8, 4.2))
    entries = models + [mlp]
    x = np.arange(len(entries))
    width = 0.8 / max(1, len(baselines))
    for i, name in enumerate(baselines):
        ax.bar(x + (i - (len(baselines) - 1) / 2) * width,
               [e["acceleration_factor"].get(name, np.nan) for e in entries], width, label=name)
    ax.axhline(1.0, color="black", linewidth=0.8)
    ax.set_yscale("log")
    ax.set_xticks(x, [e["name"] for e in entries], rotation=25, fontsize=8)
    ax.set_ylabel("training speed-up of the RPU chip")
    ax.grid(alpha=0.3, axis="y")
    ax.legend(fontsize=8)
    save(fig, out_dir / "acceleration.png")
    return "acceleration.png"
