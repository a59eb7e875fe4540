"""Responses that carry clinical or personal data are not kept by browsers or proxies.

Every page and API answer of this app is about a subject, a user or a study's data, so each
response says ``Cache-Control: no-store`` unless its view chose a policy itself. Static files
never reach this middleware (WhiteNoise answers them first, with long-lived caching)."""

from django.utils.cache import patch_cache_control


class NoStoreMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        if not response.has_header("Cache-Control"):
            patch_cache_control(response, no_store=True, private=True)
        return response
