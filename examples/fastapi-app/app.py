"""A FastAPI app that uses ory-iam as a backend-for-frontend (BFF) for Kratos.

The browser only ever talks to this app. The app runs Kratos's self-service *browser* flows
(registration, login, logout) through ``iam.flow``, renders the forms itself and relays the
cookies Kratos sets (CSRF cookie, session cookie) to the browser. Pages are protected with the
``ory_iam.fastapi`` dependencies: a session for ``/protected``, a Keto permission
(``documents:<id>#edit``) for ``POST /documents/<id>/edit``.

Configuration (see README.md): ``ORY_IAM_STACK`` = path of the local stack's ``stack.json``
(its ``iam_config`` is used), otherwise the usual ``ORY_IAM_CONFIG_FILE`` /
``ORY_IAM__...`` environment (``Iam.from_env()``). ``EXAMPLE_TENANT`` picks the tenant
(default: the config's default tenant).
"""

import html
import json
import os
import pathlib
import urllib.parse
from typing import Any, Optional, Union

from fastapi import Depends, FastAPI, Request
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response

import ory_iam
from ory_iam import Flow, FlowResult, IamError, Secret, Session
from ory_iam.fastapi import IamAuth, IamHTTPException


def load_iam() -> ory_iam.Iam:
    stack = os.environ.get("ORY_IAM_STACK")
    if stack:
        return ory_iam.Iam.from_config(json.loads(pathlib.Path(stack).read_text())["iam_config"])
    return ory_iam.Iam.from_env()


iam = load_iam()
auth = IamAuth(iam, tenant=os.environ.get("EXAMPLE_TENANT") or None)
flows = iam.flow.for_tenant(auth.tenant)
app = FastAPI(title="ory-iam FastAPI example")
auth.install(app)  # IamError escaping a route → JSON 401/403/404/409/400/503


# --- pages -------------------------------------------------------------------------------------

STYLE = "body{font-family:sans-serif;max-width:40em;margin:2em auto}label{display:block;margin:.5em 0}.error{color:#b00}"


def page(title: str, body: str, status: int = 200, set_cookie: Optional[list[Secret]] = None) -> Response:
    doc = f"<!doctype html><html><head><meta charset=utf-8><title>{html.escape(title)}</title><style>{STYLE}</style></head><body><h1>{html.escape(title)}</h1>{body}</body></html>"
    return relay(HTMLResponse(doc, status_code=status), set_cookie)


def relay(resp: Response, set_cookie: Optional[list[Secret]]) -> Response:
    """Hand Kratos's cookies to the browser: that is what keeps the flow's CSRF cookie and,
    after login, the session cookie, on the browser's side."""
    for c in set_cookie or []:
        resp.headers.append("set-cookie", c.expose())
    return resp


def redirect(to: str, set_cookie: Optional[list[Secret]] = None) -> Response:
    return relay(RedirectResponse(to, status_code=303), set_cookie)


def e(v: Any) -> str:
    return html.escape(str(v), quote=True)


# Kratos also offers "code", "link" and passkey methods; this example renders the password form.
SHOWN_GROUPS = {"default", "password"}
# The stack's test schema has a `roles` trait; roles are never self-service (see ory_iam.fastapi).
HIDDEN_FIELDS = {"traits.roles"}


def render_flow(flow: Flow, action: str) -> str:
    msgs = "".join(f'<p class="{e(m.type)}" data-testid="flow-message">{e(m.text)}</p>' for m in flow.ui.messages)
    # The library hands the CSRF token over as `flow.csrf_token`; the form carries it back.
    fields = [f'<input type="hidden" name="csrf_token" value="{e(flow.csrf_token or "")}">']
    for n in flow.ui.nodes:
        if n.node_type != "input" or n.group not in SHOWN_GROUPS or n.attributes.get("name") in HIDDEN_FIELDS:
            continue
        a = n.attributes
        name, typ = a.get("name", ""), a.get("type", "text")
        node_msgs = "".join(f'<span class="{e(m.type)}" data-testid="flow-message">{e(m.text)}</span>' for m in n.messages)
        if typ == "hidden":
            fields.append(f'<input type="hidden" name="{e(name)}" value="{e(a.get("value", ""))}">')
        elif typ in ("submit", "button"):
            label = n.label.text if n.label else "Submit"
            fields.append(f'<button type="submit" name="{e(name)}" value="{e(a.get("value", ""))}">{e(label)}</button>')
        else:
            label = n.label.text if n.label else name
            value = a.get("value")
            value_attr = f' value="{e(value)}"' if isinstance(value, str) and typ != "password" else ""
            required = " required" if a.get("required") else ""
            autocomplete = f' autocomplete="{e(a["autocomplete"])}"' if a.get("autocomplete") else ""
            fields.append(
                f'<label>{e(label)} <input type="{e(typ)}" name="{e(name)}"{value_attr}{required}{autocomplete}></label>{node_msgs}'
            )
    return f'{msgs}<form method="post" action="{e(action)}">{"".join(fields)}</form>'


async def form_body(request: Request) -> dict[str, str]:
    # application/x-www-form-urlencoded, parsed by hand: no python-multipart needed.
    raw = (await request.body()).decode()
    return {k: v[-1] for k, v in urllib.parse.parse_qs(raw, keep_blank_values=True).items()}


def unflatten(form: dict[str, str]) -> dict[str, Any]:
    """``traits.name.first=Ada`` → ``{"traits": {"name": {"first": "Ada"}}}``; empty optional
    fields are left out (Kratos would validate ``""`` against the schema)."""
    out: dict[str, Any] = {}
    for key, value in form.items():
        if key == "csrf_token" or value == "":
            continue
        node = out
        *parents, leaf = key.split(".")
        for p in parents:
            node = node.setdefault(p, {})
        node[leaf] = value
    return out


def cookie_of(request: Request) -> Optional[str]:
    return request.headers.get("cookie")


# --- errors: a BFF answers browsers with pages, not JSON ----------------------------------------


@app.exception_handler(IamHTTPException)
async def on_auth_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, IamHTTPException)
    if "text/html" not in request.headers.get("accept", ""):
        return JSONResponse(exc.body, status_code=exc.status_code, headers=exc.headers)
    if exc.status_code == 401:
        return redirect("/login")
    if exc.status_code == 403:
        return page("Forbidden", '<p data-testid="denied">You may not do that.</p><p><a href="/protected">Back</a></p>', 403)
    resp = page("Try again later", "<p>The identity service is unavailable.</p>", exc.status_code)
    for k, v in (exc.headers or {}).items():
        resp.headers[k] = v
    return resp


# --- routes ------------------------------------------------------------------------------------


@app.get("/", response_class=HTMLResponse)
async def home(user: Optional[Session] = Depends(auth.optional_user)) -> Response:
    if user is None:
        return page("Welcome", '<p><a href="/login">Log in</a> or <a href="/registration">sign up</a>.</p>')
    return page("Welcome back", '<p><a href="/protected">Your page</a> · <a href="/logout">Log out</a></p>')


async def start_or_resume(kind: str, request: Request, flow_id: Optional[str]) -> Union[Flow, Response]:
    if await auth.optional_user(request) is not None:
        return redirect("/protected")
    cookie = cookie_of(request)
    if flow_id:
        try:
            return await flows.fetch_flow(kind, flow_id, cookie=cookie)
        except IamError:
            pass  # expired or unknown: start a new one
    return await flows.initiate(kind, kind="browser", cookie=cookie)


@app.get("/registration", response_class=HTMLResponse)
async def registration(request: Request, flow: Optional[str] = None) -> Response:
    f = await start_or_resume("registration", request, flow)
    if isinstance(f, Response):
        return f
    return page("Sign up", render_flow(f, f"/registration?flow={f.id}") + '<p>Have an account? <a href="/login">Log in</a></p>', set_cookie=f.set_cookie)


@app.get("/login", response_class=HTMLResponse)
async def login(request: Request, flow: Optional[str] = None) -> Response:
    f = await start_or_resume("login", request, flow)
    if isinstance(f, Response):
        return f
    return page("Log in", render_flow(f, f"/login?flow={f.id}") + '<p>New here? <a href="/registration">Sign up</a></p>', set_cookie=f.set_cookie)


async def submit(kind: str, title: str, request: Request, flow: str) -> Response:
    form = await form_body(request)
    try:
        res: FlowResult = await flows.submit(kind, flow, unflatten(form), cookie=cookie_of(request), csrf_token=form.get("csrf_token"))
    except (ory_iam.IamValidationError, ory_iam.IamNotFoundError, ory_iam.IamForbiddenError):
        # An expired or unknown flow, or a CSRF mismatch (stale cookie): start over.
        return redirect(f"/{kind}")
    if res.kind == "success":
        return redirect("/protected", res.set_cookie)
    if res.kind == "redirect" and res.redirect_browser_to:
        return redirect(f"/{kind}", res.set_cookie)
    assert res.flow is not None
    return page(title, render_flow(res.flow, f"/{kind}?flow={res.flow.id}"), status=400, set_cookie=res.set_cookie)


@app.post("/registration")
async def registration_submit(request: Request, flow: str) -> Response:
    return await submit("registration", "Sign up", request, flow)


@app.post("/login")
async def login_submit(request: Request, flow: str) -> Response:
    return await submit("login", "Log in", request, flow)


@app.get("/protected", response_class=HTMLResponse)
async def protected(user: Session = Depends(auth.current_user)) -> Response:
    email = (user.identity.traits or {}).get("email", "")
    return page(
        "Your page",
        f'<p>Signed in as <span data-testid="email">{e(email)}</span></p>'
        f'<p>Identity id: <code data-testid="identity-id">{e(user.identity.id)}</code></p>'
        '<p><a href="/documents/handbook">The handbook</a> · <a href="/logout">Log out</a></p>',
    )


@app.get("/documents/{id}", response_class=HTMLResponse)
async def document(id: str, user: Session = Depends(auth.current_user)) -> Response:
    return page(
        f"Document {id}",
        f'<form method="post" action="/documents/{e(id)}/edit"><button type="submit" data-testid="edit">Edit</button></form>',
    )


def path_id(request: Request) -> str:
    return str(request.path_params["id"])


@app.post("/documents/{id}/edit", response_class=HTMLResponse)
async def edit_document(id: str, user: Session = Depends(auth.require_permission("documents", "edit", object=path_id))) -> Response:
    # Keto said yes for documents:<id>#edit@<identity id>; Keto down is a 503, never a yes.
    return page(f"Document {id}", f'<p data-testid="edited">Edited {e(id)}.</p><p><a href="/protected">Back</a></p>')


@app.get("/logout", response_class=HTMLResponse)
async def logout(request: Request, user: Session = Depends(auth.current_user)) -> Response:
    # Kratos binds the logout token to this session: a forged cross-site POST cannot end it.
    lo = await flows.initiate_browser_logout(cookie_of(request) or "")
    return page(
        "Log out",
        f'<form method="post" action="/logout"><input type="hidden" name="logout_token" value="{e(lo.logout_token.expose())}">'
        '<button type="submit" data-testid="logout">Log out</button></form>',
    )


@app.post("/logout")
async def logout_submit(request: Request) -> Response:
    form = await form_body(request)
    cleared = await flows.submit_browser_logout(form.get("logout_token", ""), cookie_of(request))
    return redirect("/", cleared)


@app.get("/healthz")
async def healthz() -> dict[str, bool]:
    return {"ok": True}
