"""KServe v2 tensors <-> rows."""

from __future__ import annotations

import pytest

from flowc.runtime.v2_protocol import is_tensor_request, rows_to_tensor, tensor_to_rows


def test_tensor_shapes():
    assert tensor_to_rows({"shape": [3], "data": [1, 2, 3]}) == [1, 2, 3]
    assert tensor_to_rows({"shape": [2, 2], "data": [1, 2, 3, 4]}) == [[1, 2], [3, 4]]
    assert tensor_to_rows({"shape": [2, 2], "data": [[1, 2], [3, 4]]}) == [[1, 2], [3, 4]]
    assert tensor_to_rows({"shape": [1, 2, 3], "data": list(range(6))}) == [
        [[0, 1, 2], [3, 4, 5]]]
    with pytest.raises(ValueError, match="does not fit shape"):
        tensor_to_rows({"shape": [2, 3], "data": [1, 2, 3, 4]})


def test_answers_and_detection():
    assert rows_to_tensor("p", [0, 2]) == {"name": "p", "shape": [2], "datatype": "INT64",
                                           "data": [0, 2]}
    assert rows_to_tensor("p", [[0.5, 0.5]])["shape"] == [1, 2]
    assert rows_to_tensor("p", ["a"])["datatype"] == "BYTES"
    assert rows_to_tensor("p", [True])["datatype"] == "BOOL"
    assert is_tensor_request({"inputs": [{"name": "x", "data": [1]}]})
    assert not is_tensor_request({"inputs": [[1, 2]]})
