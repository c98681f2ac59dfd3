"""Step outputs kept per run, so concurrent runs on one Dagster instance never read each other's values."""

import os
import pickle
import tempfile
from pathlib import Path
from typing import Any

from dagster import ConfigurableIOManager, Failure, InputContext, OutputContext


class RunScopedPickleIOManager(ConfigurableIOManager):
    """Pickles each asset's value under <instance storage>/runs/<run id>/. A step reads what its own run wrote,
    or, materialized alone, the exact run of the upstream asset's latest materialization; never a file that
    another run, running at the same time, is writing."""

    def _path(self, storage: str, run_id: str, asset_path: list[str]) -> Path:
        return Path(storage, "runs", run_id, *asset_path).with_suffix(".pickle")

    def handle_output(self, context: OutputContext, obj: Any) -> None:
        path = self._path(context.step_context.instance.storage_directory(), context.run_id, context.asset_key.path)
        path.parent.mkdir(parents=True, exist_ok=True)
        # Written aside and renamed: a reader sees the whole value or none.
        with tempfile.NamedTemporaryFile(dir=path.parent, delete=False) as handle:
            pickle.dump(obj, handle, protocol=pickle.HIGHEST_PROTOCOL)
        os.replace(handle.name, path)

    def load_input(self, context: InputContext) -> Any:
        key = context.asset_key
        storage = context.instance.storage_directory()
        path = self._path(storage, context.step_context.run_id, key.path)
        if not path.exists():
            event = context.instance.get_latest_materialization_event(key)
            if event is None:
                raise Failure(f"{key.to_user_string()} has never been materialized: materialize it first")
            path = self._path(storage, event.run_id, key.path)
            if not path.exists():
                raise Failure(
                    f"the value of {key.to_user_string()} from run {event.run_id} is no longer stored: "
                    "materialize it again"
                )
        with path.open("rb") as handle:
            return pickle.load(handle)  # noqa: S301 - files this IO manager wrote itself
