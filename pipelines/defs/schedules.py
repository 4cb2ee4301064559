"""A nightly run, for deployments that prefer a fixed time to the inbox sensor."""


import dagster as dg

from pipelines.defs.jobs import main_job, run_request
from pipelines.settings import Settings


def nightly_schedule(settings: Settings) -> dg.ScheduleDefinition:
    @dg.schedule(
        job=main_job,
        cron_schedule="0 2 * * *",
        default_status=dg.DefaultScheduleStatus.STOPPED,
        description="At 02:00: sovereignty_run over whatever arrived in the inbox during the day, or to finish "
        "what an interrupted run left undone; skipped when there is nothing to do. Off until switched on; "
        "an alternative to the inbox sensor.",
    )
    def nightly_run(context: dg.ScheduleEvaluationContext):
        """Ingests whatever arrived during the day; skips when the inbox is empty."""
        return run_request(settings)

    return nightly_run
