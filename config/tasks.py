from celery import shared_task


@shared_task(name="config.echo")
def echo(value):
    """Round trip used by health checks and tests: proves a worker consumes and answers."""
    return {"echo": value}
