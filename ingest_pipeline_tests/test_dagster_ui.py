"""The Dagster UI in a real browser shows the ingested samples under readable partition keys, each document's
story on its partition (a failed one's reason too), and a backfill launched as the UI does completes."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect, sync_playwright

from ingest_pipeline.definitions import defs
from ingest_pipeline.domain.ids import partition_key_candidates
from ingest_pipeline.orchestration.policies import DOCUMENTS_PARTITION, INGEST_GROUP
from ingest_pipeline.settings import VARIABLES
from ingest_pipeline_tests import dagster_dev_server
from ingest_pipeline_tests.scratch_postgres import scratch_database

pytestmark = pytest.mark.browser

REPOSITORY = Path(__file__).resolve().parents[1]
ARTIFACTS = REPOSITORY / ".ci" / "artifacts"
CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking"]
# Wide enough for the whole chain of asset nodes at full size, statuses included.
VIEWPORT = {"width": 2400, "height": 1100}
UI_TIMEOUT_MS = 30_000
# The backfill daemon looks at a backfill every 30 s: completion is noticed up to a loop after the run.
BACKFILL_TIMEOUT_SECONDS = 240
# Ingested after the samples: registered, then failed by validation (too little text), with a reason.
BAD_FILE, BAD_TEXT = "too-short-note.txt", "Too short."
SOUP = "red-lentil-soup.md"


def _ingest_group() -> list:
    """The ingest group's asset nodes, read from the definitions (the graph grows; nothing is listed here)."""
    graph = defs.resolve_asset_graph()
    return [graph.get(key) for key in graph.get_all_asset_keys() if graph.get(key).group_name == INGEST_GROUP]


NODES = _ingest_group()
GROUP_ASSETS = sorted(node.key.to_user_string() for node in NODES)
DOCUMENT_NODES = [node for node in NODES if getattr(node.partitions_def, "name", None) == DOCUMENTS_PARTITION]
# The stage nothing else in the group depends on: its partitions are the documents that went all the way.
[FINAL_ASSET] = [node.key for node in DOCUMENT_NODES
                 if not node.child_keys & {other.key for other in DOCUMENT_NODES}]


@pytest.fixture(scope="module")
def dagster_dev(database_url, tmp_path_factory):
    """The samples ingested with the CLI, then `dagster dev` on the same instance and a database of their own."""
    home = tmp_path_factory.mktemp("dagster-ui")
    with scratch_database(database_url, "ui") as url:
        # Defaults for every setting (local parser, offline embedder) whatever the caller's shell exports.
        inherited = {name: value for name, value in os.environ.items() if name not in {v.name for v in VARIABLES}}
        environment = {**inherited, "INGEST_HOME": str(home / "ingest"), "DAGSTER_HOME": str(home / "dagster"),
                       "INGEST_DATABASE_URL": url}
        (home / BAD_FILE).write_text(BAD_TEXT, encoding="utf-8")
        # One run, as a person would ingest them: the bad file fails alone (exit status 1), the samples go on.
        ingested = _ingest(environment, "samples/", str(home / BAD_FILE))
        assert ingested.returncode == 1, ingested.stderr[-3000:]
        rows = [json.loads(line) for line in ingested.stdout.splitlines()]
        assert [row["status"] for row in rows].count("failed") == 1, rows
        # No two of these share a short key, so each has its first candidate.
        keys = {Path(row["path"]).name: partition_key_candidates(Path(row["path"]).name, row["id"])[0] for row in rows}
        server = dagster_dev_server.start(REPOSITORY / "workspace.yaml", environment, home / "dagster-dev.log")
        try:
            # What the Skip button of the first visit's newsletter dialog does: screenshots without it.
            server.graphql("mutation { setNuxSeen }")
            yield server, keys
        finally:
            dagster_dev_server.stop(server)


def _ingest(environment: dict[str, str], *paths: str) -> subprocess.CompletedProcess:
    return subprocess.run([str(Path(sys.executable).parent / "ingest-pipeline"), "ingest", *paths, "--json"],
                          cwd=REPOSITORY, env=environment, capture_output=True, text=True, timeout=300)


@pytest.fixture(scope="module")
def browser():
    assert CHROMIUM.exists(), f"{CHROMIUM} is missing: `apt-get install chromium` (.ci/run does it)"
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    # The first page of a fresh webserver can take a while on a busy two-core machine.
    expect.set_options(timeout=UI_TIMEOUT_MS)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture
def page(browser) -> Page:
    page = browser.new_page(viewport=VIEWPORT)
    page.set_default_timeout(UI_TIMEOUT_MS)
    yield page
    page.close()


def _show_partitions(page: Page, url: str, keys: list[str]) -> None:
    page.goto(f"{url}/assets/{FINAL_ASSET.to_user_string()}?view=partitions")
    expect(page.get_by_text(f"Materialized ({len(keys)})", exact=True)).to_be_visible()
    for key in keys:
        expect(page.get_by_text(key, exact=True).first).to_be_visible()


def test_the_asset_graph_and_the_documents_partitions_show_the_ingested_samples(dagster_dev, page):
    server, keys = dagster_dev
    assert sorted(keys) == sorted([path.name for path in (REPOSITORY / "samples").iterdir()] + [BAD_FILE])
    page.goto(f"{server.url}/locations/{dagster_dev_server.LOCATION}/asset-groups/{INGEST_GROUP}")
    for name in GROUP_ASSETS:
        expect(page.get_by_text(name, exact=True).first).to_be_visible()
    # Each partitioned node's status row, once loaded: every document partition materialized.
    expect(page.get_by_text("100% filled", exact=True)).to_have_count(len(DOCUMENT_NODES))
    page.screenshot(path=ARTIFACTS / "asset-graph.png")
    _show_partitions(page, server.url, list(keys.values()))
    page.screenshot(path=ARTIFACTS / "documents-partitions.png")


_ASSET_PARTITIONS = """query($group: AssetGroupSelector!) { assetNodes(group: $group) {
    assetKey { path } partitionKeysByDimension { partitionKeys } } }"""
_LAUNCH_BACKFILL = """mutation($params: LaunchBackfillParams!) { launchPartitionBackfill(backfillParams: $params) {
    __typename ... on LaunchBackfillSuccess { backfillId } ... on Error { message } } }"""
_BACKFILL = """query($id: String!) { partitionBackfillOrError(backfillId: $id) {
    ... on PartitionBackfill { status runs(limit: 100) { runId status } } ... on Error { message } } }"""
_LATEST_BY_PARTITION = """query($group: AssetGroupSelector!, $partitions: [String!]) { assetNodes(group: $group) {
    assetKey { path } latestMaterializationByPartition(partitions: $partitions) { partition runId } } }"""


def _group_selector() -> dict:
    return {"groupName": INGEST_GROUP, "repositoryName": "__repository__",
            "repositoryLocationName": dagster_dev_server.LOCATION}


def _launch_backfill_of_every_partition(server) -> tuple[str, list[str]]:
    """As the UI's materialize dialog does: the partitioned assets, every partition key the server lists."""
    nodes = server.graphql(_ASSET_PARTITIONS, group=_group_selector())["assetNodes"]
    partitioned = [node for node in nodes if node["partitionKeysByDimension"]]
    keys = partitioned[0]["partitionKeysByDimension"][0]["partitionKeys"]
    params = {"assetSelection": [{"path": node["assetKey"]["path"]} for node in partitioned],
              "partitionNames": keys, "fromFailure": False, "tags": []}
    launched = server.graphql(_LAUNCH_BACKFILL, params=params)["launchPartitionBackfill"]
    assert launched["__typename"] == "LaunchBackfillSuccess", launched
    return launched["backfillId"], keys


def _wait_for_backfill(server, backfill_id: str) -> dict:
    deadline = time.monotonic() + BACKFILL_TIMEOUT_SECONDS
    while time.monotonic() < deadline:
        backfill = server.graphql(_BACKFILL, id=backfill_id)["partitionBackfillOrError"]
        if backfill.get("status") not in ("REQUESTED", None):
            return backfill
        time.sleep(2)
    pytest.fail(f"backfill {backfill_id} still running after {BACKFILL_TIMEOUT_SECONDS} s:\n{server.log_tail()}")


def test_a_backfill_of_every_document_launched_through_graphql_completes_in_one_run(dagster_dev, page):
    server, keys_by_name = dagster_dev
    backfill_id, keys = _launch_backfill_of_every_partition(server)
    assert sorted(keys) == sorted(keys_by_name.values())
    backfill = _wait_for_backfill(server, backfill_id)
    assert backfill["status"] == "COMPLETED_SUCCESS", (backfill, server.log_tail())
    # Fewer samples than DOCUMENTS_PER_RUN (multi_run backfill policy): all documents and stages in one run.
    [run] = backfill["runs"]
    assert run["status"] == "SUCCESS"
    latest = server.graphql(_LATEST_BY_PARTITION, group=_group_selector(), partitions=keys)["assetNodes"]
    partitioned = {node.key.to_user_string() for node in DOCUMENT_NODES}
    for node in (node for node in latest if "/".join(node["assetKey"]["path"]) in partitioned):
        events = [event for event in node["latestMaterializationByPartition"] if event]
        assert {event["partition"]: event["runId"] for event in events} == dict.fromkeys(keys, run["runId"]), node

    page.goto(f"{server.url}/runs/b/{backfill_id}")
    for node in DOCUMENT_NODES:
        expect(page.locator(f'a[href="/assets/{node.key.to_user_string()}"]')).to_be_visible()
    expect(page.get_by_text("100% completed", exact=True)).to_have_count(len(DOCUMENT_NODES))
    page.screenshot(path=ARTIFACTS / "backfill.png")
    _show_partitions(page, server.url, keys)
    page.screenshot(path=ARTIFACTS / "documents-partitions-after-backfill.png")


def _open_partition_by_name(page: Page, url: str, name_part: str, key: str) -> None:
    """As a person would: the final asset's partitions, filtered by part of the document's name, then clicked."""
    page.goto(f"{url}/assets/{FINAL_ASSET.to_user_string()}?view=partitions")
    page.get_by_placeholder("Filter by name").fill(name_part)
    page.get_by_text(key, exact=True).first.click()
    # The partition's panel: its latest materialization, whose metadata carries this document's story.
    expect(page.get_by_text("this_document", exact=True).first).to_be_visible()


def test_a_partition_found_by_its_name_tells_its_documents_story_and_a_failed_ones_reason(dagster_dev, page):
    server, keys = dagster_dev
    assert keys[SOUP].startswith("red-lentil-soup-md~")
    _open_partition_by_name(page, server.url, "lentil", keys[SOUP])
    expect(page.get_by_text(str(REPOSITORY / "samples" / SOUP)).first).to_be_visible()
    story = page.locator("table", has=page.get_by_text("cost_usd", exact=True))
    expect(story.get_by_text("chunks", exact=True).first).to_be_visible()
    expect(story.get_by_text("embedded", exact=True).first).to_be_visible()
    page.screenshot(path=ARTIFACTS / "partition-red-lentil-soup.png", full_page=True)

    _open_partition_by_name(page, server.url, "too-short", keys[BAD_FILE])
    story = page.locator("table", has=page.get_by_text("failed_stage", exact=True))
    expect(story.get_by_text("validated_content", exact=True).first).to_be_visible()
    expect(story.get_by_text("non-space characters of text could be extracted", exact=False).first).to_be_visible()
    page.screenshot(path=ARTIFACTS / "partition-failed-document.png", full_page=True)
