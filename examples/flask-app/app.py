"""A small Flask API over ory-iam's blocking API (``ory_iam.sync``) and ``ory_iam.flask``.

Native (API) clients: ``POST /register`` and ``POST /login`` run Kratos's native flows and return
the session token; every other route takes it as ``Authorization: Bearer <token>`` (or the
Kratos session cookie, per the tenant's transport).

Routes: ``/me`` (a session), ``/maybe`` (optional), ``/documents/<id>`` (Keto
``documents:<id>#view`` for the caller), ``/admin`` (role ``admin`` in public metadata),
``/service`` (an OAuth2 client token with scope ``read``), ``POST /logout``.

Configuration: ``ORY_IAM_STACK`` = path of the local stack's ``stack.json`` (its ``iam_config``),
else the usual ``ORY_IAM_CONFIG_FILE`` / ``ORY_IAM__...`` environment. Serve with e.g.
``gunicorn --preload --threads 8 -w 2 app:app`` (see README.md).
"""

import json
import os
import pathlib
from typing import Any

from flask import Flask, g, request

from ory_iam.flask import IamFlask, login_required, require_permission, require_role, require_scope

app = Flask(__name__)
if os.environ.get("ORY_IAM_STACK"):
    app.config["ORY_IAM"] = json.loads(pathlib.Path(os.environ["ORY_IAM_STACK"]).read_text())["iam_config"]
# The Iam is built here, at import: under `gunicorn --preload` in the master, before the fork.
iam_ext = IamFlask(app, tenant=os.environ.get("EXAMPLE_TENANT") or None)


def flows() -> Any:
    return g.iam.iam.flow.for_tenant(g.iam.tenant)


@app.post("/register")
def register() -> Any:
    body = request.get_json(force=True)
    flow = flows().initiate_registration()
    res = flows().submit_registration(flow.id, {"method": "password", "password": body["password"], "traits": {"email": body["email"]}})
    if res.kind != "success" or res.session_token is None or res.identity is None:
        return {"error": "registration failed"}, 400
    return {"id": res.identity.id, "token": res.session_token.expose()}


@app.post("/login")
def login() -> Any:
    body = request.get_json(force=True)
    flow = flows().initiate_login()
    res = flows().submit_login(flow.id, {"method": "password", "identifier": body["email"], "password": body["password"]})
    if res.kind != "success" or res.session_token is None:
        return {"error": "login failed"}, 401
    return {"token": res.session_token.expose()}


@app.get("/me")
@login_required
def me() -> Any:
    s = g.iam.session
    return {"id": s.identity.id, "tenant": s.tenant}


@app.get("/maybe")
def maybe() -> Any:
    s = g.iam.user  # None when anonymous; an outage is still a 503
    return {"id": s.identity.id if s else None}


@app.get("/documents/<id>")
@require_permission("documents", "view", object=lambda r: r.view_args["id"])
def document(id: str) -> Any:
    return {"document": id, "reader": g.iam.session.identity.id}


@app.get("/admin")
@require_role("admin")
def admin() -> Any:
    return {"id": g.iam.session.identity.id}


@app.get("/service")
@require_scope("read")
def service() -> Any:
    return {"client_id": g.iam_principal.client_id}


@app.post("/logout")
@login_required
def logout() -> Any:
    token = request.headers.get("authorization", "")[len("bearer "):]
    flows().perform_native_logout(token)
    return "", 204


@app.errorhandler(KeyError)
def bad_request(_: KeyError) -> Any:
    return {"error": "bad request"}, 400
