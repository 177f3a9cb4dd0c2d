"""The activity facts of a sweep: which arrays barely trained in a setting, against its reference."""

from types import SimpleNamespace

from rpuarch.study.analyses.sweep import STARVED_SHARE, starved_arrays


def _point(**coincidences: int) -> SimpleNamespace:
    arrays = {name: {"coincidences": c, "updates": 100} for name, c in coincidences.items()}
    return SimpleNamespace(report={"activity": {"arrays": arrays}})


def test_an_array_is_starved_below_its_share_of_the_references_coincidences_mean_over_seeds():
    # As the ADC study's 5-bit runs: the LSTM arrays saw no device steps, the softmax array 8 %.
    reference = [_point(lstm0=5_500_000_000, lstm1=7_000_000_000, softmax=730_000_000)] * 3
    five_bits = [_point(lstm0=0, lstm1=240, softmax=58_000_000), _point(lstm0=0, lstm1=175, softmax=58_000_000)]
    assert starved_arrays(five_bits, reference) == ["lstm0", "lstm1"]
    # The threshold is on the mean over seeds: one seed far below does not starve an array.
    mean_just_above_the_share = 1.2 * STARVED_SHARE * 1000
    mixed = [_point(a=0), _point(a=int(2 * mean_just_above_the_share))]
    assert starved_arrays(mixed, [_point(a=1000)]) == []
    assert starved_arrays([_point(a=int(0.8 * STARVED_SHARE * 1000))], [_point(a=1000)]) == ["a"]


def test_an_array_idle_at_the_reference_too_or_a_run_without_activity_is_not_starved():
    assert starved_arrays([_point(a=0)], [_point(a=0)]) == []
    assert starved_arrays([SimpleNamespace(report={})], [SimpleNamespace(report=None)]) == []
