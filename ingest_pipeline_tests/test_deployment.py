"""The compose stack is wired to what exists: every command an installed entry point, every variable documented."""

from __future__ import annotations

import importlib
import importlib.util
import re
import shlex
from importlib.metadata import distribution, entry_points
from pathlib import Path
from urllib.parse import urlsplit

import click
import pytest
import yaml
from packaging.requirements import Requirement

from ingest_pipeline.cli.main import build_parser
from ingest_pipeline.settings import VARIABLES

REPOSITORY = Path(__file__).resolve().parents[1]
COMPOSE = yaml.safe_load((REPOSITORY / "docker-compose.yml").read_text())
SERVICES: dict = COMPOSE["services"]
# Services built from our Dockerfile; the others (postgres) run a published image.
OURS = {name: service for name, service in SERVICES.items() if "build" in service}
DISTRIBUTION = "ingest_pipeline"
# Settings whose value is a path inside the container: they default under INGEST_HOME, the volume.
CONTAINER_PATHS = {"INGEST_STORAGE_DIR", "INGEST_INBOX"}


def _commands(service: dict) -> dict[str, list[str]]:
    """The service's command and its healthcheck command (exec form), each as an argv list."""
    found = {}
    command = service.get("command")
    if command:
        found["command"] = shlex.split(command) if isinstance(command, str) else [str(arg) for arg in command]
    test = service.get("healthcheck", {}).get("test")
    if isinstance(test, list) and test[0] == "CMD":
        found["healthcheck"] = [str(arg) for arg in test[1:]]
    return found


COMMANDS = {f"{name}:{role}": (name, argv) for name, service in OURS.items() for role, argv in _commands(service).items()}


def _installed_scripts() -> dict:
    """Console scripts of this distribution and of the ones it requires directly: what the image has."""
    ours = distribution(DISTRIBUTION)
    names = {DISTRIBUTION} | {Requirement(text).name for text in ours.requires or [] if "extra ==" not in text}
    wanted = {name.lower().replace("_", "-") for name in names}
    return {script.name: script for script in entry_points(group="console_scripts")
            if script.dist is not None and script.dist.name.lower().replace("_", "-") in wanted}


def _check_click_arguments(script, arguments: list[str]) -> None:
    """Dagster's CLIs keep their click command in `cli`: walk the sub-commands, then parse the options."""
    command, name = importlib.import_module(script.module).cli, script.name
    while isinstance(command, click.Group) and arguments and arguments[0] in command.commands:
        name, command, arguments = arguments[0], command.commands[arguments[0]], arguments[1:]
    assert not isinstance(command, click.Group), f"{script.name}: no sub-command named {arguments[:1]}"
    command.make_context(name, list(arguments))


def _check_python(arguments: list[str]) -> None:
    if arguments[0] == "-m":
        assert importlib.util.find_spec(arguments[1]) is not None, f"no module {arguments[1]}"
    else:
        assert arguments[0] == "-c", arguments
        compile(arguments[1], "<healthcheck>", "exec")


@pytest.mark.parametrize("service, argv", COMMANDS.values(), ids=COMMANDS.keys())
def test_every_command_is_an_installed_entry_point_with_valid_arguments(service, argv):
    program, arguments = argv[0], argv[1:]
    if program == "python":
        _check_python(arguments)
        return
    scripts = _installed_scripts()
    assert program in scripts, f"{service} runs {program}, which neither this package nor its requirements install"
    if scripts[program].dist.name.replace("-", "_") == DISTRIBUTION:
        try:
            build_parser().parse_args(arguments)
        except SystemExit as error:
            pytest.fail(f"{service}: `{shlex.join(argv)}` is refused by the CLI (exit {error.code})")
    else:
        # Paths the image copies in (the workspace file) are checked against their source in the repository.
        copies = _dockerfile_copies()
        _check_click_arguments(scripts[program], [str(REPOSITORY / copies[arg]) if arg in copies else arg
                                                  for arg in arguments])


def test_every_service_but_postgres_runs_the_one_image():
    assert set(SERVICES) - set(OURS) == {"postgres"}
    assert len({service["image"] for service in OURS.values()}) == 1
    assert {service["build"] for service in OURS.values()} == {"."}
    assert "pgvector" in SERVICES["postgres"]["image"]
    assert "healthcheck" in SERVICES["postgres"] and SERVICES["postgres"]["volumes"]


def _dockerfile_copies() -> dict[str, str]:
    """COPY destination -> source, with ${DAGSTER_HOME}-style variables replaced by their ENV values."""
    text = (REPOSITORY / "Dockerfile").read_text().replace("\\\n", " ")
    env = dict(re.findall(r"\b([A-Z_]+)=(\S+)", " ".join(re.findall(r"^ENV (.*)$", text, re.M))))
    copies = {}
    for source, destination in re.findall(r"^COPY (\S+) (\S+)$", text, re.M):
        copies[re.sub(r"\$\{(\w+)\}", lambda m: env[m.group(1)], destination)] = source
    return copies


def test_the_dockerfile_copies_files_that_exist_and_are_not_ignored():
    ignored = {line.strip() for line in (REPOSITORY / ".dockerignore").read_text().splitlines()}
    for source in _dockerfile_copies().values():
        assert (REPOSITORY / source).exists(), source
        assert source.split("/")[0] not in ignored, f"{source} is excluded by .dockerignore"


def _option(argv: list[str], *flags: str) -> str:
    return next(argv[i + 1] for i, arg in enumerate(argv) if arg in flags)


def test_the_webserver_and_daemon_reach_the_code_server_under_the_fixed_location_name():
    code_server = _commands(SERVICES["dagster-code"])["command"]
    fixed_name = yaml.safe_load((REPOSITORY / "workspace.yaml").read_text())["load_from"][0]["python_module"]["location_name"]
    assert _option(code_server, "--location-name") == fixed_name
    copies = _dockerfile_copies()
    for name in ("dagster-webserver", "dagster-daemon"):
        workspace_path = _option(_commands(SERVICES[name])["command"], "-w", "--workspace")
        assert workspace_path in copies, f"{name} reads {workspace_path}, which the image does not have"
        [entry] = yaml.safe_load((REPOSITORY / copies[workspace_path]).read_text())["load_from"]
        grpc = entry["grpc_server"]
        assert (grpc["host"], str(grpc["port"])) == ("dagster-code", _option(code_server, "-p", "--port"))
        assert grpc["location_name"] == fixed_name


def _documented() -> set[str]:
    """Every variable .env.example names, set or shown commented with its default."""
    text = (REPOSITORY / ".env.example").read_text()
    return set(re.findall(r"^#? ?([A-Z][A-Z0-9_]*)=", text, re.M))


def _passed_to_containers() -> set[str]:
    return {key for service in OURS.values() for key in service.get("environment") or {}}


def _dagster_yaml_variables() -> set[str]:
    return set(re.findall(r"\{env: (\w+)\}", (REPOSITORY / "dagster.yaml").read_text()))


def test_every_variable_compose_substitutes_is_documented():
    substituted = set(re.findall(r"\$\{(\w+)", (REPOSITORY / "docker-compose.yml").read_text()))
    assert substituted - _documented() == set()


def test_every_variable_passed_to_the_containers_is_documented_and_read_by_the_package():
    passed = _passed_to_containers()
    assert passed - _documented() == set()
    source = "\n".join(path.read_text() for path in (REPOSITORY / "ingest_pipeline").rglob("*.py"))
    known = {variable.name for variable in VARIABLES} | _dagster_yaml_variables()
    assert {name for name in passed - known if name not in source} == set(), "typo, or a setting nobody reads"


def test_every_setting_is_documented_and_reaches_the_code_server():
    settings = {variable.name for variable in VARIABLES}
    assert settings - _documented() == set()
    set_by_image = set(re.findall(r"\b([A-Z_]+)=", (REPOSITORY / "Dockerfile").read_text()))
    code_server = set(SERVICES["dagster-code"]["environment"])
    assert settings - set_by_image - CONTAINER_PATHS - code_server == set()


def test_every_dagster_process_has_the_instance_variables():
    needed = _dagster_yaml_variables()
    assert needed and needed <= _documented()
    for name in ("dagster-code", "dagster-webserver", "dagster-daemon", "ingest-api"):
        assert needed <= set(SERVICES[name]["environment"]), name


def test_the_simulator_urls_in_env_example_name_simulator_services_and_their_ports():
    urls = re.findall(r"=(https?://\S+)", (REPOSITORY / ".env.example").read_text())
    simulators = {name for name, service in OURS.items() if "simulators" in service.get("profiles", [])}
    assert simulators
    targets = {urlsplit(url).hostname: urlsplit(url).port for url in urls if urlsplit(url).hostname in SERVICES}
    assert simulators <= set(targets)
    for name, port in targets.items():
        assert _option(_commands(SERVICES[name])["command"], "--port", "-p") == str(port), name
