"""factory_boy factories for the shared kernel."""

import factory

from core.codes import make_uscc
from core.models import Organization, OrganizationKind, Region, User

PASSWORD = "correct-horse-battery"


class OrganizationFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Organization

    name = factory.Sequence(lambda n: f"测试单位{n}")
    kind = OrganizationKind.DEALER
    region = factory.LazyFunction(lambda: Region.objects.get(code="371402"))
    uscc = factory.LazyAttributeSequence(lambda o, n: make_uscc(f"91{o.region.code}T{n:08d}"))
    qualification_no = factory.Sequence(lambda n: f"Q-{n:05d}")


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = User
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"user{n}")
    organization = factory.SubFactory(OrganizationFactory)
    role = User.Role.STAFF
    password = factory.PostGenerationMethodCall("set_password", PASSWORD)

    @factory.post_generation
    def save_password(obj, create, extracted, **kwargs):
        if create:
            obj.save()
