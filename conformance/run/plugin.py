"""pytest plugin: options, parametrisation, fixtures and report hooks. Behaviour lives elsewhere.

The suite is one test function (``conformance/run/suite.py``) parametrised over
target x case x API x stream mode; pytest-recording's ``vcr`` fixture gives each
item its cassette, and this plugin's hooks collect the results into reports.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from conformance.api.endpoints import APIS
from conformance.api.vocabulary import PROFILES
from conformance.cases.loading import builtin_suites, load_suites
from conformance.cases.model import CaseFileError
from conformance.cases.targets import Target, TargetError, load_targets
from conformance.checks import CHECKS
from conformance.reports import matrix as report
from conformance.run.plan import RunSpec, choose_targets, plan
from conformance.transport import vcr as cassettes

RESULT_KEY = "conformance_result"


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("conformance")
    group.addoption("--target", action="append", default=[], help="run against this named target (repeatable)")
    group.addoption("--targets", action="append", default=[], help="extra targets YAML file (repeatable)")
    group.addoption("--base-url", help="an ad-hoc OpenAI-compatible server, e.g. http://127.0.0.1:8000/v1 (runs live)")
    group.addoption("--model", help="model for --base-url (default gpt-4o-mini)")
    group.addoption("--api-key-env", help="environment variable holding the key for --base-url")
    group.addoption("--profile", choices=PROFILES, help="override the targets' profile")
    group.addoption("--live", action="store_true", help="talk to the targets, no cassettes")
    group.addoption("--suites", help="directory of capability YAML files (default: ./suites)")
    group.addoption("--cassettes", help="cassette directory (default: ./cassettes)")
    group.addoption("--reports", help="directory for matrix.md and results.json (default: ./reports)")
    group.addoption("--expectations", help="directory of per-target known verdicts (default: ./expectations)")
    group.addoption("--update-expectations", action="store_true", help="write this run's verdicts as the known ones")
    group.addoption("--capability", action="append", default=[], help="only these capabilities (repeatable)")
    group.addoption("--api", choices=APIS, help="only this API")


def _dir(config: pytest.Config, option: str, default: str) -> Path:
    """An option's folder, else ``./<default>`` (the user's own, found from the working directory)."""
    value = config.getoption(option)
    return Path(value).resolve() if value else Path.cwd() / default


class Settings:
    """Run settings derived once from the command line."""

    def __init__(self, config: pytest.Config):
        self.config = config
        local_suites = _dir(config, "--suites", "suites")
        self.suites = local_suites if config.getoption("--suites") or local_suites.is_dir() else builtin_suites()
        self.cassettes = _dir(config, "--cassettes", "cassettes")
        self.reports = Path(config.getoption("--reports") or "reports").resolve()
        self.expectations = _dir(config, "--expectations", "expectations")
        self.record_mode = config.getoption("--record-mode") or "none"
        self.live = bool(config.getoption("--live") or (config.getoption("--base-url") and self.record_mode == "none"))
        self.replay = not self.live and self.record_mode == "none"
        self.profile = config.getoption("--profile")
        self.results: list[dict[str, Any]] = []
        self.case_errors: list[CaseFileError] = []
        self._targets: list[Target] | None = None

    def targets(self) -> list[Target]:
        """The chosen targets (loaded once); a bad targets file or name is a ``pytest.UsageError``."""
        if self._targets is None:
            self._targets = self._choose_targets()
        return self._targets

    def _choose_targets(self) -> list[Target]:
        config = self.config
        try:
            return choose_targets(load_targets(*config.getoption("--targets")), config.getoption("--target"),
                                  base_url=config.getoption("--base-url"), model=config.getoption("--model"),
                                  api_key_env=config.getoption("--api-key-env"), profile=self.profile,
                                  replay=self.replay, cassettes=self.cassettes)
        except TargetError as exc:
            raise pytest.UsageError(str(exc))


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "conformance: a conformance case (added by the plugin)")
    settings = Settings(config)
    config.stash[SETTINGS] = settings
    config.pluginmanager.register(Collector(settings), "conformance-collector")
    # A bad targets file or target name is a usage error now (one line, exit 4), not a collection traceback.
    settings.targets()
    if settings.live:
        config.option.disable_recording = True  # pytest-recording: no cassette at all


SETTINGS = pytest.StashKey[Settings]()


def settings_of(config: pytest.Config) -> Settings:
    return config.stash[SETTINGS]


def pytest_recording_configure(config: pytest.Config, vcr: Any) -> None:
    cassettes.configure_vcr(vcr)


def _specs(settings: Settings) -> list[RunSpec | CaseFileError]:
    cases, errors = load_suites(settings.suites, CHECKS)
    settings.case_errors = errors
    config = settings.config
    return [*errors, *plan(cases, settings.targets(), settings.cassettes,
                           capabilities=set(config.getoption("--capability")), api=config.getoption("--api"))]


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "conformance_spec" not in metafunc.fixturenames:
        return
    settings = settings_of(metafunc.config)
    params = []
    bad_files: set[str] = set()
    for spec in _specs(settings):
        if isinstance(spec, CaseFileError):
            if spec.path not in bad_files:  # one failing item per bad file, naming all its errors
                bad_files.add(spec.path)
                params.append(pytest.param([e for e in settings.case_errors if e.path == spec.path],
                                           id=f"case-file-error/{Path(spec.path).name}"))
            continue
        marks = [pytest.mark.conformance]
        if not settings.live:
            # pytest-recording: the cassette of this item, by absolute path
            marks += [pytest.mark.vcr, pytest.mark.default_cassette(str(spec.cassette.with_suffix("")))]
        if settings.replay:
            marks.append(pytest.mark.block_network)
        params.append(pytest.param(spec, id=spec.id, marks=marks))
    metafunc.parametrize("conformance_spec", params)


class Collector:
    """Gathers the results items attach (also from xdist workers) and writes the reports."""

    def __init__(self, settings: Settings):
        self.settings = settings
        self.written: dict[str, Path] = {}
        self.problems: list[str] = []

    @pytest.hookimpl
    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        for key, value in report.user_properties:
            if key == RESULT_KEY and report.when in ("call", "setup"):
                self.settings.results.append(value)

    @pytest.hookimpl
    def pytest_sessionfinish(self, session: pytest.Session) -> None:
        settings = self.settings
        if hasattr(session.config, "workerinput") or not settings.results:
            return  # an xdist worker: the controller writes the reports
        self.written = report.write_reports(settings.results, settings.reports)
        if session.config.getoption("--update-expectations"):
            from conformance.verdicts import expectations
            from conformance.verdicts.results import result_from_dict

            by_target: dict[str, list] = {}
            for record in settings.results:
                by_target.setdefault(record["target"], []).append(result_from_dict(record))
            for target, results in by_target.items():
                try:
                    expectations.write(settings.expectations, target, results)
                except expectations.BlessingError as exc:
                    self.problems.append(str(exc))
                    session.exitstatus = pytest.ExitCode.TESTS_FAILED

    @pytest.hookimpl
    def pytest_terminal_summary(self, terminalreporter: Any) -> None:
        if hasattr(terminalreporter.config, "workerinput"):
            return
        for error in self.settings.case_errors:
            terminalreporter.write_line(f"case file error: {error}", red=True)
        for problem in self.problems:
            terminalreporter.write_line(f"expectations not updated: {problem}", red=True)
        if not self.settings.results:
            return
        terminalreporter.section("conformance matrix")
        terminalreporter.write_line(report.terminal_matrix(self.settings.results))
        if self.written:
            terminalreporter.write_line(f"reports: {self.written['matrix']}  {self.written['results']}")
