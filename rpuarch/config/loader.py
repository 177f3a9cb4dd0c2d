"""Read workloads and presets from YAML, apply presets and ``--set`` overrides, validate.

Layers, last wins: preset (and the presets it ``extends``), then the workload file, then
``--set PATH=VALUE``. A preset file is a partial workload: a device preset may hold ``device``,
``io`` and ``update`` sections, a tile preset ``tile``, a chip preset ``chip`` (and ``tile``),
a baseline preset ``baseline``; each may carry ``description``, ``extends`` and ``sources``
(dotted field path -> where the constant comes from), and ``fit`` (the record that
``rpuarch device fit`` writes; resolution ignores it).
"""

from __future__ import annotations

import copy
import hashlib
import os
import sys
import typing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ValidationError

from ..errors import ConfigError
from .workload import Workload

REPO_ROOT = Path(__file__).resolve().parents[2]
# models/ and workloads/: those of the source tree (a clone, an editable install), else those a
# regular install put under <prefix>/share/rpuarch.
DATA_ROOT = REPO_ROOT if (REPO_ROOT / "models").is_dir() else Path(sys.prefix) / "share" / "rpuarch"
PRESET_KINDS = {"device": "devices", "tile": "tiles", "chip": "chips", "baseline": "baselines"}
# What a preset of each kind may define.
PRESET_SECTIONS = {
    "device": ("device", "io", "update"),
    "tile": ("tile",),
    "chip": ("chip", "tile"),
    "baseline": ("baseline",),
}
PRESET_META = ("description", "extends", "sources", "fit")
# Pairs of fields of which the one given last wins (a resolution as a step or in bits).
EXCLUSIVE_PAIRS = (("inp_res", "inp_bits"), ("out_res", "out_bits"))


def models_dir() -> Path:
    """The presets folder: $RPUARCH_MODELS, else models/ of the source tree or of the install."""
    folder = Path(os.environ.get("RPUARCH_MODELS", DATA_ROOT / "models"))
    if not folder.is_dir():
        raise ConfigError(
            str(folder), None, "the presets folder does not exist.",
            "reinstall rpuarch (pip install -e . in a clone), or point RPUARCH_MODELS at a models/ folder",
        )
    return folder


def default_workload_path() -> Path:
    return shipped_workloads_dir() / "quickstart.yaml"


def shipped_workloads_dir() -> Path:
    """workloads/ of the source tree, or of a regular install (<prefix>/share/rpuarch)."""
    return DATA_ROOT / "workloads"


def find_workload_file(spec: str | os.PathLike) -> Path:
    """A workload or study file: ``spec`` when it is a file; else the shipped workload it names,
    as ``quickstart``, ``paper/asymmetry`` or ``workloads/quickstart.yaml`` (as the README writes
    them, which a regular install finds outside the clone too). A name found nowhere is returned as
    given, for ``missing_workload`` to explain."""
    path = Path(spec)
    if path.is_file():
        return path
    name = path.as_posix().removeprefix("./").removeprefix("workloads/")
    for candidate in (shipped_workloads_dir() / name, shipped_workloads_dir() / f"{name}.yaml"):
        if candidate.is_file():
            return candidate
    return path


def missing_workload(path: Path, what: str) -> ConfigError:
    """The error for a workload or study file that does not exist: where the shipped ones are,
    and their names (studies are the files with a ``study`` field)."""
    root = shipped_workloads_dir()
    kinds: dict[bool, list[str]] = {True: [], False: []}
    for file in sorted(root.rglob("*.yaml")) if root.is_dir() else []:
        kinds["study" in read_yaml(file)].append(file.relative_to(root).with_suffix("").as_posix())
    shipped = (f" The shipped files, in {root}, can be given by name: workloads {', '.join(kinds[False])};"
               f" studies (rpuarch study NAME) {', '.join(kinds[True])}.") if kinds[False] or kinds[True] else ""
    return ConfigError(str(path), None, f"no such {what} ({path.absolute()}).{shipped}")


# ----------------------------------------------------------------------------- YAML
# A workload, preset or study file is a few kB of a few hundred values. The bounds refuse what no
# such file needs and what would cost minutes: a document of megabytes, aliases that expand a
# small file into millions of values (the "billion laughs"), nesting deeper than any schema.
MAX_YAML_BYTES = 1_000_000
MAX_YAML_VALUES = 100_000
MAX_YAML_DEPTH = 64


class InvalidYAML(ConfigError):
    """Text that is not YAML at all (a ``--set`` value then stays the string it is)."""


class _StrictLoader(getattr(yaml, "CSafeLoader", yaml.SafeLoader)):  # libyaml's parser where PyYAML has it
    """Safe YAML that refuses a key given twice in one mapping (YAML would keep the last silently)."""

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
        seen: set[Any] = set()
        for key_node, _ in node.value:
            if key_node.tag == "tag:yaml.org,2002:merge":
                continue
            key = self.construct_object(key_node, deep=True)
            if key in seen:
                raise yaml.constructor.ConstructorError(None, None, f"the key {key!r} is given twice", key_node.start_mark)
            seen.add(key)
        return super().construct_mapping(node, deep=deep)


def parse_yaml(text: str, source: str) -> Any:
    """The value of a YAML document from ``source`` (a file, ``--set``...), within the bounds above;
    a ``ConfigError`` naming ``source`` and the line otherwise."""
    if len(text) > MAX_YAML_BYTES:
        raise ConfigError(source, None, f"{len(text):,} characters of YAML; a workload needs a few thousand (at most {MAX_YAML_BYTES:,}).")
    try:
        data = yaml.load(text, Loader=_StrictLoader)  # noqa: S506 (a safe loader)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise InvalidYAML(source, None, f"not valid YAML{where}: {problem}.") from None
    except RecursionError:
        raise ConfigError(source, None, f"YAML nested too deeply (more than {MAX_YAML_DEPTH} levels).") from None
    _check_bounds(data, source)
    return data


def _check_bounds(data: Any, source: str) -> None:
    """Count the values of ``data`` as a consumer walking it meets them (an aliased subtree once
    per use), stopping at the bounds: linear in the bounds, whatever the aliases expand to."""
    stack, values = [(data, 1)], 0
    while stack:
        value, depth = stack.pop()
        values += 1
        if values > MAX_YAML_VALUES:
            raise ConfigError(source, None, f"the YAML expands to more than {MAX_YAML_VALUES:,} values (aliases?); a workload has a few hundred.")
        if depth > MAX_YAML_DEPTH:
            raise ConfigError(source, None, f"YAML nested too deeply (more than {MAX_YAML_DEPTH} levels).")
        children = value.values() if isinstance(value, dict) else value if isinstance(value, list) else ()
        stack.extend((child, depth + 1) for child in children)


def read_yaml(path: Path, what: str = "file") -> dict[str, Any]:
    if not path.is_file():
        raise ConfigError(str(path), None, f"no such {what}.")
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        raise ConfigError(str(path), None, "not UTF-8 text.") from None
    data = parse_yaml(text, str(path))
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise ConfigError(str(path), None, f"the top level must be a mapping of fields, got {type(data).__name__}.")
    return data


def merge(base: dict[str, Any], overlay: dict[str, Any], origin: str, origins: dict[str, str], prefix: str = "") -> dict[str, Any]:
    """Deep-merge ``overlay`` into a copy of ``base``; record where each leaf came from."""
    out = copy.deepcopy(base)
    for key, value in overlay.items():
        path = f"{prefix}{key}"
        for a, b in EXCLUSIVE_PAIRS:
            if key in (a, b):
                other = b if key == a else a
                if other in overlay:
                    raise ConfigError(origin, f"{prefix}{key}", f"give {a} or {b}, not both.")
                out.pop(other, None)
        if isinstance(value, dict) and isinstance(out.get(key, {}), dict):
            out[key] = merge(out.get(key, {}), value, origin, origins, prefix=f"{path}.")
        else:
            out[key] = copy.deepcopy(value)
            _record(value, path, origin, origins)
    return out


def _record(value: Any, path: str, origin: str, origins: dict[str, str]) -> None:
    if isinstance(value, dict):
        for k, v in value.items():
            _record(v, f"{path}.{k}", origin, origins)
    else:
        origins[path] = origin


# ----------------------------------------------------------------------------- presets
def preset_path(kind: str, name: str) -> Path:
    folder = models_dir() / PRESET_KINDS[kind]
    candidate = Path(name)
    if candidate.suffix in (".yaml", ".yml") and candidate.is_file():
        return candidate
    return folder / f"{name}.yaml"


def list_presets(kind: str | None = None) -> dict[str, list[tuple[str, str]]]:
    """{kind: [(name, description)]} for every preset under models/."""
    kinds = [kind] if kind else list(PRESET_KINDS)
    out: dict[str, list[tuple[str, str]]] = {}
    for k in kinds:
        folder = models_dir() / PRESET_KINDS[k]
        entries = []
        for path in sorted(folder.glob("*.yaml")):
            data = read_yaml(path, "preset")
            entries.append((path.stem, str(data.get("description", "")).strip()))
        out[k] = entries
    return out


@dataclass
class Preset:
    name: str
    sections: dict[str, Any]
    sources: dict[str, str]
    origins: dict[str, str] = field(default_factory=dict)


def load_preset(kind: str, name: str, referrer: str, _seen: tuple[str, ...] = ()) -> Preset:
    path = preset_path(kind, name)
    if not path.is_file():
        known = ", ".join(n for n, _ in list_presets(kind)[kind]) or "none"
        raise ConfigError(referrer, f"{kind}.preset", f"unknown {kind} preset {name!r}.", f"one of: {known}, or a path to a .yaml preset")
    if str(path) in _seen:
        raise ConfigError(str(path), "extends", "presets extend each other in a cycle.")
    data = read_yaml(path, "preset")
    allowed = PRESET_SECTIONS[kind] + PRESET_META
    for key in data:
        if key not in allowed:
            raise ConfigError(str(path), key, f"a {kind} preset may not define {key!r}.", ", ".join(allowed))
    origins: dict[str, str] = {}
    sections: dict[str, Any] = {}
    sources: dict[str, str] = {}
    if "extends" in data:
        parent = load_preset(kind, str(data["extends"]), str(path), _seen + (str(path),))
        sections, sources, origins = parent.sections, dict(parent.sources), dict(parent.origins)
    own = {k: v for k, v in data.items() if k in PRESET_SECTIONS[kind]}
    for key, value in own.items():
        if not isinstance(value, dict):
            raise ConfigError(str(path), key, "must be a mapping of fields.")
    sections = merge(sections, own, str(path), origins)
    raw_sources = data.get("sources") or {}
    if not isinstance(raw_sources, dict):
        raise ConfigError(str(path), "sources", "must map field paths to the source of each constant.")
    sources.update({str(k): str(v) for k, v in raw_sources.items()})
    return Preset(name=path.stem, sections=sections, sources=sources, origins=origins)


# ----------------------------------------------------------------------------- overrides
def parse_override(text: str, origin: str = "--set") -> tuple[list[str], Any]:
    """``"a.b=VALUE"`` -> (["a", "b"], the YAML value, or the string itself when it is not YAML);
    errors name ``origin`` (``--set``, ``--grid``, ``--variant NAME``)."""
    if "=" not in text:
        raise ConfigError(origin, None, f"{text!r} is not PATH=VALUE.", "e.g. device.up_down=0.02")
    path, raw = text.split("=", 1)
    keys = path.strip().split(".")
    if not all(keys):
        raise ConfigError(origin, path, "empty field name in the path.")
    try:
        value = parse_yaml(raw, origin) if raw.strip() else ""
    except InvalidYAML:
        value = raw
    return keys, value


def overrides_to_dict(overrides: list[str], origin: str = "--set") -> dict[str, Any]:
    out: dict[str, Any] = {}
    for text in overrides:
        keys, value = parse_override(text, origin)
        node = out
        for key in keys[:-1]:
            node = node.setdefault(key, {})
            if not isinstance(node, dict):
                raise ConfigError(origin, ".".join(keys), f"conflicts with another {origin} of the same path.")
        node[keys[-1]] = value
    return out


# ----------------------------------------------------------------------------- resolution
@dataclass
class LoadedWorkload:
    """A validated workload with its provenance."""

    workload: Workload
    path: Path | None
    text: str
    sha256: str
    origins: dict[str, str]

    @property
    def resolved_sha256(self) -> str:
        """Hash of the fully resolved workload: two runs with equal hashes compute the same thing."""
        return hashlib.sha256(self.workload.model_dump_json().encode()).hexdigest()


def resolve(raw: dict[str, Any], source: str, overrides: list[str] | None = None,
            labelled: dict[str, list[str]] | None = None) -> tuple[Workload, dict[str, str]]:
    """Apply presets and overrides to a raw workload mapping and validate it. ``labelled``:
    more overrides, applied after ``overrides`` (``--set``), by the origin their errors name
    (``{"--grid": [...]}``)."""
    origins: dict[str, str] = {}
    user = merge({}, raw, source, origins)
    for origin, items in {"--set": overrides or [], **(labelled or {})}.items():
        user = merge(user, overrides_to_dict(items, origin), origin, origins)
    resolved: dict[str, Any] = {}
    sources: dict[str, str] = {}

    for kind in ("device", "tile", "chip"):
        section = user.get(kind)
        if isinstance(section, dict) and section.get("preset") is not None:
            preset = load_preset(kind, str(section["preset"]), origins.get(f"{kind}.preset", source))
            resolved = merge(resolved, preset.sections, "", {})
            origins.update({k: v for k, v in preset.origins.items() if k not in origins})
            sources.update(preset.sources)
            user[kind]["preset"] = preset.name

    baselines = user.get("baselines")
    if baselines is not None:
        if not isinstance(baselines, list):
            raise ConfigError(origins.get("baselines", source), "baselines", "must be a list of baseline preset names or mappings.")
        user["baselines"] = [_resolve_baseline(item, i, source, origins, sources) for i, item in enumerate(baselines)]

    merged = merge(resolved, user, source, {})
    for kind in ("tile", "chip"):
        if isinstance(merged.get(kind), dict):
            merged[kind] = resolve_components(merged[kind], kind, origins, sources, source)
    given = merged.get("sources") or {}
    if not isinstance(given, dict):
        raise ConfigError(origins.get("sources", source), "sources", f"must map field paths to sources, got {type(given).__name__}.",
                          "a mapping, e.g. sources: {device.dw_min: 'Gokmen & Vlasov 2016, Table 1'}")
    merged["sources"] = {**sources, **given}
    try:
        workload = Workload.model_validate(merged)
    except ValidationError as exc:
        raise _config_error(exc, source, origins) from None
    return workload, origins


def component_path(name: str) -> Path:
    return models_dir() / "components" / f"{name}.yaml"


def resolve_components(section: dict[str, Any], path: str, origins: dict[str, str], sources: dict[str, str],
                       source: str) -> dict[str, Any]:
    """Expand every ``component: <kind>/<name>`` below ``section`` (at dotted ``path``) into the
    library file's fields, with the section's own fields on top. The file's fields and sources
    are recorded under their full path, so an error in a component file names that file."""
    out = {}
    for key, value in section.items():
        out[key] = resolve_components(value, f"{path}.{key}", origins, sources, source) if isinstance(value, dict) else value
    name = out.get("component")
    if name is None:
        return out
    where = f"{path}.component"
    referrer = _origin_of(where, origins, source)
    file = component_path(str(name))
    if not file.is_file():
        folder = file.parent
        known = sorted(f"{folder.name}/{p.stem}" for p in folder.glob("*.yaml")) if folder.is_dir() else []
        kinds = sorted(p.name for p in (models_dir() / "components").iterdir() if p.is_dir())
        raise ConfigError(referrer, where, f"unknown component {name!r} (no {file}).",
                          "one of: " + ", ".join(known) if known else "a <kind>/<name> with kind one of " + ", ".join(kinds))
    data = read_yaml(file, "component file")
    fields = {k: v for k, v in data.items() if k not in ("description", "sources")}
    own = {k: v for k, v in out.items() if k != "component"}
    component_origins: dict[str, str] = {}
    expanded = merge(fields, own, str(file), {})
    _record(fields, path, str(file), component_origins)
    for leaf, origin in component_origins.items():
        origins.setdefault(leaf, origin)
    for field_name, text in (data.get("sources") or {}).items():
        if field_name not in own:
            sources.setdefault(f"{path}.{field_name}", str(text))
    expanded["component"] = str(name)
    return expanded


def _resolve_baseline(item: Any, index: int, source: str, origins: dict[str, str], sources: dict[str, str]) -> Any:
    if isinstance(item, str):
        item = {"preset": item}
    if not isinstance(item, dict):
        return item  # pydantic reports the wrong type
    if item.get("preset") is None:
        return item
    preset = load_preset("baseline", str(item["preset"]), origins.get("baselines", source))
    body = merge(preset.sections.get("baseline", {}), {k: v for k, v in item.items() if k != "preset"}, source, {})
    body["preset"] = preset.name
    sources.update({f"baselines.{preset.name}.{k}": v for k, v in preset.sources.items()})
    return body


def load_workload(path: str | os.PathLike | None = None, overrides: list[str] | None = None,
                  labelled: dict[str, list[str]] | None = None) -> LoadedWorkload:
    """Load, resolve and validate a workload file (the embedded quickstart when ``path`` is None);
    ``overrides`` are ``--set`` PATH=VALUE strings, ``labelled`` more of them by origin (``resolve``)."""
    file = find_workload_file(path) if path is not None else default_workload_path()
    if not file.is_file():
        raise missing_workload(file, "workload file")
    raw = read_yaml(file, "workload file")
    if not raw:
        raise ConfigError(str(file), None, "the workload is empty. Give at least its dataset; every field is in"
                          " docs/workload.md, and workloads/quickstart.yaml is a complete example.")
    text = file.read_text(encoding="utf-8")
    workload, origins = resolve(raw, str(file), overrides, labelled)
    given = workload.dataset.path
    if given is not None and not Path(given).expanduser().is_absolute() and origins.get("dataset.path") != "--set":
        # A dataset path in a workload file is relative to that file; one typed on --set, to the
        # working directory, as a shell user expects.
        workload.dataset.path = str(file.parent / given)
    return LoadedWorkload(workload, file, text, hashlib.sha256(text.encode()).hexdigest(), origins)


# ----------------------------------------------------------------------------- error messages
MAX_PROBLEMS_SHOWN = 10


def _config_error(exc: ValidationError, source: str, origins: dict[str, str]) -> ConfigError:
    """One error for the user: the first problem as ``source``/``field``, and the message listing
    every problem (up to ``MAX_PROBLEMS_SHOWN``), so that one round of fixes can fix them all."""
    errors = [_problem(err, source, origins) for err in exc.errors()]
    first = errors[0]
    if len(errors) > 1:
        shown = "\n".join(f"  {e}" for e in errors[:MAX_PROBLEMS_SHOWN])
        rest = len(errors) - MAX_PROBLEMS_SHOWN
        first.args = (f"{len(errors)} problems in {source}:\n{shown}" + (f"\n  and {rest} more." if rest > 0 else ""),)
    return first


def _problem(err: Any, source: str, origins: dict[str, str]) -> ConfigError:
    loc = [str(p) for p in err["loc"]]
    path = ".".join(loc)
    origin = _origin_of(path, origins, source)
    model_field = _field_at(Workload, err["loc"])
    allowed = None
    if err["type"] == "extra_forbidden":
        parent = _model_at(Workload, err["loc"][:-1])
        allowed = "the fields " + ", ".join(parent.model_fields) if parent else None
        problem = f"unknown field {loc[-1]!r}."
    else:
        given = err.get("input")
        shown = "" if isinstance(given, dict) else f" (got {given!r})"
        problem = f"{err['msg'].removeprefix('Value error, ').rstrip('.')}{shown}."
        if model_field is not None:
            allowed = _describe_allowed(model_field)
    return ConfigError(origin, path or None, problem, allowed)


def _origin_of(path: str, origins: dict[str, str], default: str) -> str:
    """Where the value at ``path`` came from: its own origin or an enclosing one's; for a section
    whose values all came from one place (an unknown section typed on --set), that place."""
    probe = path
    while probe:
        if probe in origins:
            return origins[probe]
        probe = probe.rpartition(".")[0]
    # A whole section (an unknown one typed on --set, a check across its fields): where its fields came from.
    children = {origin for key, origin in origins.items() if key.startswith(f"{path}.")} if path else set()
    return children.pop() if len(children) == 1 else default


def _unwrap(annotation: Any) -> Any:
    args = [a for a in typing.get_args(annotation) if a is not type(None)]
    origin = typing.get_origin(annotation)
    if origin in (list, tuple) and args:
        return _unwrap(args[0])
    if origin is not None and len(args) == 1:
        return _unwrap(args[0])
    return annotation


def _model_at(model: type[BaseModel], loc: tuple) -> type[BaseModel] | None:
    current: Any = model
    for part in loc:
        if isinstance(part, int):
            continue
        if not (isinstance(current, type) and issubclass(current, BaseModel)) or part not in current.model_fields:
            return None
        current = _unwrap(current.model_fields[part].annotation)
    return current if isinstance(current, type) and issubclass(current, BaseModel) else None


def _field_at(model: type[BaseModel], loc: tuple) -> Any:
    names = [p for p in loc if not isinstance(p, int)]
    if not names:
        return None
    parent = _model_at(model, tuple(names[:-1]))
    if parent is None:
        return None
    return parent.model_fields.get(names[-1])


def describe_range(model_field: Any) -> str:
    parts = []
    for meta in model_field.metadata:
        for attr, sign in (("gt", ">"), ("ge", ">="), ("lt", "<"), ("le", "<=")):
            value = getattr(meta, attr, None)
            if value is not None:
                parts.append(f"{sign} {value}")
    annotation = model_field.annotation
    mapping = next((a for a in (annotation, *typing.get_args(annotation)) if typing.get_origin(a) is dict), None)
    literals = [a for a in _literal_values(annotation)]
    if mapping is not None:
        key, value = typing.get_args(mapping)
        keys = _literal_values(key) or [getattr(key, "__name__", str(key))]
        return (f"mapping of {', '.join(map(str, keys))} to {value.__name__}"
                + (" (or null)" if type(None) in typing.get_args(annotation) else ""))
    if literals:
        return "one of " + ", ".join(repr(v) for v in literals)
    if typing.get_origin(annotation) is tuple:
        items = typing.get_args(annotation)
        kind = f"a list of {len(items)} {getattr(items[0], '__name__', 'value')}s"
    else:
        kind = getattr(_unwrap(annotation), "__name__", str(annotation))
    text = kind
    if parts:
        text += " " + " and ".join(parts)
    if type(None) in typing.get_args(annotation):
        text += " (or null)"
    return text


def _literal_values(annotation: Any) -> list[Any]:
    if typing.get_origin(annotation) is typing.Literal:
        return list(typing.get_args(annotation))
    out = []
    for arg in typing.get_args(annotation):
        out.extend(_literal_values(arg))
    return out


def _describe_allowed(model_field: Any) -> str:
    text = describe_range(model_field)
    unit = (model_field.json_schema_extra or {}).get("unit") if isinstance(model_field.json_schema_extra, dict) else None
    if unit:
        text += f" [{unit}]"
    if model_field.description:
        text += f" — {model_field.description.rstrip('.')}"
    return text
