"""URLs of the agent desktop. Case and customer ids are database ids; queues go by code."""

from django.urls import path

from casework.web import urls_contracts, urls_knowledge, urls_offers, urls_retention
from casework.web.views import (
    auth,
    cases,
    contacts,
    customers,
    process,
    search,
    supervisor,
    work,
)

app_name = "web"

urlpatterns = [
    path("", work.my_work, name="my_work"),
    path("login/", auth.login, name="login"),
    path("logout/", auth.logout, name="logout"),
    path("next/", work.next_task, name="next_task"),
    path("queues/", work.queue_list, name="queues"),
    path("queues/<slug:code>/", work.queue_detail, name="queue"),
    path("cases/<int:case_id>/", cases.case_detail, name="case"),
    path("cases/<int:case_id>/notes/", cases.case_note, name="case_note"),
    path("cases/<int:case_id>/status/", cases.case_status, name="case_status"),
    path("cases/<int:case_id>/priority/", cases.case_priority, name="case_priority"),
    path("cases/<int:case_id>/owner/", cases.case_assign, name="case_assign"),
    path("cases/<int:case_id>/service-type/", cases.case_service_type, name="case_service_type"),
    path(
        "cases/<int:case_id>/classification/<slug:task>/",
        cases.case_classification,
        name="case_classification",
    ),
    path("cases/<int:case_id>/resolution/", cases.case_resolve, name="case_resolve"),
    path("cases/<int:case_id>/email-reply/", cases.case_email_reply, name="case_email_reply"),
    path("cases/<int:case_id>/forward/", cases.case_forward, name="case_forward"),
    path("cases/<int:case_id>/action/", process.case_action, name="case_action"),
    path(
        "cases/<int:case_id>/tasks/<int:task_id>/",
        process.task_complete,
        name="task_complete",
    ),
    path("cases/<int:case_id>/merge/", cases.case_merge, name="case_merge"),
    path("cases/<int:case_id>/customer/", cases.case_link_customer, name="case_link_customer"),
    path(
        "cases/<int:case_id>/contacts/<int:contact_id>/html/",
        contacts.contact_html,
        name="contact_html",
    ),
    path(
        "cases/<int:case_id>/contacts/<int:contact_id>/headers/",
        contacts.contact_headers,
        name="contact_headers",
    ),
    path(
        "cases/<int:case_id>/contacts/<int:contact_id>/original/",
        contacts.contact_original,
        name="contact_original",
    ),
    path(
        "cases/<int:case_id>/contacts/<int:contact_id>/split/",
        contacts.contact_split,
        name="contact_split",
    ),
    path("attachments/<int:attachment_id>/", contacts.attachment_download, name="attachment"),
    path("customers/<int:customer_id>/", customers.customer_detail, name="customer"),
    path(
        "customers/<int:customer_id>/timeline/",
        customers.customer_timeline,
        name="customer_timeline",
    ),
    path("customers/<int:customer_id>/merge/", customers.merge_search, name="merge_search"),
    path(
        "customers/<int:customer_id>/merge/<int:duplicate_id>/",
        customers.merge_confirm,
        name="merge_confirm",
    ),
    path("merges/<int:merge_id>/undo/", customers.merge_undo, name="merge_undo"),
    path("duplicates/", search.duplicates, name="duplicates"),
    path("search/", search.search, name="search"),
    path("figures/", supervisor.wallboard, name="wallboard"),
    path("figures/reports/", supervisor.reports, name="reports"),
    path("figures/reports/cases/", supervisor.report_cases, name="report_cases"),
    path("figures/journeys/", supervisor.journey_analytics, name="journeys"),
    path("figures/workforce/", supervisor.workforce, name="workforce"),
]

# Features with their own URL modules, in the same "web" namespace.
urlpatterns += urls_offers.urlpatterns + urls_retention.urlpatterns + urls_knowledge.urlpatterns
urlpatterns += urls_contracts.urlpatterns
