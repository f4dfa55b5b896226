"""Management API for bots: /api/v1/workspaces/..., /api/v1/bots/...

Authenticated by a workspace API key (`Authorization: Bearer sb_...`, scoped) or a logged-in
admin session (the flow builder). Every object is fetched through `bots.access`, so another
workspace's ids answer 404. Errors use the shared shape of `config.api`.
"""

from ninja import Router

from bots.api import bots, flows, keys, parts, versions
from bots.api.common import AUTH

router = Router(auth=AUTH)
for _module in (bots, flows, parts, versions, keys):
    router.add_router("", _module.router)
