"""The journal's time text: iso() is isoformat of the UTC moment plus "Z", whatever the zone given."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

from hypothesis import given, strategies as st

from core.execution.clock import iso, parse_iso

ZONES = st.one_of(st.just(timezone.utc), st.builds(lambda minutes: timezone(timedelta(minutes=minutes)),
                                                    st.integers(-23 * 60 - 59, 23 * 60 + 59)))


@given(st.datetimes(min_value=datetime(2, 1, 1), max_value=datetime(9998, 12, 31), timezones=ZONES))
def test_iso_is_the_utc_isoformat_with_a_z_and_reads_back(moment):
    expected = moment.astimezone(timezone.utc).replace(tzinfo=None).isoformat(timespec="microseconds") + "Z"
    assert iso(moment) == expected
    assert parse_iso(iso(moment)) == moment


def test_iso_of_nothing_is_nothing():
    assert iso(None) is None
