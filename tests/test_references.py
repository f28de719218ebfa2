"""docs/references.md is the project's reference list: every source the schema, the shipped scenarios, the
calibration and sensitivity inputs give names a key defined there, or says "assumption" / "calibrated"; nothing
cites internal material a user cannot open (the convention is at the top of docs/references.md)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from crisis_sim.scenario.references import (
    FORBIDDEN,
    ROOT,
    check_source,
    cited_keys,
    load_references,
    schema_sources,
    toml_files,
    toml_sources,
)

REFS = load_references()


def test_reference_list_parses_with_full_entries():
    assert len(REFS) >= 20
    for key, text in REFS.items():
        assert re.fullmatch(r"[a-z][a-z0-9_]*", key)
        assert len(text) > 40, f"{key}: entry too short to be a citation: {text!r}"


def test_checker_detects_unknown_keys_and_unsourced_text():
    assert check_source("[bailey2022] immediate arrest OR ~0.48", REFS) == []
    assert check_source("assumption: one-officer cars", REFS) == []
    assert any("unknown" in p for p in check_source("[nosuchpaper1999] OR 0.5", REFS))
    assert any("neither" in p for p in check_source("Seattle PD monitor: arrest 7.5%", REFS))
    assert any("internal" in p for p in check_source("[bailey2022] see DOMAIN.md", REFS))
    assert any("internal" in p for p in check_source("assumption (seed 000 §2.4)", REFS))
    assert any("author year" in p for p in check_source("Taheri 2016: null; assumption", REFS))
    assert cited_keys("[a1] and [b_2], [a1]") == ["a1", "b_2"]


def test_every_schema_source_names_a_reference_or_is_an_assumption():
    sources = schema_sources()
    assert len(sources) > 150  # the walk reaches program sections and timeline events
    assert any(".scenario.timeline." in where for where, _ in sources)
    bad = {where: (src, check_source(src, REFS)) for where, src in sources if check_source(src, REFS)}
    assert not bad, "\n".join(f"{w}: {p} -- {s!r}" for w, (s, p) in bad.items())


@pytest.mark.parametrize("path", toml_files(), ids=lambda p: f"{p.parent.name}/{p.name}")
def test_toml_sources_and_comments_cite_known_references(path: Path):
    fields, comments, tables = toml_sources(path)
    problems = [f"{w}: {check_source(s, REFS)} -- {s!r}" for w, s in fields if check_source(s, REFS)]
    for where, text in comments:
        unknown = [k for k in cited_keys(text) if k not in REFS and k not in tables]
        if unknown:
            problems.append(f"{where}: unknown reference key(s) {unknown}")
        if FORBIDDEN.search(text):
            problems.append(f"{where}: cites internal material: {text.strip()!r}")
    assert not problems, "\n".join(problems)


def test_no_internal_material_cited_anywhere_users_see():
    paths = [ROOT / "README.md", *(ROOT / "docs").rglob("*.md"), *(ROOT / "src").rglob("*.py"),
             *(ROOT / "src").rglob("*.toml"), *(ROOT / "calibration").rglob("*.toml"),
             *(ROOT / "calibration").rglob("*.md"), *(ROOT / "sensitivity").glob("*.toml"),
             *(ROOT / "design").glob("*.toml"), *(ROOT / "robustness").glob("*.toml"),
             *(ROOT / "notebooks").glob("*.ipynb")]  # fmt: skip
    hits = []
    for path in paths:
        if path.name == "references.py":  # defines the pattern itself
            continue
        for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            if FORBIDDEN.search(line):
                hits.append(f"{path.relative_to(ROOT)}:{n}: {line.strip()[:100]}")
    assert not hits, "\n".join(hits)


def test_docs_cite_only_known_keys():
    problems = []
    for path in [*(ROOT / "docs").rglob("*.md")]:
        if path.name == "references.md":
            continue
        for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            for key in cited_keys(line):
                if key not in REFS and re.fullmatch(r"[a-z]+\d{4}[a-z]?|[a-z]+_[a-z_]+", key):
                    problems.append(f"{path.relative_to(ROOT)}:{n}: [{key}]")
    assert not problems, "\n".join(problems)


def test_report_links_each_key_to_its_reference():
    from crisis_sim.report.html import _linked, references_section

    cell = _linked("[bailey2022] OR 0.48 <CI> [nosuchpaper1999]", REFS)
    assert '<a href="#ref-bailey2022">[bailey2022]</a>' in cell and "&lt;CI&gt;" in cell
    assert "[nosuchpaper1999]" in cell and "#ref-nosuchpaper1999" not in cell
    section = references_section(["bailey2022"], REFS)
    assert '<li id="ref-bailey2022">' in section and "<i>Psychiatric Services</i>" in section
