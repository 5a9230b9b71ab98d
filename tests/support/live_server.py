"""Middleware for the servers the tests start (config/settings_test.py, HANDOFF_TEST_PROCESS)."""

from django.contrib.contenttypes.models import ContentType

from chat.db import ReadEvery


def forget_caches(get_response):
    """A live server keeps running across tests, while each transactional test ends with a flush
    that deletes every row (and recreates the content types with new ids). So each request, and a
    test's first step is a page load, reads afresh what the server keeps per process:
    - the content types: their cache would point the admin log (written on every admin save) at
      rows that are gone, so only the first test of a run could save through an admin form;
    - the short per-process reads (chat.db.ReadEvery: teams and hours, the rules' version, the
      classifier), which the pytest process forgets between tests: the server's copy would still
      hold the previous test's teams for up to 5 s (the default team, open all week, of a test
      that expects it closed). Tests only: a query per model and a read per cache per request."""

    def middleware(request):
        ContentType.objects.clear_cache()
        ReadEvery.forget_all()
        return get_response(request)

    return middleware
