"""A study file: which runs reproduce one of the paper's studies, at which scale, and how its
result is read. One YAML file per study under workloads/paper/ (docs/studies.md)."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any, Literal

from pydantic import ValidationError, model_validator

from ..config.base import Section, field
from ..config.loader import read_yaml
from ..errors import ConfigError

Kind = Literal["scale", "curves", "sweep", "regularisation"]


class Condition(Section):
    """One named setting of the workload (``set``: dotted field path -> value)."""

    name: str = field(..., "Short name, used in tables and plots.")
    label: str | None = field(None, "Longer description for the report.")
    set: dict[str, Any] = field({}, "Workload fields this condition changes, by dotted path.")


class Axis(Section):
    """One swept quantity. Every path gets the same value (e.g. the DAC of both directions)."""

    name: str = field(..., "Short name, a fact-name prefix in the reading.")
    label: str = field(..., "Axis label of plots and tables.")
    paths: list[str] = field(..., "Workload fields set to each value.", min_length=1)
    values: list[Any] = field(..., "Values, in plotting order.", min_length=1)


class Sweep(Section):
    """A grid over one or two axes: the first is the x axis, the second draws one line per value."""

    name: str = field(..., "Short name (file names, fact prefixes).")
    title: str = field(..., "Heading of this sweep in the report.")
    axes: list[Axis] = field(..., "One or two axes.", min_length=1, max_length=2)
    reference: Any = field(
        ..., "Value of the first axis every other value is compared with: its first or last value (the"
        " facts walk from it outwards)."
    )
    costs: bool = field(
        False,
        "Also tabulate each setting's chip cost (time and energy per training character, tiles in use"
        " and their area, from the activity its runs measured); with more than two lines, compare every"
        " line with the first at each value.",
    )

    @model_validator(mode="after")
    def _reference_on_axis(self) -> Sweep:
        values = self.axes[0].values
        if self.reference not in values:
            raise ValueError(f"reference {self.reference!r} is not one of the values of {self.axes[0].name}")
        if self.reference not in (values[0], values[-1]):
            raise ValueError("the reference must be the first or the last value of the first axis")
        return self


class ScaleModel(Section):
    name: str = field(..., "Model name, e.g. LSTM2-64WP.")
    corpus: str = field(..., "Key of the corpus in ``corpora``.")
    layers: int = field(..., "LSTM layers.", ge=1)
    hidden: int = field(..., "Hidden units per layer.", ge=1)


class Mlp(Section):
    name: str = field("MNIST MLP", "Name in tables.")
    sizes: list[int] = field([784, 256, 128, 10], "Layer sizes, input first.", min_length=2)
    samples: int = field(60000, "Training samples per epoch.", ge=1)
    batch: int = field(1, "Samples per update on the chip.", ge=1)


class Convergence(Section):
    """When a training run counts as converged (stated in every report)."""

    fp_improvement: float = field(
        0.01, "The floating-point twin has converged when its validation loss (mean over seeds) improved by less than"
        " this fraction over the last epoch ...", gt=0, lt=1)
    below_unigram: float = field(
        0.25, "... and is at least this fraction below the test split's unigram loss (a model of character"
        " frequencies alone).", ge=0, lt=1)
    rpu_improvement: float = field(
        0.01, "The RPU network has stopped improving when its validation loss improved by less than this fraction"
        " over the last epoch (otherwise the report shows its curve).", gt=0, lt=1)


class Study(Section):
    """Root of a study file."""

    study: str = field(..., "Identifier: the report goes to reports/paper/<study>/.")
    title: str = field(..., "Title of the report.")
    kind: Kind = field(..., "scale: multiply-adds and hardware estimates; curves: loss curves RPU vs FP over seeds;"
                       " sweep: test loss against swept device or periphery fields; regularisation: overfitting"
                       " with and without dropout, FP and RPU.")
    paper: str = field(..., "What the paper states (REFERENCE.md), quoted for the comparison.")
    workload: str | None = field(None, "Base workload, relative to the study file (for scale: tile, chip and schedule).")
    quick: dict[str, Any] = field({}, "Overrides of the default scale, smaller than the paper's (scale_note says why).")
    full: dict[str, Any] = field({}, "Overrides of the paper's scale (--full).")
    scale_note: str = field("", "Why the default scale is smaller than the paper's.")
    seeds: list[int] = field([1], "Seeds every setting starts with (the seed rule may add more).", min_length=1)
    difference_of_interest: float = field(
        0.02, "Smallest difference of test loss this study cares about, in nats/char: the seed rule adds seeds to a"
        " comparison whose 95 % interval holds zero and reaches beyond it.", "nats/char", gt=0)
    max_seeds: int = field(8, "The seed rule gives a setting at most this many seeds.", ge=1)
    convergence: Convergence = field(Convergence(), "The convergence criterion.")
    conditions: list[Condition] = field([], "Named settings (curves, regularisation).")
    sweeps: list[Sweep] = field([], "Grids (sweep).")
    models: list[ScaleModel] = field([], "LSTM models (scale).")
    corpora: dict[str, dict[str, Any]] = field({}, "Corpora of the models, as dataset sections (scale).")
    mlp: Mlp = field(Mlp(), "The MLP the models are compared with (scale).")
    claims: dict[str, float] = field({}, "The paper's numbers the results are compared with, by name (quoted, not results).")
    reading: str = field(..., "The written reading: a template over the result facts (rpuarch.study.template).")
    finding: str = field(..., "One-line finding for reports/README.md: a template too.")

    @model_validator(mode="after")
    def _kind_has_its_parts(self) -> Study:
        if not re.fullmatch(r"[a-z0-9][a-z0-9-]*", self.study):
            raise ValueError("study must be lower-case letters, digits and dashes")
        if self.kind == "scale":
            if not self.models or not self.corpora:
                raise ValueError("a scale study needs models and corpora")
            missing = {m.corpus for m in self.models} - set(self.corpora)
            if missing:
                raise ValueError(f"models name corpora not in corpora: {sorted(missing)}")
        if self.kind != "scale":
            if self.workload is None:
                raise ValueError(f"a {self.kind} study needs a workload")
            if self.kind == "sweep" and not self.sweeps:
                raise ValueError("a sweep study needs sweeps")
            if self.kind in ("curves", "regularisation") and not self.conditions:
                raise ValueError(f"a {self.kind} study needs conditions")
            if self.kind == "regularisation" and len(self.conditions) != 2:
                raise ValueError("a regularisation study has two conditions: without dropout, then with")
        if len(set(self.seeds)) != len(self.seeds):
            raise ValueError("a seed is listed twice")
        return self


def load_study(path: str | Path) -> Study:
    path = Path(path)
    data = read_yaml(path, "study file")
    try:
        return Study.model_validate(data)
    except ValidationError as exc:
        err = exc.errors()[0]
        where = ".".join(str(p) for p in err["loc"]) or None
        raise ConfigError(str(path), where, err["msg"].removeprefix("Value error, ") + ".") from None


def workload_path(study_path: Path, study: Study) -> Path:
    assert study.workload is not None
    return (study_path.parent / study.workload).resolve()


def to_overrides(settings: dict[str, Any]) -> list[str]:
    """``{path: value}`` -> ``["path=<value as YAML>"]`` for load_workload."""
    import json

    return [f"{path}={json.dumps(value)}" for path, value in settings.items()]
