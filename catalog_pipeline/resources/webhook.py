"""A Slack-style incoming webhook: where alerts and the changes digest are posted."""

import requests
from dagster import ConfigurableResource
from pydantic import Field


class AlertWebhook(ConfigurableResource):
    """A Slack-style incoming webhook (CATALOG_ALERT_WEBHOOK_URL for alerts, CATALOG_CHANGES_WEBHOOK_URL for the
    changes digest); unset, nothing is sent."""

    url: str | None = Field(default=None, description="Incoming-webhook URL; unset = nothing is sent.")
    ui_url: str = Field(default="http://127.0.0.1:3000", description="The Dagster UI, for links in alerts.")
    timeout_seconds: float = Field(default=5.0, description="Give up on the webhook after this long.")

    def run_link(self, run_id: str) -> str:
        return f"{self.ui_url.rstrip('/')}/runs/{run_id}"

    def send(self, text: str) -> str | None:
        """Post {"text": …}; None when sent, else why not. A webhook that is down is logged, never raised: the
        sensor's tick goes on, and the next alert is tried afresh."""
        if not self.url:
            return "no webhook URL is set"
        try:
            response = requests.post(self.url, json={"text": text}, timeout=self.timeout_seconds)
        except requests.RequestException as exc:
            return f"the webhook could not be reached: {type(exc).__name__}"
        return None if response.ok else f"the webhook answered HTTP {response.status_code}"
