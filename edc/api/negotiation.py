"""Content negotiation for an API that answers JSON only."""

from __future__ import annotations

from rest_framework.negotiation import DefaultContentNegotiation


class SingleRendererNegotiation(DefaultContentNegotiation):
    """A view with one renderer answers with it, whatever the Accept header says; views with
    several (the OpenAPI schema, Swagger UI) negotiate as DRF does. Parsing the Accept header
    on every request to reach the only possible answer was a measurable share of an
    allocation's server CPU (make bench-randomize)."""

    def select_renderer(self, request, renderers, format_suffix=None):
        if len(renderers) == 1 and not format_suffix:
            return renderers[0], renderers[0].media_type
        return super().select_renderer(request, renderers, format_suffix)
