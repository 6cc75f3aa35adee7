"""The order ``make test`` hands files to its workers in (``tests/conftest.heaviest_files_first``): files with the
costliest tests first, each file's tests together and in their own order, nothing lost or repeated."""

from __future__ import annotations

from dataclasses import dataclass, field

from tests.conftest import heaviest_files_first


@dataclass
class Item:
    nodeid: str
    marks: set[str] = field(default_factory=set)

    def get_closest_marker(self, name):
        return name if name in self.marks else None


def test_costliest_files_first_each_file_together_nothing_lost():
    items = [
        Item("tests/test_text.py::test_a"),
        Item("tests/api/test_api.py::test_fake"),
        Item("tests/api/test_api.py::test_real", {"slow", "llm", "embedder"}),
        Item("tests/stores/test_milvus_server.py::test_server", {"slow", "server"}),
        Item("tests/cli/test_wheel.py::test_wheel", {"slow"}),
        Item("tests/test_text.py::test_b[x::y/z]"),
        Item("rag/text.py::rag.text.fold"),
    ]
    ordered = heaviest_files_first(items)
    assert sorted(i.nodeid for i in ordered) == sorted(i.nodeid for i in items)
    assert [i.nodeid.split("::")[0] for i in ordered] == [
        "tests/stores/test_milvus_server.py",  # a server: 3
        "tests/api/test_api.py",  # a model: 2
        "tests/api/test_api.py",
        "tests/cli/test_wheel.py",  # slow, nothing else: 1
        "tests/test_text.py",  # the rest in collection order
        "tests/test_text.py",
        "rag/text.py",
    ]
    assert [i.nodeid for i in ordered][1:3] == ["tests/api/test_api.py::test_fake", "tests/api/test_api.py::test_real"]
