"""`GET /search` and `ingest-pipeline search`: modes, filters and citations as callers see them, every bad
parameter refused with 422 (or exit status 2) and every parameter in the OpenAPI spec."""

from __future__ import annotations

import json

import pytest

from ingest_pipeline.cli.main import main
from ingest_pipeline_tests.test_hybrid_search import QUERY, RARE, ingest_corpus


def test_the_api_searches_in_each_mode_within_filters_with_citations(client, app, instance, tmp_path):
    ids = ingest_corpus(app, instance, tmp_path / "corpus")
    answer = client.get("/search", params={"q": QUERY, "k": 3, "mode": "keyword"}).json()
    assert answer["mode"] == "keyword" and len(answer["hits"]) == 1
    hit = answer["hits"][0]
    assert hit["document_id"] == ids["handshake.md"] and hit["source"].endswith("handshake.md")
    assert (hit["page_start"], hit["page_end"], hit["heading_path"]) == (1, 1, ["TLS handshake"])
    assert hit["media_type"] == "text/markdown" and hit["external_id"] == f"file:{hit['source']}"
    assert "**error**" in hit["snippet"]
    assert hit["keyword_rank"] == 1 and hit["vector_similarity"] is None and hit["score"] == hit["keyword_score"]

    hybrid = client.get("/search", params={"q": QUERY, "k": 10}).json()
    assert hybrid["mode"] == "hybrid" and hybrid["hits"][0]["document_id"] == ids["handshake.md"]
    assert hybrid["hits"][0]["fused_score"] == hybrid["hits"][0]["score"]
    otters = client.get("/search", params=[("q", QUERY), ("document_id", ids["otters.md"]),
                                           ("media_type", "text/markdown")]).json()
    assert [h["document_id"] for h in otters["hits"]] == [ids["otters.md"]]
    for nothing in ({"metadata": '{"team": "finance"}'}, {"ingested_after": "2999-01-01T00:00:00Z"},
                    {"external_id_prefix": "team-"}, {"media_type": "application/pdf"}):
        response = client.get("/search", params={"q": QUERY, **nothing})
        assert response.status_code == 200 and response.json()["hits"] == [], nothing


@pytest.mark.parametrize("params", [
    {"mode": "fuzzy"}, {"metadata": "[1, 2]"}, {"metadata": "{not json"}, {"metadata": '{"a": NaN}'},
    {"ingested_after": "soon"}, {"ingested_after": "2024-02-01T00:00:00Z", "ingested_before": "2024-01-01T00:00:00Z"},
    {"external_id_prefix": ""}, {"document_id": "x" * 513}, {"k": 0},
])
def test_bad_search_parameters_are_422_with_fastapis_error_list(client, params):
    response = client.get("/search", params={"q": "anything", **params})
    assert response.status_code == 422, params
    assert isinstance(response.json()["detail"], list) and response.json()["detail"][0]["msg"], params


def test_every_search_parameter_is_in_the_openapi_spec(client):
    spec = client.get("/openapi.json").json()
    parameters = {p["name"]: p for p in spec["paths"]["/search"]["get"]["parameters"]}
    assert set(parameters) == {"q", "k", "mode", "document_id", "external_id_prefix", "media_type", "metadata",
                               "ingested_after", "ingested_before"}
    assert all(p["in"] == "query" and p.get("description") for p in parameters.values())
    modes = spec["components"]["schemas"]["SearchMode"]["enum"]
    assert modes == ["hybrid", "vector", "keyword"] and parameters["mode"]["schema"]["default"] == "hybrid"
    hit = spec["components"]["schemas"]["SearchHit"]["properties"]
    assert {"snippet", "heading_path", "page_start", "external_id", "vector_similarity", "keyword_score",
            "fused_score"} <= set(hit)


def test_the_cli_prints_citations_readably_and_every_field_as_json(app, instance, tmp_path, environment,
                                                                    monkeypatch, capsys):
    ids = ingest_corpus(app, instance, tmp_path / "corpus")
    for name, value in environment.items():
        monkeypatch.setenv(name, value)
    assert main(["search", QUERY, "-k", "2"]) == 0
    printed = capsys.readouterr().out.splitlines()
    assert printed[0].startswith("1. ") and printed[0].endswith("handshake.md  (p. 1, TLS handshake)")
    assert printed[1].split()[:2] == ["hybrid", printed[1].split()[1]] and "keyword" in printed[1]
    assert "**connection** **error**" in printed[2] and printed[4].startswith("2. ")

    assert main(["search", RARE, "--mode", "keyword", "--json", "--document", ids["handshake.md"],
                 "--media-type", "text/markdown", "--after", "2000-01-01"]) == 0
    rows = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert len(rows) == 1 and rows[0]["document_id"] == ids["handshake.md"] and rows[0]["page"] == 1
    assert {"path", "snippet", "heading_path", "external_id", "media_type", "keyword_score", "keyword_rank",
            "vector_similarity", "fused_score", "chunk_id", "text"} <= set(rows[0])

    for bad, reason in ((["--metadata", "[1]"], "JSON object"), (["--after", "soon"], "ISO 8601"),
                        (["--external-id-prefix", ""], "non-empty")):
        assert main(["search", QUERY, *bad]) == 2
        assert reason in capsys.readouterr().err
