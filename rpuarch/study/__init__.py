"""The paper's studies as one command each: ``rpuarch study STUDY.yaml`` (docs/studies.md)."""

from .runner import run_study
from .spec import Study, load_study

__all__ = ["Study", "load_study", "run_study"]
