from django.contrib import admin


class DefaultedListFilter(admin.SimpleListFilter):
    """A list filter whose "no choice" means a default choice (not "All"), shown as selected."""

    def default_value(self) -> str:
        raise NotImplementedError

    def choices(self, changelist):
        current = self.value() or self.default_value()
        for value, label in self.lookup_choices:
            yield {
                "selected": current == value,
                "query_string": changelist.get_query_string({self.parameter_name: value}),
                "display": label,
            }
