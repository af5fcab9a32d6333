"""The fast YAML writer gives exactly the bytes of ``yaml.dump_all(..., sort_keys=True)``."""

from __future__ import annotations

import glob
import os

import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

import kfp_workflows as w
from kfp_helpers import GOLDEN
from flowc.backends.kfp.lower import lower
from flowc.backends.kfp.yaml_emit import dump_all


def reference(documents) -> str:
    return yaml.dump_all(documents, Dumper=getattr(yaml, "CSafeDumper", yaml.SafeDumper),
                         sort_keys=True)


def test_golden_documents_round_trip_byte_for_byte():
    paths = glob.glob(os.path.join(GOLDEN, "*.yaml"))
    assert paths
    for path in paths:
        with open(path, encoding="utf-8") as handle:
            docs = list(yaml.safe_load_all(handle))
        assert dump_all(docs) == reference(docs), path


def test_large_specs_match():
    for workflow in (w.chain(300), w.chain(300, fan=True), w.hyper(), w.condition()):
        spec = lower(workflow, base_dir=w.FIXTURES).spec
        assert dump_all([spec]) == reference([spec])


scalars = st.one_of(
    st.none(), st.booleans(), st.integers(-10**6, 10**6),
    st.floats(allow_nan=False, allow_infinity=True),
    st.text(max_size=120),
    st.sampled_from(["yes", "No", "null", "~", "1e3", "0x10", "1:20", "a: b", "#x", "- a",
                     "python:3.11", "{{$}}", "'q'", "a\nb", " lead", "trail ", "y", "=",
                     "<<", "x" * 100, "word " * 30]))
keys = st.one_of(st.from_regex(r"[A-Za-z_][A-Za-z0-9_.-]{0,20}", fullmatch=True),
                 st.text(min_size=1, max_size=15))
values = st.recursive(scalars, lambda inner: st.one_of(
    st.lists(inner, max_size=4), st.dictionaries(keys, inner, max_size=4)), max_leaves=25)


@settings(max_examples=200, deadline=None)
@given(st.dictionaries(keys, values, min_size=1, max_size=6))
def test_random_documents_match(document):
    assert dump_all([document]) == reference([document])
