"""Batch jobs: catalog, cron schedules, scheduler, RabbitMQ worker (see docs/jobs.md)."""
