"""``manage.py demo_data``: a believable contact center to try the product with.

Idempotent: every row is found by its natural key (a name, a username, an e-mail, a fixed
UUID) and updated in place, so running it twice leaves the same rows. ``--if-empty`` loads
only into a database without workstreams (what ``manage.py serve`` does on a first start).

Configuration rows pass ``full_clean()`` before they are saved, so the demo obeys the same
rules as the admin center. The demo passwords are public: never load this into a database
that strangers can reach.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group, Permission
from django.core.management.base import BaseCommand
from django.db import models, transaction
from django.urls import NoReverseMatch, reverse
from django.utils import timezone

from agents.models import AgentProfile, AgentSkill, Presence, Skill
from conversations.channels.standin import (
    DEMO_ACCOUNT_SID,
    DEMO_AUTH_TOKEN,
    DEMO_PORT,
    DEMO_SERVER,
    DEMO_SMS_NUMBER,
    DEMO_VOICE_NUMBER,
)
from conversations.models import ChatSettings, Conversation, ConversationEvent, Message, PhoneChannel
from customers.models import Account, Case, Contact, Note
from notifications.models import AlertSettings, NotificationTemplate, NotificationTemplateField
from notifications.scenarios import Scenario
from routing.models import (
    Channel,
    Holiday,
    OperatingHours,
    OperatingWindow,
    Queue,
    QueueMembership,
    RoutingRule,
    Workstream,
    WorkstreamTemplate,
)
from widgets.models import (
    AllowedDomain,
    AuthenticationSetting,
    ChatWidget,
    PreChatQuestion,
    ProactiveRule,
    ProactiveRuleMessage,
)

# Fixed UUIDs (widget keys, historical conversations) keep the demo stable across loads.
DEMO_NAMESPACE = uuid.UUID("6f0c1c3e-3b1d-4c55-9a55-2f1d0c0de001")


def demo_uuid(name: str) -> uuid.UUID:
    return uuid.uuid5(DEMO_NAMESPACE, name)


@dataclass(frozen=True)
class DemoLogin:
    username: str
    password: str
    role: str
    where: str  # "admin" (the admin center) or "workspace" (the agent workspace)


ADMIN_PATH = "/admin/"
LOGINS = (
    DemoLogin("admin", "admin-demo", "admin (superuser)", "admin"),
    DemoLogin("supervisor", "supervisor-demo", "supervisor", "admin"),
    DemoLogin("alice", "agent-demo", "agent", "workspace"),
    DemoLogin("bogdan", "agent-demo", "agent", "workspace"),
    DemoLogin("chloe", "agent-demo", "agent", "workspace"),
    DemoLogin("david", "agent-demo", "agent", "workspace"),
)


def workspace_path() -> str:
    """Where agents work; the site's root leads there as well."""
    try:
        return reverse("conversations:dashboard")
    except NoReverseMatch:
        return "/"


def logins_table(base_url: str = "") -> str:
    """The demo logins as a small text table; ``base_url`` prefixes the login paths."""
    paths = {"admin": ADMIN_PATH, "workspace": workspace_path()}
    rows = [("username", "password", "role", "log in at")]
    rows += [(login.username, login.password, login.role, f"{base_url}{paths[login.where]}") for login in LOGINS]
    widths = [max(len(row[column]) for row in rows) for column in range(4)]
    lines = ["  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip() for row in rows]
    lines.insert(1, "  ".join("-" * width for width in widths))
    return "\n".join(lines)


def demo_logins_exist() -> bool:
    return get_user_model().objects.filter(username__in=[login.username for login in LOGINS]).exists()


# --- The contact center ---------------------------------------------------------------------
SKILLS = {
    "Billing": "Invoices, refunds, payment methods.",
    "Orders": "Order status, delivery, returns.",
    "French": "Serves customers in French.",
    "Polish": "Serves customers in Polish.",
    "Technical": "Account access, the app and the website.",
}

# The demo's tables stay one row a line, as people read them.
# fmt: off

# username: (display name, role, capacity, {skill: proficiency}, [queues], language)
AGENTS = {
    "supervisor": ("Samira Haddad", AgentProfile.Role.SUPERVISOR, 60, {"Billing": 7, "Orders": 7}, ["VIP"], "en"),
    "alice": ("Alice Martin", AgentProfile.Role.AGENT, 100, {"Billing": 9, "Orders": 6},
              ["General support", "Billing", "VIP", "After hours"], "en"),
    "bogdan": ("Bogdan Nowak", AgentProfile.Role.AGENT, 100, {"Polish": 10, "Technical": 7, "Orders": 5},
               ["General support", "After hours"], "pl"),
    "chloe": ("Chloé Dubois", AgentProfile.Role.AGENT, 100, {"French": 10, "Billing": 6, "Orders": 4},
              ["French desk", "General support", "Billing"], "fr"),
    "david": ("David Okafor", AgentProfile.Role.AGENT, 80, {"Technical": 9, "Orders": 8},
              ["General support", "VIP", "After hours"], "en"),
}

# first, last, e-mail, mobile as a person types it (stored in E.164), city, country, language, job title
CONTACTS = [
    ("Emma", "Johnson", "emma.johnson@northwind.example", "(415) 555-0132", "San Francisco", "United States", "en",
     "Purchasing manager"),
    ("Liam", "Smith", "liam.smith@northwind.example", "(415) 555-0147", "San Francisco", "United States", "en",
     "Accountant"),
    ("Olivia", "Brown", "olivia.brown@example.com", "212-555-0187", "New York", "United States", "en", ""),
    ("Noah", "Davis", "noah.davis@fabrikam.example", "646 555 0199", "New York", "United States", "en",
     "Fleet manager"),
    ("Ava", "Miller", "ava.miller@fabrikam.example", "+1 646 555 0142", "New York", "United States", "en", "Buyer"),
    ("Camille", "Lemoine", "camille@boulangerie-lemoine.example", "+33 6 12 34 56 78", "Lyon", "France", "fr",
     "Gérante"),
    ("Hugo", "Bernard", "hugo.bernard@example.fr", "+33 7 81 23 45 67", "Paris", "France", "fr", ""),
    ("Léa", "Petit", "lea.petit@boulangerie-lemoine.example", "+33 6 45 67 89 12", "Lyon", "France", "fr",
     "Comptable"),
    ("Manon", "Roux", "manon.roux@example.fr", "+33 6 98 76 54 32", "Marseille", "France", "fr", ""),
    ("Jan", "Kowalski", "jan.kowalski@kowalski-logistics.example", "+48 512 345 678", "Warsaw", "Poland", "pl",
     "Prezes"),
    ("Zofia", "Wiśniewska", "zofia.w@kowalski-logistics.example", "+48 601 234 567", "Kraków", "Poland", "pl",
     "Dispatcher"),
    ("Piotr", "Zieliński", "piotr.zielinski@example.pl", "+48 698 765 432", "Gdańsk", "Poland", "pl", ""),
    ("Sophie", "Wagner", "sophie.wagner@blueharbor.example", "+49 151 23456789", "Berlin", "Germany", "en",
     "Operations lead"),
    ("Lukas", "Becker", "lukas.becker@blueharbor.example", "+49 160 98765432", "Hamburg", "Germany", "en",
     "Front desk"),
    ("Andrei", "Popescu", "andrei.popescu@example.ro", "+40 721 234 567", "Bucharest", "Romania", "ro", ""),
    ("Ioana", "Ionescu", "ioana.ionescu@example.ro", "+40 744 123 456", "Cluj-Napoca", "Romania", "ro", ""),
    ("Budi", "Santoso", "budi.santoso@example.id", "+62 812 3456 7890", "Jakarta", "Indonesia", "id", ""),
    ("Siti", "Rahayu", "siti.rahayu@example.id", "+62 813 9876 5432", "Bandung", "Indonesia", "id", ""),
    ("Mia", "Wilson", "mia.wilson@example.com", "(312) 555-0164", "Chicago", "United States", "en", ""),
    ("James", "Taylor", "james.taylor@example.com", "(617) 555-0121", "Boston", "United States", "en", ""),
]

# Portal users who sign in to the customer portal (persistent chat, AUTH-2): e-mail → token subject.
PORTAL_SUBJECTS = {
    "emma.johnson@northwind.example": "portal-1001",
    "camille@boulangerie-lemoine.example": "portal-1002",
}

# name, e-mail, main phone, city, country, website, primary contact's e-mail, other members' e-mails
ACCOUNTS = [
    ("Northwind Traders", "office@northwind.example", "(415) 555-0100", "San Francisco", "United States",
     "https://northwind.example", "emma.johnson@northwind.example", ["liam.smith@northwind.example"]),
    ("Fabrikam Bikes", "hello@fabrikam.example", "(646) 555-0100", "New York", "United States",
     "https://fabrikam.example", "noah.davis@fabrikam.example", ["ava.miller@fabrikam.example"]),
    ("Boulangerie Lemoine", "contact@boulangerie-lemoine.example", "+33 4 72 00 00 00", "Lyon", "France",
     "https://boulangerie-lemoine.example", "camille@boulangerie-lemoine.example",
     ["lea.petit@boulangerie-lemoine.example"]),
    ("Kowalski Logistics", "biuro@kowalski-logistics.example", "+48 22 123 45 67", "Warsaw", "Poland",
     "https://kowalski-logistics.example", "jan.kowalski@kowalski-logistics.example",
     ["zofia.w@kowalski-logistics.example"]),
    ("Blue Harbor Hotels", "ops@blueharbor.example", "+49 30 1234567", "Berlin", "Germany",
     "https://blueharbor.example", "sophie.wagner@blueharbor.example", ["lukas.becker@blueharbor.example"]),
]

# title, contact's e-mail, status, priority, origin, owner, days ago, description, notes [(days ago, author, text)]
CASES = [
    ("Invoice charged twice in March", "emma.johnson@northwind.example", "resolved", "high", "chat", "alice", 95,
     "Card charged twice for invoice INV-2291.",
     [(95, "alice", "Confirmed the duplicate charge with the payment provider."),
      (93, "alice", "Refund of 1,240.00 USD issued; customer informed.")]),
    ("Change billing address", "liam.smith@northwind.example", "resolved", "normal", "email", "alice", 80,
     "New office address from April.",
     [(80, "alice", "Address updated in the billing system.")]),
    ("Late delivery of order 55812", "olivia.brown@example.com", "resolved", "normal", "phone", "david", 72,
     "Parcel stuck at the regional hub.",
     [(72, "david", "Carrier confirms a delay of two days."),
      (69, "david", "Delivered; customer satisfied.")]),
    ("Fleet order: 12 e-bikes", "noah.davis@fabrikam.example", "active", "high", "web", "david", 20,
     "Quote and delivery schedule for a fleet order.",
     [(20, "david", "Sent the quote; waiting for the purchase order."),
      (6, "supervisor", "Approved the 8% fleet discount.")]),
    ("Cannot log in to the portal", "ava.miller@fabrikam.example", "resolved", "normal", "chat", "david", 41,
     "Password reset e-mail never arrives.",
     [(41, "david", "The e-mail was in quarantine; whitelisted our sender.")]),
    ("Facture en double", "camille@boulangerie-lemoine.example", "resolved", "normal", "chat", "chloe", 60,
     "Deux factures pour la même livraison.",
     [(60, "chloe", "Avoir émis pour la facture en double.")]),
    ("Livraison incomplète", "hugo.bernard@example.fr", "active", "normal", "sms", "chloe", 9,
     "Il manque deux articles dans la commande 56102.",
     [(9, "chloe", "Articles manquants réexpédiés.")]),
    ("Changement de moyen de paiement", "lea.petit@boulangerie-lemoine.example", "active", "low", "email", "chloe", 4,
     "Passer au prélèvement SEPA.",
     [(4, "chloe", "Mandat SEPA envoyé pour signature.")]),
    ("Zamówienie hurtowe", "jan.kowalski@kowalski-logistics.example", "active", "high", "phone", "bogdan", 15,
     "Wholesale order of 40 cargo bikes; needs a delivery plan.",
     [(15, "bogdan", "Delivery plan drafted in three batches."),
      (3, "supervisor", "VIP account: keep an eye on it.")]),
    ("App crashes on login", "zofia.w@kowalski-logistics.example", "resolved", "normal", "chat", "bogdan", 50,
     "Android app crashes right after login.",
     [(50, "bogdan", "Fixed by app update 4.2.1.")]),
    ("Return of a damaged saddle", "piotr.zielinski@example.pl", "cancelled", "low", "web", "bogdan", 33,
     "Customer withdrew the return.",
     [(33, "bogdan", "Customer decided to keep the saddle.")]),
    ("Group booking invoice", "sophie.wagner@blueharbor.example", "active", "normal", "email", "alice", 12,
     "Needs one invoice for 8 rental bikes.",
     [(12, "alice", "Draft invoice sent for review.")]),
    ("Two-factor authentication reset", "lukas.becker@blueharbor.example", "resolved", "high", "phone", "david", 27,
     "Lost the phone with the authenticator app.",
     [(27, "david", "Identity verified; 2FA reset.")]),
    ("Refund to a closed card", "andrei.popescu@example.ro", "active", "normal", "chat", "alice", 2,
     "The card the refund went to was closed.",
     [(2, "alice", "Asked the bank for the refund trace.")]),
    ("Order tracking link broken", "budi.santoso@example.id", "resolved", "low", "chat", "david", 110,
     "The tracking link in the e-mail returns 404.",
     [(110, "david", "Reported to the web team; fixed next day.")]),
]

# Closed conversations from the past: (key, channel, workstream, queue, agent, contact's e-mail, days ago,
# language, case title or None, pre-chat answers, context variables, messages [(sender, text)])
HISTORY = [
    ("history-billing-emma", "live_chat", "Website live chat", "Billing", "alice",
     "emma.johnson@northwind.example", 95, "en", "Invoice charged twice in March",
     {"name": "Emma Johnson", "topic": "Billing", "consent": True}, {"tier": "silver"},
     [("customer", "Hi, my card was charged twice for invoice INV-2291."),
      ("agent", "Hello Emma, I'm sorry about that. Let me check with our payment provider."),
      ("agent", "I can see both charges. I've started a refund of the duplicate."),
      ("customer", "Great, how long will it take?"),
      ("agent", "Usually 3 to 5 business days. You'll get an e-mail confirmation."),
      ("customer", "Thank you!")]),
    ("history-french-camille", "live_chat", "Website live chat", "French desk", "chloe",
     "camille@boulangerie-lemoine.example", 60, "fr", "Facture en double",
     {"name": "Camille Lemoine", "topic": "Billing", "consent": True}, {},
     [("customer", "Bonjour, j'ai reçu deux factures pour la même livraison."),
      ("agent", "Bonjour Camille, je regarde tout de suite."),
      ("agent", "C'est corrigé : un avoir a été émis pour la deuxième facture."),
      ("customer", "Parfait, merci beaucoup !")]),
    ("history-sms-hugo", "sms", "SMS support", "French desk", "chloe",
     "hugo.bernard@example.fr", 9, "fr", "Livraison incomplète", {}, {},
     [("customer", "Bonjour, il manque deux articles dans ma commande 56102."),
      ("agent", "Bonjour Hugo, désolée ! Nous réexpédions les articles aujourd'hui."),
      ("customer", "Merci.")]),
    ("history-technical-ava", "live_chat", "Website live chat", "General support", "david",
     "ava.miller@fabrikam.example", 41, "en", "Cannot log in to the portal",
     {"name": "Ava Miller", "topic": "Technical", "consent": True}, {"tier": "gold"},
     [("customer", "I never get the password reset e-mail."),
      ("agent", "Could you check your spam or quarantine folder?"),
      ("customer", "Found it in quarantine. It works now."),
      ("agent", "Glad to hear it. I'll note that for your IT team.")]),
    ("history-portal-emma", "persistent_chat", "Customer portal (persistent)", "General support", "alice",
     "emma.johnson@northwind.example", 30, "en", None, {}, {"customer_number": "C-1001"},
     [("customer", "Can you send me last quarter's invoices as one PDF?"),
      ("agent", "Sure, I'll prepare it and post it here."),
      ("agent", "Here you go: it is in your portal's documents section now."),
      ("customer", "Perfect, thanks.")]),
]

# fmt: on


class Loader:
    """Loads the demo rows; each method finds or creates by natural key and updates in place."""

    def __init__(self):
        self.now = timezone.now()
        self.users = {}
        self.skills = {}
        self.queues = {}
        self.workstreams = {}
        self.contacts = {}

    # -- helpers ---------------------------------------------------------------------------
    @staticmethod
    def upsert(model: type[models.Model], lookup: dict, **values) -> models.Model:
        """Find by ``lookup`` or make a new row; set ``values``; ``full_clean()``; save."""
        obj = model.objects.filter(**lookup).first() or model(**lookup)
        for name, value in values.items():
            setattr(obj, name, value)
        obj.full_clean()
        obj.save()
        return obj

    def ago(self, days: float, *, at: time | None = None) -> datetime:
        moment = self.now - timedelta(days=days)
        if at is not None:
            moment = moment.replace(hour=at.hour, minute=at.minute, second=0, microsecond=0)
        return moment

    # -- people ----------------------------------------------------------------------------
    def load_users(self) -> None:
        User = get_user_model()
        for login in LOGINS:
            user = User.objects.filter(username=login.username).first() or User(username=login.username)
            user.email = f"{login.username}@contoso-support.example"
            user.is_active = True
            user.is_superuser = login.username == "admin"
            user.is_staff = login.username in {"admin", "supervisor"}
            if login.username in AGENTS:
                user.first_name, user.last_name = AGENTS[login.username][0].split(" ", 1)
            else:
                user.first_name, user.last_name = "Ada", "Admin"
            user.set_password(login.password)
            user.full_clean()
            user.save()
            self.users[login.username] = user
        supervisors = self.supervisor_group()
        self.users["supervisor"].groups.add(supervisors)

    @staticmethod
    def supervisor_group() -> Group:
        """Supervisors see every configuration and record in the admin center and manage agents."""
        group, _ = Group.objects.get_or_create(name="Supervisors")
        apps = ["agents", "routing", "conversations", "customers", "notifications", "widgets"]
        permissions = Permission.objects.filter(content_type__app_label__in=apps, codename__startswith="view_")
        change = Permission.objects.filter(content_type__app_label="agents", codename="change_agentprofile")
        group.permissions.set([*permissions, *change])
        return group

    def load_agents(self) -> None:
        offline = Presence.objects.get(base=Presence.Base.OFFLINE, is_system=True)
        for username, (display_name, role, capacity, skills, queues, language) in AGENTS.items():
            user = self.users[username]
            agent = AgentProfile.objects.filter(user=user).first()
            values = {"display_name": display_name, "role": role, "capacity": capacity, "language": language}
            if agent is None:
                # Everyone starts signed out; presence changes go through the workspace from then on.
                agent = self.upsert(AgentProfile, {"user": user}, presence=offline, **values)
            else:
                agent = self.upsert(AgentProfile, {"pk": agent.pk}, **values)
            for skill, proficiency in skills.items():
                self.upsert(AgentSkill, {"agent": agent, "skill": self.skills[skill]}, proficiency=proficiency)
            for queue in queues:
                self.upsert(QueueMembership, {"agent": agent, "queue": self.queues[queue]})

    # -- routing configuration -------------------------------------------------------------
    def load_skills(self) -> None:
        for name, description in SKILLS.items():
            self.skills[name] = self.upsert(Skill, {"name": name}, description=description)

    def load_operating_hours(self) -> OperatingHours:
        hours = self.upsert(OperatingHours, {"name": "Support hours"}, time_zone="Europe/Paris")
        for weekday in range(5):
            self.upsert(OperatingWindow, {"schedule": hours, "weekday": weekday}, opens_at=time(8), closes_at=time(20))
        year = self.now.year
        for day, name in ((date(year, 12, 25), "Christmas Day"), (date(year + 1, 1, 1), "New Year's Day")):
            self.upsert(Holiday, {"schedule": hours, "date": day}, name=name)
        return hours

    def load_queues(self, hours: OperatingHours) -> None:
        queues = [
            ("General support", 5, Queue.AssignmentMethod.HIGHEST_CAPACITY, hours),
            ("Billing", 4, Queue.AssignmentMethod.LONGEST_IDLE, hours),
            ("VIP", 1, Queue.AssignmentMethod.HIGHEST_CAPACITY, None),  # always open, 24/7
            ("French desk", 5, Queue.AssignmentMethod.ROUND_ROBIN, hours),
            ("After hours", 8, Queue.AssignmentMethod.ROUND_ROBIN, None),  # the fallback, always open
        ]
        for name, priority, method, schedule in queues:
            self.queues[name] = self.upsert(
                Queue,
                {"name": name},
                priority=priority,
                assignment_method=method,
                operating_hours=schedule,
                is_active=True,
            )

    def load_workstreams(self) -> None:
        available_or_busy = Presence.objects.filter(
            is_system=True, base__in=[Presence.Base.AVAILABLE, Presence.Base.BUSY]
        )
        general, after_hours = self.queues["General support"], self.queues["After hours"]
        workstreams = [
            (
                "Website live chat",
                {
                    "channel": Channel.CHAT,
                    "chat_mode": Workstream.ChatMode.LIVE,
                    "distribution": Workstream.Distribution.PUSH,
                    "capacity_units": 30,
                    "default_queue": general,
                    "fallback_queue": after_hours,
                    "skill_matching": Workstream.SkillMatching.CLOSEST,
                    "closest_match_after_seconds": 60,
                    "automatic_presence": True,
                    "wrap_up_capacity": Workstream.WrapUpCapacity.TIMED,
                    "wrap_up_capacity_seconds": 60,
                },
            ),
            (
                "Customer portal (persistent)",
                {
                    "channel": Channel.CHAT,
                    "chat_mode": Workstream.ChatMode.PERSISTENT,
                    "distribution": Workstream.Distribution.PUSH,
                    "capacity_units": 10,
                    "default_queue": general,
                    "fallback_queue": after_hours,
                    "keep_same_agent": True,
                },
            ),
            (
                "SMS support",
                {
                    "channel": Channel.SMS,
                    "chat_mode": "",
                    "distribution": Workstream.Distribution.PUSH,
                    "capacity_units": 20,
                    "default_queue": general,
                    "fallback_queue": after_hours,
                },
            ),
            (
                "Voice support",
                {
                    "channel": Channel.VOICE,
                    "chat_mode": "",
                    "distribution": Workstream.Distribution.PUSH,
                    "capacity_units": 100,
                    "default_queue": general,
                    "fallback_queue": after_hours,
                },
            ),
            (
                "Cases",
                {
                    "channel": Channel.RECORDS,
                    "chat_mode": "",
                    "distribution": Workstream.Distribution.PUSH,
                    "capacity_units": 20,
                    "default_queue": general,
                    "fallback_queue": after_hours,
                    "agents_may_reject": False,
                },
            ),
        ]
        # Their chat settings (the conversations app's): all defaults but these.
        chat_settings = {
            "Customer portal (persistent)": {"auto_close_waiting_seconds": 14 * 24 * 3600},
            "SMS support": {"auto_close_active_seconds": 24 * 3600},
        }
        for name, values in workstreams:
            workstream = self.upsert(Workstream, {"name": name}, is_active=True, **values)
            self.upsert(ChatSettings, {"workstream": workstream}, **chat_settings.get(name, {}))
            workstream.allowed_presences.set(available_or_busy if name == "Website live chat" else [])
            self.workstreams[name] = workstream

        # ROU-2: ordered rules; the first whose conditions all hold picks the queue and skills.
        rules = {
            "Website live chat": [
                ("Gold customers to VIP", [("context", "tier", "equals", "gold")], "VIP", []),
                ("French speakers", [("language", None, "starts_with", "fr")], "French desk", ["French"]),
                ("Billing questions", [("prechat", "topic", "equals", "Billing")], "Billing", ["Billing"]),
                (
                    "Technical questions",
                    [("prechat", "topic", "equals", "Technical")],
                    "General support",
                    ["Technical"],
                ),
            ],
            "Customer portal (persistent)": [
                ("Gold customers to VIP", [("context", "tier", "equals", "gold")], "VIP", []),
                ("French speakers", [("language", None, "starts_with", "fr")], "French desk", ["French"]),
            ],
            "SMS support": [
                ("French numbers", [("sms_number", None, "starts_with", "+33")], "French desk", ["French"]),
                ("Polish numbers", [("sms_number", None, "starts_with", "+48")], "General support", ["Polish"]),
            ],
            "Cases": [
                ("High priority cases to VIP", [("case", "priority", "equals", "high")], "VIP", []),
            ],
        }
        for workstream_name, workstream_rules in rules.items():
            for order, (name, conditions, queue, skills) in enumerate(workstream_rules, start=1):
                rule = self.upsert(
                    RoutingRule,
                    {"workstream": self.workstreams[workstream_name], "name": name},
                    order=order * 10,
                    conditions=[
                        {"source": source, "operator": operator, "value": value} | ({"name": key} if key else {})
                        for source, key, operator, value in conditions
                    ],
                    queue=self.queues[queue],
                    is_active=True,
                )
                rule.skills.set([self.skills[skill] for skill in skills])

    # -- notifications ---------------------------------------------------------------------
    def load_notification_templates(self) -> None:
        custom = self.upsert(
            NotificationTemplate,
            {"name": "Website chat (90 s, no countdown)"},
            scenario=Scenario.INCOMING_CHAT,
            is_default=False,
            kind=NotificationTemplate.Kind.ALERT,
            title="Website chat from {customerName}",
            icon=NotificationTemplate.Icon.CHAT,
            accept_label="Accept",
            show_reject=True,
            auto_accept=False,
            timeout_seconds=90,
            show_timeout=False,
            desktop_mode=NotificationTemplate.DesktopMode.BACKGROUND,
        )
        fields = [
            ("Customer", "{customerName}"),
            ("Topic", "{topic}"),
            ("Queue", "{queueName}"),
            ("Language", "{visitorLanguage}"),
            ("Waiting", "{waitTime}"),
        ]
        for order, (header, value) in enumerate(fields):
            self.upsert(NotificationTemplateField, {"template": custom, "order": order}, header=header, value=value)

        def default(scenario: str) -> NotificationTemplate:
            return NotificationTemplate.objects.get(scenario=scenario, is_default=True)

        links = {
            "Website live chat": [(Scenario.INCOMING_CHAT, custom), (Scenario.TRANSFER, default(Scenario.TRANSFER))],
            "Customer portal (persistent)": [(Scenario.INCOMING_CHAT, default(Scenario.INCOMING_CHAT))],
            "SMS support": [(Scenario.INCOMING_SMS, default(Scenario.INCOMING_SMS))],
            "Voice support": [(Scenario.INCOMING_VOICE, default(Scenario.INCOMING_VOICE))],  # VOI-1
            "Cases": [(Scenario.CASE_ASSIGNMENT, default(Scenario.CASE_ASSIGNMENT))],
        }
        for workstream, pairs in links.items():
            for scenario, template in pairs:
                self.upsert(
                    WorkstreamTemplate,
                    {"workstream": self.workstreams[workstream], "scenario": scenario},
                    template=template,
                )

        alerts = AlertSettings.load()
        for field in ("missed_notification_enabled", "agent_reject_enabled", "max_sessions_enabled"):
            setattr(alerts, field, AlertSettings._meta.get_field(field).default)
        alerts.full_clean()
        alerts.save()

    # -- phone channels (SMS-1, VOI-1) -----------------------------------------------------
    def load_phone_channels(self) -> None:
        """An SMS number and a voice hand-off line at the stand-in provider (``manage.py sms_standin``)."""
        channels = [
            ("Demo SMS (stand-in)", PhoneChannel.Kind.SMS, DEMO_SMS_NUMBER, "SMS support"),
            ("Demo voice (stand-in)", PhoneChannel.Kind.VOICE, DEMO_VOICE_NUMBER, "Voice support"),
        ]
        for name, kind, number, workstream in channels:
            self.upsert(
                PhoneChannel,
                {"name": name},
                kind=kind,
                provider=PhoneChannel.Provider.TWILIO,
                account_sid=DEMO_ACCOUNT_SID,
                auth_token=DEMO_AUTH_TOKEN,
                phone_number=number,
                workstream=self.workstreams[workstream],
                public_base_url=DEMO_SERVER,
                api_base_url=f"http://127.0.0.1:{DEMO_PORT}",
                is_active=True,
            )

    # -- widgets ---------------------------------------------------------------------------
    def load_authentication(self) -> AuthenticationSetting:
        setting = AuthenticationSetting.objects.filter(name="Customer portal sign-in").first()
        if setting is not None and setting.public_key_pem.strip():
            pem = setting.public_key_pem  # keep the key: re-running must not break a signed-in portal
        else:
            # Only a first load makes a key; cryptography is slow to import for every other command.
            from cryptography.hazmat.primitives import serialization
            from cryptography.hazmat.primitives.asymmetric import rsa

            # The private key is thrown away: the demo stores only what an admin would (AUTH-1).
            private_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
            pem = (
                private_key.public_key()
                .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
                .decode()
            )
        return self.upsert(
            AuthenticationSetting,
            {"name": "Customer portal sign-in"},
            public_key_pem=pem,
            key_set_url="",
            algorithms=["RS256"],
            issuer="https://portal.example.com",
            audience="omnichannel-demo",
            create_contact=True,
            context_claims=["tier", "customer_number"],
        )

    def load_widgets(self, authentication: AuthenticationSetting) -> None:
        live = self.widget(
            "Website chat",
            workstream=self.workstreams["Website live chat"],
            authentication=None,
            title="Chat with us",
            greeting="Hi! How can we help you today?",
            proactive_enabled=True,
        )
        for origin in ("http://localhost:8001", "http://127.0.0.1:8001", "https://www.example.com"):
            self.upsert(AllowedDomain, {"widget": live, "origin": origin})
        questions = [
            ("name", "Your name", PreChatQuestion.Kind.SINGLE_LINE, True, [], ""),
            # SUM-5: a demo contact's email (emma.johnson@northwind.example…) is a claim: the agent
            # sees "Possible match: Emma Johnson — unverified" and confirms it before her records show.
            ("email", "Your email (optional)", PreChatQuestion.Kind.SINGLE_LINE, False, [], ""),
            (
                "topic",
                "What is it about?",
                PreChatQuestion.Kind.OPTION_SET,
                False,
                ["Billing", "Orders", "Technical"],
                "",
            ),
            (
                "consent",
                "I agree that this chat is recorded to help us serve me.",
                PreChatQuestion.Kind.CONSENT,
                True,
                [],
                "https://www.example.com/privacy",
            ),
        ]
        for order, (name, label, kind, required, choices, consent_url) in enumerate(questions):
            self.upsert(
                PreChatQuestion,
                {"widget": live, "name": name},
                order=order,
                label=label,
                kind=kind,
                required=required,
                choices=choices,
                consent_url=consent_url,
            )
        rule = self.upsert(
            ProactiveRule,
            {"widget": live, "name": "Help at checkout"},
            order=10,
            is_active=True,
            trigger_message="Need a hand with your order? We're here to help.",
            audience=ProactiveRule.Audience.ALL,
            location_match=ProactiveRule.LocationMatch.CONTAINS,
            location_pattern="/checkout",
            time_on_page_seconds=20,
            daily_cap_per_visitor=2,
            time_zone="Europe/Paris",
        )
        for language, text in (
            ("fr", "Besoin d'aide pour votre commande ? Nous sommes là."),
            ("pl", "Potrzebujesz pomocy z zamówieniem? Jesteśmy tutaj."),
        ):
            self.upsert(ProactiveRuleMessage, {"rule": rule, "language": language}, text=text)

        portal = self.widget(
            "Customer portal chat",
            workstream=self.workstreams["Customer portal (persistent)"],
            authentication=authentication,  # PER-2: persistent chat requires chat authentication
            title="Messages",
            greeting="Write to us any time; we'll answer here.",
            proactive_enabled=False,
            theme_color="#5c2e91",
        )
        for origin in ("http://localhost:8001", "http://127.0.0.1:8001", "https://portal.example.com"):
            self.upsert(AllowedDomain, {"widget": portal, "origin": origin})

    def widget(self, name: str, **values) -> ChatWidget:
        existing = ChatWidget.objects.filter(name=name).first()
        if existing is None:
            # A fixed key keeps the demo's script tags valid across fresh databases.
            values["public_key"] = demo_uuid(f"widget:{name}")
        return self.upsert(ChatWidget, {"name": name}, is_active=True, **values)

    # -- customers and history -------------------------------------------------------------
    def load_customers(self) -> None:
        for first, last, email, mobile, city, country, language, job in CONTACTS:
            self.contacts[email] = self.upsert(
                Contact,
                {"email": email},
                first_name=first,
                last_name=last,
                mobile_phone=mobile,  # normalised to E.164 by Contact.clean()
                city=city,
                country=country,
                preferred_language=language,
                job_title=job,
                auth_subject=PORTAL_SUBJECTS.get(email),
            )
        for name, email, phone, city, country, website, primary, members in ACCOUNTS:
            account = self.upsert(
                Account,
                {"name": name},
                email=email,
                main_phone=phone,
                city=city,
                country=country,
                website=website,
                primary_contact=self.contacts[primary],
            )
            for member in [primary, *members]:
                contact = self.contacts[member]
                if contact.account_id != account.pk:
                    contact.account = account
                    contact.save(update_fields=["account"])

    def load_cases(self) -> None:
        for title, email, status, priority, origin, owner, days, description, notes in CASES:
            contact = self.contacts[email]
            created = self.ago(days, at=time(9, 30))
            case = self.upsert(
                Case,
                {"title": title, "contact": contact},
                account=contact.account,
                status=status,
                priority=priority,
                origin=origin,
                owner=self.users[owner],
                description=description,
                resolved_at=created + timedelta(days=2) if status == Case.Status.RESOLVED else None,
            )
            # Demo history: timestamps are auto-set on save, so backdate them afterwards.
            Case.objects.filter(pk=case.pk).update(created_at=created, updated_at=created + timedelta(days=1))
            for note_days, author, text in notes:
                note = self.upsert(Note, {"case": case, "text": text}, author=self.users[author])
                Note.objects.filter(pk=note.pk).update(created_at=self.ago(note_days, at=time(10, 15)))
        # A note on a contact and one on an account, as agents leave them.
        for lookup, text, author in (
            (
                {"contact": self.contacts["jan.kowalski@kowalski-logistics.example"]},
                "Prefers phone calls in the morning (CET).",
                "bogdan",
            ),
            (
                {"contact": self.contacts["emma.johnson@northwind.example"]},
                "Northwind's billing contact; invoices go to her, copy to accounts payable.",
                "alice",
            ),
            (
                {"account": Account.objects.get(name="Fabrikam Bikes")},
                "Fleet customer: 8% discount approved for orders of 10+ bikes.",
                "supervisor",
            ),
        ):
            note = self.upsert(Note, {**lookup, "text": text}, author=self.users[author])
            Note.objects.filter(pk=note.pk).update(created_at=self.ago(18, at=time(11)))

    def load_history(self) -> None:
        """Closed conversations from the last months, with their messages and audit trail.

        Demo history: these rows describe the past, so their status, timestamps and events are
        written directly instead of being replayed through the services (which would route them
        to agents, notify and schedule timers now). Live work always goes through the services.
        """
        widgets = {"Website live chat": "Website chat", "Customer portal (persistent)": "Customer portal chat"}
        for (
            key,
            channel,
            workstream,
            queue,
            username,
            email,
            days,
            language,
            case_title,
            prechat,
            context,
            lines,
        ) in HISTORY:
            contact = self.contacts[email]
            agent = AgentProfile.objects.get(user=self.users[username])
            started = self.ago(days, at=time(14, 5))
            assigned = started + timedelta(seconds=47)
            ended = assigned + timedelta(minutes=2 * len(lines))
            widget_name = widgets.get(workstream)
            values = {
                "channel": channel,
                "origin": Conversation.Origin.SMS
                if channel == Conversation.Channel.SMS
                else Conversation.Origin.WIDGET,
                "status": Conversation.Status.CLOSED,
                "workstream": self.workstreams[workstream],
                "queue": self.queues[queue],
                "agent": agent,
                "widget": ChatWidget.objects.get(name=widget_name) if widget_name else None,
                "contact": contact,
                "account": contact.account,
                "case": Case.objects.get(title=case_title, contact=contact) if case_title else None,
                "prechat_answers": prechat,
                "context_variables": context,
                "language": language,
                "authenticated": channel == Conversation.Channel.PERSISTENT_CHAT,
                "auth_subject": (contact.auth_subject or "") if channel == Conversation.Channel.PERSISTENT_CHAT else "",
                "browser": "" if channel == Conversation.Channel.SMS else "Firefox 128",
                "operating_system": "" if channel == Conversation.Channel.SMS else "Windows 11",
                "device": "" if channel == Conversation.Channel.SMS else "Desktop",
                "location": f"{contact.city}, {contact.country}",
                "page_url": "" if channel == Conversation.Channel.SMS else "https://www.example.com/account/orders",
                "customer_phone": contact.mobile_phone if channel == Conversation.Channel.SMS else "",
                "created_at": started,
                "first_assigned_at": assigned,
                "closed_at": ended,
                "last_message_seq": len(lines),
                "last_customer_activity_at": ended - timedelta(minutes=1),
            }
            conversation = Conversation.objects.filter(public_id=demo_uuid(key)).first()
            if conversation is None:
                conversation = Conversation(public_id=demo_uuid(key))
            for name, value in values.items():
                setattr(conversation, name, value)
            conversation.save()
            conversation.skills.set(
                [self.skills[skill] for skill in {"Billing": ["Billing"], "French desk": ["French"]}.get(queue, [])]
            )
            for seq, (sender, text) in enumerate(lines, start=1):
                Message.objects.update_or_create(
                    conversation=conversation,
                    seq=seq,
                    defaults={
                        "sender": sender,
                        "sender_user": self.users[username] if sender == Message.Sender.AGENT else None,
                        "text": text,
                        "created_at": assigned + timedelta(minutes=2 * (seq - 1), seconds=20),
                    },
                )
            for from_status, to_status, actor, at in (
                ("open", "active", ConversationEvent.Actor.AGENT, assigned),
                ("active", "wrap_up", ConversationEvent.Actor.AGENT, ended - timedelta(minutes=1)),
                ("wrap_up", "closed", ConversationEvent.Actor.AGENT, ended),
            ):
                ConversationEvent.objects.update_or_create(
                    conversation=conversation,
                    kind=ConversationEvent.Kind.TRANSITION,
                    from_status=from_status,
                    to_status=to_status,
                    defaults={
                        "actor": actor,
                        "actor_user": self.users[username] if actor == ConversationEvent.Actor.AGENT else None,
                        "created_at": at,
                    },
                )
            if case_title:
                note = self.upsert(
                    Note,
                    {"contact": contact, "conversation_id": conversation.pk},
                    text=f"Chat about “{case_title}”: resolved during the conversation.",
                    author=self.users[username],
                )
                Note.objects.filter(pk=note.pk).update(created_at=ended)

    # -- all -------------------------------------------------------------------------------
    @transaction.atomic
    def load(self) -> dict[str, int]:
        self.load_users()
        self.load_skills()
        hours = self.load_operating_hours()
        self.load_queues(hours)
        self.load_agents()
        self.load_workstreams()
        self.load_notification_templates()
        self.load_phone_channels()
        self.load_widgets(self.load_authentication())
        self.load_customers()
        self.load_cases()
        self.load_history()
        return {
            "agents": AgentProfile.objects.count(),
            "queues": Queue.objects.count(),
            "workstreams": Workstream.objects.count(),
            "phone channels": PhoneChannel.objects.count(),
            "widgets": ChatWidget.objects.count(),
            "contacts": Contact.objects.count(),
            "accounts": Account.objects.count(),
            "cases": Case.objects.count(),
            "conversations": Conversation.objects.count(),
        }


class Command(BaseCommand):
    help = "Load a demo contact center: users, queues, workstreams, widgets, customers and history (idempotent)."

    def add_arguments(self, parser):
        parser.add_argument(
            "--if-empty",
            action="store_true",
            help="Load only when the database has no workstreams yet.",
        )

    def handle(self, *args, if_empty: bool = False, **options):
        if if_empty and Workstream.objects.exists():
            self.stdout.write("Workstreams exist already: demo data not loaded.")
            return
        counts = Loader().load()
        self.stdout.write(self.style.SUCCESS("Demo data loaded: " + ", ".join(f"{n} {k}" for k, n in counts.items())))
        if options.get("verbosity", 1) < 1:
            return
        self.stdout.write("")
        self.stdout.write(logins_table())
        self.stdout.write("")
        self.stdout.write(
            "Start the product with `bin/run` (or `manage.py serve`) and open http://127.0.0.1:8000/admin/ "
            "for the admin center. These passwords are public: use the demo only where strangers can't reach it."
        )
