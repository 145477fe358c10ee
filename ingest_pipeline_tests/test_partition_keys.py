"""Partition keys: readable, safe, unique, kept across versions, and the ids of documents registered before them."""

from __future__ import annotations

from dagster._core.definitions.partitions.utils.base import INVALID_PARTITION_SUBSTRINGS
from dagster._core.definitions.partitions.utils.multi import INVALID_STATIC_PARTITIONS_KEY_CHARACTERS
from sqlalchemy import create_engine, text

from ingest_pipeline.domain.ids import Identity, partition_key_candidates, slug
from ingest_pipeline.domain.statuses import DocumentStatus
from ingest_pipeline.intake.admit import register_file
from ingest_pipeline.orchestration.partitions import document_ids, partition_keys
from ingest_pipeline.orchestration.policies import DOCUMENTS_PARTITION
from ingest_pipeline.service.application import Application
from ingest_pipeline.service.lifecycle import delete_document
from ingest_pipeline.settings import Settings
from ingest_pipeline.store import documents
from ingest_pipeline.store.migrations import available_migrations
from ingest_pipeline_tests.pipeline_runs import materialize, paragraph, register, write
from ingest_pipeline_tests.scratch_postgres import scratch_database

NAMES = ["red-lentil-soup.md", "Résumé, final [v2] ... (copy).PDF", "a|b,c[d]e.txt", "日本語.txt", "...", "x" * 300]


def test_a_key_is_a_slug_of_the_name_then_the_start_of_the_id():
    [short, longer, whole] = partition_key_candidates("red-lentil-soup.md", "d99706b3aa" + "b" * 11)
    assert short == "red-lentil-soup-md~99706b3a"
    assert longer == "red-lentil-soup-md~99706b3aabbb" and whole == "red-lentil-soup-md~99706b3aa" + "b" * 11
    assert slug("Résumé, final [v2] ... (copy).PDF") == "resume-final-v2-copy-pdf"


def test_every_key_is_short_and_in_characters_dagster_and_urls_take():
    for name in NAMES:
        for key in partition_key_candidates(name, "d" + "f" * 20):
            assert set(key) <= set("abcdefghijklmnopqrstuvwxyz0123456789-~"), key
            assert not any(bad in key for bad in INVALID_PARTITION_SUBSTRINGS), key
            assert not INVALID_STATIC_PARTITIONS_KEY_CHARACTERS & set(key), key
            assert len(key) <= 61 and not key.startswith("-"), key


def test_registration_stores_the_key_and_a_new_version_keeps_it(app, tmp_path):
    identity = Identity.of_caller("recipe-42")
    first = register_file(app.engine, app.store, write(tmp_path, "soup.md", paragraph("lentil")),
                          identity=identity, file_name="Red Lentil Soup.md").document
    assert first.partition_key == f"red-lentil-soup-md~{first.id[1:9]}"
    second = register_file(app.engine, app.store, write(tmp_path, "stew.md", paragraph("barley")),
                           identity=identity, file_name="Barley Stew.md").document
    assert second.version == 2 and second.file_name == "Barley Stew.md"
    assert second.partition_key == first.partition_key


def test_a_key_another_document_holds_makes_the_new_one_longer(app):
    taken = partition_key_candidates("notes.txt", "d1234567890abcdef0000")[0]
    values = dict(external_id=None, source="s", sha256="0" * 64, size_bytes=1, status="registered")
    with app.engine.begin() as conn:
        first = documents.insert(conn, id="d1234567890abcdef0000", file_name="notes.txt", **values)
        second = documents.insert(conn, id="d12345678ffffffff0000", file_name="notes.txt", **values)
        third = documents.insert(conn, id="d12345678ffff12345678", file_name="notes.txt", **values)
    assert first.partition_key == taken == "notes-txt~12345678"
    assert second.partition_key == "notes-txt~12345678ffff"
    assert third.partition_key == "notes-txt~12345678ffff12345678"


def test_keys_and_documents_map_both_ways_and_an_unknown_key_stays_itself(app, tmp_path):
    ids = [register(app, write(tmp_path, f"{name}.txt", paragraph(name))) for name in ("kelp", "crab")]
    keys = partition_keys(app.engine, ids)
    assert [key.split("~")[0] for key in keys] == ["kelp-txt", "crab-txt"]
    assert document_ids(app.engine, [keys[1], "gone~00000000", keys[0]]) == [ids[1], "gone~00000000", ids[0]]


def test_an_instance_created_before_keys_keeps_its_partitions_and_gives_new_documents_readable_ones(
        database_url, instance, tmp_path):
    with scratch_database(database_url, "before_keys") as url:
        old = create_engine(url)
        with old.begin() as conn:
            conn.execute(text("CREATE EXTENSION IF NOT EXISTS vector"))
            conn.execute(text("CREATE TABLE schema_migrations (version integer PRIMARY KEY, name text NOT NULL,"
                              " applied_at timestamptz NOT NULL DEFAULT now())"))
            for version, name, sql in available_migrations():
                if version < 10:
                    conn.exec_driver_sql(sql)
                    conn.execute(text("INSERT INTO schema_migrations (version, name) VALUES (:v, :n)"),
                                 {"v": version, "n": name})
        app = Application(Settings.from_env({"INGEST_HOME": str(tmp_path / "home"), "INGEST_DATABASE_URL": url}))
        stored = app.store.put_file(write(tmp_path, "old.md", "# Old\n\n" + paragraph("old harbour", 12)))
        old_id = "d" + "a" * 20
        with old.begin() as conn:  # registered the way the pipeline did then: no partition key column
            conn.execute(text("INSERT INTO documents (id, source, file_name, sha256, size_bytes, status) "
                              "VALUES (:id, 'old.md', 'old.md', :sha, :size, 'registered')"),
                         {"id": old_id, "sha": stored.sha256, "size": stored.size_bytes})
        instance.add_dynamic_partitions(DOCUMENTS_PARTITION, [old_id])
        old.dispose()

        new_id = register(app, write(tmp_path, "new.md", "# New\n\n" + paragraph("new pier", 12)))  # migrates
        assert partition_keys(app.engine, [old_id, new_id]) == [old_id, f"new-md~{new_id[1:9]}"]
        assert materialize(app, instance, [old_id, new_id]).success
        assert {doc.id: doc.status for doc, _ in app.documents()} == dict.fromkeys([old_id, new_id],
                                                                                  DocumentStatus.EMBEDDED)
        assert instance.get_dynamic_partitions(DOCUMENTS_PARTITION) == [old_id, f"new-md~{new_id[1:9]}"]
        assert delete_document(app, old_id, instance)
        assert instance.get_dynamic_partitions(DOCUMENTS_PARTITION) == [f"new-md~{new_id[1:9]}"]
        app.engine.dispose()
