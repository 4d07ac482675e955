"""Feeds files as people write them: language names, a plural table name. Through click's runner."""

from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner, Result

from scooptrace.cli import cli


def feeds_import(tmp_path: Path, name: str, text: str) -> Result:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return CliRunner().invoke(cli, ["feeds", "import", "--db", str(tmp_path / "f.duckdb"), str(path)])


def stored_languages(tmp_path: Path) -> dict[str, str | None]:
    listed = CliRunner().invoke(cli, ["feeds", "list", "--json", "--db", str(tmp_path / "f.duckdb")])
    return {row["outlet"]: row["language"] for row in json.loads(listed.stdout)}


def test_toml_language_names_and_codes_are_stored_as_codes(tmp_path: Path) -> None:
    text = (
        '[[feed]]\nurl = "https://a.example/feed"\noutlet = "A"\nlanguage = "english"\n\n'
        '[[feed]]\nurl = "https://b.example/feed"\noutlet = "B"\nlanguage = "Arabic"\n\n'
        '[[feed]]\nurl = "https://c.example/feed"\noutlet = "C"\nlanguage = "es-ES"\n\n'
        '[[feed]]\nurl = "https://d.example/feed"\noutlet = "D"\n'
    )
    result = feeds_import(tmp_path, "feeds.toml", text)
    assert result.exit_code == 0, result.output
    assert "4 feeds added" in result.output
    assert stored_languages(tmp_path) == {"A": "en", "B": "ar", "C": "es", "D": None}


def test_unknown_language_is_an_error_naming_file_and_line(tmp_path: Path) -> None:
    text = '[[feed]]\nurl = "https://a.example/feed"\noutlet = "A"\n\n[[feed]]\nurl = "https://b.example/feed"\nlanguage = "klingonese"\n'
    result = feeds_import(tmp_path, "feeds.toml", text)
    assert result.exit_code == 2
    assert "feeds.toml:7: language 'klingonese' is not an ISO 639-1 code" in result.stderr
    assert not (tmp_path / "f.duckdb").exists()


def test_plural_table_name_gets_a_hint(tmp_path: Path) -> None:
    result = feeds_import(tmp_path, "feeds.toml", '# mine\n[[feeds]]\nurl = "https://a.example/feed"\n')
    assert result.exit_code == 2
    assert "feeds.toml: no feeds in file; did you mean [[feed]]? (found [[feeds]] on line 2)" in result.stderr


def test_opml_language_name_is_mapped_and_junk_named(tmp_path: Path) -> None:
    outline = '<outline text="{0}" xmlUrl="https://{0}.example/feed" language="{1}"/>'
    opml = '<?xml version="1.0"?>\n<opml version="2.0"><body>\n{}\n</body></opml>\n'
    good = feeds_import(tmp_path, "good.opml", opml.format(outline.format("a", "French")))
    assert good.exit_code == 0, good.output
    assert "1 feed added" in good.output
    assert stored_languages(tmp_path) == {"a": "fr"}
    bad = feeds_import(tmp_path, "bad.opml", opml.format(outline.format("b", "??")))
    assert bad.exit_code == 2 and "bad.opml:3: language '??' is not an ISO 639-1 code" in bad.stderr


def test_feeds_add_language_name(tmp_path: Path) -> None:
    db = str(tmp_path / "f.duckdb")
    ok = CliRunner().invoke(cli, ["feeds", "add", "https://x.example/f", "--language", "German", "--db", db])
    assert ok.exit_code == 0, ok.output
    assert stored_languages(tmp_path) == {"x.example": "de"}
    bad = CliRunner().invoke(cli, ["feeds", "add", "https://y.example/f", "--language", "elvish", "--db", db])
    assert bad.exit_code == 2 and "--language: language 'elvish' is not" in bad.stderr
