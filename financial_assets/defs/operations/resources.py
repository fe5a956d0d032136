"""The operations family's resources: where alerts go and what they link to, and the retraining cooldown."""

import dagster as dg

from financial_assets.alerts import Alert, make_sinks, send_alert
from financial_assets.defs.resources import DATA_DIR
from financial_assets.tracking.store import mlflow_run_url


class AlertsResource(dg.ConfigurableResource):
    """Alert sinks from FA_ALERT_SINKS (empty: the JSONL log under `data_dir`), and the UIs links point to."""

    sinks: str
    data_dir: str
    ui_url: str
    mlflow_ui_url: str = ""  # FA_MLFLOW_UI_URL; empty: alerts link no MLflow run

    def send(self, alert: Alert) -> str:
        """Send `alert` to every sink; return where it went (AlertDeliveryError when a sink failed)."""
        sinks = make_sinks(self.sinks, data_dir=self.data_dir)
        send_alert(alert, sinks)
        return ", ".join(map(str, sinks))

    def check_settings(self) -> None:
        """FA_ALERT_SINKS names known sinks (nothing is sent)."""
        make_sinks(self.sinks, data_dir=self.data_dir)

    def run_url(self, run_id: str) -> str:
        """The run's page in the Dagster UI."""
        return f"{self.ui_url.rstrip('/')}/runs/{run_id}"

    def mlflow_run_url(self, run_id: str) -> str | None:
        """The MLflow run's page, when an MLflow UI is configured."""
        return mlflow_run_url(self.mlflow_ui_url, run_id) if self.mlflow_ui_url else None

    def asset_url(self, asset: str) -> str:
        """The asset's page in the Dagster UI."""
        return f"{self.ui_url.rstrip('/')}/assets/{asset}"


class RetrainResource(dg.ConfigurableResource):
    """How often drift may retrain a ticker: FA_RETRAIN_COOLDOWN_SESSIONS sessions after a request."""

    cooldown_sessions: int


@dg.definitions
def resources() -> dg.Definitions:
    """Binds the operations family's resources from their FA_* settings."""
    return dg.Definitions(resources={
        "alerts": AlertsResource(sinks=dg.EnvVar("FA_ALERT_SINKS"), data_dir=DATA_DIR,
                                 ui_url=dg.EnvVar("FA_DAGSTER_URL"), mlflow_ui_url=dg.EnvVar("FA_MLFLOW_UI_URL")),
        "retrain": RetrainResource(cooldown_sessions=dg.EnvVar.int("FA_RETRAIN_COOLDOWN_SESSIONS")),
    })
