"""The pulsed update: stochastic pulse trains and their management. Names follow aihwkit."""

from __future__ import annotations

from .base import Section, field


class UpdateConfig(Section):
    """Stochastic pulse-train update (Gokmen & Vlasov 2016; aihwkit's UpdateParameters)."""

    desired_bl: int = field(
        10, "Length of the stochastic pulse trains (BL), the maximum with BL management.", "pulse",
        ge=1, le=1000,
    )
    fixed_bl: bool = field(
        True,
        "Without BL management: keep BL = desired_bl even when lr > desired_bl * dw_min (the pulse"
        " probabilities then clip at 1, as aihwkit's default); false: lengthen the trains to"
        " BL = ceil(lr / dw_min) with probabilities |x| and |d| in that case.",
    )
    update_management: bool = field(
        True,
        "Balance row and column pulse probabilities by sqrt(max|d| / max|x|). BL management turns it"
        " on whatever this says, as in aihwkit.",
    )
    update_bl_management: bool = field(
        True, "Shorten BL to ceil(lr * max|x| * max|d| / dw_min) when that is below desired_bl."
    )

    @property
    def manages_updates(self) -> bool:
        """Update management in effect: aihwkit turns it on with BL management."""
        return self.update_management or self.update_bl_management
