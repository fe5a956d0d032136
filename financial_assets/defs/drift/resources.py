"""The drift family's resource: the feature window, the dates a multi-date run reports, the performance window, and
where a browser reaches the reports and MLflow."""

from pathlib import PurePath

import dagster as dg
import pandas as pd

from financial_assets.core.calendar import RETRAIN_PERIODS, retrain_sessions

#: FA_DRIFT_CALENDAR value that reports drift at a run's last date only (what `make run` uses: a report costs seconds)
LAST_ONLY = "last"


class DriftResource(dg.ConfigurableResource):
    """How drift_report compares a partition with its champion's reference (FA_DRIFT_*)."""

    window: int  # sessions of features ending at the partition's date
    calendar: str  # weekly | month_end | quarter_end | year_end | last (the run's last date only)
    performance_window: int  # matured labels the realized AUC is measured over
    artifacts_url: str  # FA_ARTIFACTS_URL: the artefacts folder served over HTTP
    mlflow_ui_url: str  # FA_MLFLOW_UI_URL

    def artifact_url(self, relative: PurePath) -> str:
        """The HTTP address of an artefact, from its path relative to the artefacts folder."""
        return f"{self.artifacts_url.rstrip('/')}/{relative.as_posix()}"

    def check_settings(self) -> None:
        """FA_DRIFT_CALENDAR names a period or `last`."""
        if self.calendar not in (*RETRAIN_PERIODS, LAST_ONLY):
            raise ValueError(f"FA_DRIFT_CALENDAR must be one of {sorted(RETRAIN_PERIODS)} or {LAST_ONLY}, "
                             f"got {self.calendar!r}")

    def report_dates(self, run_dates: pd.DatetimeIndex, sessions: pd.DatetimeIndex) -> pd.DatetimeIndex:
        """The run's dates on the drift calendar (the last session of each period of `sessions`) and its last date."""
        self.check_settings()
        run_dates = pd.DatetimeIndex(run_dates).unique().sort_values()
        if self.calendar == LAST_ONLY:
            return run_dates[-1:]
        on_calendar = run_dates.isin(retrain_sessions(sessions, self.calendar))
        return run_dates[on_calendar | (run_dates == run_dates.max())]


@dg.definitions
def resources() -> dg.Definitions:
    """Binds the drift family's resource from its FA_DRIFT_* settings."""
    return dg.Definitions(resources={"drift": DriftResource(
        window=dg.EnvVar.int("FA_DRIFT_WINDOW"), calendar=dg.EnvVar("FA_DRIFT_CALENDAR"),
        performance_window=dg.EnvVar.int("FA_DRIFT_PERFORMANCE_WINDOW"), artifacts_url=dg.EnvVar("FA_ARTIFACTS_URL"),
        mlflow_ui_url=dg.EnvVar("FA_MLFLOW_UI_URL"))})
