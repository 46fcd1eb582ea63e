"""Who does the work and how work finds them: teams, agents, skills, queues."""

from __future__ import annotations

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.utils.translation import gettext_lazy as _

from casework.kernel.actors import Role
from casework.kernel.models import BilingualName


class Tier(models.IntegerChoices):
    FIRST = 1, _("1st level")
    SECOND = 2, _("2nd level")
    THIRD = 3, _("3rd level")


class Team(BilingualName):
    code = models.SlugField(_("code"), max_length=50, unique=True)
    tier = models.PositiveSmallIntegerField(_("tier"), choices=Tier.choices, default=Tier.FIRST)

    class Meta:
        verbose_name = _("team")
        verbose_name_plural = _("teams")
        ordering = ["code"]


class SkillKind(models.TextChoices):
    LANGUAGE = "language", _("language")
    TOPIC = "topic", _("topic")
    PRODUCT = "product", _("product")
    TIER = "tier", _("tier")


class Skill(BilingualName):
    code = models.SlugField(_("code"), max_length=50, unique=True)
    kind = models.CharField(_("kind"), max_length=20, choices=SkillKind.choices)

    class Meta:
        verbose_name = _("skill")
        verbose_name_plural = _("skills")
        ordering = ["kind", "code"]


class Agent(models.Model):
    """A person who works cases. Signs in as a Django user; the role decides what they see."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="agent"
    )
    role = models.CharField(
        _("role"),
        max_length=20,
        choices=[(role.value, role.value) for role in Role],
        default=Role.AGENT,
    )
    teams = models.ManyToManyField(Team, related_name="agents", blank=True, verbose_name=_("teams"))
    skills = models.ManyToManyField(
        Skill, through="AgentSkill", related_name="agents", blank=True, verbose_name=_("skills")
    )

    class Meta:
        verbose_name = _("agent")
        verbose_name_plural = _("agents")
        ordering = ["user__username"]

    def __str__(self) -> str:
        return self.display_name

    @property
    def display_name(self) -> str:
        return self.user.get_full_name() or self.user.username


class AgentSkill(models.Model):
    agent = models.ForeignKey(Agent, on_delete=models.CASCADE)
    skill = models.ForeignKey(Skill, on_delete=models.CASCADE)
    proficiency = models.PositiveSmallIntegerField(
        _("proficiency"), default=5, validators=[MinValueValidator(0), MaxValueValidator(10)]
    )

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["agent", "skill"], name="agentskill_unique"),
        ]


class Queue(BilingualName):
    """Where work waits for a team. Agents see the cases in their teams' queues."""

    code = models.SlugField(_("code"), max_length=50, unique=True)
    team = models.ForeignKey(Team, on_delete=models.PROTECT, related_name="queues")
    required_skills = models.ManyToManyField(Skill, blank=True, verbose_name=_("required skills"))

    class Meta:
        verbose_name = _("queue")
        verbose_name_plural = _("queues")
        ordering = ["code"]
