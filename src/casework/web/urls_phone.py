"""The phone bar of the agent desktop (namespace "phone")."""

from django.urls import path

from casework.web.views import phone

urlpatterns = [
    path("bar/", phone.bar, name="bar"),
    path("presence/", phone.presence, name="presence"),
    path("offers/<int:item_id>/accept/", phone.accept, name="accept"),
    path("offers/<int:item_id>/decline/", phone.decline, name="decline"),
    path("calls/<int:call_id>/case/", phone.link_case, name="link_case"),
    path("calls/<int:call_id>/new-case/", phone.new_case, name="new_case"),
    path("calls/<int:call_id>/caller/", phone.register_caller, name="register_caller"),
    path("calls/<int:call_id>/wrap-up/", phone.wrap_up, name="wrap_up"),
]
