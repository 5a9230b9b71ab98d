"""Middleware for the servers the tests start (config/settings_test.py, HANDOFF_TEST_PROCESS)."""

from django.contrib.contenttypes.models import ContentType


def forget_content_types(get_response):
    """A transactional test ends with a flush that deletes the content types and creates them again
    with new ids, while a live server keeps running across tests: its cache of them would point the
    admin log (written on every admin save) at rows that are gone, so only the first test of a run
    could save through an admin form. Each request reads them afresh (a query per model, tests only)."""

    def middleware(request):
        ContentType.objects.clear_cache()
        return get_response(request)

    return middleware
