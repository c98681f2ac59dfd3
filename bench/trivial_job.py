"""A trivial three-asset job: the floor of what any Dagster job costs on this machine."""

from dagster import Definitions, asset, define_asset_job, in_process_executor


@asset
def first() -> int:
    return 1


@asset
def second(first: int) -> int:
    return first + 1


@asset
def third(second: int) -> int:
    return second + 1


defs = Definitions(
    assets=[first, second, third],
    jobs=[
        define_asset_job("trivial", executor_def=in_process_executor),
        define_asset_job("trivial_multiprocess"),
    ],
)
