"""The v2 inference protocol's request and response forms.

MLRun's simple form is ``{"inputs": [[...], ...]}`` -> ``{"outputs": [...]}``; KServe's v2
tensors are ``{"inputs": [{"name", "shape", "datatype", "data"}]}`` with flat ``data`` in
row-major order. Serving classes always see rows; these helpers convert.
"""

from __future__ import annotations

from typing import Any, Iterator


def is_tensor_request(body: dict) -> bool:
    inputs = body.get("inputs")
    return (isinstance(inputs, list) and bool(inputs) and isinstance(inputs[0], dict)
            and "data" in inputs[0])


def tensor_to_rows(tensor: dict) -> list:
    data = tensor["data"]
    shape = tensor.get("shape") or [len(data)]
    flat = list(_flatten(data))
    if len(shape) == 1:
        return flat
    width = 1
    for dim in shape[1:]:
        width *= int(dim)
    if width <= 0 or len(flat) % width:
        raise ValueError(f"tensor data of {len(flat)} values does not fit shape {shape}")
    rows = [flat[i:i + width] for i in range(0, len(flat), width)]
    return _reshape(rows, [int(d) for d in shape[1:]]) if len(shape) > 2 else rows


def _reshape(rows: list, inner: list[int]) -> list:
    def split(values: list, dims: list[int]) -> list:
        if len(dims) == 1:
            return values
        step = len(values) // dims[0]
        return [split(values[i:i + step], dims[1:]) for i in range(0, len(values), step)]

    return [split(row, inner) for row in rows]


def _flatten(data: Any) -> Iterator[Any]:
    if isinstance(data, list):
        for item in data:
            yield from _flatten(item)
    else:
        yield data


def rows_to_tensor(name: str, outputs: Any) -> dict:
    values = list(_flatten(outputs)) if isinstance(outputs, list) else [outputs]
    shape = [len(outputs)] if isinstance(outputs, list) else [1]
    if isinstance(outputs, list) and outputs and isinstance(outputs[0], list):
        shape = [len(outputs), len(values) // max(len(outputs), 1)]
    first = values[0] if values else None
    datatype = ("BOOL" if isinstance(first, bool) else "INT64" if isinstance(first, int)
                else "FP64" if isinstance(first, float) else "BYTES")
    return {"name": name, "shape": shape, "datatype": datatype, "data": values}


def to_plain(value: Any) -> Any:
    if hasattr(value, "tolist") and callable(value.tolist):
        return value.tolist()
    if isinstance(value, (list, tuple)):
        return [to_plain(v) for v in value]
    if isinstance(value, dict):
        return {str(k): to_plain(v) for k, v in value.items()}
    return value
