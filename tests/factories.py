"""factory_boy factories shared by every test package. Add to them; keep them minimal."""

import datetime as dt

import factory
from django.contrib.auth import get_user_model

from agents.models import Agent, BusinessHours, Team
from chat.models import Conversation, Customer, Message
from knowledge.models import Article


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = get_user_model()
        django_get_or_create = ("username",)
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"user{n}")
    first_name = factory.Faker("first_name")
    password = factory.django.Password("a-long-test-password")


class TeamFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Team
        django_get_or_create = ("slug",)

    name = factory.Sequence(lambda n: f"Team {n}")
    slug = factory.Sequence(lambda n: f"team-{n}")


def team_open_all_week(team: Team) -> Team:
    """Give `team` business hours around the clock, so a test does not depend on when it runs. One save
    per day, not bulk_create: saving sends the signal that refreshes the per-process teams cache."""
    for weekday in range(7):
        BusinessHours.objects.create(team=team, weekday=weekday, opens_at=dt.time(0), closes_at=dt.time(23, 59, 59))
    return team


class AgentFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Agent
        skip_postgeneration_save = True

    user = factory.SubFactory(UserFactory)
    display_name = factory.LazyAttribute(lambda agent: agent.user.first_name)

    @factory.post_generation
    def teams(self, create, extracted, **kwargs):
        if create and extracted:
            self.teams.set(extracted)


class CustomerFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Customer


class ConversationFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Conversation

    customer = factory.SubFactory(CustomerFactory)


class MessageFactory(factory.django.DjangoModelFactory):
    """Stores through chat.services.message_create, so seq and last_seq stay consistent."""

    class Meta:
        model = Message

    conversation = factory.SubFactory(ConversationFactory)
    sender = Message.Sender.VISITOR
    text = factory.Faker("sentence")

    @classmethod
    def _create(cls, model_class, *, conversation, sentiment=None, **kwargs):
        from chat.services import message_create

        message, _ = message_create(conversation=conversation, **kwargs)
        if sentiment is not None:
            message.sentiment = sentiment
            message.save(update_fields=["sentiment"])
        return message


class ArticleFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Article

    title = factory.Sequence(lambda n: f"Article {n}")
    body = factory.Faker("paragraph")
