"""The fuzzers, short mode (a few hundred manifests, a few secret runs); tests/reliability/fuzz.py runs 10,000+."""

from hypothesis import HealthCheck, given, settings

from fuzzing import check_secret_run, check_simulation, mutated_manifests, secret_runs


@settings(max_examples=300, deadline=None, suppress_health_check=list(HealthCheck))
@given(mutated_manifests())
def test_mutated_manifests_never_escape_as_exceptions(text):
    assert check_simulation(text) is None


@settings(max_examples=6, deadline=None, suppress_health_check=list(HealthCheck))
@given(secret_runs())
def test_secrets_in_messages_never_reach_the_store_or_the_terminal(tmp_path_factory, case):
    text, secrets = case
    assert check_secret_run(text, secrets, tmp_path_factory.mktemp("secret-run")) is None
