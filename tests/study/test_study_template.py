"""Reading templates: every number comes from the facts, verdicts pick their text."""

from __future__ import annotations

import pytest

from rpuarch.study.template import TemplateError, render


def test_values_formats_and_verdicts():
    facts = {"loss": 1.23456, "hurts": True, "first": 0.02, "none": None, "off": False}
    text = render("loss {loss:.3f}; {?hurts|hurts from {first}|does not hurt}; {none:.2f}; {?off|x}.", facts)
    assert text == "loss 1.235; hurts from 0.02; n/a; ."


def test_nested_verdicts():
    assert render("{?a|A{?b| and B| but not B}|neither}", {"a": True, "b": False}) == "A but not B"


def test_unknown_fact_is_an_error_naming_it():
    with pytest.raises(TemplateError, match="no fact 'gap'"):
        render("{gap}", {"loss": 1})


def test_unbalanced_braces_are_errors():
    with pytest.raises(TemplateError):
        render("{loss", {"loss": 1})
    with pytest.raises(TemplateError):
        render("loss}", {"loss": 1})
