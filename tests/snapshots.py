"""Every row of some tables, to prove that a refused action changed nothing."""


def snapshot(*models) -> list:
    """All rows of ``models`` as dicts, in primary-key order: equal before and after means untouched."""
    return [list(model.objects.order_by("pk").values()) for model in models]
