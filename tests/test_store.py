from hypothesis import given
from hypothesis import strategies as st

from clientbase.store import _differing

_STANDING = st.dictionaries(st.integers(1, 60), st.tuples(st.sampled_from([None, "A", "B"]), st.sampled_from(["pool", "owned"])))


@given(stored=_STANDING, now=_STANDING)
def test_only_the_rows_that_differ_from_the_stored_ones_are_written(stored, now):
    stored_rows = [(*values, client_id) for client_id, values in sorted(stored.items())]
    rows = [(*values, client_id) for client_id, values in sorted(now.items())]
    assert list(_differing(rows, iter(stored_rows))) == [row for row in rows if row not in set(stored_rows)]
