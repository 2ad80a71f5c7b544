"""The library speaks of parameters, the command line of flags."""

import pytest

from homl.cli._flags import as_flags


@pytest.mark.parametrize(("message", "shown"), [
    ("output 'm' holds a model already; use overwrite=True to replace it",
     "output 'm' holds a model already; use --overwrite to replace it"),
    ("resume=True: no interrupted search found; starting afresh", "--resume: no interrupted search found; starting afresh"),
    ("group_by column 'shop' not found in the data", "--group-by column 'shop' not found in the data"),
    ("gap=3 only applies with a time_column; none was given", "--gap 3 only applies with a --time-column; none was given"),
    ("column 'overwrite_count' holds text", "column 'overwrite_count' holds text"),
    ("m.onnx exists; pass overwrite=True to replace it", "m.onnx exists; pass --overwrite to replace it"),
])
def test_parameters_become_flags(message, shown):
    assert as_flags(message) == shown
