"""A worker killed mid-task (issue 17): its acks-late tasks go back to the queue once Redis's
visibility timeout passes. Kombu's default is an hour, so answers and training suggestions waited
an hour (suggestions only came back with the nightly run); ours is five minutes."""

from config.celery import app


def test_a_killed_workers_tasks_are_redelivered_within_minutes_not_an_hour():
    assert app.conf.task_acks_late and app.conf.task_reject_on_worker_lost
    assert app.conf.broker_transport_options["visibility_timeout"] == 300
