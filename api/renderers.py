from rest_framework.renderers import BaseRenderer


class SQLRenderer(BaseRenderer):
    """A migration script as ``text/sql`` (``Accept: text/sql`` or ``?format=sql``)."""

    media_type = "text/sql"
    format = "sql"
    charset = "utf-8"

    def render(self, data, accepted_media_type=None, renderer_context=None):
        return data.encode(self.charset) if isinstance(data, str) else b""
