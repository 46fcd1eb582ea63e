"""Every event code, registered once. Codes are stable: never reuse or rename one."""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _

EVENT_TYPES = {
    "customer.created": _("customer created"),
    "customer.updated": _("customer updated"),
    "customer.identifier_added": _("identifier added"),
    "customer.merged": _("customers merged"),
    "customer.merge_undone": _("merge undone"),
    "customer.viewed": _("customer record viewed"),
    "contract.created": _("contract created"),
    "contract.updated": _("contract updated"),
    "payment_method.added": _("payment method added"),
    "case.opened": _("case opened"),
    "case.updated": _("case updated"),
    "case.assigned": _("case assigned"),
    "case.resolved": _("case resolved"),
    "case.reopened": _("case reopened"),
    "case.note_added": _("note added"),
    "case.customer_linked": _("case linked to its customer"),
    "case.merged": _("case merged into another"),
    "case.split": _("contact split off into a new case"),
    "case.forwarded": _("case forwarded"),
    "case.process_started": _("process started"),
    "case.stage_changed": _("stage changed"),
    "case.step_completed": _("step completed"),
    "case.step_skipped": _("step skipped"),
    "case.decision_taken": _("decision taken"),
    "case.decision_failed": _("no decision possible"),
    "case.data_changed": _("case data changed"),
    "case.waiting": _("process waiting"),
    "case.resumed": _("process resumed"),
    "case.subcase_opened": _("sub-case opened"),
    "case.integration_called": _("other system called"),
    "case.exception_raised": _("exception raised"),
    "case.exception_resolved": _("exception decided"),
    "case.action_taken": _("action taken"),
    "case.process_completed": _("process completed"),
    "case.process_migrated": _("process moved to a new version"),
    "casetype.published": _("case type published"),
    "sla.started": _("service level clock started"),
    "sla.paused": _("service level clock paused"),
    "sla.resumed": _("service level clock resumed"),
    "sla.warning": _("service level at risk"),
    "sla.breached": _("service level breached"),
    "sla.met": _("service level met"),
    "sla.supervisor_notified": _("supervisor notified"),
    "notification.sent": _("notification sent"),
    "notification.skipped": _("notification not possible"),
    "task.created": _("task created"),
    "task.assigned": _("task assigned"),
    "task.completed": _("task completed"),
    "task.cancelled": _("task cancelled"),
    "interaction.recorded": _("interaction recorded"),
    "email.reprocessed": _("quarantined e-mail processed again"),
    "webhook.subscribed": _("webhook subscribed"),
    "classifier.version_trained": _("classifier model trained"),
    "classifier.version_activated": _("classifier model activated"),
    "classifier.correction_recorded": _("classification corrected"),
    "intake.message_failed": _("inbound message could not be processed"),
    "presence.changed": _("presence changed"),
    "work_item.queued": _("work item queued"),
    "work_item.offered": _("work item offered to an agent"),
    "work_item.accepted": _("work item accepted"),
    "work_item.declined": _("work item declined"),
    "work_item.offer_expired": _("offer expired"),
    "work_item.completed": _("work item completed"),
    "work_item.withdrawn": _("work item withdrawn"),
    "work_item.wrapped_up": _("after-call work ended"),
}


class UnknownEventCode(ValueError):
    pass


def label(code: str) -> str:
    return str(EVENT_TYPES.get(code, code))
