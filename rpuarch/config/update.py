"""The pulsed update: stochastic pulse trains and their management. Names follow aihwkit."""

from __future__ import annotations

from .base import Section, field


class UpdateConfig(Section):
    """Stochastic pulse-train update (Gokmen & Vlasov 2016; aihwkit's UpdateParameters)."""

    desired_bl: int = field(
        10, "Length of the stochastic pulse trains (BL), the maximum with BL management.", "pulse",
        ge=1, le=1000,
    )
    update_management: bool = field(
        True, "Balance row and column pulse probabilities by sqrt(max|d| / max|x|)."
    )
    update_bl_management: bool = field(
        True, "Shorten BL to ceil(lr * max|x| * max|d| / dw_min) when that is below desired_bl."
    )
