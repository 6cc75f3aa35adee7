import pytest

from rag.index.fusion import rrf


def test_rrf_hand_computed():
    fused = dict(rrf([["a", "b", "c"], ["c", "a"]], k=60))
    assert fused["a"] == pytest.approx(1 / 61 + 1 / 62)
    assert fused["c"] == pytest.approx(1 / 63 + 1 / 61)
    assert fused["b"] == pytest.approx(1 / 62)
    assert [item for item, _ in rrf([["a", "b", "c"], ["c", "a"]], k=60)] == ["a", "c", "b"]


def test_rrf_weights_and_duplicates():
    assert [i for i, _ in rrf([["a", "b"], ["b", "a"]], weights=[2.0, 1.0], k=1)] == ["a", "b"]
    fused = dict(rrf([["a", "a", "b"]], k=0))
    assert fused == {"a": 1.0, "b": 1 / 3}  # a repeated id counts once, at its best rank
    with pytest.raises(ValueError, match="2 weights for 1 rankings"):
        rrf([["a"]], weights=[1, 2])


def test_lexical_tokenizer_stems_and_drops_stopwords():
    from rag.text import tokenize

    assert tokenize(["Chi accompagnava Umerov a Bruxelles?"]) == [["accompagn", "umerov", "bruxelles"]]
