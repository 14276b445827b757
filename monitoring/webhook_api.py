"""REST endpoints of a repository's webhooks (docs/api.md, docs/webhooks.md): list and create,
read, change, delete, a test ping, the delivery log and redelivery. Maintainers only (an
outsider gets 404, a lower role 403). Each view parses, calls ``monitoring.webhook_actions``
(as the settings page does) and serializes."""

from __future__ import annotations

from django.urls import path
from drf_spectacular.utils import extend_schema
from rest_framework import status
from rest_framework.response import Response
from rest_framework.views import APIView

from api.pagination import DefaultCursorPagination
from monitoring import webhook_actions as actions
from monitoring.serializers import WebhookDeliverySerializer, WebhookSerializer


def _valid(request, partial=False) -> dict:
    serializer = WebhookSerializer(data=request.data, partial=partial)
    serializer.is_valid(raise_exception=True)
    return serializer.validated_data


class WebhookList(APIView):
    @extend_schema(operation_id="webhooks_list", responses=WebhookSerializer(many=True))
    def get(self, request, slug):
        """The repository's webhooks (maintainers)."""
        _, hooks = actions.repository_hooks(request.user, slug)
        return Response(WebhookSerializer(hooks, many=True).data)

    @extend_schema(operation_id="webhooks_create", request=WebhookSerializer, responses={201: WebhookSerializer})
    def post(self, request, slug):
        """A new webhook; its URL is checked by the SSRF guard (400 ``webhook_url_refused``)."""
        repo, _ = actions.repository_hooks(request.user, slug)
        hook = actions.create_hook(request.user, repo, **_valid(request))
        return Response(WebhookSerializer(hook).data, status=status.HTTP_201_CREATED)


class WebhookDetail(APIView):
    @extend_schema(operation_id="webhooks_retrieve", responses=WebhookSerializer)
    def get(self, request, slug, hook_id):
        return Response(WebhookSerializer(actions.get_hook(request.user, slug, hook_id)).data)

    @extend_schema(operation_id="webhooks_partial_update", request=WebhookSerializer, responses=WebhookSerializer)
    def patch(self, request, slug, hook_id):
        """Change the URL, events, format, secret (write-only) or turn it on or off."""
        hook = actions.get_hook(request.user, slug, hook_id)
        return Response(WebhookSerializer(actions.update_hook(request.user, hook, **_valid(request, True))).data)

    @extend_schema(operation_id="webhooks_destroy", responses={204: None})
    def delete(self, request, slug, hook_id):
        actions.delete_hook(request.user, actions.get_hook(request.user, slug, hook_id))
        return Response(status=status.HTTP_204_NO_CONTENT)


class WebhookPing(APIView):
    @extend_schema(operation_id="webhooks_ping", request=None, responses={202: WebhookDeliverySerializer})
    def post(self, request, slug, hook_id):
        """Queue a ``ping`` delivery (sent by the worker; its outcome is in the delivery log)."""
        delivery = actions.ping(request.user, actions.get_hook(request.user, slug, hook_id))
        return Response(WebhookDeliverySerializer(delivery).data, status=status.HTTP_202_ACCEPTED)


class DeliveryList(APIView):
    pagination_class = DefaultCursorPagination

    @extend_schema(operation_id="webhook_deliveries_list", responses=WebhookDeliverySerializer(many=True))
    def get(self, request, slug, hook_id):
        """The hook's deliveries, newest first, each with its tries (the log)."""
        hook = actions.get_hook(request.user, slug, hook_id)
        paginator = self.pagination_class()
        page = paginator.paginate_queryset(actions.deliveries(hook), request, view=self)
        return paginator.get_paginated_response(WebhookDeliverySerializer(page, many=True).data)


class DeliveryDetail(APIView):
    @extend_schema(operation_id="webhook_deliveries_retrieve", responses=WebhookDeliverySerializer)
    def get(self, request, slug, hook_id, delivery_id):
        hook = actions.get_hook(request.user, slug, hook_id)
        return Response(WebhookDeliverySerializer(actions.get_delivery(hook, delivery_id)).data)


class Redeliver(APIView):
    @extend_schema(operation_id="webhook_deliveries_redeliver", request=None,
                   responses={202: WebhookDeliverySerializer})
    def post(self, request, slug, hook_id, delivery_id):
        """Send the delivery again: the same body and delivery id, a new set of tries."""
        hook = actions.get_hook(request.user, slug, hook_id)
        delivery = actions.redeliver(request.user, hook, delivery_id)
        return Response(WebhookDeliverySerializer(actions.get_delivery(hook, delivery.pk)).data,
                        status=status.HTTP_202_ACCEPTED)


class SiteWebhookList(APIView):
    @extend_schema(operation_id="site_webhooks_list", responses=WebhookSerializer(many=True))
    def get(self, request):
        """The site-wide webhooks: every repository's events (superusers; 404 for others)."""
        return Response(WebhookSerializer(actions.site_hooks(request.user), many=True).data)

    @extend_schema(operation_id="site_webhooks_create", request=WebhookSerializer, responses={201: WebhookSerializer})
    def post(self, request):
        actions.site_hooks(request.user)
        hook = actions.create_hook(request.user, None, **_valid(request))
        return Response(WebhookSerializer(hook).data, status=status.HTTP_201_CREATED)


class SiteWebhookDetail(APIView):
    @extend_schema(operation_id="site_webhooks_retrieve", responses=WebhookSerializer)
    def get(self, request, hook_id):
        return Response(WebhookSerializer(actions.get_site_hook(request.user, hook_id)).data)

    @extend_schema(operation_id="site_webhooks_partial_update", request=WebhookSerializer,
                   responses=WebhookSerializer)
    def patch(self, request, hook_id):
        hook = actions.get_site_hook(request.user, hook_id)
        return Response(WebhookSerializer(actions.update_hook(request.user, hook, **_valid(request, True))).data)

    @extend_schema(operation_id="site_webhooks_destroy", responses={204: None})
    def delete(self, request, hook_id):
        actions.delete_hook(request.user, actions.get_site_hook(request.user, hook_id))
        return Response(status=status.HTTP_204_NO_CONTENT)


HOOK = "repositories/<slug:slug>/webhooks/<int:hook_id>/"

urlpatterns = [
    path("webhooks/", SiteWebhookList.as_view(), name="site_webhooks"),
    path("webhooks/<int:hook_id>/", SiteWebhookDetail.as_view(), name="site_webhook"),
    path("repositories/<slug:slug>/webhooks/", WebhookList.as_view(), name="webhooks"),
    path(HOOK, WebhookDetail.as_view(), name="webhook"),
    path(HOOK + "ping/", WebhookPing.as_view(), name="webhook_ping"),
    path(HOOK + "deliveries/", DeliveryList.as_view(), name="webhook_deliveries"),
    path(HOOK + "deliveries/<int:delivery_id>/", DeliveryDetail.as_view(), name="webhook_delivery"),
    path(HOOK + "deliveries/<int:delivery_id>/redeliver/", Redeliver.as_view(), name="webhook_redeliver"),
]
