"""A sensor that starts the main job when files arrive in the inbox."""


import dagster as dg

from pipelines.defs.jobs import main_job, run_request
from pipelines.settings import Settings


def inbox_sensor(settings: Settings) -> dg.SensorDefinition:
    @dg.sensor(
        job=main_job,
        minimum_interval_seconds=60,
        default_status=dg.DefaultSensorStatus.STOPPED,
        description="Every minute: when report files wait in the inbox, one run of sovereignty_run over their "
        "quarters (one run per set of files); with an empty inbox, one run to finish what an interrupted run "
        "left undone. Off until switched on.",
    )
    def inbox_arrivals(context: dg.SensorEvaluationContext):
        """Requests one run per distinct set of pending files (the run key is their fingerprint)."""
        return run_request(settings)

    return inbox_arrivals
