from tests.web.conftest import client, ctx, template_db

__all__ = ["client", "ctx", "template_db"]
