"""URL path converters.

``segment`` is Django's ``str`` (anything up to the next slash) less the NUL character, which
PostgreSQL text cannot hold: a subject ID with %00 in it would otherwise reach the database
and fail there with a 500, where it is simply no such page."""


class SegmentConverter:
    regex = "[^/\x00]+"

    def to_python(self, value: str) -> str:
        return value

    def to_url(self, value: str) -> str:
        return value
