"""A Dagster instance the CLI created before the code moved into per-stage folders still opens, and is mended."""

from __future__ import annotations

from ingest_pipeline.orchestration.runs import packaged_instance_config, open_instance


def test_an_instance_naming_the_old_storage_module_opens_and_names_the_new_one(environment, tmp_path, monkeypatch):
    for name, value in environment.items():
        monkeypatch.setenv(name, value)
    dagster_home = tmp_path / "dagster"
    dagster_home.mkdir()
    monkeypatch.setenv("DAGSTER_HOME", str(dagster_home))
    current = packaged_instance_config().read_text(encoding="utf-8")
    old = current.replace("module: ingest_pipeline.orchestration.instance_storage",
                          "module: ingest_pipeline.instance_storage")
    assert old != current
    (dagster_home / "dagster.yaml").write_text(old, encoding="utf-8")
    instance = open_instance(dagster_home)
    try:
        assert instance.get_runs() == []
    finally:
        instance.dispose()
    assert (dagster_home / "dagster.yaml").read_text(encoding="utf-8") == current
