"""An article without a date is indexed, and named when it is: date filters leave it out, so the user who
built the index must hear of it (before, nothing was said)."""

from click.testing import CliRunner

from rag.cli import cli
from rag.index.indexer import UNDATED_SHOWN, add_to_index, build_index
from rag.sources.ingest import load_documents

from tests.conftest import FakeEmbedder, write

DATED = "Roma, 3 marzo 2026 – Il consiglio comunale ha approvato il bilancio con ventotto voti favorevoli."
UNDATED = "Il consiglio comunale ha approvato il bilancio con ventotto voti favorevoli, ma nessuno dice quando."


def test_a_build_names_the_articles_without_a_date(tmp_path, fake_embedder):
    write(tmp_path / "news" / "a.txt", DATED)
    write(tmp_path / "news" / "b.md", f"# Bilancio\n\n{UNDATED}")
    write(tmp_path / "news" / "c.txt", UNDATED)
    report = build_index(load_documents([tmp_path / "news"]), tmp_path / "idx", fake_embedder)
    assert report.undated == ["b.md", "c.txt"]
    counts, line = report.summary().splitlines()
    assert counts.endswith(f"chunks embedded in {report.seconds:.1f}s")
    assert line.startswith("2 article(s) without a date, which date filters leave out") and line.endswith("b.md, c.txt")


def test_an_add_names_only_what_it_wrote(tmp_path, fake_embedder):
    news = tmp_path / "news"
    write(news / "a.txt", UNDATED)
    build_index(load_documents([news / "a.txt"]), tmp_path / "idx", fake_embedder)
    write(news / "b.txt", UNDATED + " Un altro.")
    write(news / "c.txt", DATED)
    report = add_to_index(load_documents([news / "a.txt", news / "b.txt"]), tmp_path / "idx", embedder=fake_embedder)
    assert report.skipped == ["a.txt"] and report.undated == ["b.txt"]  # a.txt was named by the build
    report = add_to_index(load_documents([news / "c.txt"]), tmp_path / "idx", embedder=fake_embedder)
    assert report.undated == [] and "\n" not in report.summary()  # all dated: the line as before


def test_many_undated_articles_are_counted_not_all_listed(tmp_path, fake_embedder):
    for i in range(UNDATED_SHOWN + 5):
        write(tmp_path / "news" / f"{i:02d}.txt", f"{UNDATED} Numero {i}.")
    report = build_index(load_documents([tmp_path / "news"]), tmp_path / "idx", fake_embedder)
    line = report.summary().splitlines()[1]
    assert line.startswith(f"{UNDATED_SHOWN + 5} article(s) without a date") and line.endswith("09.txt and 5 more")


def test_rag_index_build_and_add_print_the_undated_articles(tmp_path, monkeypatch):
    fake = FakeEmbedder()
    monkeypatch.setattr("rag.models.embed.load_embedder", lambda *args, **kwargs: fake)
    monkeypatch.setattr("rag.index.indexer.load_embedder", lambda *args, **kwargs: fake)
    write(tmp_path / "news" / "a.txt", DATED)
    write(tmp_path / "news" / "senza-data.txt", UNDATED)
    built = CliRunner().invoke(cli, ["index", "build", str(tmp_path / "news"), "--name", "t"])
    assert built.exit_code == 0, built.output
    assert "1 article(s) without a date" in built.output and built.output.rstrip().endswith(": senza-data.txt")
    added = CliRunner().invoke(
        cli, ["index", "add", str(write(tmp_path / "nuovo.md", f"# Nuovo\n{UNDATED}")), "-n", "t"]
    )
    assert added.exit_code == 0, added.output
    assert "1 added" in added.output and added.output.rstrip().endswith(
        "without a date, which date filters leave out "
        "(no dateline such as 'Roma, 3 marzo 2026 –' "
        "near the top, no date in the page or the JSONL "
        "'date'): nuovo.md"
    )
