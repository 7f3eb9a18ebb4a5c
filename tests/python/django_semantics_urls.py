"""URLs of test_django.py's issue-23 tests (permission semantics, machine principals, roles,
health) over ory_iam.django and its DRF classes; installed with override_settings(ROOT_URLCONF=...)."""

from __future__ import annotations

from typing import Optional

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.urls import path
from django.views import View
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

import ory_iam
from ory_iam.django import IamDjango, IamPermissionRequiredMixin, get_iam, health_view, login_required, require_permission, require_role

NS = "documents"
nest = IamDjango("customer", subject=lambda i: f"user:{i}", machine_subject=lambda c: f"client:{c}")


def keto_subject(identity_id: str) -> str:
    """settings.ORY_IAM_SUBJECT by dotted path in the tests."""
    return f"user:{identity_id}"


def doc(r: HttpRequest) -> str:
    return str(r.resolver_match.kwargs["id"])  # type: ignore[union-attr]


def query_doc_of(r: HttpRequest) -> Optional[str]:
    return r.GET.get("doc")


@require_permission(NS, "view", object=doc)
@require_permission(NS, "edit", object=doc)
def both(request: HttpRequest, id: str) -> HttpResponse:
    return JsonResponse({"ok": id})


@require_permission(NS, "view", object=doc)
def view(request: HttpRequest, id: str) -> HttpResponse:
    return JsonResponse({"id": request.iam.session.identity.id})  # type: ignore[attr-defined]


@nest.require_permission(NS, "view", object=doc)
def nest_view(request: HttpRequest, id: str) -> HttpResponse:
    return JsonResponse({"id": request.iam.session.identity.id})  # type: ignore[attr-defined]


@require_permission(NS, "view", object=doc, principal="machine")
def machine_view(request: HttpRequest, id: str) -> HttpResponse:
    return JsonResponse({"client_id": request.iam_principal.client_id})  # type: ignore[attr-defined]


@nest.require_permission(NS, "view", object=doc, principal="machine")
def nest_machine_view(request: HttpRequest, id: str) -> HttpResponse:
    return JsonResponse({"client_id": request.iam_principal.client_id})  # type: ignore[attr-defined]


@require_permission(NS, "view", object=query_doc_of)
def query_doc(request: HttpRequest) -> HttpResponse:
    return JsonResponse({})


@require_role("admin", principal="machine")
def machine_admin(request: HttpRequest) -> HttpResponse:
    return JsonResponse({"client_id": request.iam_principal.client_id})  # type: ignore[attr-defined]


@require_role("admin")
def admin(request: HttpRequest) -> HttpResponse:
    return JsonResponse({})


@login_required
def work(request: HttpRequest, id: str) -> HttpResponse:
    """Ory calls made in the view itself (not only the guard's whoami)."""
    s = request.iam.session  # type: ignore[attr-defined]
    get_iam().identity.get(s.identity.id)
    allowed = get_iam().permission.check({"namespace": NS, "object": id, "relation": "view", "subject": s.identity.id}, fresh=True)
    return JsonResponse({"allowed": allowed, "rid": ory_iam.current_request_id()})


class CbvBoth(IamPermissionRequiredMixin, View):
    iam_permission = [(NS, "view"), (NS, "edit")]
    iam_object_kwarg = "id"

    def get(self, request: HttpRequest, id: str) -> HttpResponse:
        return JsonResponse({"ok": id})


class ApiBoth(APIView):
    iam_permission = [(NS, "view"), (NS, "edit")]
    iam_object_kwarg = "id"

    def get(self, request: Request, id: str) -> Response:
        return Response({"ok": id})


class ApiQuery(APIView):
    iam_permission = (NS, "view")

    def get_iam_object(self, request: Request) -> Optional[str]:
        return request.query_params.get("doc")

    def get(self, request: Request) -> Response:
        return Response({})


class ApiMachine(APIView):
    iam_scopes: list[str] = []
    iam_permission = (NS, "view")
    iam_object_kwarg = "id"

    def get(self, request: Request, id: str) -> Response:
        return Response({"client_id": request.user.id})


class ApiMachineAdmin(APIView):
    iam_scopes: list[str] = []
    iam_roles = ["admin"]

    def get(self, request: Request) -> Response:
        return Response({"client_id": request.user.id})


urlpatterns = [
    path("both/<str:id>", both),
    path("view/<str:id>", view),
    path("nest/view/<str:id>", nest_view),
    path("machine/view/<str:id>", machine_view),
    path("nest/machine/view/<str:id>", nest_machine_view),
    path("query-doc", query_doc),
    path("machine/admin", machine_admin),
    path("admin", admin),
    path("cbv/both/<str:id>", CbvBoth.as_view()),
    path("api/both/<str:id>", ApiBoth.as_view()),
    path("api/query-doc", ApiQuery.as_view()),
    path("api/machine/view/<str:id>", ApiMachine.as_view()),
    path("api/machine/admin", ApiMachineAdmin.as_view()),
    path("health", health_view),
    path("work/<str:id>", work),
]
