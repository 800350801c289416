from django.apps import AppConfig


class CustomersConfig(AppConfig):
    name = "customers"
    verbose_name = "Customers"

    def ready(self) -> None:
        from customers.selectors import workstream_case_rule_fields
        from customers.services import CaseWork
        from routing.models import WorkItem
        from routing.rule_fields import register_rule_field_source
        from routing.subjects import register_work_subject

        # The rule editor offers a case's fields on the workstreams that route cases.
        register_rule_field_source(workstream_case_rule_fields)
        # Routing tells the case's owner of an assignment (issue 11: routing knows work items).
        register_work_subject(WorkItem.Kind.CASE, CaseWork())
