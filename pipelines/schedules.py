"""A nightly run, for deployments that prefer a fixed time to the inbox sensor."""


import dagster as dg

from pipelines.jobs import main_job, run_request
from pipelines.settings import Settings


def nightly_schedule(settings: Settings) -> dg.ScheduleDefinition:
    @dg.schedule(job=main_job, cron_schedule="0 2 * * *", default_status=dg.DefaultScheduleStatus.STOPPED)
    def nightly_run(context: dg.ScheduleEvaluationContext):
        """Ingests whatever arrived during the day; skips when the inbox is empty."""
        return run_request(settings)

    return nightly_run
