"""/api/v1/users: the people of the token's workspace."""
from __future__ import annotations

from flask.views import MethodView

from app.api.auth import TokenBlueprint, api_uow
from app.api.schemas import PageQuery, UserPageSchema, paged

blp = TokenBlueprint("api_users", __name__, url_prefix="/api/v1/users",
                     description="People of the workspace, by name.")


@blp.route("")
class UserCollection(MethodView):
    @blp.arguments(PageQuery, location="query")
    @blp.response(200, UserPageSchema)
    def get(self, args):
        """Everyone in the workspace, active or not, by name"""
        return paged(api_uow().users.list(args["page"], args["limit"]))
