"""A small Django + Django REST framework API over ory-iam's blocking API and ``ory_iam.django``,
in one file (settings, views, URLs and the WSGI application).

Native (API) clients: ``POST /register`` runs Kratos's native registration flow and returns the
session token; every other route takes it as ``Authorization: Bearer <token>`` (or the Kratos
session cookie, per the tenant's transport).

Routes (function views with the decorators): ``/me``, ``/maybe``, ``/documents/<id>`` (Keto
``documents:<id>#view`` for the caller), ``/admin`` (role ``admin``), ``POST /logout``. The same
checks as DRF views: ``/api/me``, ``/api/documents/<id>``; as a class-based view:
``/cbv/documents/<pk>``.

Configuration: ``ORY_IAM_STACK`` = path of the local stack's ``stack.json`` (its ``iam_config``),
else the usual ``ORY_IAM_CONFIG_FILE`` / ``ORY_IAM__...`` environment. Serve with e.g.
``gunicorn --preload -w 2 app`` (see README.md), or ``python app.py runserver``.
"""

import json
import os
import pathlib
import sys
from typing import Any

import django
from django.conf import settings

settings.configure(
    DEBUG=False,
    ALLOWED_HOSTS=["*"],
    SECRET_KEY="example-only-not-secret",
    ROOT_URLCONF=__name__,
    INSTALLED_APPS=["rest_framework"],
    MIDDLEWARE=["ory_iam.django.IamMiddleware"],
    # The config of docs/config.md; None: from ORY_IAM_CONFIG_FILE / ORY_IAM__* variables.
    ORY_IAM=json.loads(pathlib.Path(os.environ["ORY_IAM_STACK"]).read_text())["iam_config"] if os.environ.get("ORY_IAM_STACK") else None,
    ORY_IAM_TENANT=os.environ.get("EXAMPLE_TENANT") or None,
    REST_FRAMEWORK={
        "DEFAULT_AUTHENTICATION_CLASSES": ["ory_iam.django.IamSessionAuthentication", "ory_iam.django.IamTokenAuthentication"],
        "DEFAULT_PERMISSION_CLASSES": ["ory_iam.django.IamPermission"],
        "UNAUTHENTICATED_USER": None,
    },
)
django.setup()

from django.http import HttpRequest, HttpResponse, JsonResponse  # noqa: E402
from django.urls import path  # noqa: E402
from django.views import View  # noqa: E402
from django.views.decorators.csrf import csrf_exempt  # noqa: E402
from django.views.decorators.http import require_POST  # noqa: E402
from rest_framework.request import Request  # noqa: E402
from rest_framework.response import Response  # noqa: E402
from rest_framework.views import APIView  # noqa: E402

from ory_iam.django import IamLoginRequiredMixin, IamPermissionRequiredMixin, get_iam, login_required, require_permission, require_role  # noqa: E402


def flows() -> Any:
    return get_iam().flow.for_tenant(settings.ORY_IAM_TENANT or get_iam().default_tenant)


@csrf_exempt
@require_POST
def register(request: HttpRequest) -> HttpResponse:
    body = json.loads(request.body)
    flow = flows().initiate_registration()
    res = flows().submit_registration(flow.id, {"method": "password", "password": body["password"], "traits": {"email": body["email"]}})
    if res.kind != "success" or res.session_token is None or res.identity is None:
        return JsonResponse({"error": "registration failed"}, status=400)
    return JsonResponse({"id": res.identity.id, "token": res.session_token.expose()})


@login_required
def me(request: HttpRequest) -> HttpResponse:
    s = request.iam.session  # type: ignore[attr-defined]
    return JsonResponse({"id": s.identity.id, "tenant": s.tenant})


def maybe(request: HttpRequest) -> HttpResponse:
    s = request.iam.user  # type: ignore[attr-defined]  # None when anonymous; an outage is a 503
    return JsonResponse({"id": s.identity.id if s else None})


@require_permission("documents", "view", object=lambda r: r.resolver_match.kwargs["id"])
def document(request: HttpRequest, id: str) -> HttpResponse:
    return JsonResponse({"document": id, "reader": request.iam.session.identity.id})  # type: ignore[attr-defined]


@require_role("admin")
def admin(request: HttpRequest) -> HttpResponse:
    return JsonResponse({"id": request.iam.session.identity.id})  # type: ignore[attr-defined]


@csrf_exempt
@require_POST
@login_required
def logout(request: HttpRequest) -> HttpResponse:
    flows().perform_native_logout(request.headers["authorization"][len("bearer "):])
    return HttpResponse(status=204)


class ApiMe(APIView):
    def get(self, request: Request) -> Response:
        return Response({"id": request.user.id, "tenant": request.auth.tenant})


class ApiDocument(APIView):
    iam_permission = ("documents", "view")
    iam_object_kwarg = "id"

    def get(self, request: Request, id: str) -> Response:
        return Response({"document": id, "reader": request.user.id})


class CbvDocument(IamLoginRequiredMixin, IamPermissionRequiredMixin, View):
    iam_permission = ("documents", "view")

    def get(self, request: HttpRequest, pk: str) -> HttpResponse:
        return JsonResponse({"document": pk, "reader": request.iam.session.identity.id})  # type: ignore[attr-defined]


urlpatterns = [
    path("register", register),
    path("me", me),
    path("maybe", maybe),
    path("documents/<str:id>", document),
    path("admin", admin),
    path("logout", logout),
    path("api/me", ApiMe.as_view()),
    path("api/documents/<str:id>", ApiDocument.as_view()),
    path("cbv/documents/<str:pk>", CbvDocument.as_view()),
]

from django.core.wsgi import get_wsgi_application  # noqa: E402

application = get_wsgi_application()

if __name__ == "__main__":
    from django.core.management import execute_from_command_line

    execute_from_command_line(sys.argv)
