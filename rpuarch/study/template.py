"""The written reading of a study: a template whose numbers and verdicts come from the results.

Syntax (in the study file's ``reading`` and ``finding``):

- ``{name}`` or ``{name:.3f}``: a fact, with an optional Python format spec; None prints ``n/a``;
- ``{?name|text if true|text if false}``: a verdict; the chosen text may hold placeholders and
  further verdicts; the false branch may be omitted.

A name the results do not have is an error (a template can never print a stale number).
"""

from __future__ import annotations

import math
from typing import Any, Mapping

from ..errors import UserError


class TemplateError(UserError):
    pass


def render(template: str, facts: Mapping[str, Any]) -> str:
    out, i = [], 0
    while i < len(template):
        ch = template[i]
        if ch == "{":
            end = _closing(template, i)
            out.append(_expand(template[i + 1:end], facts))
            i = end + 1
        elif ch == "}":
            raise TemplateError(f"reading template: unmatched '}}' at character {i}.")
        else:
            out.append(ch)
            i += 1
    return "".join(out)


def _closing(text: str, start: int) -> int:
    depth = 0
    for j in range(start, len(text)):
        if text[j] == "{":
            depth += 1
        elif text[j] == "}":
            depth -= 1
            if depth == 0:
                return j
    raise TemplateError(f"reading template: '{{' at character {start} is never closed.")


def _split_top(text: str) -> list[str]:
    parts, depth, current = [], 0, []
    for ch in text:
        if ch == "{":
            depth += 1
        elif ch == "}":
            depth -= 1
        if ch == "|" and depth == 0:
            parts.append("".join(current))
            current = []
        else:
            current.append(ch)
    parts.append("".join(current))
    return parts


def _expand(body: str, facts: Mapping[str, Any]) -> str:
    if body.startswith("?"):
        parts = _split_top(body[1:])
        if len(parts) not in (2, 3):
            raise TemplateError(f"reading template: {{?{body[1:]}}} needs the form {{?name|if true|if false}}.")
        value = _fact(parts[0].strip(), facts)
        chosen = parts[1] if value else (parts[2] if len(parts) == 3 else "")
        return render(chosen, facts)
    name, _, spec = body.partition(":")
    value = _fact(name.strip(), facts)
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return "n/a"
    try:
        return format(value, spec)
    except (TypeError, ValueError) as exc:
        raise TemplateError(f"reading template: cannot format {name} = {value!r} with {spec!r}: {exc}.") from None


def _fact(name: str, facts: Mapping[str, Any]) -> Any:
    if name not in facts:
        known = ", ".join(sorted(facts)) or "none"
        raise TemplateError(f"reading template: the results have no fact {name!r}. Known facts: {known}.")
    return facts[name]
