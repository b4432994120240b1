"""The fuzzers, short mode (a few hundred manifests, a batch of secret runs); tests/reliability/fuzz.py runs 10,000+."""

from collections import Counter

from hypothesis import HealthCheck, given, seed, settings

from fuzzing import check_simulation, mutated_manifests
from secret_fuzzing import check_secret_cases, secret_runs


@settings(max_examples=300, deadline=None, suppress_health_check=list(HealthCheck))
@given(mutated_manifests())
def test_mutated_manifests_never_escape_as_exceptions(text):
    assert check_simulation(text) is None


def _cases(count: int, seed_value: int) -> list:
    cases = []

    @seed(seed_value)
    @settings(max_examples=count, deadline=None, database=None, suppress_health_check=list(HealthCheck))
    @given(secret_runs())
    def collect(case):
        cases.append(case)

    collect()
    return cases


def test_secrets_in_messages_and_decisions_never_reach_the_store_the_terminal_or_the_api():
    """One batch as the long mode runs them: one store, one `stella serve`, decisions over HTTP and the CLI."""
    counts = Counter()
    assert check_secret_cases(_cases(12, 1), counts=counts) == []
    assert counts.get("run exit 4") and any("via api" in key for key in counts), counts  # gates were decided


def test_the_secret_fuzzer_finds_secrets_when_redaction_is_switched_off(monkeypatch):
    """The harness's self-check: with redaction off (in the CLI's process), every run that records its
    secrets is caught."""
    from core.execution import redaction
    monkeypatch.setattr(redaction.Redactor, "redact", lambda self, value: value)
    monkeypatch.setattr(redaction.Redactor, "redact_text", lambda self, text: text)
    counts = Counter()
    failures = check_secret_cases(_cases(8, 2), api=False, counts=counts)
    runs = 8 - counts["run exit 3"]  # a pack refused before it runs makes no run to leak from
    assert runs >= 6 and all("secret in" in problem for problem, _ in failures), failures
    assert len([problem for problem, _ in failures if not problem.startswith("after the batch")]) == runs
