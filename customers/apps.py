from django.apps import AppConfig


class CustomersConfig(AppConfig):
    name = "customers"
    verbose_name = "Customers"

    def ready(self) -> None:
        from customers.selectors import workstream_case_rule_fields
        from routing.rule_fields import register_rule_field_source

        # The rule editor offers a case's fields on the workstreams that route cases.
        register_rule_field_source(workstream_case_rule_fields)
