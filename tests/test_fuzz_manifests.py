"""The manifest fuzzer, short mode (a few hundred cases); tests/reliability/fuzz.py runs 10,000+."""

from hypothesis import HealthCheck, given, settings

from fuzzing import check_simulation, mutated_manifests


@settings(max_examples=300, deadline=None, suppress_health_check=list(HealthCheck))
@given(mutated_manifests())
def test_mutated_manifests_never_escape_as_exceptions(text):
    assert check_simulation(text) is None
